//! [`FileStatus`]: what `status()` reports about a store file, for tooling such as a
//! `doctor` command.

use std::fmt;
use std::path::PathBuf;

use oauth_store_core::Error;

/// A report on one store file, from [`FileBackend::status`](crate::FileBackend::status).
///
/// Gathering it never changes the file, never takes the lock and never fails because of the
/// file's content: what is wrong is listed in [`FileStatus::problems`].
#[derive(Debug)]
#[non_exhaustive]
pub struct FileStatus {
    /// The store file.
    pub path: PathBuf,
    /// Its lock file (`<name>.lock`).
    pub lock_path: PathBuf,
    /// Whether something exists at [`FileStatus::path`].
    pub exists: bool,
    /// Its permission bits (for example `0o600`), if it exists.
    pub mode: Option<u32>,
    /// Its size in bytes, if it exists.
    pub size: Option<u64>,
    /// The envelope version (1 or 2), if the file could be opened.
    pub envelope_version: Option<u32>,
    /// The key derivation (`hkdf-sha256` or `argon2id`), if the file could be opened.
    pub kdf: Option<&'static str>,
    /// The key id recorded in the envelope (v2 only): a public fingerprint, not a key.
    pub key_id: Option<String>,
    /// Whether the ring's primary key opened the file (`false`: an older key did; rotate).
    pub opened_by_primary: Option<bool>,
    /// How many entries the file holds, expired ones included.
    pub entries: Option<usize>,
    /// How many of them are expired (they are purged by the next write).
    pub expired_entries: Option<usize>,
    /// The store-wide write counter (v2), if the file could be opened.
    pub store_revision: Option<u64>,
    /// Whether another writer holds the lock right now.
    pub lock_held_elsewhere: bool,
    /// Temporary files left by writers that died (removed by the next write).
    pub stale_temp_files: Vec<PathBuf>,
    /// Everything found wrong; empty when all is well.
    pub problems: Vec<Problem>,
}

impl FileStatus {
    /// Whether no problem was found.
    #[must_use]
    pub fn is_healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One thing [`FileStatus`] found wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum Problem {
    /// The file is readable or writable by group or others (it is tightened to 0600 on the
    /// next read or write).
    PermissiveMode {
        /// The permission bits found.
        mode: u32,
    },
    /// The file cannot be opened: corrupt, tampered, wrong key, too large, not a regular file.
    /// `quarantine()` moves a corrupt file aside.
    Unreadable(Error),
    /// An older key of the ring opened the file: rotate to re-encrypt under the primary.
    OpenedByOldKey,
    /// Entries whose key is not a valid entry key, or whose token set is invalid; they are
    /// kept as they are, but `get` cannot return them.
    InvalidEntries {
        /// The keys of those entries.
        keys: Vec<String>,
    },
    /// Temporary files left behind by a writer that died.
    StaleTempFiles {
        /// How many.
        count: usize,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PermissiveMode { mode } => write!(
                f,
                "file mode is {mode:04o}: readable or writable by group or others (tightened to 0600 on next access)"
            ),
            Self::Unreadable(e) => write!(f, "cannot be opened: {e}"),
            Self::OpenedByOldKey => f.write_str(
                "opened by an older key of the ring, not the primary: rotate to re-encrypt",
            ),
            Self::InvalidEntries { keys } => {
                write!(f, "{} entries cannot be read: {keys:?}", keys.len())
            }
            Self::StaleTempFiles { count } => write!(
                f,
                "{count} temporary file(s) left by an interrupted writer (removed by the next write)"
            ),
        }
    }
}

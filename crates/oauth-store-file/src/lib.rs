//! The encrypted file backend of oauth-store, the embedded default: one envelope file holding
//! every token set, safe under many processes, crashes and bad files.
//!
//! [`FileBackend`] keeps a whole store in one file sealed with the
//! [envelope](oauth_store_core::envelope) of `oauth-store-core` (v2 by default; v1, the
//! format of harn-vm 0.8, is read transparently and can be written on request so a harn-vm
//! program can share the file). It fixes what the original file store got wrong:
//!
//! - **Many processes.** Every read-modify-write happens under an exclusive advisory lock on
//!   a sibling `<name>.lock` file, with bounded waiting ([`Error::Locked`] names the lock
//!   file). Conditional writes ([`Precondition`](oauth_store_core::Precondition)) are
//!   therefore atomic across processes, and every write gets a revision that never repeats
//!   for a key.
//! - **Durability.** A write creates a uniquely named temporary file exclusively with mode
//!   0600 in the same directory, writes, fsyncs, renames it over the store file and fsyncs
//!   the directory. Nothing is truncated in place; temporary files are removed on every
//!   failure path, and ones left by a killed writer are removed by the next writer.
//!   Directories are created 0700; a store file readable by group or others is tightened to
//!   0600 (or refused, if that fails).
//! - **Speed.** The decrypted store is cached and revalidated with one `lstat` per call (the
//!   inode changes on every write, and the cache keeps the old file open so its inode number
//!   cannot be reused), so reading an unchanged file costs no decryption and no key
//!   derivation, while another process's write is seen by the very next read. Rewrites keep
//!   the file's salt, so a passphrase is stretched once per salt, not on every write.
//! - **Batches.** [`FileBackend::put_many`] writes many entries under one lock in one atomic
//!   rewrite, all or nothing, with each precondition checked against the earlier items;
//!   [`FileBackend::put_many_skipping_conflicts`] skips the items whose precondition fails
//!   and writes the rest. A batch costs one write of the store, not one per item.
//! - **TTL** is enforced with an injectable [`Clock`](oauth_store_core::Clock); expired
//!   entries are purged by the next write.
//! - **Nothing lost.** A file that is corrupt, truncated, tampered with, too large or not
//!   openable with the keys at hand is never overwritten or deleted by a write: the error
//!   names the path. [`FileBackend::quarantine`] moves such a file aside so the user can
//!   start again without losing the evidence.
//! - **Key rotation** with [`FileBackend::rotate`]; **tooling** with [`FileBackend::status`].
//!
//! All blocking file work runs on tokio's blocking pool, so the backend works from any tokio
//! runtime, current-thread included. The file layout, the plaintext schema and every policy
//! decision are in `docs/FILE-BACKEND.md`.
//!
//! # Platforms
//!
//! Unix-like systems only, for now: file modes, inode identity and directory fsync are what
//! the guarantees above are built on. Other targets fail to compile with a message saying so.
//!
//! # Errors
//!
//! Every method returns the core [`Error`]; this crate has no error type of its own.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use oauth_store_core::key_material::{KeyRing, SecretKey};
//! use oauth_store_core::{Backend, BackendExt, EntryKey, PutOptions, TokenSet};
//! use oauth_store_file::FileBackend;
//!
//! let dir = tempfile::tempdir()?;
//! let keys = KeyRing::new(SecretKey::generate());
//! let store = FileBackend::open(dir.path().join("tokens.json"), keys)?;
//!
//! let key = EntryKey::new("github")?;
//! let rev = store.put(&key, &TokenSet::new("gho_1"), PutOptions::if_absent()).await?;
//! // A refresh only wins if nobody refreshed in between, in this process or another.
//! store.put(&key, &TokenSet::new("gho_2"), PutOptions::if_revision(rev)).await?;
//! assert_eq!(store.get_token(&key).await?.unwrap().access_token.expose(), "gho_2");
//!
//! let status = store.status().await?;
//! assert_eq!(status.mode, Some(0o600));
//! assert_eq!(status.entries, Some(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

#[cfg(not(unix))]
compile_error!("oauth-store-file supports Unix-like systems only (modes, inodes, directory fsync)");

mod backend;
mod doc;
mod fsutil;
mod lock;
mod status;

pub use backend::{
    DEFAULT_LOCK_TIMEOUT, DEFAULT_MAX_FILE_SIZE, FILE_CONTEXT, FileBackend, FileBackendBuilder,
};
pub use status::{FileStatus, Problem};

#[doc(no_inline)]
pub use oauth_store_core::Error;

//! The only place this crate writes, renames or removes files.
//!
//! Every change to the store file goes through [`write_atomic`]: a uniquely named temporary
//! file is created exclusively (`O_CREAT | O_EXCL`, so a planted symlink is never followed)
//! with mode 0600 in the store's own directory, written, fsynced, renamed over the store file,
//! and the directory is fsynced. Nothing is ever truncated or rewritten in place, and the
//! temporary file is removed on every failure path (including a panic, through a drop guard).
//!
//! `clippy.toml` bans the std functions that write files everywhere else in this crate.
#![allow(clippy::disallowed_methods)] // this module is the one allowed writer

use std::ffi::{OsStr, OsString};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of the store file, its temporary files and its lock file.
pub(crate) const FILE_MODE: u32 = 0o600;
/// Mode of directories this crate creates.
pub(crate) const DIR_MODE: u32 = 0o700;

/// How many fresh temporary names are tried before giving up when each one already exists.
const TEMP_NAME_ATTEMPTS: usize = 8;

/// The prefix of every temporary file of the store file `file_name`: `.<name>.tmp-`.
pub(crate) fn temp_prefix(file_name: &OsStr) -> OsString {
    let mut p = OsString::from(".");
    p.push(file_name);
    p.push(".tmp-");
    p
}

/// A fresh temporary name: `.<name>.tmp-<pid>-<16 random hex digits>`.
fn temp_name(file_name: &OsStr) -> io::Result<OsString> {
    let mut name = temp_prefix(file_name);
    name.push(format!("{}-{:016x}", std::process::id(), random_u64()?));
    Ok(name)
}

/// A random `u64` from the operating system.
pub(crate) fn random_u64() -> io::Result<u64> {
    let mut buf = [0u8; 8];
    getrandom::getrandom(&mut buf).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(u64::from_le_bytes(buf))
}

/// Creates `dir` and its missing parents with mode 0700. Existing directories are left as
/// they are.
pub(crate) fn create_dir_all(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Fsyncs a directory, so a rename or removal inside it survives a power loss.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes its path on drop unless disarmed: the temporary file of a write in progress.
struct TempGuard {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Creates a new temporary file next to the store file, exclusively and with mode 0600.
/// `name` chooses the names to try (random in production; fixed in tests).
fn create_temp(
    dir: &Path,
    mut name: impl FnMut() -> io::Result<OsString>,
) -> io::Result<(File, TempGuard)> {
    let mut last = None;
    for _ in 0..TEMP_NAME_ATTEMPTS {
        let path = dir.join(name()?);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&path)
        {
            Ok(file) => {
                let guard = TempGuard { path, armed: true };
                // The umask can only clear bits; make the mode exact if it did.
                if file.metadata()?.permissions().mode() & 0o7777 != FILE_MODE {
                    file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
                }
                return Ok((file, guard));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no temporary name could be created")))
}

/// Writes `bytes` to `target` atomically and durably; returns the open handle of the new
/// file (now at `target`), which callers keep to pin its inode for cache validation.
pub(crate) fn write_atomic(target: &Path, bytes: &[u8]) -> io::Result<File> {
    let (dir, file_name) = split(target)?;
    write_atomic_named(target, bytes, || temp_name(file_name), dir)
}

fn write_atomic_named(
    target: &Path,
    bytes: &[u8],
    name: impl FnMut() -> io::Result<OsString>,
    dir: &Path,
) -> io::Result<File> {
    let (mut file, mut guard) = create_temp(dir, name)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&guard.path, target)?;
    guard.armed = false;
    sync_dir(dir)?;
    Ok(file)
}

/// Removes the store file durably (used when a v1 store loses its last entry).
pub(crate) fn remove_durably(target: &Path) -> io::Result<()> {
    let (dir, _) = split(target)?;
    match fs::remove_file(target) {
        Ok(()) => sync_dir(dir),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Renames `from` to `to` only if `to` does not exist yet, then fsyncs the directory.
/// Used to move a bad store file aside.
pub(crate) fn rename_noclobber(from: &Path, to: &Path) -> io::Result<()> {
    // A hard link fails when `to` exists, unlike rename; then the old name is removed.
    match fs::hard_link(from, to) {
        Ok(()) => fs::remove_file(from)?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
        Err(_) => {
            // A file system without hard links: check, then rename. The caller holds the
            // store's lock, and the name is fresh, so nobody else creates it meanwhile.
            if fs::symlink_metadata(to).is_ok() {
                return Err(io::Error::from(io::ErrorKind::AlreadyExists));
            }
            fs::rename(from, to)?;
        }
    }
    let (dir, _) = split(from)?;
    sync_dir(dir)
}

/// Sets the mode of an existing file to 0600.
pub(crate) fn tighten_mode(path: &Path) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(FILE_MODE))
}

/// Temporary files of the store file `target` left behind by writers that died.
///
/// Writers create temporary files only while holding the store's lock, so a caller that
/// holds the lock knows every file found here is stale.
pub(crate) fn stale_temp_files(target: &Path) -> io::Result<Vec<PathBuf>> {
    let (dir, file_name) = split(target)?;
    let prefix = temp_prefix(file_name);
    let read_dir = match fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for entry in read_dir {
        let entry = entry?;
        if entry.file_name().as_bytes().starts_with(prefix.as_bytes()) {
            found.push(dir.join(entry.file_name()));
        }
    }
    found.sort();
    Ok(found)
}

/// Removes stale temporary files (see [`stale_temp_files`]); call only under the lock.
/// Symlinks are removed as links, never followed. Returns how many were removed.
///
/// Best effort: something that cannot be removed (a directory planted under such a name, a
/// file in a directory we may not change) is left for `status()` to report, rather than
/// blocking every write.
pub(crate) fn remove_stale_temp_files(target: &Path) -> usize {
    let Ok(found) = stale_temp_files(target) else {
        return 0;
    };
    found
        .iter()
        .filter(|path| fs::remove_file(path).is_ok())
        .count()
}

/// Opens (creating if needed, mode 0600) the lock file. It is never truncated or deleted.
pub(crate) fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(path)
}

/// The directory and file name of a store path.
pub(crate) fn split(target: &Path) -> io::Result<(&Path, &OsStr)> {
    let file_name = target.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the store path must name a file",
        )
    })?;
    Ok((target.parent().unwrap_or_else(|| Path::new("")), file_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn tempdir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn writes_with_mode_0600_and_leaves_no_temp() {
        let dir = tempdir();
        let target = dir.path().join("store.json");
        write_atomic(&target, b"one").unwrap();
        write_atomic(&target, b"two").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        assert_eq!(fs::metadata(&target).unwrap().mode() & 0o777, 0o600);
        assert!(stale_temp_files(&target).unwrap().is_empty());
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn planted_symlink_at_temp_name_is_not_followed() {
        let dir = tempdir();
        let target = dir.path().join("store.json");
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let planted = OsString::from(".store.json.tmp-planted");
        std::os::unix::fs::symlink(&victim, dir.path().join(&planted)).unwrap();
        let mut names = vec![OsString::from(".store.json.tmp-fresh"), planted.clone()];
        write_atomic_named(&target, b"data", || Ok(names.pop().unwrap()), dir.path()).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(&target).unwrap(), b"data");
        // The symlink is still a symlink, and is what a later writer's cleanup removes.
        let link = dir.path().join(&planted);
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(remove_stale_temp_files(&target), 1);
        assert!(fs::symlink_metadata(&link).is_err());
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
    }

    #[test]
    fn every_name_taken_is_an_error_and_writes_nothing() {
        let dir = tempdir();
        let target = dir.path().join("s");
        fs::write(dir.path().join(".s.tmp-x"), b"").unwrap();
        let e =
            write_atomic_named(&target, b"d", || Ok(".s.tmp-x".into()), dir.path()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert!(!target.exists());
    }

    #[test]
    fn failed_rename_removes_the_temp_file() {
        let dir = tempdir();
        // The target is a non-empty directory: rename fails after the temp file was written.
        let target = dir.path().join("store");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), b"x").unwrap();
        assert!(write_atomic(&target, b"data").is_err());
        assert!(stale_temp_files(&target).unwrap().is_empty());
    }

    #[test]
    fn dirs_are_created_0700() {
        let dir = tempdir();
        let nested = dir.path().join("a/b/c");
        create_dir_all(&nested).unwrap();
        for d in ["a", "a/b", "a/b/c"] {
            let mode = fs::metadata(dir.path().join(d)).unwrap().mode() & 0o777;
            assert_eq!(mode, 0o700, "{d}");
        }
    }

    #[test]
    fn rename_noclobber_refuses_to_overwrite() {
        let dir = tempdir();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::write(&a, b"A").unwrap();
        fs::write(&b, b"B").unwrap();
        assert!(rename_noclobber(&a, &b).is_err());
        assert_eq!(fs::read(&a).unwrap(), b"A");
        fs::remove_file(&b).unwrap();
        rename_noclobber(&a, &b).unwrap();
        assert_eq!(fs::read(&b).unwrap(), b"A");
        assert!(!a.exists());
    }
}

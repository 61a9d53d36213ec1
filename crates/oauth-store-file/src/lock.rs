//! The advisory lock every read-modify-write of a store file happens under.
//!
//! The lock is an exclusive `flock` on a sibling file `<name>.lock`, which is created with mode
//! 0600 and never deleted (deleting a lock file lets two writers lock two different files).
//! Waiting is bounded: `try_lock` is polled with exponential backoff until the configured time
//! runs out, which ends in [`Error::Locked`] naming the lock file.
//!
//! Locks taken through different open file descriptions exclude each other even inside one
//! process, so each operation opens the lock file afresh.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use oauth_store_core::{Error, Result};

use crate::fsutil;

/// The first pause between two attempts; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_micros(200);
/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_millis(20);

/// An exclusive lock on a store; released when dropped (closing the descriptor releases it).
#[derive(Debug)]
pub(crate) struct LockGuard {
    _file: File,
}

/// Takes the exclusive lock on `lock_path`, waiting at most `timeout`.
pub(crate) fn acquire(lock_path: &Path, timeout: Duration) -> Result<LockGuard> {
    let file = fsutil::open_lock_file(lock_path).map_err(|e| Error::io(lock_path.display(), e))?;
    let start = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(LockGuard { _file: file }),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(Error::io(lock_path.display(), e)),
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(Error::Locked {
                location: lock_path.display().to_string(),
                waited,
            });
        }
        // Jitter keeps waiting processes from retrying in lockstep.
        let jitter = Duration::from_micros(fsutil::random_u64().unwrap_or(0) % 200);
        std::thread::sleep((backoff + jitter).min(timeout - waited));
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Whether someone else holds the lock right now (for status reports). A missing lock file
/// means nobody does; it is not created.
pub(crate) fn held_elsewhere(lock_path: &Path) -> Result<bool> {
    let file = match File::open(lock_path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(lock_path.display(), e)),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(e)) => Err(Error::io(lock_path.display(), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_locker_times_out_with_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("s.lock");
        let held = acquire(&lock, Duration::from_secs(1)).unwrap();
        assert!(held_elsewhere(&lock).unwrap());
        let start = Instant::now();
        let err = acquire(&lock, Duration::from_millis(100)).unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(100));
        match &err {
            Error::Locked { location, waited } => {
                assert!(location.ends_with("s.lock"), "{location}");
                assert!(*waited >= Duration::from_millis(100));
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        assert!(err.is_temporary());
        drop(held);
        assert!(!held_elsewhere(&lock).unwrap());
        let _again = acquire(&lock, Duration::from_millis(100)).unwrap();
    }

    #[test]
    fn waiter_gets_the_lock_when_released() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("s.lock");
        let held = acquire(&lock, Duration::from_secs(1)).unwrap();
        let path = lock.clone();
        let waiter = std::thread::spawn(move || acquire(&path, Duration::from_secs(5)).is_ok());
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
        assert!(waiter.join().unwrap());
    }

    #[test]
    fn missing_lock_file_is_not_held_and_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("none.lock");
        assert!(!held_elsewhere(&lock).unwrap());
        assert!(!lock.exists());
    }
}

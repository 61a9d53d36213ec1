//! The advisory lock every read-modify-write of a store file happens under.
//!
//! The lock is an exclusive `flock` on a sibling file `<name>.lock`, which is created with mode
//! 0600 and never deleted (deleting a lock file lets two writers lock two different files).
//! Waiting is bounded: when the lock is taken, a waiter thread waits for it in a blocking
//! `lock` (so it is handed over the moment it is released) while the caller waits at most the
//! configured time, which ends in [`Error::Locked`] naming the lock file. A waiter whose caller
//! gave up releases the lock as soon as it gets it, and ends; if the holder never releases it,
//! that thread waits with it (one parked thread per timed-out attempt).
//!
//! Locks taken through different open file descriptions exclude each other even inside one
//! process, so each operation opens the lock file afresh.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use oauth_store_core::{Error, Result};

use crate::fsutil;

/// An exclusive lock on a store; released when dropped (closing the descriptor releases it).
#[derive(Debug)]
pub(crate) struct LockGuard {
    _file: File,
}

/// Takes the exclusive lock on `lock_path`, waiting at most `timeout`.
///
/// An uncontended lock costs one `try_lock`. A contended one is waited for by a waiter thread
/// in a blocking `lock` (so the kernel hands the lock over the moment it is released, with no
/// polling delay) while this thread waits on a channel with the time limit. If the time runs
/// out, the waiter releases the lock as soon as it gets it.
pub(crate) fn acquire(lock_path: &Path, timeout: Duration) -> Result<LockGuard> {
    let io = |e| Error::io(lock_path.display(), e);
    let file = fsutil::open_lock_file(lock_path).map_err(io)?;
    match file.try_lock() {
        Ok(()) => return Ok(LockGuard { _file: file }),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    let start = Instant::now();
    // The clone shares the open file description, and with it the lock.
    let waiter = file.try_clone().map_err(io)?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("oauth-store-file-lock".into())
        .spawn(move || {
            let locked = waiter.lock().is_ok();
            if tx.send(locked).is_err() && locked {
                // Nobody is waiting any more: release at once.
                let _ = waiter.unlock();
            }
        })
        .map_err(io)?;
    match rx.recv_timeout(timeout) {
        Ok(true) => Ok(LockGuard { _file: file }),
        Ok(false) => {
            // The blocking call failed; report what a direct attempt says.
            match file.try_lock() {
                Ok(()) => Ok(LockGuard { _file: file }),
                Err(TryLockError::Error(e)) => Err(io(e)),
                Err(TryLockError::WouldBlock) => Err(Error::Locked {
                    location: lock_path.display().to_string(),
                    waited: start.elapsed(),
                }),
            }
        }
        Err(_) => {
            drop(rx);
            Err(Error::Locked {
                location: lock_path.display().to_string(),
                waited: start.elapsed(),
            })
        }
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
        // The timed-out waiter gets the lock now and releases it at once.
        let _again = acquire(&lock, Duration::from_secs(1)).unwrap();
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

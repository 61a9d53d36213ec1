//! The one error type of the core crate, shared by every backend.
//!
//! Each variant names what went wrong and where: the entry key, the file path or the backend
//! name. No variant ever carries a secret (a token value, a key or a passphrase), so an
//! `Error` may be logged or shown to a user as it is.

use std::time::Duration;

use crate::entry_key::KeyError;
use crate::envelope::FormatError;

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Boxed source error of a backend failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong when storing or loading token sets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The backend has no configuration to work with (no host bridge, no URL, no credentials).
    #[error("{backend} is not configured: {hint}")]
    NotConfigured {
        /// Which backend.
        backend: String,
        /// How to configure it.
        hint: String,
    },

    /// An entry key or namespace broke one of the naming rules.
    #[error("invalid entry key: {0}")]
    InvalidKey(#[from] KeyError),

    /// A token set could not be understood (not a JSON object, wrong field type, …).
    #[error("invalid token set in {location}: {reason}")]
    InvalidTokenSet {
        /// Where the token set came from (an entry key, `stdin`, a bridge operation).
        location: String,
        /// What was wrong with it.
        reason: String,
    },

    /// A conditional write or delete lost: the entry exists (for "only if absent") or its
    /// revision is no longer the expected one.
    #[error("conflict on entry {key:?}: {reason}")]
    Conflict {
        /// The entry key.
        key: String,
        /// What the condition was and what was found.
        reason: String,
    },

    /// None of the keys at hand opens the data: the key id is unknown, or (for formats
    /// without key ids) authentication failed with every key.
    #[error("wrong key for {location}: {reason}")]
    WrongKey {
        /// The file path or other location of the sealed data.
        location: String,
        /// What was tried.
        reason: String,
    },

    /// Stored data is corrupt, truncated or has been tampered with.
    #[error("corrupt or tampered data at {location}: {source}")]
    Corrupt {
        /// The file path, row or secret name.
        location: String,
        /// What exactly is wrong.
        #[source]
        source: FormatError,
    },

    /// Data is larger than the configured bound.
    #[error("{location} is too large: {size} bytes, the limit is {limit}")]
    TooLarge {
        /// What was too large (a file path, a token set for an entry key).
        location: String,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },

    /// A lock could not be taken in time.
    #[error("{location} is locked by another writer; gave up after {waited:?}")]
    Locked {
        /// The locked resource (e.g. the lock file's path).
        location: String,
        /// How long we waited.
        waited: Duration,
    },

    /// An operation did not finish in time.
    #[error("{operation} on {backend} timed out after {after:?}")]
    Timeout {
        /// Which backend.
        backend: String,
        /// Which operation.
        operation: &'static str,
        /// The time limit.
        after: Duration,
    },

    /// The backend cannot do this (for example a conditional write on a backend that cannot
    /// make it atomic, or `list` on a backend without listing).
    #[error("{backend} does not support {operation}")]
    Unsupported {
        /// Which backend.
        backend: String,
        /// What was asked of it.
        operation: &'static str,
    },

    /// A local I/O error, with the path it happened on.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The path (or other resource) the operation was on.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The backend itself failed (a network error, a server error, a user closure's error).
    #[error("{backend} failed: {source}")]
    Backend {
        /// Which backend.
        backend: String,
        /// Whether trying again later may succeed.
        temporary: bool,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// Whether trying the same operation again later may succeed: lock and time-outs, and
    /// backend failures their backend marked temporary. Retry layers retry only these.
    #[must_use]
    pub fn is_temporary(&self) -> bool {
        match self {
            Self::Locked { .. } | Self::Timeout { .. } => true,
            Self::Backend { temporary, .. } => *temporary,
            Self::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::TimedOut
            ),
            _ => false,
        }
    }

    /// Whether this is a [`Error::Conflict`]: a conditional write lost and the caller should
    /// read again and retry.
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }

    /// The [`Error::Conflict`] of a backend that reads, checks the precondition, then makes a
    /// compare-and-swap write which finds the entry changed in between.
    #[must_use]
    pub fn changed_since_read(key: &crate::EntryKey) -> Self {
        Self::Conflict {
            key: key.to_string(),
            reason: "the entry changed between the read and the conditional write".into(),
        }
    }

    /// Builds [`Error::Backend`] from any error, tagging the backend name.
    pub fn backend(
        backend: impl Into<String>,
        temporary: bool,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::Backend {
            backend: backend.into(),
            temporary,
            source: source.into(),
        }
    }

    /// Builds [`Error::Io`] from an I/O error and the path it happened on.
    pub fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_string(),
            source,
        }
    }

    /// Builds [`Error::Unsupported`].
    pub fn unsupported(backend: impl Into<String>, operation: &'static str) -> Self {
        Self::Unsupported {
            backend: backend.into(),
            operation,
        }
    }

    /// Builds [`Error::Corrupt`].
    pub fn corrupt(location: impl std::fmt::Display, source: FormatError) -> Self {
        Self::Corrupt {
            location: location.to_string(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_errors_are_classified() {
        assert!(
            Error::Locked {
                location: "x".into(),
                waited: Duration::from_secs(1)
            }
            .is_temporary()
        );
        assert!(Error::backend("b", true, "net down").is_temporary());
        assert!(!Error::backend("b", false, "denied").is_temporary());
        assert!(
            !Error::Conflict {
                key: "k".into(),
                reason: "r".into()
            }
            .is_temporary()
        );
    }

    #[test]
    fn messages_name_the_place() {
        let e = Error::TooLarge {
            location: "/tmp/store.json".into(),
            size: 10,
            limit: 5,
        };
        assert_eq!(
            e.to_string(),
            "/tmp/store.json is too large: 10 bytes, the limit is 5"
        );
        let e = Error::unsupported("custom(vault)", "conditional writes");
        assert_eq!(
            e.to_string(),
            "custom(vault) does not support conditional writes"
        );
    }

    #[test]
    fn error_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Error>();
    }
}

//! The one error type of this crate, and how it becomes the core [`oauth_store_core::Error`].
//!
//! Backends in this crate return the core error from their [`oauth_store_core::Backend`]
//! methods, as every backend does. The richer error here is what they build first: it names
//! the host bridge, the operation, the scope and the entry key. [`Error::into_core`] turns it
//! into the matching core variant (an invalid response becomes
//! [`oauth_store_core::Error::InvalidTokenSet`], an oversized one
//! [`oauth_store_core::Error::TooLarge`], a host failure [`oauth_store_core::Error::Backend`]
//! with this error as its source), tagged with the backend's name.
//!
//! No variant carries a token value: what a host returned is described by its JSON type and
//! size, never shown.

#[cfg(feature = "bridge")]
use crate::bridge::{Operation, Scope};
#[cfg(feature = "bridge")]
use oauth_store_core::BoxError;

/// Everything that can go wrong in this crate's backends before it is reported as a core error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The host's own operation failed (it returned an error).
    #[cfg(feature = "bridge")]
    #[error("host bridge {bridge:?} failed in {operation} (scope {scope}, key {key:?}): {source}")]
    Host {
        /// The host bridge's name.
        bridge: String,
        /// The operation that failed.
        operation: Operation,
        /// The scope it was called with.
        scope: Scope,
        /// The entry key it was called with (the prefix, for `cloud_list`).
        key: String,
        /// Whether trying again later may succeed (the host returned a temporary core error).
        temporary: bool,
        /// The host's error.
        #[source]
        source: BoxError,
    },

    /// The host answered with something that is not what the operation returns: not a token
    /// set (or nothing) for `cloud_get`, a record for another key or scope, a malformed key
    /// list or lock id.
    #[cfg(feature = "bridge")]
    #[error(
        "host bridge {bridge:?} returned an invalid response to {operation} (scope {scope}, key {key:?}): {reason}"
    )]
    InvalidResponse {
        /// The host bridge's name.
        bridge: String,
        /// The operation whose response was invalid.
        operation: Operation,
        /// The scope it was called with.
        scope: Scope,
        /// The entry key it was called with (the prefix, for `cloud_list`).
        key: String,
        /// What was wrong, without the value itself.
        reason: String,
    },

    /// The host answered with a value larger than the backend accepts.
    #[cfg(feature = "bridge")]
    #[error(
        "host bridge {bridge:?} returned {size} bytes to {operation} (scope {scope}, key {key:?}); the limit is {limit}"
    )]
    ResponseTooLarge {
        /// The host bridge's name.
        bridge: String,
        /// The operation.
        operation: Operation,
        /// The scope it was called with.
        scope: Scope,
        /// The entry key it was called with.
        key: String,
        /// The size of the response serialized as JSON, in bytes.
        size: u64,
        /// The limit, in bytes.
        limit: u64,
    },

    /// The host declares an optional operation in its capabilities but does not implement it.
    #[cfg(feature = "bridge")]
    #[error("host bridge {bridge:?} declares {operation} but does not implement it")]
    NotImplemented {
        /// The host bridge's name.
        bridge: String,
        /// The operation.
        operation: Operation,
    },
}

impl Error {
    /// The core error this becomes, tagged with `backend` (the name of the backend that
    /// called the host, such as `cloud_session(my-host)`).
    #[must_use]
    pub fn into_core(self, backend: &str) -> oauth_store_core::Error {
        // Without any backend feature the enum is empty and `backend` has no use.
        let _ = backend;
        match self {
            #[cfg(feature = "bridge")]
            Self::InvalidResponse {
                bridge,
                operation,
                scope,
                key,
                reason,
            } => oauth_store_core::Error::InvalidTokenSet {
                location: format!(
                    "{backend}: response of host bridge {bridge:?} to {operation} (scope {scope}, key {key:?})"
                ),
                reason,
            },
            #[cfg(feature = "bridge")]
            Self::ResponseTooLarge {
                bridge,
                operation,
                scope,
                key,
                size,
                limit,
            } => oauth_store_core::Error::TooLarge {
                location: format!(
                    "{backend}: response of host bridge {bridge:?} to {operation} (scope {scope}, key {key:?})"
                ),
                size,
                limit,
            },
            #[cfg(feature = "bridge")]
            Self::NotImplemented { operation, .. } => {
                oauth_store_core::Error::unsupported(backend, operation.as_str())
            }
            #[cfg(feature = "bridge")]
            Self::Host { temporary, .. } => {
                oauth_store_core::Error::backend(backend, temporary, self)
            }
        }
    }
}

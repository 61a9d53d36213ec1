//! The one error type of this crate, and how it becomes the core [`oauth_store_core::Error`].
//!
//! Building a backend returns this error directly (a missing closure is a mistake in the
//! program, found before any token is stored). Errors met while a backend runs are reported
//! through the core error, as every backend does: [`Error::into_core`] tags them with the
//! backend's name. No variant carries a token value.

#[cfg(feature = "custom")]
use oauth_store_core::BoxError;

/// Everything that can go wrong in this crate's backends before it is reported as a core error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A custom backend was built without one of its required closures.
    #[cfg(feature = "custom")]
    #[error(
        "custom backend {id:?} has no `{closure}` closure; give one with \
         CustomBackend::builder({id:?}).{closure}(|…| async move {{ … }})"
    )]
    MissingClosure {
        /// The backend's id.
        id: String,
        /// The closure's name: `get`, `set` or `delete`.
        closure: &'static str,
    },

    /// A custom backend was given one of the two conditional closures without the other:
    /// conditional writes need both, or neither.
    #[cfg(feature = "custom")]
    #[error(
        "custom backend {id:?} has a `{given}` closure but no `{missing}` closure; conditional \
         writes need both"
    )]
    IncompleteConditional {
        /// The backend's id.
        id: String,
        /// The closure that was given.
        given: &'static str,
        /// The closure that is missing.
        missing: &'static str,
    },

    /// A custom backend's id is unusable in messages.
    #[cfg(feature = "custom")]
    #[error("invalid custom backend id {id:?}: {reason}")]
    InvalidId {
        /// The id as given.
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A user closure returned an error.
    #[cfg(feature = "custom")]
    #[error("the `{closure}` closure failed: {source}")]
    Closure {
        /// The closure's name: `get`, `set`, `delete`, `list`, `set_if` or `delete_if`.
        closure: &'static str,
        /// Whether trying again later may succeed (the closure returned a temporary core
        /// error).
        temporary: bool,
        /// The closure's error.
        #[source]
        source: BoxError,
    },

    /// A stored record (see `CustomRecord::from_json`) could not be read.
    #[cfg(feature = "custom")]
    #[error("invalid custom backend record: {reason}")]
    InvalidRecord {
        /// What is wrong with it, without its values.
        reason: String,
    },
}

impl Error {
    /// The core error this becomes, tagged with `backend` (such as `custom(my-vault)`).
    #[must_use]
    pub fn into_core(self, backend: &str) -> oauth_store_core::Error {
        // Without any backend feature the enum is empty and `backend` has no use.
        let _ = backend;
        match self {
            #[cfg(feature = "custom")]
            Self::InvalidRecord { reason } => oauth_store_core::Error::InvalidTokenSet {
                location: format!("a record of {backend}"),
                reason,
            },
            #[cfg(feature = "custom")]
            Self::MissingClosure { .. }
            | Self::IncompleteConditional { .. }
            | Self::InvalidId { .. } => oauth_store_core::Error::NotConfigured {
                backend: backend.to_owned(),
                hint: self.to_string(),
            },
            #[cfg(feature = "custom")]
            Self::Closure { temporary, .. } => {
                oauth_store_core::Error::backend(backend, temporary, self)
            }
        }
    }
}

//! [`TracingLayer`] and [`Traced`]: a `tracing` span around every backend operation.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use tracing::{Instrument, Span, field};

use super::Layer;
use crate::backend::{
    Backend, Capabilities, DeleteOptions, Entry, ListedEntry, PutOptions, Revision,
};
use crate::entry_key::EntryKey;
use crate::error::{Error, Result};
use crate::token::TokenSet;

/// Traces every operation of a backend: see [`Traced`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingLayer {
    _private: (),
}

impl TracingLayer {
    /// A tracing layer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl<B: Backend> Layer<B> for TracingLayer {
    type Backend = Traced<B>;

    fn layer(&self, inner: B) -> Traced<B> {
        Traced::new(inner)
    }
}

/// A backend that runs every operation in an `INFO` span named `oauth_store`.
///
/// The span has the fields `backend` (its name), `operation` (`get`, `put`, `delete` or
/// `list`), `key` (or `prefix`, for `list`) and `outcome` (`hit`, `miss`, `written`,
/// `deleted`, `absent`, `listed`, or for a failure the kind of error: `conflict`,
/// `unsupported`, `too_large`, …). When the operation ends, an event inside the span reports
/// the outcome, the time taken and, for writes, the new revision: at `DEBUG` on success and
/// for conflicts and unsupported operations (callers expect and handle those), at `WARN` with
/// the error's message for every other failure.
///
/// Key names, revisions, TTLs and error messages are logged; token values never are (errors
/// carry no secrets, and the token set itself is not recorded).
///
/// ```
/// use oauth_store_core::layer::Traced;
/// use oauth_store_core::{Backend, MemoryBackend};
///
/// let store = Traced::new(MemoryBackend::new());
/// assert_eq!(store.name(), "memory");
/// ```
#[derive(Clone)]
pub struct Traced<B> {
    inner: B,
    /// The inner backend's name, taken once for the spans.
    backend: Arc<str>,
}

impl<B: fmt::Debug> fmt::Debug for Traced<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Traced")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<B: Backend> Traced<B> {
    /// Traces the operations of `inner`.
    pub fn new(inner: B) -> Self {
        Self {
            backend: inner.name().into(),
            inner,
        }
    }

    /// The backend inside.
    #[must_use]
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// The backend inside, unwrapped.
    pub fn into_inner(self) -> B {
        self.inner
    }

    fn key_span(&self, operation: &'static str, key: &EntryKey) -> Span {
        tracing::info_span!(
            "oauth_store",
            backend = &*self.backend,
            operation,
            key = key.as_str(),
            outcome = field::Empty,
        )
    }
}

/// The `outcome` of a failed operation.
fn error_outcome(error: &Error) -> &'static str {
    #[allow(unreachable_patterns)] // `Error` is non-exhaustive: variants added later
    match error {
        Error::NotConfigured { .. } => "not_configured",
        Error::InvalidKey(_) => "invalid_key",
        Error::InvalidTokenSet { .. } => "invalid_token_set",
        Error::Conflict { .. } => "conflict",
        Error::WrongKey { .. } => "wrong_key",
        Error::Corrupt { .. } => "corrupt",
        Error::TooLarge { .. } => "too_large",
        Error::Locked { .. } => "locked",
        Error::Timeout { .. } => "timeout",
        Error::Unsupported { .. } => "unsupported",
        Error::Io { .. } => "io_error",
        Error::Backend { .. } => "backend_error",
        _ => "error",
    }
}

/// Records the outcome on the current span and reports it in an event.
fn finish<T>(started: Instant, result: &Result<T>, outcome: impl FnOnce(&T) -> &'static str) {
    let elapsed = started.elapsed();
    match result {
        Ok(value) => {
            let outcome = outcome(value);
            Span::current().record("outcome", outcome);
            tracing::debug!(outcome, ?elapsed, "oauth-store operation finished");
        }
        Err(error) => {
            let outcome = error_outcome(error);
            Span::current().record("outcome", outcome);
            if matches!(error, Error::Conflict { .. } | Error::Unsupported { .. }) {
                tracing::debug!(outcome, ?elapsed, %error, "oauth-store operation refused");
            } else {
                tracing::warn!(outcome, ?elapsed, %error, "oauth-store operation failed");
            }
        }
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<B: Backend> Backend for Traced<B> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn get(&self, key: &EntryKey) -> Result<Option<Entry>> {
        async {
            let started = Instant::now();
            let result = self.inner.get(key).await;
            if let Ok(Some(entry)) = &result {
                tracing::trace!(revision = %entry.meta.revision, "found");
            }
            finish(
                started,
                &result,
                |e| if e.is_some() { "hit" } else { "miss" },
            );
            result
        }
        .instrument(self.key_span("get", key))
        .await
    }

    async fn put(&self, key: &EntryKey, token: &TokenSet, options: PutOptions) -> Result<Revision> {
        async {
            tracing::trace!(precondition = ?options.precondition, ttl = ?options.ttl, "writing");
            let started = Instant::now();
            let result = self.inner.put(key, token, options).await;
            if let Ok(revision) = &result {
                tracing::trace!(%revision, "written");
            }
            finish(started, &result, |_| "written");
            result
        }
        .instrument(self.key_span("put", key))
        .await
    }

    async fn delete(&self, key: &EntryKey, options: DeleteOptions) -> Result<bool> {
        async {
            tracing::trace!(if_revision = ?options.if_revision, "deleting");
            let started = Instant::now();
            let result = self.inner.delete(key, options).await;
            finish(started, &result, |&d| if d { "deleted" } else { "absent" });
            result
        }
        .instrument(self.key_span("delete", key))
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedEntry>> {
        let span = tracing::info_span!(
            "oauth_store",
            backend = &*self.backend,
            operation = "list",
            prefix,
            outcome = field::Empty,
        );
        async {
            let started = Instant::now();
            let result = self.inner.list(prefix).await;
            if let Ok(listed) = &result {
                tracing::trace!(count = listed.len(), "listed");
            }
            finish(started, &result, |_| "listed");
            result
        }
        .instrument(span)
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::clock::ManualClock;
    use crate::conformance::{self, Config};
    use crate::memory::MemoryBackend;

    // The tests that capture the trace output live in `tests/layer_tracing.rs`, a test binary
    // of its own: `tracing` caches per call site whether anyone listens, and a test on
    // another thread of this binary hitting the same call sites without a subscriber can race
    // with a capturing test installing its own.

    #[tokio::test]
    async fn passes_conformance() {
        let clock = ManualClock::new();
        let store = Traced::new(MemoryBackend::with_clock(Arc::new(clock.clone())));
        conformance::run_all(&store, &Config::new().with_clock(clock)).await;
    }

    #[test]
    fn every_error_kind_has_an_outcome() {
        let io = Error::io("/x", io::Error::other("x"));
        assert_eq!(error_outcome(&io), "io_error");
        assert_eq!(
            error_outcome(&Error::unsupported("m", "list")),
            "unsupported"
        );
        assert_eq!(
            error_outcome(&Error::backend("m", false, "x")),
            "backend_error"
        );
    }

    #[test]
    fn layer_and_accessors() {
        let store = TracingLayer::new().layer(MemoryBackend::new());
        assert_eq!(store.inner().name(), "memory");
        assert!(format!("{store:?}").starts_with("Traced { inner: MemoryBackend"));
        assert_eq!(store.into_inner().name(), "memory");
    }
}

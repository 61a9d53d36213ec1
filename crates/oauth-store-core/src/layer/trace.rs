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
    use std::sync::Mutex;

    use super::*;
    use crate::backend::BackendExt;
    use crate::clock::ManualClock;
    use crate::conformance::{self, Config};
    use crate::memory::MemoryBackend;
    use crate::mock::{MockBackend, Operation};

    /// Everything a `fmt` subscriber writes, kept for the test to read.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Capture {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }

        /// Makes this capture the current thread's subscriber at `TRACE`, until the guard drops.
        fn install(&self) -> tracing::subscriber::DefaultGuard {
            let writer = self.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_max_level(tracing::Level::TRACE)
                .finish();
            tracing::subscriber::set_default(subscriber)
        }
    }

    // A current-thread runtime polls everything on the thread whose subscriber is set.
    #[tokio::test(flavor = "current_thread")]
    async fn passes_conformance_and_never_logs_token_values() {
        let capture = Capture::default();
        let _guard = capture.install();
        let clock = ManualClock::new();
        let store = Traced::new(MemoryBackend::with_clock(Arc::new(clock.clone())));
        conformance::run_all(&store, &Config::new().with_clock(clock)).await;

        let out = capture.text();
        // Every token the suite writes has a value ending in `-secret`.
        assert!(!out.contains("-secret"), "a token value was logged");
        assert!(!out.contains("gho_"), "a token value was logged");
        for expected in [
            "key=\"conformance/round_trip/full\"",
            "operation=\"get\"",
            "operation=\"put\"",
            "operation=\"delete\"",
            "operation=\"list\"",
            "prefix=\"conformance/list_by_prefix/\"",
            "outcome=\"hit\"",
            "outcome=\"miss\"",
            "outcome=\"written\"",
            "outcome=\"deleted\"",
            "outcome=\"absent\"",
            "outcome=\"conflict\"",
            "backend=\"memory\"",
        ] {
            assert!(out.contains(expected), "{expected} not in the trace");
        }
        assert!(
            !out.contains("WARN"),
            "conflicts are expected, not warnings"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn failures_are_warnings_with_the_error_message() {
        let capture = Capture::default();
        let _guard = capture.install();
        let mock = MockBackend::new();
        let store = Traced::new(mock.clone());
        let key = EntryKey::new("github/alice").unwrap();
        let token = TokenSet::new("gho_ACCESS_VALUE").with_refresh_token("ghr_REFRESH_VALUE");
        store.put_token(&key, &token).await.unwrap();
        mock.fail_next(
            Operation::Put,
            Error::backend("mock", true, "service unavailable"),
        );
        let e = store.put_token(&key, &token).await.unwrap_err();
        assert!(e.is_temporary());
        mock.fail_next(Operation::Get, Error::unsupported("mock", "reading"));
        assert!(store.get(&key).await.is_err());

        let out = capture.text();
        assert!(!out.contains("ACCESS_VALUE") && !out.contains("REFRESH_VALUE"));
        let warn = out
            .lines()
            .find(|l| l.contains("WARN"))
            .expect("a warning for the failure");
        assert!(warn.contains("mock failed: service unavailable"), "{warn}");
        assert!(warn.contains("outcome=\"backend_error\""), "{warn}");
        assert!(warn.contains("key=\"github/alice\""), "{warn}");
        let unsupported = out
            .lines()
            .find(|l| l.contains("outcome=\"unsupported\""))
            .expect("an event for the refused get");
        assert!(unsupported.contains("DEBUG"), "{unsupported}");
        assert_eq!(out.matches("WARN").count(), 1);
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

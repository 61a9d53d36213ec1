//! [`MockBackend`]: a memory backend for testing code that *uses* a backend, with one-shot error
//! injection, call counting and configurable capabilities.
//!
//! Code that stores tokens must cope with conflicts, unavailable services and refused
//! operations. Those are hard to provoke with a real store; with the mock a test queues the
//! error the next call of an [`Operation`] returns, runs the code under test, and checks what
//! it did and how many calls it made. Without injected errors the mock is a correct backend
//! (it passes the conformance suite), honouring whatever [`Capabilities`] it was given:
//! without `conditional_writes` it refuses conditional operations, without `list` it refuses
//! to list, and with a `max_value_size` it refuses larger token sets.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use oauth_store_core::mock::{MockBackend, Operation};
//! use oauth_store_core::{BackendExt, EntryKey, Error, TokenSet};
//!
//! let store = MockBackend::new();
//! let key = EntryKey::new("github")?;
//! // Another process refreshes between our read and our write, once.
//! store.fail_next(Operation::Put, Error::Conflict { key: "github".into(), reason: "raced".into() });
//! let rev = store.update(&key, None, 3, |_| Some(TokenSet::new("at-1"))).await?;
//! assert!(rev.is_some());
//! assert_eq!(store.calls(Operation::Put), 2, "one lost write, one retry");
//! # Ok::<(), oauth_store_core::Error>(())
//! # }).unwrap();
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::backend::{
    Backend, Capabilities, DeleteOptions, Entry, ListedEntry, Precondition, PutOptions, Revision,
    check_value_size,
};
use crate::clock::Clock;
use crate::entry_key::EntryKey;
use crate::error::{Error, Result};
use crate::memory::MemoryBackend;
use crate::token::TokenSet;

/// One method of the [`Backend`] trait that does I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// [`Backend::get`].
    Get,
    /// [`Backend::put`].
    Put,
    /// [`Backend::delete`].
    Delete,
    /// [`Backend::list`].
    List,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 4] = [Self::Get, Self::Put, Self::Delete, Self::List];

    /// The operation's name: `get`, `put`, `delete` or `list`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Put => "put",
            Self::Delete => "delete",
            Self::List => "list",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Get => 0,
            Self::Put => 1,
            Self::Delete => 2,
            Self::List => 3,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Default)]
struct MockState {
    /// Errors to return, per operation, oldest first.
    errors: [VecDeque<Error>; 4],
    /// Calls made, per operation.
    calls: [usize; 4],
}

/// A [`MemoryBackend`] with one-shot error injection and call counting. Clones share entries,
/// queued errors and counts.
#[derive(Clone)]
pub struct MockBackend {
    inner: MemoryBackend,
    capabilities: Capabilities,
    state: Arc<Mutex<MockState>>,
}

impl fmt::Debug for MockBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        let pending: Vec<usize> = state.errors.iter().map(VecDeque::len).collect();
        f.debug_struct("MockBackend")
            .field("inner", &self.inner)
            .field("capabilities", &self.capabilities)
            .field("calls", &state.calls)
            .field("pending_errors", &pending)
            .finish_non_exhaustive()
    }
}

impl Default for MockBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl MockBackend {
    /// An empty mock on the system clock, with the memory backend's capabilities.
    #[must_use]
    pub fn new() -> Self {
        Self::wrap(MemoryBackend::new())
    }

    /// An empty mock on the given clock, with the memory backend's capabilities.
    #[must_use]
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self::wrap(MemoryBackend::with_clock(clock))
    }

    /// A mock over an existing memory backend (which it shares with the backend's clones).
    #[must_use]
    pub fn wrap(inner: MemoryBackend) -> Self {
        Self {
            capabilities: inner.capabilities(),
            inner,
            state: Arc::default(),
        }
    }

    /// Reports `capabilities` and enforces them: without `conditional_writes`, conditional
    /// puts and deletes fail with [`Error::Unsupported`]; without `list`, so does `list`; with
    /// `max_value_size`, larger token sets fail with [`Error::TooLarge`].
    #[must_use]
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Makes the next call of `operation` fail with `error`, once. Errors queued for one
    /// operation are returned in the order they were queued, one per call. A call that
    /// returns an injected error does not touch the stored entries.
    pub fn fail_next(&self, operation: Operation, error: Error) {
        self.lock().errors[operation.index()].push_back(error);
    }

    /// How many errors are still queued for `operation`.
    #[must_use]
    pub fn pending_errors(&self, operation: Operation) -> usize {
        self.lock().errors[operation.index()].len()
    }

    /// How many times `operation` was called, including calls that failed.
    #[must_use]
    pub fn calls(&self, operation: Operation) -> usize {
        self.lock().calls[operation.index()]
    }

    /// Sets every call count back to zero.
    pub fn reset_calls(&self) {
        self.lock().calls = [0; 4];
    }

    /// The memory backend underneath, to set up or inspect entries without counting calls or
    /// consuming injected errors.
    #[must_use]
    pub fn inner(&self) -> &MemoryBackend {
        &self.inner
    }

    fn lock(&self) -> MutexGuard<'_, MockState> {
        // Every update of the state is a single push, pop or increment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a call and takes its injected error, if any.
    fn enter(&self, operation: Operation) -> Result<()> {
        let mut state = self.lock();
        state.calls[operation.index()] += 1;
        match state.errors[operation.index()].pop_front() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn unsupported(&self, operation: &'static str) -> Error {
        Error::unsupported(self.name(), operation)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl Backend for MockBackend {
    fn name(&self) -> String {
        "mock".to_owned()
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    async fn get(&self, key: &EntryKey) -> Result<Option<Entry>> {
        self.enter(Operation::Get)?;
        self.inner.get(key).await
    }

    async fn put(&self, key: &EntryKey, token: &TokenSet, options: PutOptions) -> Result<Revision> {
        self.enter(Operation::Put)?;
        if options.precondition != Precondition::None && !self.capabilities.conditional_writes {
            return Err(self.unsupported("conditional writes"));
        }
        if self.capabilities.max_value_size.is_some() {
            let len = serde_json::to_vec(token).map_or(0, |v| v.len());
            check_value_size(&self.capabilities, key, len)?;
        }
        self.inner.put(key, token, options).await
    }

    async fn delete(&self, key: &EntryKey, options: DeleteOptions) -> Result<bool> {
        self.enter(Operation::Delete)?;
        if options.if_revision.is_some() && !self.capabilities.conditional_writes {
            return Err(self.unsupported("conditional deletes"));
        }
        self.inner.delete(key, options).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedEntry>> {
        self.enter(Operation::List)?;
        if !self.capabilities.list {
            return Err(self.unsupported("list"));
        }
        self.inner.list(prefix).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::backend::BackendExt;
    use crate::clock::ManualClock;
    use crate::conformance::{self, Config};

    fn conflict() -> Error {
        Error::Conflict {
            key: "k".into(),
            reason: "injected".into(),
        }
    }

    fn key() -> EntryKey {
        EntryKey::new("github").unwrap()
    }

    fn counter(t: Option<&TokenSet>) -> u64 {
        t.and_then(|t| t.extra.get("n"))
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    }

    fn with_counter(n: u64) -> TokenSet {
        let mut t = TokenSet::new(format!("at-{n}"));
        t.extra.insert("n".into(), n.into());
        t
    }

    fn mock_with_clock() -> (MockBackend, Config) {
        let clock = ManualClock::new();
        let mock = MockBackend::with_clock(Arc::new(clock.clone()));
        (mock, Config::new().with_clock(clock))
    }

    #[tokio::test]
    async fn passes_conformance_without_injected_errors() {
        let (mock, config) = mock_with_clock();
        conformance::run_all(&mock, &config).await;
        assert!(mock.calls(Operation::Put) > 0 && mock.calls(Operation::List) > 0);
    }

    #[tokio::test]
    async fn passes_conformance_with_fewer_capabilities() {
        // No conditional writes, no list, a 4 KiB limit: every "refuse" branch of the suite.
        let caps = Capabilities {
            max_value_size: Some(4096),
            ..Capabilities::default()
        };
        let (mock, config) = mock_with_clock();
        let mock = mock.with_capabilities(caps);
        conformance::run_all(&mock, &config).await;
        assert_eq!(mock.capabilities(), caps);
        let r = mock.list("").await;
        assert!(matches!(r, Err(Error::Unsupported { .. })), "{r:?}");
    }

    #[tokio::test]
    async fn injected_errors_are_one_shot_and_in_order() {
        let mock = MockBackend::new();
        mock.put_token(&key(), &TokenSet::new("a")).await.unwrap();
        mock.fail_next(Operation::Get, Error::backend("mock", true, "first"));
        mock.fail_next(Operation::Get, Error::unsupported("mock", "second"));
        assert_eq!(mock.pending_errors(Operation::Get), 2);
        assert_eq!(mock.pending_errors(Operation::Put), 0);
        let e = mock.get(&key()).await.unwrap_err();
        assert!(e.is_temporary() && e.to_string().contains("first"), "{e}");
        let e = mock.get(&key()).await.unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
        assert!(mock.get(&key()).await.unwrap().is_some());
        assert_eq!(mock.calls(Operation::Get), 3);
        mock.reset_calls();
        assert_eq!(mock.calls(Operation::Get), 0);
    }

    #[tokio::test]
    async fn a_failed_call_does_not_touch_the_store() {
        let mock = MockBackend::new();
        mock.fail_next(Operation::Put, Error::backend("mock", false, "down"));
        assert!(mock.put_token(&key(), &TokenSet::new("a")).await.is_err());
        assert!(mock.inner().get(&key()).await.unwrap().is_none());
        mock.put_token(&key(), &TokenSet::new("a")).await.unwrap();
        mock.fail_next(Operation::Delete, Error::backend("mock", false, "down"));
        assert!(mock.remove(&key()).await.is_err());
        assert!(mock.inner().get(&key()).await.unwrap().is_some());
        mock.fail_next(Operation::List, Error::backend("mock", false, "down"));
        assert!(mock.list("").await.is_err());
        assert_eq!(mock.list("").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn update_retries_on_conflict() {
        let mock = MockBackend::new();
        mock.put_token(&key(), &with_counter(5)).await.unwrap();
        mock.reset_calls();
        mock.fail_next(Operation::Put, conflict());
        mock.fail_next(Operation::Put, conflict());
        let mut seen = Vec::new();
        let rev = mock
            .update(&key(), None, 3, |t| {
                seen.push(counter(t));
                Some(with_counter(counter(t) + 1))
            })
            .await
            .unwrap()
            .expect("written");
        assert_eq!(seen, [5, 5, 5], "read again before every attempt");
        assert_eq!(mock.calls(Operation::Get), 3);
        assert_eq!(mock.calls(Operation::Put), 3);
        let entry = mock.get(&key()).await.unwrap().unwrap();
        assert_eq!(counter(Some(&entry.token)), 6);
        assert_eq!(entry.meta.revision, rev);
    }

    #[tokio::test]
    async fn update_sees_a_real_concurrent_write() {
        let mock = MockBackend::new();
        mock.put_token(&key(), &with_counter(1)).await.unwrap();
        mock.reset_calls();
        let inner = mock.inner().clone();
        let mut seen = Vec::new();
        // Between our first read and our write another writer stores 10 (on its own thread
        // and runtime): our write must lose, and the retry must build on 10, not on 1.
        let rev = mock
            .update(&key(), None, 2, |t| {
                seen.push(counter(t));
                if seen.len() == 1 {
                    let inner = inner.clone();
                    std::thread::spawn(move || {
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .build()
                            .unwrap();
                        rt.block_on(inner.put_token(&key(), &with_counter(10)))
                            .unwrap();
                    })
                    .join()
                    .unwrap();
                }
                Some(with_counter(counter(t) + 1))
            })
            .await
            .unwrap()
            .expect("written");
        assert_eq!(seen, [1, 10]);
        assert_eq!(mock.calls(Operation::Put), 2);
        let entry = mock.get(&key()).await.unwrap().unwrap();
        assert_eq!(counter(Some(&entry.token)), 11);
        assert_eq!(entry.meta.revision, rev);
    }

    #[tokio::test]
    async fn update_gives_up_after_max_attempts() {
        let mock = MockBackend::new();
        mock.put_token(&key(), &with_counter(1)).await.unwrap();
        mock.reset_calls();
        for _ in 0..4 {
            mock.fail_next(Operation::Put, conflict());
        }
        let e = mock
            .update(&key(), None, 3, |t| Some(with_counter(counter(t) + 1)))
            .await
            .unwrap_err();
        assert!(e.is_conflict(), "{e:?}");
        assert_eq!(mock.calls(Operation::Put), 3);
        assert_eq!(mock.pending_errors(Operation::Put), 1);
        assert_eq!(counter(mock.get_token(&key()).await.unwrap().as_ref()), 1);
    }

    #[tokio::test]
    async fn update_passes_other_errors_through_without_retrying() {
        let mock = MockBackend::new();
        mock.fail_next(Operation::Put, Error::backend("mock", true, "unavailable"));
        let e = mock
            .update(&key(), None, 5, |_| Some(with_counter(1)))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Backend { .. }), "{e:?}");
        assert_eq!(mock.calls(Operation::Put), 1);

        mock.fail_next(Operation::Get, Error::backend("mock", false, "denied"));
        let e = mock
            .update(&key(), None, 5, |_| Some(with_counter(1)))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("denied"), "{e}");
        assert_eq!(
            mock.calls(Operation::Put),
            1,
            "no write after a failed read"
        );
        assert!(mock.get(&key()).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn update_creates_with_if_absent_and_keeps_when_asked() {
        let mock = MockBackend::new();
        // Someone else creates the entry first: our "if absent" loses and we retry on theirs.
        mock.fail_next(Operation::Put, conflict());
        let rev = mock
            .update(&key(), Some(Duration::from_secs(60)), 2, |t| {
                Some(with_counter(counter(t) + 1))
            })
            .await
            .unwrap();
        assert!(rev.is_some());
        let entry = mock.get(&key()).await.unwrap().unwrap();
        assert!(entry.meta.expires_at.is_some(), "the TTL is applied");
        let puts = mock.calls(Operation::Put);
        let kept = mock.update(&key(), None, 2, |_| None).await.unwrap();
        assert!(kept.is_none());
        assert_eq!(
            mock.calls(Operation::Put),
            puts,
            "no write when f returns None"
        );
    }

    #[tokio::test]
    async fn update_without_conditional_writes_is_unsupported() {
        let mock = MockBackend::new().with_capabilities(Capabilities {
            list: true,
            ..Capabilities::default()
        });
        let e = mock
            .update(&key(), None, 5, |_| Some(with_counter(1)))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
        assert_eq!(mock.calls(Operation::Put), 1, "Unsupported is not retried");
        assert!(mock.inner().get(&key()).await.unwrap().is_none());
    }

    #[test]
    fn debug_shows_counts_not_secrets() {
        let mock = MockBackend::new();
        mock.fail_next(Operation::List, conflict());
        let dbg = format!("{mock:?}");
        assert!(dbg.contains("pending_errors: [0, 0, 0, 1]"), "{dbg}");
        assert_eq!(Operation::Delete.to_string(), "delete");
        assert_eq!(Operation::ALL.len(), 4);
    }

    #[test]
    fn mock_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<MockBackend>();
    }
}

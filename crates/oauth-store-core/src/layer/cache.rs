//! [`CacheLayer`] and [`Cached`]: a short-lived read-through cache of entries.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::Layer;
use crate::backend::{
    Backend, Capabilities, DeleteOptions, Entry, ListedEntry, PutOptions, Revision,
};
use crate::clock::{Clock, SystemClock};
use crate::entry_key::EntryKey;
use crate::error::Result;
use crate::token::TokenSet;

/// Caches the entries `get` finds for a short time: see [`Cached`].
#[derive(Debug, Clone)]
pub struct CacheLayer {
    ttl: Duration,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

impl CacheLayer {
    /// A cache keeping each entry for at most `ttl`, on the system clock, holding up to 1024
    /// entries.
    #[must_use]
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            capacity: 1024,
            clock: Arc::new(SystemClock),
        }
    }

    /// The most entries the cache holds (at least 1).
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// The clock the cache ages entries by; give it the backend's clock, so that entry expiry
    /// and cache age are measured alike.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl<B: Backend> Layer<B> for CacheLayer {
    type Backend = Cached<B>;

    fn layer(&self, inner: B) -> Cached<B> {
        Cached {
            inner,
            config: self.clone(),
            state: Arc::default(),
        }
    }
}

struct CachedEntry {
    entry: Entry,
    /// The earlier of "cached + ttl" and the entry's own expiry.
    valid_until: SystemTime,
}

#[derive(Default)]
struct CacheState {
    entries: HashMap<EntryKey, CachedEntry>,
    /// Bumped before and after every write through the cache. A `get` stores what it read
    /// only if no write began or ended while it was reading, so a read racing a write can
    /// never put the older entry back into the cache.
    generation: u64,
}

/// A backend whose `get` results are kept for a short time, so that a process asking for the
/// same token set over and over asks the backend once per `ttl`.
///
/// - Only found entries are cached, never "not found".
/// - A cached entry is never returned past its own expiry, nor past `ttl` after it was read.
/// - Every `put` and `delete` through the cache forgets the key before and after it runs,
///   whether it succeeds or fails; a conflict therefore also makes the next `get` read the
///   backend, which is what a retrying [`BackendExt::update`](crate::BackendExt::update)
///   needs.
/// - `list` is not cached.
///
/// Writes that do not pass through this cache (another process, another `Cached` over the
/// same store) are seen only once the cached entry ages out: use a short `ttl`, and rely on
/// conditional writes, which the backend checks against the real revision, for correctness.
///
/// ```
/// use std::time::Duration;
/// use oauth_store_core::layer::{BackendBuilder, CacheLayer};
/// use oauth_store_core::MemoryBackend;
///
/// let store = BackendBuilder::new(MemoryBackend::new())
///     .layer(CacheLayer::new(Duration::from_secs(5)))
///     .build();
/// ```
#[derive(Clone)]
pub struct Cached<B> {
    inner: B,
    config: CacheLayer,
    state: Arc<Mutex<CacheState>>,
}

impl<B: fmt::Debug> fmt::Debug for Cached<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Cached entries hold token sets: only their number is shown.
        let len = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len();
        f.debug_struct("Cached")
            .field("inner", &self.inner)
            .field("ttl", &self.config.ttl)
            .field("capacity", &self.config.capacity)
            .field("cached_entries", &len)
            .finish_non_exhaustive()
    }
}

impl<B: Backend> Cached<B> {
    /// Caches `get` results of `inner` for up to `ttl` (see [`CacheLayer`] for more options).
    pub fn new(inner: B, ttl: Duration) -> Self {
        CacheLayer::new(ttl).layer(inner)
    }

    /// The backend inside.
    #[must_use]
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// Forgets every cached entry.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.entries.clear();
        state.generation += 1;
    }

    /// How many entries are cached (including any that aged out and were not yet dropped).
    #[must_use]
    pub fn cached_entries(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> MutexGuard<'_, CacheState> {
        // Every update of the state is a single map operation or increment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets `key` and marks a write as beginning or ending.
    fn invalidate(&self, key: &EntryKey) {
        let mut state = self.lock();
        state.entries.remove(key);
        state.generation += 1;
    }

    fn store(&self, key: &EntryKey, entry: &Entry, read_at: u64) {
        let now = self.config.clock.now();
        let mut valid_until = now.checked_add(self.config.ttl).unwrap_or(now);
        if let Some(at) = entry.meta.expires_at {
            valid_until = valid_until.min(at);
        }
        if valid_until <= now {
            return;
        }
        let mut state = self.lock();
        if state.generation != read_at {
            return;
        }
        if state.entries.len() >= self.config.capacity {
            state.entries.retain(|_, c| c.valid_until > now);
            if state.entries.len() >= self.config.capacity {
                state.entries.clear();
            }
        }
        state.entries.insert(
            key.clone(),
            CachedEntry {
                entry: entry.clone(),
                valid_until,
            },
        );
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<B: Backend> Backend for Cached<B> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn get(&self, key: &EntryKey) -> Result<Option<Entry>> {
        let read_at = {
            let now = self.config.clock.now();
            let mut state = self.lock();
            match state.entries.get(key) {
                Some(c) if c.valid_until > now => return Ok(Some(c.entry.clone())),
                Some(_) => {
                    state.entries.remove(key);
                }
                None => {}
            }
            state.generation
        };
        let found = self.inner.get(key).await?;
        if let Some(entry) = &found {
            self.store(key, entry, read_at);
        }
        Ok(found)
    }

    async fn put(&self, key: &EntryKey, token: &TokenSet, options: PutOptions) -> Result<Revision> {
        self.invalidate(key);
        let result = self.inner.put(key, token, options).await;
        self.invalidate(key);
        result
    }

    async fn delete(&self, key: &EntryKey, options: DeleteOptions) -> Result<bool> {
        self.invalidate(key);
        let result = self.inner.delete(key, options).await;
        self.invalidate(key);
        result
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedEntry>> {
        self.inner.list(prefix).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendExt;
    use crate::clock::ManualClock;
    use crate::conformance::{self, Config};
    use crate::memory::MemoryBackend;
    use crate::mock::{MockBackend, Operation};

    fn key() -> EntryKey {
        EntryKey::new("github").unwrap()
    }

    fn cached_mock(ttl: Duration) -> (Cached<MockBackend>, MockBackend, ManualClock) {
        let clock = ManualClock::new();
        let mock = MockBackend::with_clock(Arc::new(clock.clone()));
        let cached = CacheLayer::new(ttl)
            .with_clock(Arc::new(clock.clone()))
            .layer(mock.clone());
        (cached, mock, clock)
    }

    #[tokio::test]
    async fn passes_conformance() {
        let (cached, _, clock) = cached_mock(Duration::from_secs(5));
        conformance::run_all(&cached, &Config::new().with_clock(clock)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn passes_conformance_on_multi_thread_with_sleeps() {
        let cached = Arc::new(Cached::new(MemoryBackend::new(), Duration::from_secs(5)));
        let config = Config::new()
            .with_ttl(Duration::from_millis(50))
            .with_ttl_wait(Duration::from_millis(120));
        conformance::run_all(&*cached, &config).await;
        conformance::concurrent_conditional_increments_spawned(cached, &config).await;
    }

    #[tokio::test]
    async fn repeated_gets_read_the_backend_once_per_ttl() {
        let (cached, mock, clock) = cached_mock(Duration::from_secs(5));
        cached.put_token(&key(), &TokenSet::new("a")).await.unwrap();
        for _ in 0..3 {
            assert!(cached.get(&key()).await.unwrap().is_some());
        }
        assert_eq!(mock.calls(Operation::Get), 1);
        clock.advance(Duration::from_secs(5));
        assert!(cached.get(&key()).await.unwrap().is_some());
        assert_eq!(mock.calls(Operation::Get), 2, "aged out after the ttl");
        // Misses are not cached.
        let other = EntryKey::new("other").unwrap();
        assert!(cached.get(&other).await.unwrap().is_none());
        assert!(cached.get(&other).await.unwrap().is_none());
        assert_eq!(mock.calls(Operation::Get), 4);
    }

    #[tokio::test]
    async fn never_returns_an_entry_past_its_own_expiry() {
        let (cached, mock, clock) = cached_mock(Duration::from_secs(60));
        let options = PutOptions::new().with_ttl(Duration::from_secs(2));
        cached
            .put(&key(), &TokenSet::new("a"), options)
            .await
            .unwrap();
        assert!(cached.get(&key()).await.unwrap().is_some());
        clock.advance(Duration::from_secs(2));
        assert!(cached.get(&key()).await.unwrap().is_none());
        assert_eq!(mock.calls(Operation::Get), 2);
    }

    #[tokio::test]
    async fn writes_and_conflicts_invalidate() {
        let (cached, mock, _) = cached_mock(Duration::from_secs(60));
        let r1 = cached.put_token(&key(), &TokenSet::new("a")).await.unwrap();
        cached.get(&key()).await.unwrap();
        // Another writer, behind the cache's back.
        mock.inner()
            .put_token(&key(), &TokenSet::new("b"))
            .await
            .unwrap();
        let stale = cached.get(&key()).await.unwrap().unwrap();
        assert_eq!(stale.meta.revision, r1, "served from the cache");
        // Our conditional write loses against the real revision, and the loss invalidates.
        let lost = cached
            .put(&key(), &TokenSet::new("c"), PutOptions::if_revision(r1))
            .await;
        assert!(lost.unwrap_err().is_conflict());
        let fresh = cached.get(&key()).await.unwrap().unwrap();
        assert_eq!(fresh.token.access_token.expose(), "b");
        cached.remove(&key()).await.unwrap();
        assert!(cached.get(&key()).await.unwrap().is_none());
        assert_eq!(cached.cached_entries(), 0);
    }

    #[tokio::test]
    async fn update_retries_past_a_stale_cache() {
        let (cached, mock, _) = cached_mock(Duration::from_secs(60));
        cached.put_token(&key(), &TokenSet::new("a")).await.unwrap();
        cached.get(&key()).await.unwrap();
        mock.inner()
            .put_token(&key(), &TokenSet::new("b"))
            .await
            .unwrap();
        let mut seen = Vec::new();
        cached
            .update(&key(), None, 2, |t| {
                seen.push(t.map(|t| t.access_token.expose().to_owned()));
                Some(TokenSet::new("c"))
            })
            .await
            .unwrap();
        assert_eq!(seen, [Some("a".to_owned()), Some("b".to_owned())]);
    }

    /// A backend whose `get` is slow, so a write can land while a read is in flight.
    #[derive(Debug, Clone)]
    struct SlowGet(MemoryBackend);

    #[async_trait]
    impl Backend for SlowGet {
        fn name(&self) -> String {
            self.0.name()
        }
        fn capabilities(&self) -> Capabilities {
            self.0.capabilities()
        }
        async fn get(&self, key: &EntryKey) -> Result<Option<Entry>> {
            let found = self.0.get(key).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            found
        }
        async fn put(&self, k: &EntryKey, t: &TokenSet, o: PutOptions) -> Result<Revision> {
            self.0.put(k, t, o).await
        }
        async fn delete(&self, key: &EntryKey, options: DeleteOptions) -> Result<bool> {
            self.0.delete(key, options).await
        }
        async fn list(&self, prefix: &str) -> Result<Vec<ListedEntry>> {
            self.0.list(prefix).await
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_racing_a_write_does_not_cache_the_old_entry() {
        let cached = Arc::new(Cached::new(
            SlowGet(MemoryBackend::new()),
            Duration::from_secs(60),
        ));
        cached
            .put_token(&key(), &TokenSet::new("old"))
            .await
            .unwrap();
        let reader = {
            let cached = Arc::clone(&cached);
            tokio::spawn(async move { cached.get(&key()).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let new_rev = cached
            .put_token(&key(), &TokenSet::new("new"))
            .await
            .unwrap();
        let raced = reader.await.unwrap().unwrap().unwrap();
        assert_eq!(
            raced.token.access_token.expose(),
            "old",
            "the read began first"
        );
        let after = cached.get(&key()).await.unwrap().unwrap();
        assert_eq!(
            after.meta.revision, new_rev,
            "the older read was not cached"
        );
    }

    #[tokio::test]
    async fn capacity_is_bounded() {
        let (cached, _, _) = cached_mock(Duration::from_secs(60));
        let cached = Cached {
            config: cached.config.clone().with_capacity(4),
            ..cached
        };
        for i in 0..10 {
            let k = EntryKey::new(format!("k{i}")).unwrap();
            cached.put_token(&k, &TokenSet::new("a")).await.unwrap();
            cached.get(&k).await.unwrap();
            assert!(cached.cached_entries() <= 4);
        }
        cached.clear();
        assert_eq!(cached.cached_entries(), 0);
    }

    #[test]
    fn debug_shows_no_token_values() {
        let cached = Cached::new(MemoryBackend::new(), Duration::from_secs(1));
        let dbg = format!("{cached:?}");
        assert!(dbg.contains("cached_entries: 0"), "{dbg}");
        assert_eq!(cached.inner().name(), "memory");
    }
}

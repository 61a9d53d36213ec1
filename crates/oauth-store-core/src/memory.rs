//! [`MemoryBackend`]: an in-process store, shared by all its clones across threads and tasks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use async_trait::async_trait;

use crate::backend::{
    Backend, Capabilities, DeleteOptions, Entry, EntryMeta, ListedEntry, Precondition, PutOptions,
    Revision,
};
use crate::clock::{Clock, SystemClock, expiry};
use crate::entry_key::EntryKey;
use crate::error::{Error, Result};
use crate::token::TokenSet;

/// An in-memory backend. Every clone sees the same entries (unlike the thread-local memory
/// store of the original implementation), TTLs are enforced with an injectable [`Clock`], and
/// conditional writes are atomic.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use oauth_store_core::{BackendExt, EntryKey, MemoryBackend, TokenSet};
///
/// let store = MemoryBackend::new();
/// let key = EntryKey::new("github")?;
/// store.put_token(&key, &TokenSet::new("gho_example")).await?;
/// let token = store.clone().get_token(&key).await?.expect("stored");
/// assert_eq!(token.access_token.expose(), "gho_example");
/// # Ok::<(), oauth_store_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct MemoryBackend {
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
}

#[derive(Default)]
struct State {
    entries: BTreeMap<EntryKey, Stored>,
    /// Revisions come from one counter, so a deleted and re-created key never repeats one.
    last_revision: u64,
}

struct Stored {
    token: TokenSet,
    meta: EntryMeta,
}

impl std::fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.lock().entries.len();
        f.debug_struct("MemoryBackend")
            .field("entries", &len)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryBackend {
    /// An empty store on the system clock.
    #[must_use]
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty store on the given clock.
    #[must_use]
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            state: Arc::default(),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` half-updated (every update is
        // a single map operation), so a poisoned lock is safe to keep using.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl State {
    /// The live entry under `key`, dropping it if it has expired.
    fn live(&mut self, key: &EntryKey, now: SystemTime) -> Option<&Stored> {
        if self.entries.get(key)?.meta.is_expired_at(now) {
            self.entries.remove(key);
            return None;
        }
        self.entries.get(key)
    }
}

/// Checks a write's precondition against the current revision; shared by backends that
/// evaluate conditions themselves.
pub fn check_precondition(
    key: &EntryKey,
    precondition: &Precondition,
    current: Option<&Revision>,
) -> Result<()> {
    let reason = match (precondition, current) {
        (Precondition::None, _) | (Precondition::IfAbsent, None) => return Ok(()),
        (Precondition::IfRevision(want), Some(have)) if want == have => return Ok(()),
        (Precondition::IfAbsent, Some(have)) => {
            format!("expected no entry, found revision {have}")
        }
        (Precondition::IfRevision(want), Some(have)) => {
            format!("expected revision {want}, found revision {have}")
        }
        (Precondition::IfRevision(want), None) => {
            format!("expected revision {want}, found no entry")
        }
    };
    Err(Error::Conflict {
        key: key.to_string(),
        reason,
    })
}

#[async_trait]
impl Backend for MemoryBackend {
    fn name(&self) -> String {
        "memory".to_owned()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            list: true,
            conditional_writes: true,
            native_ttl: true,
            ..Capabilities::default()
        }
    }

    async fn get(&self, key: &EntryKey) -> Result<Option<Entry>> {
        let now = self.clock.now();
        let mut state = self.lock();
        Ok(state
            .live(key, now)
            .map(|s| Entry::new(s.token.clone(), s.meta.clone())))
    }

    async fn put(&self, key: &EntryKey, token: &TokenSet, options: PutOptions) -> Result<Revision> {
        let now = self.clock.now();
        let mut state = self.lock();
        let current = state.live(key, now).map(|s| s.meta.revision.clone());
        check_precondition(key, &options.precondition, current.as_ref())?;
        state.last_revision += 1;
        let revision = Revision::from_u64(state.last_revision);
        let meta = EntryMeta::new(revision.clone(), expiry(now, options.ttl), Some(now));
        state.entries.insert(
            key.clone(),
            Stored {
                token: token.clone(),
                meta,
            },
        );
        Ok(revision)
    }

    async fn delete(&self, key: &EntryKey, options: DeleteOptions) -> Result<bool> {
        let now = self.clock.now();
        let mut state = self.lock();
        let current = state.live(key, now).map(|s| s.meta.revision.clone());
        if let Some(want) = options.if_revision {
            check_precondition(key, &Precondition::IfRevision(want), current.as_ref())?;
        }
        Ok(state.entries.remove(key).is_some() && current.is_some())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedEntry>> {
        let now = self.clock.now();
        let mut state = self.lock();
        state.entries.retain(|_, s| !s.meta.is_expired_at(now));
        Ok(state
            .entries
            .iter()
            .filter(|(k, _)| k.as_str().starts_with(prefix))
            .map(|(k, s)| ListedEntry::new(k.clone(), s.meta.clone()))
            .collect())
    }
}

//! [`MemoryHost`]: an in-process [`HostBridge`], for tests and examples.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use oauth_store_core::clock::expiry;
use oauth_store_core::{BoxError, Clock, SystemClock};
use serde_json::Value;

use super::{BridgeCapabilities, HostBridge, NotImplemented, Operation, Scope};

/// A host whose storage is a map in memory, shared by its clones.
///
/// It behaves like a simple embedder's host: it stores values as given and, like the original
/// host capability, records the `ttl_seconds` hint without acting on it (so the backend's own
/// expiry check is what keeps expired entries out). [`MemoryHost::new`] supports every
/// optional operation; [`MemoryHost::basic`] only the three original ones, and answers the
/// others with [`NotImplemented`]. Refresh lock leases run on its clock.
///
/// [`MemoryHost::raw`] and [`MemoryHost::insert_raw`] let tests look at and tamper with what
/// is stored.
#[derive(Clone)]
pub struct MemoryHost {
    name: String,
    capabilities: BridgeCapabilities,
    clock: Arc<dyn Clock>,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    values: BTreeMap<(Scope, String), Stored>,
    locks: HashMap<(Scope, String), Lock>,
    next_lock: u64,
}

struct Stored {
    value: Value,
    ttl_seconds: Option<u64>,
}

struct Lock {
    id: String,
    until: Option<SystemTime>,
}

impl fmt::Debug for MemoryHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values hold token sets: show how many there are, never what they are.
        let state = self.lock();
        f.debug_struct("MemoryHost")
            .field("name", &self.name)
            .field("capabilities", &self.capabilities)
            .field("values", &state.values.len())
            .field("locks", &state.locks.len())
            .finish_non_exhaustive()
    }
}

impl MemoryHost {
    /// A host named `name` with compare-and-swap, listing and refresh locks.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self::basic(name).with_capabilities(
            BridgeCapabilities::default()
                .with_compare_and_swap()
                .with_list()
                .with_refresh_lock(),
        )
    }

    /// A host named `name` with only `get`, `set` and `delete`, like the original capability.
    #[must_use]
    pub fn basic(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            capabilities: BridgeCapabilities::default(),
            clock: Arc::new(SystemClock),
            state: Arc::default(),
        }
    }

    /// Declares (and enables) exactly the optional operations in `capabilities`.
    #[must_use]
    pub fn with_capabilities(mut self, capabilities: BridgeCapabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Runs refresh lock leases on `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The value stored under `key` in `scope`, as stored.
    #[must_use]
    pub fn raw(&self, scope: Scope, key: &str) -> Option<Value> {
        self.lock()
            .values
            .get(&(scope, key.to_owned()))
            .map(|s| s.value.clone())
    }

    /// The `ttl_seconds` hint the value under `key` in `scope` was last written with.
    #[must_use]
    pub fn ttl_seconds(&self, scope: Scope, key: &str) -> Option<u64> {
        self.lock()
            .values
            .get(&(scope, key.to_owned()))
            .and_then(|s| s.ttl_seconds)
    }

    /// Stores `value` under `key` in `scope` directly, whatever it is.
    pub fn insert_raw(&self, scope: Scope, key: &str, value: Value) {
        self.lock().values.insert(
            (scope, key.to_owned()),
            Stored {
                value,
                ttl_seconds: None,
            },
        );
    }

    /// How many values are stored in `scope`.
    #[must_use]
    pub fn len(&self, scope: Scope) -> usize {
        self.lock()
            .values
            .keys()
            .filter(|(s, _)| *s == scope)
            .count()
    }

    /// Whether `scope` holds no values.
    #[must_use]
    pub fn is_empty(&self, scope: Scope) -> bool {
        self.len(scope) == 0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is one map operation, so a poisoned lock holds consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn require(declared: bool, operation: Operation) -> Result<(), BoxError> {
    if declared {
        Ok(())
    } else {
        Err(NotImplemented(operation).into())
    }
}

#[async_trait]
impl HostBridge for MemoryHost {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn capabilities(&self) -> BridgeCapabilities {
        self.capabilities
    }

    async fn get(&self, scope: Scope, key: &str) -> Result<Value, BoxError> {
        Ok(self.raw(scope, key).unwrap_or(Value::Null))
    }

    async fn set(
        &self,
        scope: Scope,
        key: &str,
        value: Value,
        ttl_seconds: Option<u64>,
    ) -> Result<(), BoxError> {
        self.lock()
            .values
            .insert((scope, key.to_owned()), Stored { value, ttl_seconds });
        Ok(())
    }

    async fn delete(&self, scope: Scope, key: &str) -> Result<(), BoxError> {
        self.lock().values.remove(&(scope, key.to_owned()));
        Ok(())
    }

    async fn compare_and_set(
        &self,
        scope: Scope,
        key: &str,
        expected: Option<&Value>,
        value: Value,
        ttl_seconds: Option<u64>,
    ) -> Result<bool, BoxError> {
        require(self.capabilities.compare_and_swap, Operation::CompareAndSet)?;
        let mut state = self.lock();
        let slot = (scope, key.to_owned());
        if state.values.get(&slot).map(|s| &s.value) != expected {
            return Ok(false);
        }
        state.values.insert(slot, Stored { value, ttl_seconds });
        Ok(true)
    }

    async fn compare_and_delete(
        &self,
        scope: Scope,
        key: &str,
        expected: &Value,
    ) -> Result<bool, BoxError> {
        require(
            self.capabilities.compare_and_swap,
            Operation::CompareAndDelete,
        )?;
        let mut state = self.lock();
        let slot = (scope, key.to_owned());
        if state.values.get(&slot).map(|s| &s.value) != Some(expected) {
            return Ok(false);
        }
        state.values.remove(&slot);
        Ok(true)
    }

    async fn list(&self, scope: Scope, prefix: &str) -> Result<Value, BoxError> {
        require(self.capabilities.list, Operation::List)?;
        let state = self.lock();
        Ok(Value::Array(
            state
                .values
                .keys()
                .filter(|(s, k)| *s == scope && k.starts_with(prefix))
                .map(|(_, k)| Value::String(k.clone()))
                .collect(),
        ))
    }

    async fn try_lock(
        &self,
        scope: Scope,
        key: &str,
        lease: Duration,
    ) -> Result<Option<String>, BoxError> {
        require(self.capabilities.refresh_lock, Operation::TryLock)?;
        let now = self.clock.now();
        let mut state = self.lock();
        let slot = (scope, key.to_owned());
        if let Some(held) = state.locks.get(&slot)
            && held.until.is_none_or(|until| now < until)
        {
            return Ok(None);
        }
        state.next_lock += 1;
        let id = format!("lock-{}", state.next_lock);
        state.locks.insert(
            slot,
            Lock {
                id: id.clone(),
                until: expiry(now, Some(lease)),
            },
        );
        Ok(Some(id))
    }

    async fn unlock(&self, scope: Scope, key: &str, lock_id: &str) -> Result<bool, BoxError> {
        require(self.capabilities.refresh_lock, Operation::Unlock)?;
        let mut state = self.lock();
        let slot = (scope, key.to_owned());
        if state.locks.get(&slot).is_some_and(|l| l.id == lock_id) {
            state.locks.remove(&slot);
            return Ok(true);
        }
        Ok(false)
    }
}

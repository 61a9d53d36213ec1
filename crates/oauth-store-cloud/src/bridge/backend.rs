//! [`BridgeBackend`]: the `cloud_session` and `cloud_org` backends over a [`HostBridge`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use oauth_store_core::clock::expiry;
use oauth_store_core::{
    Backend, BoxError, Capabilities, Clock, DeleteOptions, Entry, EntryKey, EntryMeta, Error,
    ListedEntry, Precondition, PutOptions, Result, Revision, SystemClock, TokenSet,
    check_precondition, check_value_size,
};
use serde_json::Value;

use super::record::{self, Context, Stored};
use super::{HostBridge, NotImplemented, Operation, Scope};

/// A token store in one [`Scope`] of a host's storage: the `cloud_session` or `cloud_org`
/// backend.
///
/// Built with a host ([`BridgeBackend::new`]) or without one
/// ([`BridgeBackend::unconfigured`], where every operation fails with
/// [`Error::NotConfigured`]). Its capabilities follow the host's: conditional writes when the
/// host has compare-and-swap, `list` when it lists. TTLs are enforced on read with the
/// backend's clock whatever the host does. See the [module docs](super) for the details.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use oauth_store_cloud::bridge::{BridgeBackend, MemoryHost, Scope};
/// use oauth_store_core::{BackendExt, EntryKey, TokenSet};
///
/// let host = Arc::new(MemoryHost::new("test-host"));
/// let session = BridgeBackend::new(Scope::Session, host.clone());
/// let org = BridgeBackend::new(Scope::Org, host);
/// let key = EntryKey::new("github")?;
/// session.put_token(&key, &TokenSet::new("at-session")).await?;
/// assert!(org.get_token(&key).await?.is_none(), "scopes are separate");
///
/// let nowhere = BridgeBackend::unconfigured(Scope::Org);
/// let err = nowhere.get_token(&key).await.unwrap_err();
/// assert!(err.to_string().starts_with("cloud_org is not configured"));
/// # Ok::<(), oauth_store_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct BridgeBackend {
    scope: Scope,
    bridge: Option<Arc<dyn HostBridge>>,
    clock: Arc<dyn Clock>,
    max_value_size: usize,
}

impl fmt::Debug for BridgeBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The host's own `Debug` is not ours to trust with secrets: show its name only.
        f.debug_struct("BridgeBackend")
            .field("scope", &self.scope)
            .field("bridge", &self.bridge.as_ref().map(|b| b.name()))
            .field("max_value_size", &self.max_value_size)
            .finish_non_exhaustive()
    }
}

impl BridgeBackend {
    /// The largest response accepted from a host by default, in bytes (256 KiB): far more than
    /// any token set, far less than what would hurt.
    pub const DEFAULT_MAX_VALUE_SIZE: usize = 256 * 1024;

    /// A backend for `scope` of `bridge`'s storage, on the system clock.
    #[must_use]
    pub fn new(scope: Scope, bridge: Arc<dyn HostBridge>) -> Self {
        Self {
            scope,
            bridge: Some(bridge),
            clock: Arc::new(SystemClock),
            max_value_size: Self::DEFAULT_MAX_VALUE_SIZE,
        }
    }

    /// A backend for `scope` with no host: every operation fails with
    /// [`Error::NotConfigured`], always with the same message.
    #[must_use]
    pub fn unconfigured(scope: Scope) -> Self {
        Self {
            scope,
            bridge: None,
            clock: Arc::new(SystemClock),
            max_value_size: Self::DEFAULT_MAX_VALUE_SIZE,
        }
    }

    /// [`BridgeBackend::new`] when there is a host, [`BridgeBackend::unconfigured`] when not.
    #[must_use]
    pub fn from_option(scope: Scope, bridge: Option<Arc<dyn HostBridge>>) -> Self {
        match bridge {
            Some(bridge) => Self::new(scope, bridge),
            None => Self::unconfigured(scope),
        }
    }

    /// Uses `clock` for TTL expiry (tests use a [`ManualClock`](oauth_store_core::ManualClock)).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the largest token set written to the host, serialized as JSON, in bytes (the
    /// `max_value_size` capability; lower still when the host declares a lower limit). A
    /// response from the host may exceed it by the few kilobytes of the record around the
    /// token set; anything larger is refused. The default is
    /// [`BridgeBackend::DEFAULT_MAX_VALUE_SIZE`].
    #[must_use]
    pub fn with_max_value_size(mut self, bytes: usize) -> Self {
        self.max_value_size = bytes;
        self
    }

    /// The scope this backend stores in.
    #[must_use]
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Whether a host is configured.
    #[must_use]
    pub fn is_configured(&self) -> bool {
        self.bridge.is_some()
    }

    /// Tries to take the refresh lock of `key` for `lease`, so that only one process refreshes
    /// a token set at a time. `None` means another holder's lease is still running: wait, then
    /// read the token set again (the holder has probably refreshed it).
    ///
    /// The lock is released with [`BridgeBackend::unlock_refresh`], or when the lease runs
    /// out. Fails with [`Error::Unsupported`] when the host has no refresh locks.
    pub async fn try_lock_refresh(
        &self,
        key: &EntryKey,
        lease: Duration,
    ) -> Result<Option<RefreshLock>> {
        let bridge = self.bridge()?;
        if !bridge.capabilities().refresh_lock {
            return Err(Error::unsupported(self.name(), "refresh locks"));
        }
        let taken_at = self.clock.now();
        let id = bridge
            .try_lock(self.scope, key.as_str(), lease)
            .await
            .map_err(|e| self.host_error(bridge, Operation::TryLock, key.as_str(), e))?;
        let Some(id) = id else { return Ok(None) };
        if id.is_empty() || id.len() > 256 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            let name = bridge.name();
            let ctx = self.context(&name, Operation::TryLock, key.as_str());
            return Err(self.core(ctx.invalid(format!(
                "a lock id must be 1 to 256 printable ASCII characters, found {} bytes",
                id.len()
            ))));
        }
        Ok(Some(RefreshLock {
            scope: self.scope,
            key: key.clone(),
            id,
            expires_at: expiry(taken_at, Some(lease)),
        }))
    }

    /// Releases a refresh lock taken with [`BridgeBackend::try_lock_refresh`]; returns whether
    /// it was still held (`false` once its lease ran out and someone else took it, or for a
    /// lock taken in another scope).
    pub async fn unlock_refresh(&self, lock: RefreshLock) -> Result<bool> {
        let bridge = self.bridge()?;
        if !bridge.capabilities().refresh_lock {
            return Err(Error::unsupported(self.name(), "refresh locks"));
        }
        if lock.scope != self.scope {
            return Ok(false);
        }
        bridge
            .unlock(self.scope, lock.key.as_str(), &lock.id)
            .await
            .map_err(|e| self.host_error(bridge, Operation::Unlock, lock.key.as_str(), e))
    }

    fn bridge(&self) -> Result<&dyn HostBridge> {
        self.bridge.as_deref().ok_or_else(|| Error::NotConfigured {
            backend: self.scope.backend_name().to_owned(),
            hint: format!(
                "no host bridge is configured for the {scope} scope; build the backend with \
                 BridgeBackend::new(Scope::{variant}, Arc::new(host)) where `host` implements \
                 oauth_store_cloud::bridge::HostBridge (the host's oauth_storage capability)",
                scope = self.scope,
                variant = match self.scope {
                    Scope::Session => "Session",
                    Scope::Org => "Org",
                },
            ),
        })
    }

    fn context<'a>(&self, bridge: &'a str, operation: Operation, key: &'a str) -> Context<'a> {
        Context {
            bridge,
            operation,
            scope: self.scope,
            key,
        }
    }

    fn core(&self, e: crate::Error) -> Error {
        e.into_core(&self.name())
    }

    fn host_error(
        &self,
        bridge: &dyn HostBridge,
        operation: Operation,
        key: &str,
        source: BoxError,
    ) -> Error {
        let e = if source.downcast_ref::<NotImplemented>().is_some() {
            crate::Error::NotImplemented {
                bridge: bridge.name(),
                operation,
            }
        } else {
            let temporary = source
                .downcast_ref::<Error>()
                .is_some_and(Error::is_temporary);
            crate::Error::Host {
                bridge: bridge.name(),
                operation,
                scope: self.scope,
                key: key.to_owned(),
                temporary,
                source,
            }
        };
        self.core(e)
    }

    /// Reads the raw value under `key` and checks it.
    /// The outer error is the host's failure; the inner one, what was wrong with its answer.
    async fn read(
        &self,
        bridge: &dyn HostBridge,
        key: &str,
    ) -> Result<(Value, Result<Option<Stored>>)> {
        let raw = bridge
            .get(self.scope, key)
            .await
            .map_err(|e| self.host_error(bridge, Operation::Get, key, e))?;
        let name = bridge.name();
        let ctx = self.context(&name, Operation::Get, key);
        let limit = self.max_value_size.saturating_add(record::RECORD_OVERHEAD);
        let checked = record::decode(&ctx, &raw, limit).map_err(|e| self.core(e));
        Ok((raw, checked))
    }

    /// The live (unexpired) entry of a checked value.
    fn live(&self, checked: Result<Option<Stored>>) -> Result<Option<Stored>> {
        let now = self.clock.now();
        Ok(checked?.filter(|s| !s.meta.is_expired_at(now)))
    }

    fn capabilities_of(&self, bridge: &dyn HostBridge) -> Capabilities {
        let host = bridge.capabilities();
        let mut caps = Capabilities::default();
        caps.list = host.list;
        caps.conditional_writes = host.compare_and_swap;
        caps.native_ttl = host.native_ttl;
        caps.persistent = host.persistent;
        caps.encrypted_at_rest = host.encrypted_at_rest;
        // The host's limit is on the whole record; what is left of it is the token set's.
        caps.max_value_size = Some(host.max_value_size.map_or(self.max_value_size, |m| {
            m.saturating_sub(record::RECORD_OVERHEAD)
                .min(self.max_value_size)
        }));
        caps
    }
}

/// A TTL as the whole seconds a host is told, rounded up so a host never drops an entry early.
fn ttl_seconds(ttl: Option<Duration>) -> Option<u64> {
    ttl.map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

#[async_trait]
impl Backend for BridgeBackend {
    fn name(&self) -> String {
        match &self.bridge {
            Some(bridge) => format!("{}({})", self.scope.backend_name(), bridge.name()),
            None => self.scope.backend_name().to_owned(),
        }
    }

    fn capabilities(&self) -> Capabilities {
        match &self.bridge {
            Some(bridge) => self.capabilities_of(bridge.as_ref()),
            None => Capabilities::default(),
        }
    }

    async fn get(&self, key: &EntryKey) -> Result<Option<Entry>> {
        let bridge = self.bridge()?;
        let (_, checked) = self.read(bridge, key.as_str()).await?;
        Ok(self.live(checked)?.map(|s| Entry::new(s.token, s.meta)))
    }

    async fn put(&self, key: &EntryKey, token: &TokenSet, options: PutOptions) -> Result<Revision> {
        let bridge = self.bridge()?;
        let caps = self.capabilities_of(bridge);
        let conditional = !matches!(options.precondition, Precondition::None);
        if conditional && !caps.conditional_writes {
            return Err(Error::unsupported(self.name(), "conditional writes"));
        }
        let now = self.clock.now();
        let revision = Revision::random(&self.name())?;
        let meta = EntryMeta::new(revision.clone(), expiry(now, options.ttl), Some(now));
        let value = record::encode(self.scope, key.as_str(), token, &meta).map_err(|e| {
            Error::InvalidTokenSet {
                location: format!("token set for {key:?}"),
                reason: e.to_string(),
            }
        })?;
        let size = usize::try_from(record::json_size(&value["token"])).unwrap_or(usize::MAX);
        check_value_size(&caps, key, size)?;
        let ttl = ttl_seconds(options.ttl);

        if !conditional {
            bridge
                .set(self.scope, key.as_str(), value, ttl)
                .await
                .map_err(|e| self.host_error(bridge, Operation::Set, key.as_str(), e))?;
            return Ok(revision);
        }

        let (raw, checked) = self.read(bridge, key.as_str()).await?;
        let current = self.live(checked)?.map(|s| s.meta.revision);
        check_precondition(key, &options.precondition, current.as_ref())?;
        let expected = (!raw.is_null()).then_some(&raw);
        let swapped = bridge
            .compare_and_set(self.scope, key.as_str(), expected, value, ttl)
            .await
            .map_err(|e| self.host_error(bridge, Operation::CompareAndSet, key.as_str(), e))?;
        if swapped {
            Ok(revision)
        } else {
            Err(Error::changed_since_read(key))
        }
    }

    async fn delete(&self, key: &EntryKey, options: DeleteOptions) -> Result<bool> {
        let bridge = self.bridge()?;
        if options.if_revision.is_some() && !bridge.capabilities().compare_and_swap {
            return Err(Error::unsupported(self.name(), "conditional deletes"));
        }
        let (raw, checked) = self.read(bridge, key.as_str()).await?;

        if let Some(want) = options.if_revision {
            let current = self.live(checked)?.map(|s| s.meta.revision);
            check_precondition(key, &Precondition::IfRevision(want), current.as_ref())?;
            let removed = bridge
                .compare_and_delete(self.scope, key.as_str(), &raw)
                .await
                .map_err(|e| {
                    self.host_error(bridge, Operation::CompareAndDelete, key.as_str(), e)
                })?;
            if !removed {
                return Err(Error::Conflict {
                    key: key.to_string(),
                    reason: "the entry changed between the read and the conditional delete".into(),
                });
            }
            return Ok(true);
        }

        if raw.is_null() {
            return Ok(false);
        }
        // An unreadable value is removed too: deleting it is what was asked, and the only way
        // to get rid of it through this backend.
        let existed = match self.live(checked) {
            Ok(live) => live.is_some(),
            Err(_) => true,
        };
        bridge
            .delete(self.scope, key.as_str())
            .await
            .map_err(|e| self.host_error(bridge, Operation::Delete, key.as_str(), e))?;
        Ok(existed)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedEntry>> {
        let bridge = self.bridge()?;
        if !bridge.capabilities().list {
            return Err(Error::unsupported(self.name(), "list"));
        }
        let raw = bridge
            .list(self.scope, prefix)
            .await
            .map_err(|e| self.host_error(bridge, Operation::List, prefix, e))?;
        let name = bridge.name();
        let ctx = self.context(&name, Operation::List, prefix);
        let Value::Array(items) = raw else {
            return Err(self.core(ctx.invalid(format!(
                "expected an array of entry keys, found {}",
                record::kind(&raw)
            ))));
        };
        let mut keys = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Value::String(s) = item else {
                return Err(self.core(ctx.invalid(format!(
                    "item {i} of the key list is {}, not a string",
                    record::kind(item)
                ))));
            };
            let key = EntryKey::new(s.as_str())
                .map_err(|e| self.core(ctx.invalid(format!("item {i} of the key list: {e}"))))?;
            if !key.as_str().starts_with(prefix) {
                return Err(self.core(ctx.invalid(format!(
                    "item {i} of the key list, {key:?}, does not start with the prefix"
                ))));
            }
            keys.push(key);
        }
        keys.sort();
        keys.dedup();
        let mut listed = Vec::with_capacity(keys.len());
        for key in keys {
            let (_, checked) = self.read(bridge, key.as_str()).await?;
            if let Some(stored) = self.live(checked)? {
                listed.push(ListedEntry::new(key, stored.meta));
            }
        }
        Ok(listed)
    }
}

/// A refresh lock held through [`BridgeBackend::try_lock_refresh`].
///
/// Its `Debug` shows the key and the lease's end, not the lock id (which would let anyone
/// holding it release the lock).
pub struct RefreshLock {
    scope: Scope,
    key: EntryKey,
    id: String,
    expires_at: Option<SystemTime>,
}

impl RefreshLock {
    /// The entry key the lock is for.
    #[must_use]
    pub fn key(&self) -> &EntryKey {
        &self.key
    }

    /// The scope the lock was taken in.
    #[must_use]
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// When the lease runs out, by the backend's clock when it was taken (`None`: beyond what
    /// the clock can represent).
    #[must_use]
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }
}

impl fmt::Debug for RefreshLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshLock")
            .field("scope", &self.scope)
            .field("key", &self.key)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

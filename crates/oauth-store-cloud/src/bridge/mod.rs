//! The host bridge: token storage supplied by the program that embeds oauth-store.
//!
//! A scripting runtime or a platform often has storage of its own: a per-session store, an
//! organisation-wide secret store, a database it already runs. It hands that storage to
//! oauth-store by implementing [`HostBridge`], the Rust form of the `oauth_storage` host
//! capability of harn-vm 0.8 (`cloud_get {scope, key}`, `cloud_set {scope, key, token,
//! ttl_seconds?}`, `cloud_delete {scope, key}`). [`BridgeBackend`] is the
//! [`Backend`](oauth_store_core::Backend) on top of it, one per [`Scope`]: the `cloud_session`
//! and `cloud_org` backends.
//!
//! # What a host stores
//! The host stores JSON values and gives them back unchanged; it does not need to understand
//! them. `BridgeBackend` writes a small record around the token set:
//!
//! ```json
//! {"oauth_store":1,"scope":"session","key":"github","revision":"5f0c…","updated_at_ms":1704067200000,
//!  "expires_at_ms":1704070800000,"token":{"access_token":"…","refresh_token":"…"}}
//! ```
//!
//! The record lets the backend do what the original could not:
//!
//! - **TTL is enforced on read.** `expires_at_ms` is checked against the backend's clock on
//!   every read, so an expired entry is never returned even by a host that ignores the
//!   `ttl_seconds` hint. A host whose store expires entries itself says so with
//!   [`BridgeCapabilities::native_ttl`]; the check on read stays either way.
//! - **Every write has a revision** (128 random bits), the basis of conditional writes.
//! - **Responses are checked, not trusted.** A record must name the scope and key it was read
//!   under, so a host that mixes up keys or scopes is caught. Anything that is not a record, a
//!   bare token set or `null` is an error naming the bridge, the operation, the scope and the
//!   key; it is never passed on and never panics. Responses larger than the limit
//!   ([`BridgeBackend::with_max_value_size`]) are refused.
//!
//! A bare token set (an object with `access_token` and no `oauth_store` member, as the
//! original implementation stored) is read as an entry without expiry whose revision is a
//! hash of its content. The next write replaces it with a record.
//!
//! # Scopes
//! The scope is its own argument to every host operation, never part of the key string, so no
//! entry key can reach into the other scope; and a record read back must carry the scope it
//! was asked for.
//!
//! # Optional operations
//! A host declares in [`BridgeCapabilities`] which of these it supports; `BridgeBackend` only
//! calls what is declared and reports [`Unsupported`](oauth_store_core::Error::Unsupported)
//! otherwise (never falling back to an unconditional write):
//!
//! - **compare-and-swap** ([`HostBridge::compare_and_set`], [`HostBridge::compare_and_delete`]):
//!   replace or remove a value only if the stored value is still the one given (or absent).
//!   With it, the backend offers conditional writes (`Capabilities::conditional_writes`).
//! - **list** ([`HostBridge::list`]): the keys in a scope starting with a prefix.
//! - **refresh locks** ([`HostBridge::try_lock`], [`HostBridge::unlock`]): a lock with a lease
//!   per key, so that one process refreshes while the others wait
//!   ([`BridgeBackend::try_lock_refresh`]).
//!
//! # Without a host
//! [`BridgeBackend::unconfigured`] builds a backend with no host, for programs that may or may
//! not run embedded: every operation fails with the same
//! [`NotConfigured`](oauth_store_core::Error::NotConfigured) error saying how to configure one.
//!
//! # Example
//! See the [crate documentation](crate) for a host implemented from scratch, and
//! [`MemoryHost`] for an in-process host to test with.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use oauth_store_core::BoxError;
use serde_json::Value;

mod backend;
mod memory_host;
mod record;

pub use backend::{BridgeBackend, RefreshLock};
pub use memory_host::MemoryHost;

/// Which of the host's stores an operation is for.
///
/// `Session` entries belong to one user session, `Org` entries are shared across an
/// organisation. A host keeps the two apart; [`BridgeBackend`] checks that it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// The current session's store (`cloud_session`).
    Session,
    /// The organisation's shared store (`cloud_org`).
    Org,
}

impl Scope {
    /// The scope as the original host capability names it: `"session"` or `"org"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Org => "org",
        }
    }

    /// The name of the backend for this scope: `cloud_session` or `cloud_org`.
    #[must_use]
    pub fn backend_name(self) -> &'static str {
        match self {
            Self::Session => "cloud_session",
            Self::Org => "cloud_org",
        }
    }

    /// Parses `"session"` or `"org"`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "session" => Some(Self::Session),
            "org" => Some(Self::Org),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One operation of the host bridge, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// [`HostBridge::get`].
    Get,
    /// [`HostBridge::set`].
    Set,
    /// [`HostBridge::delete`].
    Delete,
    /// [`HostBridge::compare_and_set`].
    CompareAndSet,
    /// [`HostBridge::compare_and_delete`].
    CompareAndDelete,
    /// [`HostBridge::list`].
    List,
    /// [`HostBridge::try_lock`].
    TryLock,
    /// [`HostBridge::unlock`].
    Unlock,
}

impl Operation {
    /// The operation's name, in the style of the original host capability (`cloud_get`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "cloud_get",
            Self::Set => "cloud_set",
            Self::Delete => "cloud_delete",
            Self::CompareAndSet => "cloud_compare_and_set",
            Self::CompareAndDelete => "cloud_compare_and_delete",
            Self::List => "cloud_list",
            Self::TryLock => "cloud_try_lock",
            Self::Unlock => "cloud_unlock",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which optional operations a host supports, as data.
///
/// The default is none of them: the three operations of the original capability only.
///
/// ```
/// use oauth_store_cloud::bridge::BridgeCapabilities;
///
/// let caps = BridgeCapabilities::default().with_compare_and_swap().with_list();
/// assert!(caps.compare_and_swap && caps.list && !caps.refresh_lock);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
#[allow(clippy::struct_excessive_bools)]
pub struct BridgeCapabilities {
    /// [`HostBridge::compare_and_set`] and [`HostBridge::compare_and_delete`] work and are
    /// atomic.
    pub compare_and_swap: bool,
    /// [`HostBridge::list`] works.
    pub list: bool,
    /// [`HostBridge::try_lock`] and [`HostBridge::unlock`] work.
    pub refresh_lock: bool,
    /// The host drops entries once their `ttl_seconds` ran out.
    pub native_ttl: bool,
    /// Entries survive the process.
    pub persistent: bool,
    /// The host encrypts what it stores.
    pub encrypted_at_rest: bool,
    /// The largest value the host accepts, serialized as JSON, in bytes.
    pub max_value_size: Option<usize>,
}

impl BridgeCapabilities {
    /// Declares compare-and-swap.
    #[must_use]
    pub fn with_compare_and_swap(mut self) -> Self {
        self.compare_and_swap = true;
        self
    }

    /// Declares listing.
    #[must_use]
    pub fn with_list(mut self) -> Self {
        self.list = true;
        self
    }

    /// Declares refresh locks.
    #[must_use]
    pub fn with_refresh_lock(mut self) -> Self {
        self.refresh_lock = true;
        self
    }

    /// Declares that the host expires entries itself.
    #[must_use]
    pub fn with_native_ttl(mut self) -> Self {
        self.native_ttl = true;
        self
    }

    /// Declares that entries survive the process.
    #[must_use]
    pub fn with_persistent(mut self) -> Self {
        self.persistent = true;
        self
    }

    /// Declares that the host encrypts what it stores.
    #[must_use]
    pub fn with_encrypted_at_rest(mut self) -> Self {
        self.encrypted_at_rest = true;
        self
    }

    /// Declares the largest value the host accepts.
    #[must_use]
    pub fn with_max_value_size(mut self, bytes: usize) -> Self {
        self.max_value_size = Some(bytes);
        self
    }
}

/// The error a host returns from an optional operation it does not implement.
///
/// The default bodies of [`HostBridge`]'s optional methods return it; a host that declares an
/// operation in its [`BridgeCapabilities`] must override the method.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("this host does not implement {0}")]
pub struct NotImplemented(pub Operation);

/// Storage supplied by the embedding program: the `oauth_storage` host capability.
///
/// The three required operations are the original capability's. Values are JSON: the host
/// stores what it is given and returns it unchanged (see the [module docs](self) for what
/// the values look like; a host does not need to look inside them). `get` returns
/// [`Value::Null`] for a missing key. `get` and `delete` of a missing key are not errors.
///
/// Host errors are any error type; a host returning a core
/// [`Error`](oauth_store_core::Error) marked temporary (for example `Error::backend(name,
/// true, e)`) lets retry layers retry it.
///
/// The optional operations have default bodies that return [`NotImplemented`]; they are only
/// called when [`HostBridge::capabilities`] declares them.
#[async_trait]
pub trait HostBridge: fmt::Debug + Send + Sync + 'static {
    /// The host's name, for messages: `harn-host`, `my-platform`.
    fn name(&self) -> String;

    /// The optional operations this host supports.
    fn capabilities(&self) -> BridgeCapabilities {
        BridgeCapabilities::default()
    }

    /// `cloud_get {scope, key}`: the value stored under `key` in `scope`, or [`Value::Null`].
    async fn get(&self, scope: Scope, key: &str) -> Result<Value, BoxError>;

    /// `cloud_set {scope, key, token, ttl_seconds?}`: stores `value` under `key` in `scope`,
    /// replacing what is there. `ttl_seconds` is a hint (rounded up to whole seconds) a host
    /// may use to drop the entry later; the backend enforces the TTL itself either way.
    async fn set(
        &self,
        scope: Scope,
        key: &str,
        value: Value,
        ttl_seconds: Option<u64>,
    ) -> Result<(), BoxError>;

    /// `cloud_delete {scope, key}`: removes the value under `key` in `scope`, if any.
    async fn delete(&self, scope: Scope, key: &str) -> Result<(), BoxError>;

    /// Atomically: if the value under `key` equals `expected` (`None`: there is no value),
    /// store `value` and return `true`; otherwise change nothing and return `false`.
    ///
    /// Equality is JSON value equality with what [`HostBridge::get`] returned.
    async fn compare_and_set(
        &self,
        scope: Scope,
        key: &str,
        expected: Option<&Value>,
        value: Value,
        ttl_seconds: Option<u64>,
    ) -> Result<bool, BoxError> {
        let _ = (scope, key, expected, value, ttl_seconds);
        Err(NotImplemented(Operation::CompareAndSet).into())
    }

    /// Atomically: if the value under `key` equals `expected`, remove it and return `true`;
    /// otherwise change nothing and return `false`.
    async fn compare_and_delete(
        &self,
        scope: Scope,
        key: &str,
        expected: &Value,
    ) -> Result<bool, BoxError> {
        let _ = (scope, key, expected);
        Err(NotImplemented(Operation::CompareAndDelete).into())
    }

    /// The keys in `scope` that start with `prefix`, as a JSON array of strings.
    async fn list(&self, scope: Scope, prefix: &str) -> Result<Value, BoxError> {
        let _ = (scope, prefix);
        Err(NotImplemented(Operation::List).into())
    }

    /// Tries to take the refresh lock of `key` in `scope` for `lease`. Returns a lock id (1 to
    /// 256 printable ASCII characters) when taken, `None` when another holder's lease is still
    /// running. A lease that ran out is free to take.
    async fn try_lock(
        &self,
        scope: Scope,
        key: &str,
        lease: Duration,
    ) -> Result<Option<String>, BoxError> {
        let _ = (scope, key, lease);
        Err(NotImplemented(Operation::TryLock).into())
    }

    /// Releases the refresh lock of `key` in `scope` if `lock_id` still holds it; returns
    /// whether it did.
    async fn unlock(&self, scope: Scope, key: &str, lock_id: &str) -> Result<bool, BoxError> {
        let _ = (scope, key, lock_id);
        Err(NotImplemented(Operation::Unlock).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names() {
        assert_eq!(Scope::Session.as_str(), "session");
        assert_eq!(Scope::Org.to_string(), "org");
        assert_eq!(Scope::parse("org"), Some(Scope::Org));
        assert_eq!(Scope::parse("Org"), None);
        assert_eq!(Scope::Session.backend_name(), "cloud_session");
        assert_eq!(Scope::Org.backend_name(), "cloud_org");
    }

    #[test]
    fn operation_names_follow_the_original() {
        assert_eq!(Operation::Get.to_string(), "cloud_get");
        assert_eq!(Operation::Set.to_string(), "cloud_set");
        assert_eq!(Operation::Delete.to_string(), "cloud_delete");
    }

    #[test]
    fn capabilities_default_to_nothing() {
        let c = BridgeCapabilities::default();
        assert!(!c.compare_and_swap && !c.list && !c.refresh_lock && !c.native_ttl);
        let c = c
            .with_refresh_lock()
            .with_native_ttl()
            .with_persistent()
            .with_encrypted_at_rest()
            .with_max_value_size(10);
        assert!(c.refresh_lock && c.native_ttl && c.persistent && c.encrypted_at_rest);
        assert_eq!(c.max_value_size, Some(10));
    }
}

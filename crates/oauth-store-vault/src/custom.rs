//! [`CustomBackend`]: a backend made of async closures, for a vault or keychain of your own.
//!
//! This is the `custom` backend of harn-vm 0.8 made safe: you give `get`, `set` and `delete`
//! (and, if your store can, `list` and the two conditional operations), and the backend does
//! the rest of the [`Backend`] contract around them: revisions, TTL expiry on read, size
//! limits, conditional writes only where you provided them, errors tagged with your id.
//!
//! # What the closures see
//! Closures store and return [`CustomRecord`]s: a token set with its revision and expiry. A
//! store that keeps strings uses [`CustomRecord::to_json`] and [`CustomRecord::from_json`].
//! As in the original:
//!
//! - `get` of a missing key returns `Ok(None)`, and `delete` of a missing key is `Ok(())`:
//!   neither is an error;
//! - the TTL is a hint ([`CustomRecord::ttl`]) your store may act on; the backend checks
//!   [`CustomRecord::expires_at`] on every read either way, so an expired record is never
//!   returned;
//! - a closure's error is reported as [`Error::Backend`] with `backend` = `custom(<id>)`, its
//!   source naming the closure. A closure returning a temporary core error (for example
//!   `Error::backend(name, true, e)`) keeps it temporary, so retry layers retry it.
//!
//! # Capabilities are promises
//! `list` is offered only with a `list` closure, and conditional writes only with both
//! `set_if` and `delete_if`: without them a conditional write fails with
//! [`Error::Unsupported`] and is never done unconditionally. The flags you declare
//! ([`CustomBackendBuilder::persistent`] and the like) are reported as they are: declare only
//! what your store does. See `docs/CUSTOM-BACKENDS.md` in the repository for what each one
//! promises.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use oauth_store_core::clock::{expiry, from_unix_millis, to_unix_millis};
use oauth_store_core::{
    Backend, BoxError, Capabilities, Clock, DeleteOptions, Entry, EntryKey, EntryMeta, Error,
    ListedEntry, Precondition, PutOptions, Result, Revision, SystemClock, TokenSet,
    check_precondition, check_value_size, redact_quoted,
};
use serde::{Deserialize, Serialize};

type BoxFuture<T> = Pin<Box<dyn Future<Output = std::result::Result<T, BoxError>> + Send>>;
type GetFn = Arc<dyn Fn(EntryKey) -> BoxFuture<Option<CustomRecord>> + Send + Sync>;
type SetFn = Arc<dyn Fn(EntryKey, CustomRecord) -> BoxFuture<()> + Send + Sync>;
type DeleteFn = Arc<dyn Fn(EntryKey) -> BoxFuture<()> + Send + Sync>;
type ListFn = Arc<dyn Fn(String) -> BoxFuture<Vec<EntryKey>> + Send + Sync>;
type SetIfFn = Arc<dyn Fn(EntryKey, CustomRecord, Condition) -> BoxFuture<bool> + Send + Sync>;
type DeleteIfFn = Arc<dyn Fn(EntryKey, Revision) -> BoxFuture<bool> + Send + Sync>;

/// What a custom backend stores under one key: a token set, its revision and its expiry.
///
/// The backend makes records; your closures keep them and give them back unchanged.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct CustomRecord {
    /// The token set.
    pub token: TokenSet,
    /// The revision of this write. A conditional closure compares it with its
    /// [`Condition`].
    pub revision: Revision,
    /// When the record expires, if it was written with a TTL.
    pub expires_at: Option<SystemTime>,
    /// When it was written.
    pub updated_at: Option<SystemTime>,
    /// The TTL it was written with: a hint for stores that expire entries themselves.
    pub ttl: Option<Duration>,
}

impl fmt::Debug for CustomRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `TokenSet`'s own `Debug` shows no secret.
        f.debug_struct("CustomRecord")
            .field("token", &self.token)
            .field("revision", &self.revision)
            .field("expires_at", &self.expires_at)
            .field("updated_at", &self.updated_at)
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// The JSON form of a [`CustomRecord`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordJson {
    format: u64,
    revision: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl_ms: Option<u64>,
    token: TokenSet,
}

const RECORD_FORMAT: u64 = 1;

impl CustomRecord {
    /// Whether the record is expired at `now`.
    #[must_use]
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// The record's metadata.
    #[must_use]
    pub fn meta(&self) -> EntryMeta {
        EntryMeta::new(self.revision.clone(), self.expires_at, self.updated_at)
    }

    /// The record as compact JSON, for stores that keep strings:
    /// `{"format":1,"revision":"…","updated_at_ms":…,"expires_at_ms":…,"ttl_ms":…,"token":{…}}`.
    ///
    /// The string holds the token set's secrets: keep it where you would keep a token.
    pub fn to_json(&self) -> std::result::Result<String, crate::Error> {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let json = RecordJson {
            format: RECORD_FORMAT,
            revision: self.revision.as_str().to_owned(),
            updated_at_ms: self.updated_at.map(to_unix_millis),
            expires_at_ms: self.expires_at.map(to_unix_millis),
            ttl_ms: self.ttl.map(millis),
            token: self.token.clone(),
        };
        serde_json::to_string(&json).map_err(|e| crate::Error::InvalidRecord {
            reason: format!("cannot write it as JSON: {}", redact_quoted(&e.to_string())),
        })
    }

    /// Reads a record written by [`CustomRecord::to_json`]. Anything else is
    /// [`crate::Error::InvalidRecord`], whose message never shows a value.
    pub fn from_json(json: &str) -> std::result::Result<Self, crate::Error> {
        let invalid = |reason: String| crate::Error::InvalidRecord { reason };
        let parsed: RecordJson = serde_json::from_str(json)
            .map_err(|e| invalid(format!("not a record: {}", redact_quoted(&e.to_string()))))?;
        if parsed.format != RECORD_FORMAT {
            return Err(invalid(format!(
                "unsupported record format {}; this version reads format {RECORD_FORMAT}",
                parsed.format
            )));
        }
        let revision = Revision::parse(&parsed.revision).ok_or_else(|| {
            invalid("`revision` is not 1 to 256 printable ASCII characters".into())
        })?;
        Ok(Self {
            token: parsed.token,
            revision,
            expires_at: parsed.expires_at_ms.map(from_unix_millis),
            updated_at: parsed.updated_at_ms.map(from_unix_millis),
            ttl: parsed.ttl_ms.map(Duration::from_millis),
        })
    }
}

/// The condition of a `set_if` closure call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Condition {
    /// Store only if nothing is stored under the key.
    Absent,
    /// Store only if the stored record's revision is this one.
    Revision(Revision),
}

impl Condition {
    /// Whether the condition holds when the stored record has revision `current` (`None`:
    /// nothing is stored). A `set_if` closure checks this and stores in one atomic step.
    #[must_use]
    pub fn holds(&self, current: Option<&Revision>) -> bool {
        match self {
            Self::Absent => current.is_none(),
            Self::Revision(want) => current == Some(want),
        }
    }
}

/// A backend whose storage is a set of async closures. Build one with
/// [`CustomBackend::builder`].
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
/// use oauth_store_core::{Backend, BackendExt, EntryKey, TokenSet};
/// use oauth_store_vault::CustomBackend;
///
/// // A "vault" that keeps strings.
/// let vault: Arc<Mutex<HashMap<String, String>>> = Arc::default();
/// let (v1, v2, v3) = (vault.clone(), vault.clone(), vault.clone());
/// let store = CustomBackend::builder("string-vault")
///     .get(move |key| {
///         let found = v1.lock().unwrap().get(key.as_str()).cloned();
///         async move { Ok(found.map(|s| oauth_store_vault::CustomRecord::from_json(&s)).transpose()?) }
///     })
///     .set(move |key, record| {
///         let v = v2.clone();
///         async move {
///             v.lock().unwrap().insert(key.into_string(), record.to_json()?);
///             Ok(())
///         }
///     })
///     .delete(move |key| {
///         v3.lock().unwrap().remove(key.as_str());
///         async { Ok(()) }
///     })
///     .build()?;
///
/// let key = EntryKey::new("github")?;
/// store.put_token(&key, &TokenSet::new("gho_example")).await?;
/// assert_eq!(store.get_token(&key).await?.unwrap().access_token.expose(), "gho_example");
/// assert_eq!(store.name(), "custom(string-vault)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct CustomBackend {
    id: String,
    get: GetFn,
    set: SetFn,
    delete: DeleteFn,
    list: Option<ListFn>,
    set_if: Option<SetIfFn>,
    delete_if: Option<DeleteIfFn>,
    capabilities: Capabilities,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for CustomBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomBackend")
            .field("id", &self.id)
            .field("capabilities", &self.capabilities)
            .finish_non_exhaustive()
    }
}

impl CustomBackend {
    /// The longest id, in bytes.
    pub const MAX_ID_LEN: usize = 128;

    /// Starts building a backend named `custom(<id>)` in messages.
    #[must_use]
    pub fn builder(id: impl Into<String>) -> CustomBackendBuilder {
        CustomBackendBuilder {
            id: id.into(),
            get: None,
            set: None,
            delete: None,
            list: None,
            set_if: None,
            delete_if: None,
            capabilities: Capabilities::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The id given to [`CustomBackend::builder`].
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    fn closure_error(&self, closure: &'static str, source: BoxError) -> Error {
        let temporary = source
            .downcast_ref::<Error>()
            .is_some_and(Error::is_temporary);
        crate::Error::Closure {
            closure,
            temporary,
            source,
        }
        .into_core(&self.name())
    }

    /// The record under `key`, expired or not.
    async fn fetch(&self, key: &EntryKey) -> Result<Option<CustomRecord>> {
        (self.get)(key.clone())
            .await
            .map_err(|e| self.closure_error("get", e))
    }
}

/// Builds a [`CustomBackend`]; see [`CustomBackend::builder`].
///
/// `get`, `set` and `delete` are required; `list`, `set_if` and `delete_if` are optional
/// (`set_if` and `delete_if` together or not at all). Each closure takes its arguments by value
/// and returns a future of `Result<_, BoxError>`.
pub struct CustomBackendBuilder {
    id: String,
    get: Option<GetFn>,
    set: Option<SetFn>,
    delete: Option<DeleteFn>,
    list: Option<ListFn>,
    set_if: Option<SetIfFn>,
    delete_if: Option<DeleteIfFn>,
    capabilities: Capabilities,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for CustomBackendBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomBackendBuilder")
            .field("id", &self.id)
            .field("get", &self.get.is_some())
            .field("set", &self.set.is_some())
            .field("delete", &self.delete.is_some())
            .field("list", &self.list.is_some())
            .field("set_if", &self.set_if.is_some())
            .field("delete_if", &self.delete_if.is_some())
            .finish_non_exhaustive()
    }
}

impl CustomBackendBuilder {
    /// The record stored under a key, or `None` when there is none (not an error).
    #[must_use]
    pub fn get<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(EntryKey) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<Option<CustomRecord>, BoxError>> + Send + 'static,
    {
        self.get = Some(Arc::new(move |key| Box::pin(f(key))));
        self
    }

    /// Stores a record under a key, replacing what is there.
    #[must_use]
    pub fn set<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(EntryKey, CustomRecord) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), BoxError>> + Send + 'static,
    {
        self.set = Some(Arc::new(move |key, record| Box::pin(f(key, record))));
        self
    }

    /// Removes the record under a key; a missing key is not an error.
    #[must_use]
    pub fn delete<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(EntryKey) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), BoxError>> + Send + 'static,
    {
        self.delete = Some(Arc::new(move |key| Box::pin(f(key))));
        self
    }

    /// The keys starting with a prefix (in any order; keys not starting with it are
    /// ignored). Enables the `list` capability.
    #[must_use]
    pub fn list<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<Vec<EntryKey>, BoxError>> + Send + 'static,
    {
        self.list = Some(Arc::new(move |prefix| Box::pin(f(prefix))));
        self
    }

    /// Atomically: stores the record if the [`Condition`] holds for what is stored and
    /// returns `true`, or changes nothing and returns `false`. With
    /// [`CustomBackendBuilder::delete_if`], enables conditional writes.
    #[must_use]
    pub fn set_if<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(EntryKey, CustomRecord, Condition) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<bool, BoxError>> + Send + 'static,
    {
        self.set_if = Some(Arc::new(move |key, record, condition| {
            Box::pin(f(key, record, condition))
        }));
        self
    }

    /// Atomically: removes the record if its revision is the given one and returns `true`,
    /// or changes nothing and returns `false`. With [`CustomBackendBuilder::set_if`], enables
    /// conditional writes.
    #[must_use]
    pub fn delete_if<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(EntryKey, Revision) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<bool, BoxError>> + Send + 'static,
    {
        self.delete_if = Some(Arc::new(move |key, revision| Box::pin(f(key, revision))));
        self
    }

    /// Declares that records survive the process.
    #[must_use]
    pub fn persistent(mut self, yes: bool) -> Self {
        self.capabilities.persistent = yes;
        self
    }

    /// Declares that the store encrypts records at rest.
    #[must_use]
    pub fn encrypted_at_rest(mut self, yes: bool) -> Self {
        self.capabilities.encrypted_at_rest = yes;
        self
    }

    /// Declares that the store drops records once their TTL ran out (the backend still
    /// checks expiry on read).
    #[must_use]
    pub fn native_ttl(mut self, yes: bool) -> Self {
        self.capabilities.native_ttl = yes;
        self
    }

    /// Declares that writers in different processes are serialized by the store.
    #[must_use]
    pub fn cross_process_locking(mut self, yes: bool) -> Self {
        self.capabilities.cross_process_locking = yes;
        self
    }

    /// Refuses token sets larger than `bytes` serialized as JSON, with
    /// [`Error::TooLarge`], before any closure is called.
    #[must_use]
    pub fn max_value_size(mut self, bytes: usize) -> Self {
        self.capabilities.max_value_size = Some(bytes);
        self
    }

    /// Uses `clock` for TTL expiry (tests use a
    /// [`ManualClock`](oauth_store_core::ManualClock)).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The backend, or [`crate::Error`] naming what is missing.
    pub fn build(self) -> std::result::Result<CustomBackend, crate::Error> {
        let id = self.id;
        let invalid = |reason| crate::Error::InvalidId {
            id: id.clone(),
            reason,
        };
        if id.is_empty() {
            return Err(invalid("it is empty"));
        }
        if id.len() > CustomBackend::MAX_ID_LEN {
            return Err(invalid("it is longer than 128 bytes"));
        }
        if id.chars().any(char::is_control) {
            return Err(invalid("it contains a control character"));
        }
        let missing = |closure| crate::Error::MissingClosure {
            id: id.clone(),
            closure,
        };
        let get = self.get.ok_or_else(|| missing("get"))?;
        let set = self.set.ok_or_else(|| missing("set"))?;
        let delete = self.delete.ok_or_else(|| missing("delete"))?;
        let incomplete = |given, missing| crate::Error::IncompleteConditional {
            id: id.clone(),
            given,
            missing,
        };
        match (&self.set_if, &self.delete_if) {
            (Some(_), None) => return Err(incomplete("set_if", "delete_if")),
            (None, Some(_)) => return Err(incomplete("delete_if", "set_if")),
            _ => {}
        }
        let mut capabilities = self.capabilities;
        capabilities.list = self.list.is_some();
        capabilities.conditional_writes = self.set_if.is_some();
        Ok(CustomBackend {
            id,
            get,
            set,
            delete,
            list: self.list,
            set_if: self.set_if,
            delete_if: self.delete_if,
            capabilities,
            clock: self.clock,
        })
    }
}

#[async_trait]
impl Backend for CustomBackend {
    fn name(&self) -> String {
        format!("custom({})", self.id)
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    async fn get(&self, key: &EntryKey) -> Result<Option<Entry>> {
        let now = self.clock.now();
        Ok(self
            .fetch(key)
            .await?
            .filter(|r| !r.is_expired_at(now))
            .map(|r| {
                let meta = r.meta();
                Entry::new(r.token, meta)
            }))
    }

    async fn put(&self, key: &EntryKey, token: &TokenSet, options: PutOptions) -> Result<Revision> {
        let conditional = !matches!(options.precondition, Precondition::None);
        let set_if = match (&self.set_if, conditional) {
            (_, false) => None,
            (Some(set_if), true) => Some(set_if),
            (None, true) => return Err(Error::unsupported(self.name(), "conditional writes")),
        };
        if self.capabilities.max_value_size.is_some() {
            let size = serde_json::to_vec(token).map_or(0, |v| v.len());
            check_value_size(&self.capabilities, key, size)?;
        }
        let now = self.clock.now();
        let revision = Revision::random(&self.name())?;
        let record = CustomRecord {
            token: token.clone(),
            revision: revision.clone(),
            expires_at: expiry(now, options.ttl),
            updated_at: Some(now),
            ttl: options.ttl,
        };

        let Some(set_if) = set_if else {
            (self.set)(key.clone(), record)
                .await
                .map_err(|e| self.closure_error("set", e))?;
            return Ok(revision);
        };

        let current = self.fetch(key).await?;
        let live = current
            .as_ref()
            .filter(|r| !r.is_expired_at(now))
            .map(|r| r.revision.clone());
        check_precondition(key, &options.precondition, live.as_ref())?;
        // Condition on what is actually stored, so an expired record counts as absent but is
        // still replaced atomically.
        let condition = match current {
            Some(r) => Condition::Revision(r.revision),
            None => Condition::Absent,
        };
        let applied = set_if(key.clone(), record, condition)
            .await
            .map_err(|e| self.closure_error("set_if", e))?;
        if applied {
            Ok(revision)
        } else {
            Err(Error::changed_since_read(key))
        }
    }

    async fn delete(&self, key: &EntryKey, options: DeleteOptions) -> Result<bool> {
        let delete_if = match (&self.delete_if, &options.if_revision) {
            (_, None) => None,
            (Some(delete_if), Some(_)) => Some(delete_if),
            (None, Some(_)) => return Err(Error::unsupported(self.name(), "conditional deletes")),
        };
        let now = self.clock.now();
        let current = self.fetch(key).await?;
        let live = current
            .as_ref()
            .filter(|r| !r.is_expired_at(now))
            .map(|r| r.revision.clone());

        if let (Some(delete_if), Some(want)) = (delete_if, options.if_revision) {
            check_precondition(key, &Precondition::IfRevision(want.clone()), live.as_ref())?;
            let applied = delete_if(key.clone(), want)
                .await
                .map_err(|e| self.closure_error("delete_if", e))?;
            if !applied {
                return Err(Error::Conflict {
                    key: key.to_string(),
                    reason: "the entry changed between the read and the conditional delete".into(),
                });
            }
            return Ok(true);
        }

        if current.is_none() {
            return Ok(false);
        }
        (self.delete)(key.clone())
            .await
            .map_err(|e| self.closure_error("delete", e))?;
        Ok(live.is_some())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedEntry>> {
        let Some(list) = &self.list else {
            return Err(Error::unsupported(self.name(), "list"));
        };
        let mut keys = list(prefix.to_owned())
            .await
            .map_err(|e| self.closure_error("list", e))?;
        keys.retain(|k| k.as_str().starts_with(prefix));
        keys.sort();
        keys.dedup();
        let now = self.clock.now();
        let mut listed = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(record) = self.fetch(&key).await?
                && !record.is_expired_at(now)
            {
                listed.push(ListedEntry::new(key, record.meta()));
            }
        }
        Ok(listed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> CustomRecord {
        CustomRecord {
            token: TokenSet::new("AT-SECRET").with_refresh_token("RT-SECRET"),
            revision: Revision::new("abc"),
            expires_at: Some(from_unix_millis(5_000)),
            updated_at: Some(from_unix_millis(1_000)),
            ttl: Some(Duration::from_millis(4_500)),
        }
    }

    #[test]
    fn json_round_trip() {
        let r = record();
        let json = r.to_json().unwrap();
        assert!(
            json.starts_with("{\"format\":1,\"revision\":\"abc\""),
            "{json}"
        );
        assert_eq!(CustomRecord::from_json(&json).unwrap(), r);
        let bare = r#"{"format":1,"revision":"r","token":{"access_token":"a"}}"#;
        let r = CustomRecord::from_json(bare).unwrap();
        assert_eq!(r.expires_at, None);
        assert_eq!(r.ttl, None);
    }

    #[test]
    fn bad_json_is_a_typed_error_without_values() {
        let cases = [
            ("42", "not a record"),
            (
                r#"{"format":2,"revision":"r","token":{"access_token":"a"}}"#,
                "format 2",
            ),
            (
                r#"{"format":1,"revision":"a b","token":{"access_token":"a"}}"#,
                "`revision`",
            ),
            (r#"{"format":1,"revision":"r","token":{}}"#, "access_token"),
            (
                r#"{"format":1,"revision":"r","token":{"access_token":"a","expires_in":"SECRET-X"}}"#,
                "not a record",
            ),
            (
                r#"{"format":1,"revision":"r","token":{"access_token":"a"},"x":"SECRET-X"}"#,
                "unknown field",
            ),
        ];
        for (json, want) in cases {
            let e = CustomRecord::from_json(json).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, crate::Error::InvalidRecord { .. }));
            assert!(text.contains(want), "{json}: {text}");
            assert!(!text.contains("SECRET-X"), "{text}");
        }
    }

    #[test]
    fn record_debug_is_redacted() {
        let dbg = format!("{:?} {:#?}", record(), record());
        assert!(
            !dbg.contains("AT-SECRET") && !dbg.contains("RT-SECRET"),
            "{dbg}"
        );
        assert!(dbg.contains("abc"));
    }

    #[test]
    fn conditions() {
        let r = Revision::new("1");
        assert!(Condition::Absent.holds(None));
        assert!(!Condition::Absent.holds(Some(&r)));
        assert!(Condition::Revision(r.clone()).holds(Some(&r)));
        assert!(!Condition::Revision(r.clone()).holds(None));
        assert!(!Condition::Revision(r).holds(Some(&Revision::new("2"))));
    }
}

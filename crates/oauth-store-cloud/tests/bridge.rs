//! Behaviour of the host bridge beyond the shared suite: no host, hostile hosts, scopes, TTLs
//! a host ignores, compare-and-swap races, refresh locks and redaction.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use oauth_store_cloud::bridge::{
    BridgeBackend, BridgeCapabilities, HostBridge, MemoryHost, Operation, RefreshLock, Scope,
};
use oauth_store_core::{
    Backend, BackendExt, BoxError, DeleteOptions, EntryKey, Error, ManualClock, PutOptions,
    Revision, TokenSet,
};
use serde_json::{Value, json};

fn key(s: &str) -> EntryKey {
    EntryKey::new(s).unwrap()
}

fn secret_token() -> TokenSet {
    TokenSet::new("AT-SECRET-VALUE").with_refresh_token("RT-SECRET-VALUE")
}

/// A host that answers `get` and `list` with whatever the test put in, and fails or
/// declares what it is told to.
#[derive(Debug)]
struct ScriptedHost {
    get: Mutex<Value>,
    list: Mutex<Value>,
    fail_with: Mutex<Option<Error>>,
    caps: BridgeCapabilities,
}

impl ScriptedHost {
    fn answering(get: Value) -> Arc<Self> {
        Arc::new(Self {
            get: Mutex::new(get),
            list: Mutex::new(json!([])),
            fail_with: Mutex::new(None),
            caps: BridgeCapabilities::default().with_list(),
        })
    }
}

#[async_trait]
impl HostBridge for ScriptedHost {
    fn name(&self) -> String {
        "scripted-host".into()
    }
    fn capabilities(&self) -> BridgeCapabilities {
        self.caps
    }
    async fn get(&self, _: Scope, _: &str) -> Result<Value, BoxError> {
        if let Some(e) = self.fail_with.lock().unwrap().take() {
            return Err(e.into());
        }
        Ok(self.get.lock().unwrap().clone())
    }
    async fn set(&self, _: Scope, _: &str, _: Value, _: Option<u64>) -> Result<(), BoxError> {
        Ok(())
    }
    async fn delete(&self, _: Scope, _: &str) -> Result<(), BoxError> {
        Ok(())
    }
    async fn list(&self, _: Scope, _: &str) -> Result<Value, BoxError> {
        Ok(self.list.lock().unwrap().clone())
    }
}

fn assert_names_bridge_and_operation(e: &Error, operation: Operation) {
    let text = e.to_string();
    assert!(text.contains("\"scripted-host\""), "{text}");
    assert!(text.contains(operation.as_str()), "{text}");
    assert!(text.contains("cloud_session(scripted-host)"), "{text}");
    let all = format!("{e} {e:?}");
    assert!(
        !all.contains("AT-SECRET-VALUE") && !all.contains("RT-SECRET-VALUE"),
        "{all}"
    );
}

// ---------------------------------------------------------------------------------------------
// No host
// ---------------------------------------------------------------------------------------------

const SESSION_HINT: &str = "cloud_session is not configured: no host bridge is configured for \
the session scope; build the backend with BridgeBackend::new(Scope::Session, Arc::new(host)) \
where `host` implements oauth_store_cloud::bridge::HostBridge (the host's oauth_storage \
capability)";

#[tokio::test]
async fn every_operation_without_a_host_is_not_configured_with_one_message() {
    let store = BridgeBackend::unconfigured(Scope::Session);
    assert!(!store.is_configured());
    assert_eq!(store.name(), "cloud_session");
    let k = key("github");
    let results: Vec<Error> = vec![
        store.get(&k).await.unwrap_err(),
        store.put_token(&k, &secret_token()).await.unwrap_err(),
        store
            .put(&k, &secret_token(), PutOptions::if_absent())
            .await
            .unwrap_err(),
        store.remove(&k).await.unwrap_err(),
        store
            .delete(&k, DeleteOptions::if_revision(Revision::new("1")))
            .await
            .unwrap_err(),
        store.list("").await.unwrap_err(),
        store
            .try_lock_refresh(&k, Duration::from_secs(5))
            .await
            .unwrap_err(),
    ];
    for e in &results {
        assert!(
            matches!(e, Error::NotConfigured { backend, .. } if backend == "cloud_session"),
            "{e:?}"
        );
        assert_eq!(e.to_string(), SESSION_HINT);
    }
    let again = BridgeBackend::from_option(Scope::Session, None);
    assert_eq!(again.get(&k).await.unwrap_err().to_string(), SESSION_HINT);

    let org = BridgeBackend::unconfigured(Scope::Org)
        .get(&k)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        org.starts_with(
            "cloud_org is not configured: no host bridge is configured for the org scope"
        ),
        "{org}"
    );
    assert!(org.contains("Scope::Org"), "{org}");
}

// ---------------------------------------------------------------------------------------------
// Hostile hosts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn hostile_get_responses_are_typed_errors_naming_bridge_and_operation() {
    let other_key = json!({"oauth_store": 1, "scope": "session", "key": "gitlab",
        "revision": "r1", "token": {"access_token": "AT-SECRET-VALUE"}});
    let other_scope = json!({"oauth_store": 1, "scope": "org", "key": "github",
        "revision": "r1", "token": {"access_token": "AT-SECRET-VALUE"}});
    let cases: Vec<(&str, Value, &str)> = vec![
        ("a number", json!(42), "found a number"),
        ("a string", json!("AT-SECRET-VALUE"), "found a string"),
        ("a boolean", json!(false), "found a boolean"),
        ("an array", json!(["AT-SECRET-VALUE"]), "found an array"),
        (
            "an object without access_token",
            json!({"refresh_token": "RT-SECRET-VALUE"}),
            "neither",
        ),
        (
            "a token set whose access_token is a number",
            json!({"access_token": 7}),
            "not a valid token set",
        ),
        (
            "a token set with a secret in a numeric field",
            json!({"access_token": "a", "expires_at_unix": "RT-SECRET-VALUE"}),
            "not a valid token set",
        ),
        ("a record for another key", other_key, "key \"gitlab\""),
        ("a record for another scope", other_scope, "scope \"org\""),
        (
            "a record with no token",
            json!({"oauth_store": 1, "scope": "session", "key": "github", "revision": "r"}),
            "no `token` member",
        ),
        (
            "a record of a future version",
            json!({"oauth_store": 9}),
            "unsupported record version 9",
        ),
    ];
    for (what, response, reason_part) in cases {
        let store = BridgeBackend::new(Scope::Session, ScriptedHost::answering(response));
        let e = store.get(&key("github")).await.unwrap_err();
        match &e {
            Error::InvalidTokenSet { location, reason } => {
                assert!(location.contains("cloud_get"), "{what}: {location}");
                assert!(reason.contains(reason_part), "{what}: {reason}");
            }
            other => panic!("{what}: expected InvalidTokenSet, got {other:?}"),
        }
        assert_names_bridge_and_operation(&e, Operation::Get);
    }
}

#[tokio::test]
async fn a_huge_response_is_too_large_not_parsed() {
    let huge = json!({"access_token": "A".repeat(2 * 1024 * 1024)});
    let store = BridgeBackend::new(Scope::Session, ScriptedHost::answering(huge));
    let e = store.get(&key("github")).await.unwrap_err();
    match &e {
        Error::TooLarge {
            location,
            size,
            limit,
        } => {
            assert!(location.contains("cloud_get"), "{location}");
            assert!(*size > 2 * 1024 * 1024);
            assert_eq!(
                *limit,
                (BridgeBackend::DEFAULT_MAX_VALUE_SIZE + 4096) as u64,
                "the limit is the token limit plus the record's room"
            );
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_names_bridge_and_operation(&e, Operation::Get);
    // A huge string is refused by size before its type is looked at.
    let store = BridgeBackend::new(
        Scope::Session,
        ScriptedHost::answering(Value::String("x".repeat(300_000))),
    );
    assert!(matches!(
        store.get(&key("k")).await.unwrap_err(),
        Error::TooLarge { .. }
    ));
}

#[tokio::test]
async fn hostile_list_responses_are_typed_errors() {
    let cases = [
        (
            json!({"keys": []}),
            "expected an array of entry keys, found an object",
        ),
        (json!(["a", 3]), "item 1 of the key list is a number"),
        (
            json!(["a", ""]),
            "item 1 of the key list: an entry key must not be empty",
        ),
        (json!(["a\u{0}b"]), "control characters"),
        (json!(["other/x"]), "does not start with the prefix"),
    ];
    for (response, reason_part) in cases {
        let host = ScriptedHost::answering(Value::Null);
        *host.list.lock().unwrap() = response.clone();
        let store = BridgeBackend::new(Scope::Session, host);
        let e = store.list("a").await.unwrap_err();
        match &e {
            Error::InvalidTokenSet { location, reason } => {
                assert!(location.contains("cloud_list"), "{location}");
                assert!(reason.contains(reason_part), "{response}: {reason}");
            }
            other => panic!("{response}: expected InvalidTokenSet, got {other:?}"),
        }
        assert_names_bridge_and_operation(&e, Operation::List);
    }
}

#[tokio::test]
async fn host_failures_are_backend_errors_and_keep_temporariness() {
    let host = ScriptedHost::answering(Value::Null);
    *host.fail_with.lock().unwrap() = Some(Error::backend("net", true, "connection reset"));
    let store = BridgeBackend::new(Scope::Session, host.clone());
    let e = store.get(&key("github")).await.unwrap_err();
    assert!(e.is_temporary());
    match &e {
        Error::Backend {
            backend, source, ..
        } => {
            assert_eq!(backend, "cloud_session(scripted-host)");
            let inner = source
                .downcast_ref::<oauth_store_cloud::Error>()
                .expect("the crate's error is the source");
            assert!(matches!(
                inner,
                oauth_store_cloud::Error::Host {
                    operation: Operation::Get,
                    scope: Scope::Session,
                    ..
                }
            ));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("connection reset"), "{e}");
    assert_names_bridge_and_operation(&e, Operation::Get);

    *host.fail_with.lock().unwrap() = Some(Error::backend("net", false, "denied"));
    let e = store.get(&key("github")).await.unwrap_err();
    assert!(!e.is_temporary());
}

/// Declares compare-and-swap, list and locks but implements none of them.
#[derive(Debug)]
struct Boaster(MemoryHost);

#[async_trait]
impl HostBridge for Boaster {
    fn name(&self) -> String {
        "boaster".into()
    }
    fn capabilities(&self) -> BridgeCapabilities {
        BridgeCapabilities::default()
            .with_compare_and_swap()
            .with_list()
            .with_refresh_lock()
    }
    async fn get(&self, scope: Scope, key: &str) -> Result<Value, BoxError> {
        self.0.get(scope, key).await
    }
    async fn set(&self, s: Scope, k: &str, v: Value, t: Option<u64>) -> Result<(), BoxError> {
        self.0.set(s, k, v, t).await
    }
    async fn delete(&self, scope: Scope, key: &str) -> Result<(), BoxError> {
        self.0.delete(scope, key).await
    }
}

#[tokio::test]
async fn declared_but_missing_operations_are_unsupported() {
    let store = BridgeBackend::new(Scope::Org, Arc::new(Boaster(MemoryHost::basic("inner"))));
    let k = key("github");
    let e = store
        .put(&k, &secret_token(), PutOptions::if_absent())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { backend, operation } if backend == "cloud_org(boaster)" && *operation == "cloud_compare_and_set"),
        "{e:?}"
    );
    assert!(matches!(
        store.list("").await.unwrap_err(),
        Error::Unsupported { .. }
    ));
    assert!(matches!(
        store
            .try_lock_refresh(&k, Duration::from_secs(1))
            .await
            .unwrap_err(),
        Error::Unsupported { .. }
    ));
    assert!(
        store.get(&k).await.unwrap().is_none(),
        "nothing was written"
    );
}

// ---------------------------------------------------------------------------------------------
// Scopes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn scopes_never_see_or_delete_each_others_entries() {
    let host = MemoryHost::new("host");
    let session = BridgeBackend::new(Scope::Session, Arc::new(host.clone()));
    let org = BridgeBackend::new(Scope::Org, Arc::new(host.clone()));
    // Keys that would forge the other scope if scope and key were joined into one string.
    let forged = [
        "github",
        "org:github",
        "org/github",
        "../org/github",
        "session\u{1F511}github",
        "{\"scope\":\"org\"}",
    ];
    for k in forged {
        org.put_token(&key(k), &TokenSet::new(format!("org-{k}")))
            .await
            .unwrap();
    }
    for k in forged {
        assert!(session.get(&key(k)).await.unwrap().is_none(), "{k}");
        assert!(!session.remove(&key(k)).await.unwrap(), "{k}");
        assert!(
            session
                .put(&key(k), &TokenSet::new("s"), PutOptions::if_absent())
                .await
                .is_ok(),
            "{k}: absent in the session scope"
        );
    }
    assert_eq!(session.list("").await.unwrap().len(), forged.len());
    for k in forged {
        assert!(session.remove(&key(k)).await.unwrap());
        let left = org.get_token(&key(k)).await.unwrap().unwrap();
        assert_eq!(left.access_token.expose(), format!("org-{k}"));
        assert_eq!(
            host.raw(Scope::Org, k).unwrap()["key"],
            json!(k),
            "the host got the key as it is"
        );
    }
    assert!(host.is_empty(Scope::Session));
    assert_eq!(host.len(Scope::Org), forged.len());
    assert_eq!(org.list("").await.unwrap().len(), forged.len());
}

#[tokio::test]
async fn a_host_that_mixes_up_scopes_is_caught() {
    let host = MemoryHost::new("host");
    let org = BridgeBackend::new(Scope::Org, Arc::new(host.clone()));
    org.put_token(&key("github"), &secret_token())
        .await
        .unwrap();
    // The host hands the org record out under the session scope.
    host.insert_raw(
        Scope::Session,
        "github",
        host.raw(Scope::Org, "github").unwrap(),
    );
    let session = BridgeBackend::new(Scope::Session, Arc::new(host));
    let e = session.get(&key("github")).await.unwrap_err();
    assert!(e.to_string().contains("belongs to scope \"org\""), "{e}");
    assert!(!format!("{e:?}").contains("AT-SECRET-VALUE"));
}

// ---------------------------------------------------------------------------------------------
// TTL
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn expired_entries_are_never_returned_though_the_host_keeps_them() {
    let clock = ManualClock::new();
    let host = MemoryHost::new("forgetful-ttl");
    let store = BridgeBackend::new(Scope::Session, Arc::new(host.clone()))
        .with_clock(Arc::new(clock.clone()));
    let k = key("github");
    let rev = store
        .put(
            &k,
            &secret_token(),
            PutOptions::new().with_ttl(Duration::from_millis(1500)),
        )
        .await
        .unwrap();
    assert_eq!(
        host.ttl_seconds(Scope::Session, "github"),
        Some(2),
        "rounded up"
    );
    let entry = store.get(&k).await.unwrap().unwrap();
    assert_eq!(entry.meta.revision, rev);
    assert!(entry.meta.expires_at.is_some());

    clock.advance(Duration::from_millis(1500));
    assert!(store.get(&k).await.unwrap().is_none());
    assert!(store.list("").await.unwrap().is_empty());
    assert!(
        host.raw(Scope::Session, "github").is_some(),
        "the host kept it"
    );
    // Logically absent: "only if absent" succeeds, a stale revision does not.
    assert!(
        store
            .put(&k, &TokenSet::new("x"), PutOptions::if_revision(rev))
            .await
            .unwrap_err()
            .is_conflict()
    );
    store
        .put(&k, &TokenSet::new("fresh"), PutOptions::if_absent())
        .await
        .unwrap();
    assert_eq!(
        store
            .get_token(&k)
            .await
            .unwrap()
            .unwrap()
            .access_token
            .expose(),
        "fresh"
    );
    // Deleting an expired entry reports that there was nothing, and removes it.
    store
        .put(
            &k,
            &secret_token(),
            PutOptions::new().with_ttl(Duration::from_secs(1)),
        )
        .await
        .unwrap();
    clock.advance(Duration::from_secs(1));
    assert!(!store.remove(&k).await.unwrap());
    assert!(host.raw(Scope::Session, "github").is_none());
}

// ---------------------------------------------------------------------------------------------
// Conditional writes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn without_compare_and_swap_conditional_writes_are_refused_and_write_nothing() {
    let host = MemoryHost::basic("basic");
    let store = BridgeBackend::new(Scope::Session, Arc::new(host.clone()));
    let k = key("github");
    let rev = store.put_token(&k, &TokenSet::new("v1")).await.unwrap();
    let before = host.raw(Scope::Session, "github");
    for options in [
        PutOptions::if_absent(),
        PutOptions::if_revision(rev.clone()),
    ] {
        let e = store
            .put(&k, &TokenSet::new("v2"), options)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Unsupported { operation, .. } if *operation == "conditional writes"),
            "{e:?}"
        );
    }
    let e = store
        .delete(&k, DeleteOptions::if_revision(rev))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert_eq!(
        host.raw(Scope::Session, "github"),
        before,
        "nothing changed"
    );
}

/// A host whose value changes between the backend's read and its compare-and-swap.
#[derive(Debug)]
struct RacingHost(MemoryHost);

#[async_trait]
impl HostBridge for RacingHost {
    fn name(&self) -> String {
        "racing".into()
    }
    fn capabilities(&self) -> BridgeCapabilities {
        self.0.capabilities()
    }
    async fn get(&self, scope: Scope, key: &str) -> Result<Value, BoxError> {
        self.0.get(scope, key).await
    }
    async fn set(&self, s: Scope, k: &str, v: Value, t: Option<u64>) -> Result<(), BoxError> {
        self.0.set(s, k, v, t).await
    }
    async fn delete(&self, scope: Scope, key: &str) -> Result<(), BoxError> {
        self.0.delete(scope, key).await
    }
    async fn compare_and_set(
        &self,
        scope: Scope,
        key: &str,
        expected: Option<&Value>,
        value: Value,
        ttl: Option<u64>,
    ) -> Result<bool, BoxError> {
        // Another writer gets in first.
        let mut theirs = value.clone();
        theirs["revision"] = json!("theirs");
        self.0.insert_raw(scope, key, theirs);
        self.0
            .compare_and_set(scope, key, expected, value, ttl)
            .await
    }
    async fn compare_and_delete(
        &self,
        scope: Scope,
        key: &str,
        expected: &Value,
    ) -> Result<bool, BoxError> {
        let mut theirs = expected.clone();
        theirs["revision"] = json!("theirs-again");
        self.0.insert_raw(scope, key, theirs);
        self.0.compare_and_delete(scope, key, expected).await
    }
}

#[tokio::test]
async fn a_lost_compare_and_swap_is_a_conflict() {
    let inner = MemoryHost::new("inner");
    let store = BridgeBackend::new(Scope::Session, Arc::new(RacingHost(inner.clone())));
    assert!(store.capabilities().conditional_writes);
    let k = key("github");
    let e = store
        .put(&k, &secret_token(), PutOptions::if_absent())
        .await
        .unwrap_err();
    assert!(e.is_conflict(), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("AT-SECRET-VALUE"));
    assert_eq!(
        inner.raw(Scope::Session, "github").unwrap()["revision"],
        json!("theirs"),
        "the other writer's value stands"
    );
    let rev = store.get(&k).await.unwrap().unwrap().meta.revision;
    assert_eq!(rev.as_str(), "theirs");
    let e = store
        .delete(&k, DeleteOptions::if_revision(rev))
        .await
        .unwrap_err();
    assert!(e.is_conflict(), "{e:?}");
    assert_eq!(
        inner.raw(Scope::Session, "github").unwrap()["revision"],
        json!("theirs-again"),
        "the other writer's value stands"
    );
}

#[tokio::test]
async fn bare_token_sets_of_the_original_are_read_and_replaced_conditionally() {
    let host = MemoryHost::new("host");
    host.insert_raw(
        Scope::Org,
        "github",
        json!({"access_token": "legacy-at", "expires_at_unix": 1_700_000_000, "custom": [1]}),
    );
    let store = BridgeBackend::new(Scope::Org, Arc::new(host.clone()));
    let entry = store.get(&key("github")).await.unwrap().unwrap();
    assert_eq!(entry.token.access_token.expose(), "legacy-at");
    assert_eq!(entry.token.extra["custom"], json!([1]));
    assert!(entry.meta.revision.as_str().starts_with("legacy-"));
    let rev = store
        .put(
            &key("github"),
            &TokenSet::new("new-at"),
            PutOptions::if_revision(entry.meta.revision.clone()),
        )
        .await
        .unwrap();
    assert_ne!(rev, entry.meta.revision);
    assert_eq!(
        host.raw(Scope::Org, "github").unwrap()["oauth_store"],
        json!(1)
    );
}

#[tokio::test]
async fn unreadable_values_can_be_deleted() {
    let host = MemoryHost::new("host");
    host.insert_raw(Scope::Session, "junk", json!(12));
    let store = BridgeBackend::new(Scope::Session, Arc::new(host.clone()));
    assert!(store.get(&key("junk")).await.is_err());
    let e = store
        .put(&key("junk"), &TokenSet::new("x"), PutOptions::if_absent())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidTokenSet { .. }), "{e:?}");
    assert!(store.remove(&key("junk")).await.unwrap());
    assert!(host.raw(Scope::Session, "junk").is_none());
}

// ---------------------------------------------------------------------------------------------
// Refresh locks
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn refresh_locks_exclude_until_released_or_expired() {
    let clock = ManualClock::new();
    let host = MemoryHost::new("host").with_clock(Arc::new(clock.clone()));
    let session = BridgeBackend::new(Scope::Session, Arc::new(host.clone()))
        .with_clock(Arc::new(clock.clone()));
    let org = BridgeBackend::new(Scope::Org, Arc::new(host));
    let k = key("github");
    let lease = Duration::from_secs(30);

    let lock: RefreshLock = session.try_lock_refresh(&k, lease).await.unwrap().unwrap();
    assert_eq!(lock.key(), &k);
    assert_eq!(lock.scope(), Scope::Session);
    assert!(lock.expires_at().is_some());
    assert!(!format!("{lock:?}").contains("lock-"), "{lock:?}");
    assert!(session.try_lock_refresh(&k, lease).await.unwrap().is_none());
    // The other scope has its own locks, and cannot release this one.
    let org_lock = org.try_lock_refresh(&k, lease).await.unwrap().unwrap();
    assert!(!org.unlock_refresh(lock).await.unwrap());
    assert!(session.try_lock_refresh(&k, lease).await.unwrap().is_none());
    assert!(org.unlock_refresh(org_lock).await.unwrap());

    // After the lease runs out, someone else takes it; the stale holder cannot release it.
    clock.advance(lease);
    let second = session.try_lock_refresh(&k, lease).await.unwrap().unwrap();
    assert!(session.unlock_refresh(second).await.unwrap());
    assert!(session.try_lock_refresh(&k, lease).await.unwrap().is_some());

    let basic = BridgeBackend::new(Scope::Session, Arc::new(MemoryHost::basic("b")));
    let e = basic.try_lock_refresh(&k, lease).await.unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { operation, .. } if *operation == "refresh locks"),
        "{e:?}"
    );
}

/// A host answering `try_lock` with an unusable lock id.
#[derive(Debug)]
struct BadLockHost;

#[async_trait]
impl HostBridge for BadLockHost {
    fn name(&self) -> String {
        "scripted-host".into()
    }
    fn capabilities(&self) -> BridgeCapabilities {
        BridgeCapabilities::default().with_refresh_lock()
    }
    async fn get(&self, _: Scope, _: &str) -> Result<Value, BoxError> {
        Ok(Value::Null)
    }
    async fn set(&self, _: Scope, _: &str, _: Value, _: Option<u64>) -> Result<(), BoxError> {
        Ok(())
    }
    async fn delete(&self, _: Scope, _: &str) -> Result<(), BoxError> {
        Ok(())
    }
    async fn try_lock(&self, _: Scope, _: &str, _: Duration) -> Result<Option<String>, BoxError> {
        Ok(Some("has a space\n".into()))
    }
}

#[tokio::test]
async fn an_invalid_lock_id_is_a_typed_error() {
    let store = BridgeBackend::new(Scope::Session, Arc::new(BadLockHost));
    let e = store
        .try_lock_refresh(&key("github"), Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidTokenSet { .. }), "{e:?}");
    assert_names_bridge_and_operation(&e, Operation::TryLock);
    assert!(e.to_string().contains("lock id"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Redaction and types
// ---------------------------------------------------------------------------------------------

/// A host whose own `Debug` shows what it stores.
#[derive(Debug)]
struct LeakyHost {
    last: Mutex<String>,
}

#[async_trait]
impl HostBridge for LeakyHost {
    fn name(&self) -> String {
        "leaky".into()
    }
    async fn get(&self, _: Scope, _: &str) -> Result<Value, BoxError> {
        Ok(Value::Null)
    }
    async fn set(&self, _: Scope, _: &str, v: Value, _: Option<u64>) -> Result<(), BoxError> {
        *self.last.lock().unwrap() = v.to_string();
        Ok(())
    }
    async fn delete(&self, _: Scope, _: &str) -> Result<(), BoxError> {
        Ok(())
    }
}

#[tokio::test]
async fn debug_output_never_shows_tokens() {
    let host = MemoryHost::new("host");
    let store = BridgeBackend::new(Scope::Session, Arc::new(host.clone()));
    store
        .put_token(&key("github"), &secret_token())
        .await
        .unwrap();
    let leaky = Arc::new(LeakyHost {
        last: Mutex::new(String::new()),
    });
    let leaky_store = BridgeBackend::new(Scope::Org, leaky.clone());
    leaky_store
        .put_token(&key("github"), &secret_token())
        .await
        .unwrap();
    assert!(
        format!("{leaky:?}").contains("AT-SECRET-VALUE"),
        "the test host leaks"
    );
    let entry = store.get(&key("github")).await.unwrap().unwrap();
    let dbg = format!("{store:?} {store:#?} {host:?} {leaky_store:?} {entry:?}");
    for secret in ["AT-SECRET-VALUE", "RT-SECRET-VALUE"] {
        assert!(!dbg.contains(secret), "{dbg}");
    }
    assert!(dbg.contains("\"leaky\""), "the host is named: {dbg}");
    assert!(dbg.contains("Session"), "{dbg}");
}

#[test]
fn public_types_are_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<BridgeBackend>();
    check::<MemoryHost>();
    check::<RefreshLock>();
    check::<oauth_store_cloud::Error>();
    check::<Arc<dyn HostBridge>>();
}

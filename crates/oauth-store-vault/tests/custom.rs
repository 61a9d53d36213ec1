//! Custom backend behaviour beyond the shared suite: building, missing keys, closure errors,
//! declared capabilities, conditional writes refused or lost, TTLs and redaction.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use oauth_store_core::{
    Backend, BackendExt, DeleteOptions, EntryKey, Error, ManualClock, PutOptions, TokenSet,
};
use oauth_store_vault::{Condition, CustomBackend, CustomBackendBuilder, CustomRecord};

fn key(s: &str) -> EntryKey {
    EntryKey::new(s).unwrap()
}

fn secret_token() -> TokenSet {
    TokenSet::new("AT-SECRET-VALUE").with_refresh_token("RT-SECRET-VALUE")
}

fn no_secrets(text: &str) {
    assert!(
        !text.contains("AT-SECRET-VALUE") && !text.contains("RT-SECRET-VALUE"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_required_closures_are_typed_errors() {
    let clock = ManualClock::new();
    let map = common::Map::default();
    let only_get = CustomBackend::builder("v").get(|_| async { Ok(None) });
    let e = only_get.build().unwrap_err();
    assert!(
        matches!(&e, oauth_store_vault::Error::MissingClosure { id, closure } if id == "v" && *closure == "set"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "custom backend \"v\" has no `set` closure; give one with \
         CustomBackend::builder(\"v\").set(|…| async move { … })"
    );
    let e = CustomBackend::builder("v").build().unwrap_err();
    assert!(e.to_string().contains("no `get` closure"), "{e}");
    let e = CustomBackend::builder("v")
        .get(|_| async { Ok(None) })
        .set(|_, _| async { Ok(()) })
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("no `delete` closure"), "{e}");

    let e = common::required("v", &map, &clock)
        .set_if(|_, _, _| async { Ok(true) })
        .build()
        .unwrap_err();
    assert!(
        matches!(
            e,
            oauth_store_vault::Error::IncompleteConditional {
                given: "set_if",
                missing: "delete_if",
                ..
            }
        ),
        "{e:?}"
    );
    let e = common::required("v", &map, &clock)
        .delete_if(|_, _| async { Ok(true) })
        .build()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("a `delete_if` closure but no `set_if`"),
        "{e}"
    );

    // As a core error it says the backend is not configured, and how.
    let core = e.into_core("custom(v)");
    assert!(
        matches!(&core, Error::NotConfigured { backend, .. } if backend == "custom(v)"),
        "{core:?}"
    );
}

#[test]
fn ids_must_be_printable_and_short() {
    let clock = ManualClock::new();
    let map = common::Map::default();
    for (id, reason) in [
        (String::new(), "empty"),
        ("a\nb".to_owned(), "control character"),
        ("x".repeat(129), "longer than 128"),
    ] {
        let e = common::required(&id, &map, &clock).build().unwrap_err();
        assert!(
            matches!(&e, oauth_store_vault::Error::InvalidId { .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains(reason), "{e}");
    }
    let ok = common::required(&"x".repeat(128), &map, &clock).build();
    assert!(ok.is_ok());
}

// ---------------------------------------------------------------------------------------------
// Missing keys, closure errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn missing_keys_are_not_errors_and_delete_is_not_called_for_them() {
    let clock = ManualClock::new();
    let map = common::Map::default();
    let deletes = Arc::new(AtomicUsize::new(0));
    let d = deletes.clone();
    let m = map.clone();
    let store = common::required("v", &map, &clock)
        .delete(move |key| {
            d.fetch_add(1, Ordering::SeqCst);
            m.lock().unwrap().remove(&key);
            async { Ok(()) }
        })
        .build()
        .unwrap();
    assert!(store.get(&key("nope")).await.unwrap().is_none());
    assert!(!store.remove(&key("nope")).await.unwrap());
    assert_eq!(deletes.load(Ordering::SeqCst), 0);
    store.put_token(&key("yes"), &secret_token()).await.unwrap();
    assert!(store.remove(&key("yes")).await.unwrap());
    assert_eq!(deletes.load(Ordering::SeqCst), 1);
    assert!(map.lock().unwrap().is_empty());
}

/// A builder whose every closure fails with `error()`.
fn failing(error: fn() -> Error) -> CustomBackendBuilder {
    CustomBackend::builder("broken-vault")
        .get(move |_| async move { Err(error().into()) })
        .set(move |_, _| async move { Err(error().into()) })
        .delete(move |_| async move { Err(error().into()) })
        .list(move |_| async move { Err(error().into()) })
        .set_if(move |_, _, _| async move { Err(error().into()) })
        .delete_if(move |_, _| async move { Err(error().into()) })
}

fn check_closure_error(e: &Error, closure: &str, temporary: bool) {
    match e {
        Error::Backend {
            backend,
            temporary: t,
            source,
        } => {
            assert_eq!(backend, "custom(broken-vault)");
            assert_eq!(*t, temporary, "{e}");
            let inner = source
                .downcast_ref::<oauth_store_vault::Error>()
                .expect("the source is the crate's error");
            assert!(
                matches!(inner, oauth_store_vault::Error::Closure { closure: c, .. } if *c == closure),
                "{inner:?}"
            );
        }
        other => panic!("expected Error::Backend, got {other:?}"),
    }
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "custom(broken-vault) failed: the `{closure}` closure failed: "
        )),
        "{text}"
    );
    assert!(text.contains("vault sealed"), "{text}");
    no_secrets(&format!("{e} {e:?}"));
}

#[tokio::test]
async fn closure_errors_are_wrapped_with_the_id_and_the_closure() {
    let store = failing(|| Error::backend("inner", false, "vault sealed"))
        .build()
        .unwrap();
    let k = key("github");
    check_closure_error(&store.get(&k).await.unwrap_err(), "get", false);
    check_closure_error(
        &store.put_token(&k, &secret_token()).await.unwrap_err(),
        "set",
        false,
    );
    // The conditional paths read first, so the `get` error is what surfaces.
    check_closure_error(
        &store
            .put(&k, &secret_token(), PutOptions::if_absent())
            .await
            .unwrap_err(),
        "get",
        false,
    );
    check_closure_error(&store.remove(&k).await.unwrap_err(), "get", false);
    check_closure_error(&store.list("").await.unwrap_err(), "list", false);

    let temporary = failing(|| Error::backend("inner", true, "vault sealed"))
        .build()
        .unwrap();
    let e = temporary.get(&k).await.unwrap_err();
    assert!(e.is_temporary());
    check_closure_error(&e, "get", true);
}

#[tokio::test]
async fn conditional_closure_errors_name_the_closure() {
    let clock = ManualClock::new();
    let map = common::Map::default();
    let store = common::required("broken-vault", &map, &clock)
        .set_if(|_, _, _| async { Err("vault sealed".into()) })
        .delete_if(|_, _| async { Err("vault sealed".into()) })
        .build()
        .unwrap();
    let k = key("github");
    let e = store
        .put(&k, &secret_token(), PutOptions::if_absent())
        .await
        .unwrap_err();
    check_closure_error(&e, "set_if", false);
    let rev = store.put_token(&k, &secret_token()).await.unwrap();
    let e = store
        .delete(&k, DeleteOptions::if_revision(rev))
        .await
        .unwrap_err();
    check_closure_error(&e, "delete_if", false);

    let failing_delete = common::required("broken-vault", &map, &clock)
        .delete(|_| async { Err("vault sealed".into()) })
        .build()
        .unwrap();
    let e = failing_delete.remove(&k).await.unwrap_err();
    check_closure_error(&e, "delete", false);
}

// ---------------------------------------------------------------------------------------------
// Capabilities
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn declared_capabilities_are_reported_and_the_size_limit_is_enforced() {
    let clock = ManualClock::new();
    let map = common::Map::default();
    let sets = Arc::new(AtomicUsize::new(0));
    let (s, m) = (sets.clone(), map.clone());
    let store = common::required("v", &map, &clock)
        .set(move |key, record| {
            s.fetch_add(1, Ordering::SeqCst);
            m.lock().unwrap().insert(key, record);
            async { Ok(()) }
        })
        .persistent(true)
        .encrypted_at_rest(true)
        .native_ttl(true)
        .cross_process_locking(true)
        .max_value_size(100)
        .build()
        .unwrap();
    let caps = store.capabilities();
    assert!(caps.persistent && caps.encrypted_at_rest && caps.native_ttl);
    assert!(caps.cross_process_locking);
    assert!(!caps.list && !caps.conditional_writes);
    assert_eq!(caps.max_value_size, Some(100));

    let big = TokenSet::new("A".repeat(200));
    let e = store.put_token(&key("big"), &big).await.unwrap_err();
    assert!(matches!(e, Error::TooLarge { limit: 100, .. }), "{e:?}");
    assert_eq!(sets.load(Ordering::SeqCst), 0, "refused before the closure");
    store
        .put_token(&key("small"), &TokenSet::new("a"))
        .await
        .unwrap();
    assert_eq!(sets.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn without_conditional_closures_conditional_writes_are_refused_not_done() {
    let clock = ManualClock::new();
    let map = common::Map::default();
    let store = common::required("v", &map, &clock)
        .list(|_| async { Ok(Vec::new()) })
        .build()
        .unwrap();
    assert!(store.capabilities().list);
    let k = key("github");
    let rev = store.put_token(&k, &TokenSet::new("v1")).await.unwrap();
    for options in [
        PutOptions::if_absent(),
        PutOptions::if_revision(rev.clone()),
    ] {
        let e = store
            .put(&k, &TokenSet::new("v2"), options)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Unsupported { backend, operation } if backend == "custom(v)" && *operation == "conditional writes"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "custom(v) does not support conditional writes"
        );
    }
    let e = store
        .delete(&k, DeleteOptions::if_revision(rev.clone()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    let entry = store.get(&k).await.unwrap().unwrap();
    assert_eq!(entry.token.access_token.expose(), "v1");
    assert_eq!(entry.meta.revision, rev, "nothing was written");

    let no_list = common::required("v", &map, &clock).build().unwrap();
    assert!(matches!(
        no_list.list("").await.unwrap_err(),
        Error::Unsupported { .. }
    ));
}

#[tokio::test]
async fn a_set_if_that_refuses_is_a_conflict() {
    let clock = ManualClock::new();
    let map = common::Map::default();
    let store = common::required("v", &map, &clock)
        .set_if(|_, _, _| async { Ok(false) })
        .delete_if(|_, _| async { Ok(false) })
        .build()
        .unwrap();
    let k = key("github");
    let e = store
        .put(&k, &secret_token(), PutOptions::if_absent())
        .await
        .unwrap_err();
    assert!(e.is_conflict(), "{e:?}");
    no_secrets(&format!("{e} {e:?}"));
    let rev = store.put_token(&k, &secret_token()).await.unwrap();
    let e = store
        .delete(&k, DeleteOptions::if_revision(rev))
        .await
        .unwrap_err();
    assert!(e.is_conflict(), "{e:?}");
    assert!(store.get(&k).await.unwrap().is_some());
}

// ---------------------------------------------------------------------------------------------
// TTL
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn expired_records_are_never_returned_and_are_replaced_atomically() {
    let clock = ManualClock::new();
    let map = common::Map::default();
    let conditions = Arc::new(std::sync::Mutex::new(Vec::<Condition>::new()));
    let (c, m) = (conditions.clone(), map.clone());
    let store = common::full("v", &map, &clock)
        .set_if(move |key, record, condition| {
            let mut map = m.lock().unwrap();
            let applied = condition.holds(map.get(&key).map(|r| &r.revision));
            c.lock().unwrap().push(condition);
            if applied {
                map.insert(key, record);
            }
            async move { Ok(applied) }
        })
        .build()
        .unwrap();
    let k = key("github");
    let rev = store
        .put(
            &k,
            &secret_token(),
            PutOptions::new().with_ttl(Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let stored: CustomRecord = map.lock().unwrap()[&k].clone();
    assert_eq!(
        stored.ttl,
        Some(Duration::from_secs(60)),
        "the hint is passed"
    );
    assert_eq!(stored.revision, rev);
    assert!(stored.expires_at.is_some());

    clock.advance(Duration::from_secs(60));
    assert!(store.get(&k).await.unwrap().is_none());
    assert!(store.list("").await.unwrap().is_empty());
    assert!(map.lock().unwrap().contains_key(&k), "the store kept it");
    store
        .put(&k, &TokenSet::new("fresh"), PutOptions::if_absent())
        .await
        .unwrap();
    assert_eq!(
        conditions.lock().unwrap().as_slice(),
        [Condition::Revision(rev)],
        "the expired record is replaced on its revision, not blindly"
    );
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
}

#[tokio::test]
async fn list_ignores_keys_outside_the_prefix_and_sorts() {
    let clock = ManualClock::new();
    let map = common::Map::default();
    let m = map.clone();
    let store = common::required("v", &map, &clock)
        .list(move |_prefix| {
            // A sloppy store: every key, unsorted, one twice.
            let mut keys: Vec<EntryKey> = m.lock().unwrap().keys().rev().cloned().collect();
            keys.push(keys[0].clone());
            async move { Ok(keys) }
        })
        .build()
        .unwrap();
    for k in ["a/2", "b/1", "a/1"] {
        store.put_token(&key(k), &TokenSet::new("t")).await.unwrap();
    }
    let listed: Vec<String> = store
        .list("a/")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key.into_string())
        .collect();
    assert_eq!(listed, ["a/1", "a/2"]);
}

// ---------------------------------------------------------------------------------------------
// Redaction and types
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn debug_output_never_shows_tokens() {
    let clock = ManualClock::new();
    let map = common::Map::default();
    let builder = common::full("v", &map, &clock);
    let builder_dbg = format!("{builder:?}");
    assert!(builder_dbg.contains("set_if: true"), "{builder_dbg}");
    let store = builder.build().unwrap();
    store
        .put_token(&key("github"), &secret_token())
        .await
        .unwrap();
    let entry = store.get(&key("github")).await.unwrap().unwrap();
    let record = map.lock().unwrap()[&key("github")].clone();
    let dbg = format!("{store:?} {store:#?} {entry:?} {record:?} {builder_dbg}");
    no_secrets(&dbg);
    assert!(dbg.contains("\"v\""), "{dbg}");
}

#[test]
fn public_types_are_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<CustomBackend>();
    check::<CustomRecord>();
    check::<Condition>();
    check::<oauth_store_vault::Error>();
}

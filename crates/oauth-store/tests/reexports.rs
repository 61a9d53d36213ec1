//! The backends re-exported behind the facade's `bridge` and `custom` features are the real
//! ones, usable through the facade alone.
#![cfg(all(feature = "bridge", feature = "custom"))]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use oauth_store::cloud::bridge::{BridgeBackend, Scope};
use oauth_store::vault::{CustomBackend, CustomRecord};
use oauth_store::{Backend, BackendExt, EntryKey, Error, TokenSet};

#[tokio::test]
async fn bridge_without_a_host_is_not_configured() {
    let store = BridgeBackend::unconfigured(Scope::Session);
    let key = EntryKey::new("github").unwrap();
    let err = store.get(&key).await.unwrap_err();
    assert!(matches!(err, Error::NotConfigured { .. }), "{err:?}");
}

#[tokio::test]
async fn custom_backend_round_trips_through_the_facade() {
    type Map = Arc<Mutex<BTreeMap<EntryKey, CustomRecord>>>;
    let map: Map = Map::default();
    let (g, s, d) = (map.clone(), map.clone(), map.clone());
    let store = CustomBackend::builder("facade-test")
        .get(move |key| {
            let found = g.lock().unwrap().get(&key).cloned();
            async move { Ok(found) }
        })
        .set(move |key, record| {
            s.lock().unwrap().insert(key, record);
            async { Ok(()) }
        })
        .delete(move |key| {
            d.lock().unwrap().remove(&key);
            async { Ok(()) }
        })
        .build()
        .unwrap();
    let key = EntryKey::new("github").unwrap();
    store.put_token(&key, &TokenSet::new("at")).await.unwrap();
    let back = store.get_token(&key).await.unwrap().unwrap();
    assert_eq!(back.access_token.expose(), "at");
    assert_eq!(map.lock().unwrap().len(), 1);
}

//! Custom backends over a shared map, for the tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use oauth_store_core::{EntryKey, ManualClock};
use oauth_store_vault::{CustomBackend, CustomBackendBuilder, CustomRecord};

/// The shared map the closures keep records in.
pub(crate) type Map = Arc<Mutex<BTreeMap<EntryKey, CustomRecord>>>;

/// A builder with `get`, `set` and `delete` over `map`, on `clock`.
pub(crate) fn required(id: &str, map: &Map, clock: &ManualClock) -> CustomBackendBuilder {
    let (m1, m2, m3) = (map.clone(), map.clone(), map.clone());
    CustomBackend::builder(id)
        .clock(Arc::new(clock.clone()))
        .get(move |key| {
            let found = m1.lock().unwrap().get(&key).cloned();
            async move { Ok(found) }
        })
        .set(move |key, record| {
            m2.lock().unwrap().insert(key, record);
            async { Ok(()) }
        })
        .delete(move |key| {
            m3.lock().unwrap().remove(&key);
            async { Ok(()) }
        })
}

/// [`required`] plus `list`, `set_if` and `delete_if`, each atomic under the map's lock.
pub(crate) fn full(id: &str, map: &Map, clock: &ManualClock) -> CustomBackendBuilder {
    let (m1, m2, m3) = (map.clone(), map.clone(), map.clone());
    required(id, map, clock)
        .list(move |prefix| {
            let keys = m1
                .lock()
                .unwrap()
                .keys()
                .filter(|k| k.as_str().starts_with(&prefix))
                .cloned()
                .collect();
            async move { Ok(keys) }
        })
        .set_if(move |key, record, condition| {
            let mut map = m2.lock().unwrap();
            let applied = condition.holds(map.get(&key).map(|r| &r.revision));
            if applied {
                map.insert(key, record);
            }
            async move { Ok(applied) }
        })
        .delete_if(move |key, revision| {
            let mut map = m3.lock().unwrap();
            let applied = map.get(&key).is_some_and(|r| r.revision == revision);
            if applied {
                map.remove(&key);
            }
            async move { Ok(applied) }
        })
}

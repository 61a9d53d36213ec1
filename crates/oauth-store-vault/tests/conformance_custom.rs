//! The conformance suite over custom backends: closures over a shared map with every optional
//! closure, with only the required ones, and over a store that keeps JSON strings.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oauth_store_core::conformance::{self, Config};
use oauth_store_core::{Backend, DynBackend, ManualClock};
use oauth_store_vault::{CustomBackend, CustomRecord};

/// A declared size limit under 64 KiB, so the suite checks both sides of it.
const LIMIT: usize = 4096;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn full_closures_pass() {
    let clock = ManualClock::new();
    let map = common::Map::default();
    let store = common::full("full", &map, &clock)
        .max_value_size(LIMIT)
        .build()
        .unwrap();
    let caps = store.capabilities();
    assert!(caps.conditional_writes && caps.list);
    let config = Config::new().with_clock(clock);
    conformance::run_all(&store, &config).await;
    let shared: Arc<DynBackend> = Arc::new(store);
    conformance::concurrent_conditional_increments_spawned(shared, &config).await;
}

#[tokio::test(flavor = "current_thread")]
async fn full_closures_without_a_size_limit_pass() {
    let clock = ManualClock::new();
    let map = common::Map::default();
    let store = common::full("unbounded", &map, &clock).build().unwrap();
    assert_eq!(store.capabilities().max_value_size, None);
    conformance::run_all(&store, &Config::new().with_clock(clock)).await;
}

#[tokio::test(flavor = "current_thread")]
async fn required_closures_pass_and_refuse_the_rest() {
    let clock = ManualClock::new();
    let map = common::Map::default();
    let store = common::required("required-only", &map, &clock)
        .max_value_size(LIMIT)
        .build()
        .unwrap();
    let caps = store.capabilities();
    assert!(!caps.conditional_writes && !caps.list);
    conformance::run_all(&store, &Config::new().with_clock(clock)).await;
}

#[tokio::test]
async fn a_string_store_passes_with_real_sleep() {
    let strings: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let (s1, s2, s3) = (strings.clone(), strings.clone(), strings.clone());
    let store = CustomBackend::builder("strings")
        .get(move |key| {
            let found = s1.lock().unwrap().get(key.as_str()).cloned();
            async move { Ok(found.map(|s| CustomRecord::from_json(&s)).transpose()?) }
        })
        .set(move |key, record| {
            let s = s2.clone();
            async move {
                let json = record.to_json()?;
                s.lock().unwrap().insert(key.into_string(), json);
                Ok(())
            }
        })
        .delete(move |key| {
            s3.lock().unwrap().remove(key.as_str());
            async { Ok(()) }
        })
        .build()
        .unwrap();
    let config = Config::new()
        .with_random_key_prefix()
        .with_ttl(Duration::from_millis(100))
        .with_ttl_wait(Duration::from_millis(250));
    conformance::run_all(&store, &config).await;
    assert!(strings.lock().unwrap().is_empty(), "the suite cleans up");
}

#[tokio::test]
async fn two_custom_backends_over_separate_maps_are_isolated() {
    let clock = ManualClock::new();
    let (a, b) = (common::Map::default(), common::Map::default());
    let a = common::full("a", &a, &clock).build().unwrap();
    let b = common::required("b", &b, &clock).build().unwrap();
    conformance::isolation(&a, &b, &Config::new().with_clock(clock)).await;
}

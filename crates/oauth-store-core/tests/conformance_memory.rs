//! The conformance suite over the memory backend.

use std::sync::Arc;

use oauth_store_core::conformance::{self, Config};
use oauth_store_core::{DynBackend, ManualClock, MemoryBackend};

fn memory_with_clock() -> (MemoryBackend, Config) {
    let clock = ManualClock::new();
    let store = MemoryBackend::with_clock(Arc::new(clock.clone()));
    (store, Config::new().with_clock(clock))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_passes_on_multi_thread() {
    let (store, config) = memory_with_clock();
    conformance::run_all(&store, &config).await;
    let shared: Arc<DynBackend> = Arc::new(store);
    conformance::concurrent_conditional_increments_spawned(shared, &config).await;
}

#[tokio::test(flavor = "current_thread")]
async fn memory_passes_on_current_thread() {
    let (store, config) = memory_with_clock();
    conformance::run_all(&store, &config).await;
    let shared: Arc<DynBackend> = Arc::new(store);
    conformance::concurrent_conditional_increments_spawned(shared, &config).await;
}

#[tokio::test]
async fn memory_passes_with_real_sleep_and_prefix() {
    let config = Config::new()
        .with_random_key_prefix()
        .with_ttl(std::time::Duration::from_millis(100))
        .with_ttl_wait(std::time::Duration::from_millis(250));
    conformance::run_all(&MemoryBackend::new(), &config).await;
}

#[tokio::test]
async fn two_memory_backends_are_isolated() {
    let (a, config) = memory_with_clock();
    let b = MemoryBackend::new();
    conformance::isolation(&a, &b, &config).await;
}

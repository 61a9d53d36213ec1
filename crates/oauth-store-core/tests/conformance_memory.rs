//! The conformance suite over the memory backend and every layer over it, on both tokio
//! runtime flavours.

use std::sync::Arc;
use std::time::Duration;

use oauth_store_core::conformance::{self, Config};
use oauth_store_core::layer::{
    BackendBuilder, CacheLayer, Layer, NamespaceLayer, Namespaced, Traced, TracingLayer,
};
use oauth_store_core::mock::MockBackend;
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
        .with_ttl(Duration::from_millis(100))
        .with_ttl_wait(Duration::from_millis(250));
    conformance::run_all(&MemoryBackend::new(), &config).await;
}

#[tokio::test]
async fn two_memory_backends_are_isolated() {
    let (a, config) = memory_with_clock();
    let b = MemoryBackend::new();
    conformance::isolation(&a, &b, &config).await;
}

#[tokio::test]
async fn two_namespaces_of_one_memory_backend_are_isolated() {
    let (memory, config) = memory_with_clock();
    let a = Namespaced::new(memory.clone(), "tenant-a").unwrap();
    let b = Namespaced::new(memory, "tenant-b").unwrap();
    conformance::isolation(&a, &b, &config).await;
}

/// Every wrapper, alone and stacked, over the memory backend, on both runtime flavours.
fn wrapped(memory: MemoryBackend, clock: ManualClock) -> Vec<Arc<DynBackend>> {
    vec![
        Arc::new(Namespaced::new(memory.clone(), "ns").unwrap()),
        Arc::new(Traced::new(memory.clone())),
        Arc::new(MockBackend::wrap(memory.clone())),
        Arc::new(
            CacheLayer::new(Duration::from_secs(5))
                .with_clock(Arc::new(clock.clone()))
                .layer(memory.clone()),
        ),
        BackendBuilder::new(MockBackend::wrap(memory))
            .layer(TracingLayer::new())
            .layer(CacheLayer::new(Duration::from_secs(5)).with_clock(Arc::new(clock)))
            .layer(NamespaceLayer::new("ns").unwrap())
            .build_dyn(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_layer_passes_on_multi_thread() {
    let clock = ManualClock::new();
    let memory = MemoryBackend::with_clock(Arc::new(clock.clone()));
    let config = Config::new().with_clock(clock.clone());
    for store in wrapped(memory, clock) {
        conformance::run_all(&*store, &config).await;
        conformance::concurrent_conditional_increments_spawned(store, &config).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_layer_passes_on_current_thread() {
    let clock = ManualClock::new();
    let memory = MemoryBackend::with_clock(Arc::new(clock.clone()));
    let config = Config::new().with_clock(clock.clone());
    for store in wrapped(memory, clock) {
        conformance::run_all(&*store, &config).await;
        conformance::concurrent_conditional_increments_spawned(store, &config).await;
    }
}

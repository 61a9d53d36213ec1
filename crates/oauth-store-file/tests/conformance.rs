//! The shared conformance suite over the file backend: v2 and v1 files, multi-thread and
//! current-thread runtimes, passphrase keys, and two stores' isolation.

use std::sync::Arc;
use std::time::Duration;

use oauth_store_core::conformance::{self, Config};
use oauth_store_core::key_material::{Argon2Params, KeyRing, Passphrase, SecretKey};
use oauth_store_core::{DynBackend, ManualClock};
use oauth_store_file::FileBackend;

fn store(dir: &tempfile::TempDir, keys: KeyRing, v1: bool) -> (FileBackend, Config) {
    let clock = ManualClock::new();
    let store = FileBackend::builder(dir.path().join("store.json"), keys)
        .write_v1(v1)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    (store, Config::new().with_clock(clock))
}

fn secret() -> KeyRing {
    KeyRing::new(SecretKey::generate())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_v2_passes_on_multi_thread() {
    let dir = tempfile::tempdir().unwrap();
    let (store, config) = store(&dir, secret(), false);
    conformance::run_all(&store, &config).await;
    let shared: Arc<DynBackend> = Arc::new(store.clone());
    conformance::concurrent_conditional_increments_spawned(shared, &config).await;
    assert!(store.status().await.unwrap().is_healthy());
}

#[tokio::test(flavor = "current_thread")]
async fn file_v2_passes_on_current_thread() {
    let dir = tempfile::tempdir().unwrap();
    let (store, config) = store(&dir, secret(), false);
    conformance::run_all(&store, &config).await;
    let shared: Arc<DynBackend> = Arc::new(store);
    conformance::concurrent_conditional_increments_spawned(shared, &config).await;
}

#[tokio::test(flavor = "current_thread")]
async fn file_v1_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (store, config) = store(&dir, secret(), true);
    conformance::run_all(&store, &config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_with_passphrase_passes() {
    let dir = tempfile::tempdir().unwrap();
    let phrase = Passphrase::new("correct horse battery staple")
        .unwrap()
        .with_params(Argon2Params {
            m_kib: 8 * 1024,
            t: 1,
            p: 1,
        })
        .unwrap();
    let (store, config) = store(&dir, KeyRing::new(phrase), false);
    conformance::run_all(&store, &config).await;
}

#[tokio::test]
async fn file_passes_with_real_clock() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileBackend::open(dir.path().join("s.json"), secret()).unwrap();
    let config = Config::new()
        .with_random_key_prefix()
        .with_ttl(Duration::from_millis(100))
        .with_ttl_wait(Duration::from_millis(250));
    conformance::run_all(&store, &config).await;
}

#[tokio::test]
async fn two_files_are_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let (a, config) = store(&dir, secret(), false);
    let b = FileBackend::open(dir.path().join("other.json"), secret()).unwrap();
    conformance::isolation(&a, &b, &config).await;
}

#[tokio::test]
async fn two_handles_on_one_file_see_each_other() {
    // Not isolation: two backends over one file are one store.
    let dir = tempfile::tempdir().unwrap();
    let keys = secret();
    let a = FileBackend::open(dir.path().join("s.json"), keys.clone()).unwrap();
    let b = FileBackend::open(dir.path().join("s.json"), keys).unwrap();
    let shared_a: Arc<DynBackend> = Arc::new(a);
    conformance::round_trip(&*shared_a, &Config::new()).await;
    conformance::round_trip(&b, &Config::new().with_key_prefix("other/")).await;
}

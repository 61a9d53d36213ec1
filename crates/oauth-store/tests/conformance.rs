//! What `open` returns passes the shared conformance suite, for every scheme in this build.

use std::time::Duration;

use oauth_store::conformance::{self, Config};

fn real_clock_config() -> Config {
    Config::new()
        .with_random_key_prefix()
        .with_ttl(Duration::from_millis(100))
        .with_ttl_wait(Duration::from_millis(250))
}

#[tokio::test]
async fn memory_url_passes() {
    let store = oauth_store::open("memory:", None).unwrap();
    conformance::run_all(&*store, &real_clock_config()).await;
}

#[cfg(feature = "file")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_url_passes() {
    use oauth_store::key_material::{KeyRing, SecretKey};
    let dir = tempfile::tempdir().unwrap();
    let url = oauth_store::StoreUrl::from_file_path(dir.path().join("store dir/tokens.json"))
        .unwrap()
        .to_string();
    let store = oauth_store::open(&url, Some(KeyRing::new(SecretKey::generate()))).unwrap();
    conformance::run_all(&*store, &real_clock_config()).await;
}

//! The conformance suite over the host bridge: once over a host with every optional operation,
//! once over a host with only the three operations of the original capability, in both scopes.

use std::sync::Arc;

use oauth_store_cloud::bridge::{BridgeBackend, MemoryHost, Scope};
use oauth_store_core::conformance::{self, Config};
use oauth_store_core::{Backend, DynBackend, ManualClock};

/// The size limit the suite runs with. `errors_are_typed` builds its oversized token set as
/// `limit + 1 KiB` and then replaces its refresh token (a quarter of the padding) with a
/// short one, so with a limit much above 3 KiB the token set it expects to be refused is
/// under the limit; 2 KiB keeps that check meaningful, and `large_token_set` then checks
/// both sides of the limit.
const LIMIT: usize = 2048;

fn backend(host: &MemoryHost, scope: Scope, clock: &ManualClock) -> BridgeBackend {
    BridgeBackend::new(scope, Arc::new(host.clone()))
        .with_clock(Arc::new(clock.clone()))
        .with_max_value_size(LIMIT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn full_host_passes_in_both_scopes() {
    let clock = ManualClock::new();
    let host = MemoryHost::new("full-host").with_clock(Arc::new(clock.clone()));
    let config = Config::new().with_clock(clock.clone());
    for scope in [Scope::Session, Scope::Org] {
        let store = backend(&host, scope, &clock);
        let caps = store.capabilities();
        assert!(caps.conditional_writes && caps.list);
        conformance::run_all(&store, &config).await;
        let shared: Arc<DynBackend> = Arc::new(store);
        conformance::concurrent_conditional_increments_spawned(shared, &config).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn basic_host_passes_and_refuses_what_it_cannot_do() {
    let clock = ManualClock::new();
    let host = MemoryHost::basic("basic-host");
    let config = Config::new().with_clock(clock.clone());
    for scope in [Scope::Session, Scope::Org] {
        let store = backend(&host, scope, &clock);
        let caps = store.capabilities();
        assert!(!caps.conditional_writes && !caps.list);
        conformance::run_all(&store, &config).await;
    }
}

#[tokio::test]
async fn full_host_passes_with_real_sleep() {
    let host = MemoryHost::new("sleepy-host");
    let store = BridgeBackend::new(Scope::Session, Arc::new(host)).with_max_value_size(LIMIT);
    let config = Config::new()
        .with_random_key_prefix()
        .with_ttl(std::time::Duration::from_millis(100))
        .with_ttl_wait(std::time::Duration::from_millis(250));
    conformance::run_all(&store, &config).await;
}

#[tokio::test]
async fn session_and_org_of_one_host_are_isolated() {
    let clock = ManualClock::new();
    let config = Config::new().with_clock(clock.clone());
    for host in [
        MemoryHost::new("full-host"),
        MemoryHost::basic("basic-host"),
    ] {
        let session = backend(&host, Scope::Session, &clock);
        let org = backend(&host, Scope::Org, &clock);
        conformance::isolation(&session, &org, &config).await;
        conformance::isolation(&org, &session, &config).await;
    }
}

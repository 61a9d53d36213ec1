//! The conformance suite over the host bridge: once over a host with every optional operation,
//! once over a host with only the three operations of the original capability, in both scopes.

use std::sync::Arc;

use oauth_store_cloud::bridge::{BridgeBackend, BridgeCapabilities, MemoryHost, Scope};
use oauth_store_core::conformance::{self, Config};
use oauth_store_core::{Backend, DynBackend, ManualClock};

fn backend(host: &MemoryHost, scope: Scope, clock: &ManualClock) -> BridgeBackend {
    BridgeBackend::new(scope, Arc::new(host.clone())).with_clock(Arc::new(clock.clone()))
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
async fn a_small_size_limit_is_enforced_on_both_sides() {
    // Under 64 KiB, so `large_token_set` checks that a bigger token set is refused and one of
    // exactly the limit is kept; and a host declaring a limit lowers the backend's.
    let clock = ManualClock::new();
    let config = Config::new().with_clock(clock.clone());
    let own =
        backend(&MemoryHost::new("full-host"), Scope::Session, &clock).with_max_value_size(4096);
    assert_eq!(own.capabilities().max_value_size, Some(4096));
    conformance::run_all(&own, &config).await;

    let declared = MemoryHost::basic("small-host")
        .with_capabilities(BridgeCapabilities::default().with_max_value_size(20_000));
    let limited = backend(&declared, Scope::Org, &clock);
    assert_eq!(limited.capabilities().max_value_size, Some(20_000 - 4096));
    conformance::run_all(&limited, &config).await;
}

#[tokio::test]
async fn full_host_passes_with_real_sleep() {
    let host = MemoryHost::new("sleepy-host");
    let store = BridgeBackend::new(Scope::Session, Arc::new(host));
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

//! What the tracing layer writes, captured with a `fmt` subscriber: key names and outcomes,
//! never token values.
//!
//! One test in a binary of its own, with a global subscriber: `tracing` caches per call site
//! whether any subscriber listens, and tests on other threads hitting the same call sites
//! while a thread-local subscriber is being installed can race with it.

use std::io;
use std::sync::{Arc, Mutex};

use oauth_store_core::conformance::{self, Config};
use oauth_store_core::layer::Traced;
use oauth_store_core::mock::{MockBackend, Operation};
use oauth_store_core::{
    Backend, BackendExt, EntryKey, Error, ManualClock, MemoryBackend, TokenSet,
};

/// Everything the subscriber writes, kept for the test to read.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Everything written so far, emptying the buffer.
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_keys_and_outcomes_never_token_values() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    // The whole conformance suite, at TRACE.
    let clock = ManualClock::new();
    let store = Traced::new(MemoryBackend::with_clock(Arc::new(clock.clone())));
    conformance::run_all(&store, &Config::new().with_clock(clock)).await;
    let out = capture.take();
    // Every token the suite writes has a value ending in `-secret`.
    assert!(!out.contains("-secret"), "a token value was logged");
    for expected in [
        "key=\"conformance/round_trip/full\"",
        "operation=\"get\"",
        "operation=\"put\"",
        "operation=\"delete\"",
        "operation=\"list\"",
        "prefix=\"conformance/list_by_prefix/\"",
        "outcome=\"hit\"",
        "outcome=\"miss\"",
        "outcome=\"written\"",
        "outcome=\"deleted\"",
        "outcome=\"absent\"",
        "outcome=\"conflict\"",
        "backend=\"memory\"",
    ] {
        assert!(out.contains(expected), "{expected} not in the trace");
    }
    assert!(
        !out.contains("WARN"),
        "conflicts are expected, not warnings"
    );

    // Failures: a warning with the error's message for a backend failure, DEBUG for an
    // unsupported operation.
    let mock = MockBackend::new();
    let store = Traced::new(mock.clone());
    let key = EntryKey::new("github/alice").unwrap();
    let token = TokenSet::new("gho_ACCESS_VALUE").with_refresh_token("ghr_REFRESH_VALUE");
    store.put_token(&key, &token).await.unwrap();
    mock.fail_next(
        Operation::Put,
        Error::backend("mock", true, "service unavailable"),
    );
    let e = store.put_token(&key, &token).await.unwrap_err();
    assert!(e.is_temporary());
    mock.fail_next(Operation::Get, Error::unsupported("mock", "reading"));
    assert!(store.get(&key).await.is_err());

    let out = capture.take();
    assert!(!out.contains("ACCESS_VALUE") && !out.contains("REFRESH_VALUE"));
    let warn = out
        .lines()
        .find(|l| l.contains("WARN"))
        .expect("a warning for the failure");
    assert!(warn.contains("mock failed: service unavailable"), "{warn}");
    assert!(warn.contains("outcome=\"backend_error\""), "{warn}");
    assert!(warn.contains("key=\"github/alice\""), "{warn}");
    let unsupported = out
        .lines()
        .find(|l| l.contains("outcome=\"unsupported\""))
        .expect("an event for the refused get");
    assert!(unsupported.contains("DEBUG"), "{unsupported}");
    assert_eq!(out.matches("WARN").count(), 1);
}

//! The conformance suite fails backends that break the contract: each test runs one check
//! against a memory backend with one deliberate bug and expects the check to panic with a
//! message naming the problem.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use oauth_store_core::conformance::{self, Config};
use oauth_store_core::{
    Backend, Capabilities, DeleteOptions, DynBackend, Entry, EntryKey, Error, ListedEntry,
    ManualClock, MemoryBackend, Precondition, PutOptions, Result, Revision, TokenSet,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Bug {
    /// Conditional writes are done unconditionally.
    IgnoresPreconditions,
    /// Reports no conditional writes but still does them, unconditionally.
    SilentlyUnconditional,
    /// TTLs are dropped.
    DropsTtl,
    /// `/` and `_` are the same in keys.
    SlashIsUnderscore,
    /// Keys are cut to 200 bytes.
    TruncatesKeys,
    /// An overwrite keeps the unknown fields of the entry it replaces.
    MergesOnOverwrite,
    /// Unknown fields are not stored.
    DropsUnknownFields,
    /// The revision is derived from the content, so equal writes get equal revisions.
    ContentRevisions,
    /// A conditional write checks, yields, then writes: not atomic.
    CheckThenAct,
    /// `list` returns entries in reverse order.
    UnsortedList,
    /// `list` ignores the prefix.
    ListIgnoresPrefix,
    /// Reports no `list` capability, but lists anyway.
    ListsWithoutCapability,
    /// Reports a 1 KiB limit but does not enforce it.
    IgnoresSizeLimit,
    /// Conflict errors quote the access token.
    LeakyConflict,
    /// Delete reports `true` for a missing key.
    DeleteAlwaysTrue,
}

#[derive(Debug)]
struct Broken {
    inner: MemoryBackend,
    bug: Bug,
}

impl Broken {
    fn key(&self, key: &EntryKey) -> EntryKey {
        match self.bug {
            Bug::SlashIsUnderscore => EntryKey::new(key.as_str().replace('/', "_")).unwrap(),
            Bug::TruncatesKeys if key.as_str().len() > 200 => {
                let mut end = 200;
                while !key.as_str().is_char_boundary(end) {
                    end -= 1;
                }
                EntryKey::new(&key.as_str()[..end]).unwrap()
            }
            _ => key.clone(),
        }
    }
}

#[async_trait]
impl Backend for Broken {
    fn name(&self) -> String {
        format!("broken({:?})", self.bug)
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = self.inner.capabilities();
        match self.bug {
            Bug::SilentlyUnconditional => caps.conditional_writes = false,
            Bug::ListsWithoutCapability => caps.list = false,
            Bug::IgnoresSizeLimit => caps.max_value_size = Some(1024),
            _ => {}
        }
        caps
    }

    async fn get(&self, key: &EntryKey) -> Result<Option<Entry>> {
        self.inner.get(&self.key(key)).await
    }

    async fn put(&self, key: &EntryKey, token: &TokenSet, options: PutOptions) -> Result<Revision> {
        let key = self.key(key);
        let mut token = token.clone();
        let mut options = options;
        match self.bug {
            Bug::IgnoresPreconditions | Bug::SilentlyUnconditional => {
                options.precondition = Precondition::None;
            }
            Bug::DropsTtl => options.ttl = None,
            Bug::DropsUnknownFields => token.extra.clear(),
            Bug::MergesOnOverwrite => {
                if let Some(old) = self.inner.get(&key).await? {
                    for (k, v) in old.token.extra {
                        token.extra.entry(k).or_insert(v);
                    }
                }
            }
            Bug::CheckThenAct => {
                let current = self.inner.get(&key).await?.map(|e| e.meta.revision);
                oauth_store_core::check_precondition(
                    &key,
                    &options.precondition,
                    current.as_ref(),
                )?;
                tokio::task::yield_now().await;
                options.precondition = Precondition::None;
            }
            Bug::LeakyConflict => {
                return self
                    .inner
                    .put(&key, &token, options)
                    .await
                    .map_err(|e| match e {
                        Error::Conflict { key, .. } => Error::Conflict {
                            key,
                            reason: format!("stored {}", token.access_token.expose()),
                        },
                        e => e,
                    });
            }
            _ => {}
        }
        let rev = self.inner.put(&key, &token, options).await?;
        if self.bug == Bug::ContentRevisions {
            let json = serde_json::to_string(&token).unwrap();
            return Ok(Revision::from_u64(json.len() as u64));
        }
        Ok(rev)
    }

    async fn delete(&self, key: &EntryKey, options: DeleteOptions) -> Result<bool> {
        let deleted = self.inner.delete(&self.key(key), options).await?;
        Ok(deleted || self.bug == Bug::DeleteAlwaysTrue)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedEntry>> {
        let mut listed = match self.bug {
            Bug::ListIgnoresPrefix => self.inner.list("").await?,
            _ => self.inner.list(prefix).await?,
        };
        if self.bug == Bug::UnsortedList {
            listed.reverse();
        }
        Ok(listed)
    }
}

type Check = for<'a> fn(
    &'a DynBackend,
    &'a Config,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

macro_rules! check {
    ($f:path) => {
        (|b, c| Box::pin($f(b, c))) as Check
    };
}

/// Runs `check` against a memory backend with `bug` and returns the panic message.
async fn failure(bug: Bug, check: Check) -> String {
    let clock = ManualClock::new();
    let backend: Arc<DynBackend> = Arc::new(Broken {
        inner: MemoryBackend::with_clock(Arc::new(clock.clone())),
        bug,
    });
    let config = Config::new().with_clock(clock);
    let joined = tokio::spawn(async move { check(&*backend, &config).await }).await;
    let Err(e) = joined else {
        panic!("the suite passed a backend with the bug {bug:?}");
    };
    let payload = e.into_panic();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .expect("a panic message")
}

async fn expect_failure(bug: Bug, check: Check, check_name: &str, phrase: &str) {
    let msg = failure(bug, check).await;
    assert!(
        msg.contains(&format!(
            "conformance check `{check_name}` failed on backend `broken({bug:?})`"
        )),
        "{msg}"
    );
    assert!(msg.contains(phrase), "expected {phrase:?} in: {msg}");
    assert!(
        !msg.contains("-secret"),
        "a token value in the message: {msg}"
    );
}

#[tokio::test]
async fn catches_ignored_preconditions() {
    expect_failure(
        Bug::IgnoresPreconditions,
        check!(conformance::conditional_if_absent_conflicts),
        "conditional_if_absent_conflicts",
        "should fail with Error::Conflict, but succeeded",
    )
    .await;
    expect_failure(
        Bug::IgnoresPreconditions,
        check!(conformance::conditional_stale_revision_conflicts),
        "conditional_stale_revision_conflicts",
        "put with a stale revision should fail with Error::Conflict",
    )
    .await;
}

#[tokio::test]
async fn catches_silently_unconditional_writes() {
    for (check, name) in [
        (check!(conformance::errors_are_typed), "errors_are_typed"),
        (
            check!(conformance::conditional_if_absent_conflicts),
            "conditional_if_absent_conflicts",
        ),
        (
            check!(conformance::concurrent_conditional_increments),
            "concurrent_conditional_increments",
        ),
    ] {
        expect_failure(
            Bug::SilentlyUnconditional,
            check,
            name,
            "must fail with Error::Unsupported",
        )
        .await;
    }
}

#[tokio::test]
async fn catches_dropped_ttl() {
    expect_failure(
        Bug::DropsTtl,
        check!(conformance::ttl_expiry),
        "ttl_expiry",
        "reports no expiry",
    )
    .await;
}

#[tokio::test]
async fn catches_colliding_keys() {
    expect_failure(
        Bug::SlashIsUnderscore,
        check!(conformance::unicode_and_long_keys),
        "unicode_and_long_keys",
        "collides with",
    )
    .await;
    expect_failure(
        Bug::TruncatesKeys,
        check!(conformance::unicode_and_long_keys),
        "unicode_and_long_keys",
        "long-xxxx",
    )
    .await;
}

#[tokio::test]
async fn catches_merging_and_dropping_fields() {
    expect_failure(
        Bug::MergesOnOverwrite,
        check!(conformance::overwrite_as_refresh),
        "overwrite_as_refresh",
        "differs from the one written in extra field",
    )
    .await;
    expect_failure(
        Bug::DropsUnknownFields,
        check!(conformance::unknown_fields_kept),
        "unknown_fields_kept",
        "extra field \"nested\"",
    )
    .await;
}

#[tokio::test]
async fn catches_repeated_revisions() {
    expect_failure(
        Bug::ContentRevisions,
        check!(conformance::revisions_change_on_every_write),
        "revisions_change_on_every_write",
        "already given out before",
    )
    .await;
}

#[tokio::test]
async fn catches_non_atomic_conditional_writes() {
    expect_failure(
        Bug::CheckThenAct,
        check!(conformance::concurrent_conditional_increments),
        "concurrent_conditional_increments",
        "conditional writes are not atomic",
    )
    .await;
}

#[tokio::test]
async fn catches_list_bugs() {
    expect_failure(
        Bug::UnsortedList,
        check!(conformance::list_by_prefix),
        "list_by_prefix",
        "expected [",
    )
    .await;
    expect_failure(
        Bug::ListIgnoresPrefix,
        check!(conformance::list_by_prefix),
        "list_by_prefix",
        "list(\"conformance/list_by_prefix/\") returned",
    )
    .await;
    expect_failure(
        Bug::ListsWithoutCapability,
        check!(conformance::list_by_prefix),
        "list_by_prefix",
        "must fail with Error::Unsupported, but it succeeded",
    )
    .await;
}

#[tokio::test]
async fn catches_unenforced_size_limit_and_leaky_errors() {
    expect_failure(
        Bug::IgnoresSizeLimit,
        check!(conformance::large_token_set),
        "large_token_set",
        "was accepted",
    )
    .await;
    let msg = failure(Bug::LeakyConflict, check!(conformance::errors_are_typed)).await;
    assert!(msg.contains("contains a token value"), "{msg}");
}

#[tokio::test]
async fn catches_wrong_delete_result() {
    expect_failure(
        Bug::DeleteAlwaysTrue,
        check!(conformance::missing_key_is_none),
        "missing_key_is_none",
        "delete of a key never written returned true",
    )
    .await;
}

#[tokio::test]
async fn catches_stores_that_share_entries() {
    let memory = MemoryBackend::new();
    let (a, b) = (memory.clone(), memory);
    let joined = tokio::spawn(async move {
        conformance::isolation(&a, &b, &Config::new()).await;
    })
    .await;
    let msg = *joined
        .unwrap_err()
        .into_panic()
        .downcast::<String>()
        .unwrap();
    assert!(
        msg.contains("conformance check `isolation` failed"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_misconfigured_ttl_wait_is_named() {
    let config = Config::new()
        .with_ttl(Duration::from_secs(2))
        .with_ttl_wait(Duration::from_secs(1));
    let joined = tokio::spawn(async move {
        conformance::ttl_expiry(&MemoryBackend::new(), &config).await;
    })
    .await;
    let msg = *joined
        .unwrap_err()
        .into_panic()
        .downcast::<String>()
        .unwrap();
    assert!(msg.contains("misconfigured"), "{msg}");
}

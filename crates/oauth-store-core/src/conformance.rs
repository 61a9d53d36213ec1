//! The conformance suite: the checks every backend and every wrapper must pass.
//!
//! The [`Backend`] contract (conditional writes, TTLs, revisions, key mapping, typed errors) is
//! easy to get subtly wrong, so it is written down once, here, as executable checks. Each check
//! is a `pub async fn` taking the backend as a `&DynBackend` and a [`Config`]; it panics with a
//! message naming the check, the backend and what went wrong (never a token value) when the
//! backend breaks the contract. [`run_all`] runs every check; a check whose capability the
//! backend lacks (listing, conditional writes, a size limit) instead checks that the backend
//! refuses with [`Error::Unsupported`] (or [`Error::TooLarge`]) rather than doing something
//! else silently.
//!
//! Every key a check writes starts with [`Config::with_key_prefix`] followed by the check's
//! name, so checks can run one after another on one store, and several runs can share a
//! service when each uses its own random prefix ([`Config::with_random_key_prefix`]). Each
//! check removes what it wrote when it passes.
//!
//! Backend crates enable the `conformance` feature in their dev-dependencies and run the suite
//! from a test:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use oauth_store_core::{ManualClock, MemoryBackend, conformance};
//!
//! let clock = ManualClock::new();
//! let store = MemoryBackend::with_clock(Arc::new(clock.clone()));
//! let config = conformance::Config::new().with_clock(clock);
//! conformance::run_all(&store, &config).await;
//!
//! // Two stores (or two namespaces of one) must not see each other's entries.
//! conformance::isolation(&MemoryBackend::new(), &MemoryBackend::new(), &config).await;
//! # });
//! ```

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use crate::backend::{
    Backend, Capabilities, DeleteOptions, DynBackend, Entry, ListedEntry, Precondition, PutOptions,
    Revision,
};
use crate::clock::{Clock, ManualClock};
use crate::entry_key::EntryKey;
use crate::error::{Error, Result};
use crate::token::TokenSet;

/// How the suite runs against one backend. Cheap to clone.
///
/// ```
/// use std::time::Duration;
/// use oauth_store_core::conformance::Config;
///
/// // A shared service: a random namespace per run, and a longer TTL wait for a slow one.
/// let config = Config::new()
///     .with_random_key_prefix()
///     .with_ttl_wait(Duration::from_secs(3));
/// assert!(config.key_prefix().starts_with("conformance-"));
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    clock: Option<ManualClock>,
    ttl: Duration,
    ttl_wait: Duration,
    key_prefix: String,
    tasks: usize,
    increments_per_task: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// The default configuration: keys under `conformance/`, no clock (TTL entries live 1 s
    /// and the TTL check sleeps 1.5 s), 16 concurrent writers of 8 increments each.
    #[must_use]
    pub fn new() -> Self {
        Self {
            clock: None,
            ttl: Duration::from_secs(1),
            ttl_wait: Duration::from_millis(1500),
            key_prefix: "conformance/".to_owned(),
            tasks: 16,
            increments_per_task: 8,
        }
    }

    /// The [`ManualClock`] the backend was built with: the TTL check advances it instead of
    /// sleeping, and also checks that an entry is still there halfway through its TTL.
    #[must_use]
    pub fn with_clock(mut self, clock: ManualClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How long the TTL check waits (sleeps, or advances the clock) after writing an entry
    /// with the TTL of [`Config::with_ttl`]; must be longer than that TTL.
    #[must_use]
    pub fn with_ttl_wait(mut self, wait: Duration) -> Self {
        self.ttl_wait = wait;
        self
    }

    /// The TTL the TTL check writes with (default 1 s). Services whose expiry has a coarse
    /// granularity need a longer one, and a matching [`Config::with_ttl_wait`].
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The prefix of every key the suite writes (default `conformance/`).
    #[must_use]
    pub fn with_key_prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.key_prefix);
        self
    }

    /// A fresh random prefix, `conformance-<16 hex digits>/`, for runs against a shared
    /// service.
    ///
    /// # Panics
    /// If the operating system has no randomness to give.
    #[must_use]
    pub fn with_random_key_prefix(mut self) -> Self {
        let mut bytes = [0_u8; 8];
        getrandom::getrandom(&mut bytes).expect("the OS random number generator failed");
        let hex = bytes.iter().fold(String::new(), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        });
        self.key_prefix = format!("conformance-{hex}/");
        self
    }

    /// The number of concurrent writers and the increments each makes in
    /// [`concurrent_conditional_increments`] (default 16 and 8).
    #[must_use]
    pub fn with_concurrency(mut self, tasks: usize, increments_per_task: usize) -> Self {
        self.tasks = tasks.max(1);
        self.increments_per_task = increments_per_task.max(1);
        self
    }

    /// The prefix of every key the suite writes.
    #[must_use]
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }
}

/// Runs every check against `backend`, in the order they are listed in this module.
///
/// Checks that need a capability the backend does not report instead check that the backend
/// refuses those operations with [`Error::Unsupported`].
///
/// Not included, because they need more than one `&DynBackend`: [`isolation`] (two stores)
/// and [`concurrent_conditional_increments_spawned`] (an `Arc`, for writers on their own
/// tasks); backends that can be shared should run both as well.
pub async fn run_all(backend: &DynBackend, config: &Config) {
    round_trip(backend, config).await;
    overwrite_as_refresh(backend, config).await;
    unknown_fields_kept(backend, config).await;
    missing_key_is_none(backend, config).await;
    delete_is_idempotent(backend, config).await;
    conditional_if_absent_conflicts(backend, config).await;
    conditional_stale_revision_conflicts(backend, config).await;
    conditional_delete(backend, config).await;
    revisions_change_on_every_write(backend, config).await;
    ttl_expiry(backend, config).await;
    unicode_and_long_keys(backend, config).await;
    large_token_set(backend, config).await;
    concurrent_conditional_increments(backend, config).await;
    list_by_prefix(backend, config).await;
    errors_are_typed(backend, config).await;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// One check running against one backend: builds its keys and turns failures into panics
/// that name the check and the backend.
struct Ctx<'a> {
    backend: &'a DynBackend,
    name: String,
    check: &'static str,
    config: &'a Config,
    caps: Capabilities,
}

impl<'a> Ctx<'a> {
    fn new(backend: &'a DynBackend, config: &'a Config, check: &'static str) -> Self {
        Self {
            name: backend.name(),
            caps: backend.capabilities(),
            backend,
            check,
            config,
        }
    }

    /// The prefix of every key of this check: `<config prefix><check>/`.
    fn base(&self) -> String {
        format!("{}{}/", self.config.key_prefix, self.check)
    }

    fn key(&self, name: &str) -> EntryKey {
        let raw = format!("{}{name}", self.base());
        match EntryKey::new(raw) {
            Ok(k) => k,
            Err(e) => self.fail(format!(
                "the configured key prefix makes an invalid key ({e}); use a shorter prefix \
                 without control characters"
            )),
        }
    }

    /// The time as the backend should see it: the configured clock, else the system's.
    fn now(&self) -> SystemTime {
        match &self.config.clock {
            Some(c) => c.now(),
            None => SystemTime::now(),
        }
    }

    /// How far a time the backend reports may be off ours: a second of rounding with a manual
    /// clock, a minute of clock skew for a service with its own clock.
    fn slack(&self) -> Duration {
        if self.config.clock.is_some() {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(60)
        }
    }

    #[track_caller]
    fn fail(&self, msg: impl fmt::Display) -> ! {
        panic!(
            "conformance check `{}` failed on backend `{}`: {msg}",
            self.check, self.name
        )
    }

    #[track_caller]
    fn ok<T>(&self, result: Result<T>, what: impl fmt::Display) -> T {
        match result {
            Ok(v) => v,
            Err(e) => self.fail(format!("{what} failed: {e} ({e:?})")),
        }
    }

    async fn get(&self, key: &EntryKey) -> Option<Entry> {
        let r = self.backend.get(key).await;
        self.ok(r, format_args!("get({key:?})"))
    }

    async fn must_get(&self, key: &EntryKey, when: &str) -> Entry {
        match self.get(key).await {
            Some(e) => e,
            None => self.fail(format!("get({key:?}) {when} returned None")),
        }
    }

    async fn put(&self, key: &EntryKey, token: &TokenSet, options: PutOptions) -> Revision {
        let what = format!("put({key:?}, {options:?})");
        let r = self.backend.put(key, token, options).await;
        self.ok(r, what)
    }

    async fn delete(&self, key: &EntryKey, options: DeleteOptions) -> bool {
        let what = format!("delete({key:?}, {options:?})");
        let r = self.backend.delete(key, options).await;
        self.ok(r, what)
    }

    async fn list(&self, prefix: &str) -> Vec<ListedEntry> {
        let r = self.backend.list(prefix).await;
        self.ok(r, format_args!("list({prefix:?})"))
    }

    /// Removes leftovers of an earlier, failed run under these keys.
    async fn clear(&self, keys: &[&EntryKey]) {
        for key in keys {
            self.delete(key, DeleteOptions::new()).await;
        }
    }

    /// Removes what the check wrote and checks it is gone.
    async fn cleanup(&self, keys: &[&EntryKey]) {
        for key in keys {
            self.delete(key, DeleteOptions::new()).await;
            if self.get(key).await.is_some() {
                self.fail(format!(
                    "{key:?} is still there after an unconditional delete"
                ));
            }
        }
    }

    #[track_caller]
    fn expect_token(&self, got: &TokenSet, want: &TokenSet, when: &str) {
        let diff = token_diff(got, want);
        if !diff.is_empty() {
            self.fail(format!(
                "{when}: the token set differs from the one written in {}",
                diff.join(", ")
            ));
        }
    }

    #[track_caller]
    fn expect_conflict<T: fmt::Debug>(&self, result: Result<T>, what: &str) {
        match result {
            Err(e) if e.is_conflict() => {}
            Err(e) => self.fail(format!(
                "{what} should fail with Error::Conflict, got another error: {e} ({e:?})"
            )),
            Ok(v) => self.fail(format!(
                "{what} should fail with Error::Conflict, but succeeded with {v:?}"
            )),
        }
    }

    #[track_caller]
    fn expect_unsupported<T: fmt::Debug>(&self, result: Result<T>, what: &str) {
        match result {
            Err(Error::Unsupported { .. }) => {}
            Err(e) => self.fail(format!(
                "{what}: the backend does not report this capability, so it must fail with \
                 Error::Unsupported, got another error: {e} ({e:?})"
            )),
            Ok(v) => self.fail(format!(
                "{what}: the backend does not report this capability, so it must fail with \
                 Error::Unsupported, but it succeeded with {v:?}"
            )),
        }
    }

    #[track_caller]
    fn expect_revision(&self, entry: &Entry, want: &Revision, when: &str) {
        if &entry.meta.revision != want {
            self.fail(format!(
                "{when}: get returned revision {} but the write returned {want}",
                entry.meta.revision
            ));
        }
    }
}

/// The names of the fields in which two token sets differ (never their values).
fn token_diff(got: &TokenSet, want: &TokenSet) -> Vec<String> {
    let mut diff = Vec::new();
    let mut field = |name: &str, same: bool| {
        if !same {
            diff.push(name.to_owned());
        }
    };
    field("access_token", got.access_token == want.access_token);
    field("refresh_token", got.refresh_token == want.refresh_token);
    field("token_type", got.token_type == want.token_type);
    field(
        "expires_at_unix",
        got.expires_at_unix == want.expires_at_unix,
    );
    field("issued_at_unix", got.issued_at_unix == want.issued_at_unix);
    field("expires_in", got.expires_in == want.expires_in);
    field("scopes", got.scopes == want.scopes);
    field("id_token", got.id_token == want.id_token);
    field("metadata", got.metadata == want.metadata);
    for name in got.extra.keys().chain(want.extra.keys()) {
        if got.extra.get(name) != want.extra.get(name) {
            let label = format!("extra field {name:?}");
            if !diff.contains(&label) {
                diff.push(label);
            }
        }
    }
    diff
}

/// A token set with every known field set, secrets tagged with `tag`.
fn full_token(tag: &str) -> TokenSet {
    let mut t = TokenSet::new(format!("at-{tag}-secret"))
        .with_refresh_token(format!("rt-{tag}-secret"))
        .with_token_type("Bearer")
        .with_expires_at_unix(1_900_000_000)
        .with_scopes(["repo", "read:user"]);
    t.issued_at_unix = Some(1_899_996_400);
    t.expires_in = Some(3600);
    t.id_token = Some(format!("id-{tag}-secret").into());
    let mut meta = serde_json::Map::new();
    meta.insert("account".into(), "alice@example.com".into());
    meta.insert("tag".into(), tag.into());
    t.metadata = Some(meta);
    t.extra.insert("provider".into(), "github".into());
    t
}

/// The secret values of a token set, to check they never show up in messages.
fn secrets(t: &TokenSet) -> Vec<String> {
    let mut v = vec![t.access_token.expose().to_owned()];
    v.extend(t.refresh_token.iter().map(|s| s.expose().to_owned()));
    v.extend(t.id_token.iter().map(|s| s.expose().to_owned()));
    v
}

/// A token set whose JSON serialization is exactly `len` bytes, or `None` if `len` is smaller
/// than the smallest such token set.
fn sized_token(len: usize) -> Option<TokenSet> {
    let mut t = TokenSet::new("").with_refresh_token("");
    t.extra.insert("filler".into(), "".into());
    let base = serialized_len(&t);
    let room = len.checked_sub(base)?;
    let quarter = room / 4;
    t.access_token = "A".repeat(quarter).into();
    t.refresh_token = Some("R".repeat(quarter).into());
    t.extra
        .insert("filler".into(), "f".repeat(room - 2 * quarter).into());
    debug_assert_eq!(serialized_len(&t), len);
    Some(t)
}

fn serialized_len(t: &TokenSet) -> usize {
    serde_json::to_vec(t).map_or(0, |v| v.len())
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Polls every future on the current task until all are done; the results in input order.
///
/// The futures borrow the backend, so they cannot be `tokio::spawn`ed; they still interleave
/// at every await point, which is what makes conditional writes race.
async fn join_all<'a, T: Send + 'a>(futures: Vec<BoxFuture<'a, T>>) -> Vec<T> {
    let mut slots: Vec<(Option<BoxFuture<'a, T>>, Option<T>)> =
        futures.into_iter().map(|f| (Some(f), None)).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, out) in &mut slots {
            if let Some(f) = future {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        *out = Some(v);
                        *future = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    slots
        .into_iter()
        .map(|(_, out)| out.expect("every future finished"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

/// A full token set (every known field, metadata, an unknown field) and a minimal one read
/// back exactly as written, with the revision the write returned, no expiry, and (where the
/// backend reports one) the time of the write as its update time.
pub async fn round_trip(backend: &DynBackend, config: &Config) {
    let ctx = Ctx::new(backend, config, "round_trip");
    let full = ctx.key("full");
    let minimal = ctx.key("minimal");
    ctx.clear(&[&full, &minimal]).await;

    let token = full_token("round-trip");
    let before = ctx.now();
    let rev = ctx.put(&full, &token, PutOptions::new()).await;
    let after = ctx.now();
    let entry = ctx.must_get(&full, "after put").await;
    ctx.expect_token(&entry.token, &token, "get after put");
    ctx.expect_revision(&entry, &rev, "get after put");
    if entry.meta.expires_at.is_some() {
        ctx.fail("an entry written without TTL reports an expiry");
    }
    if let Some(updated) = entry.meta.updated_at {
        let earliest = before.checked_sub(ctx.slack()).unwrap_or(before);
        if updated < earliest || updated > after + ctx.slack() {
            ctx.fail(format!(
                "the reported update time {updated:?} is not the time of the write \
                 ({before:?} to {after:?})"
            ));
        }
    }

    let small = TokenSet::new("at-minimal-secret");
    let rev = ctx.put(&minimal, &small, PutOptions::new()).await;
    let entry = ctx.must_get(&minimal, "after put").await;
    ctx.expect_token(
        &entry.token,
        &small,
        "get of a token set with only an access token",
    );
    ctx.expect_revision(&entry, &rev, "get after put");

    ctx.cleanup(&[&full, &minimal]).await;
}

/// A refresh overwrites the whole token set: fields missing from the new one are gone (no
/// merging), the revision changes, and an overwrite without TTL clears an earlier TTL.
pub async fn overwrite_as_refresh(backend: &DynBackend, config: &Config) {
    let ctx = Ctx::new(backend, config, "overwrite_as_refresh");
    let key = ctx.key("github");
    ctx.clear(&[&key]).await;

    let mut first = full_token("first");
    first.extra.insert("only_in_first".into(), 1.into());
    // A long TTL: the check never waits for it.
    let r1 = ctx
        .put(
            &key,
            &first,
            PutOptions::new().with_ttl(Duration::from_secs(3600)),
        )
        .await;
    let e1 = ctx.must_get(&key, "after the first write").await;
    if e1.meta.expires_at.is_none() {
        ctx.fail("an entry written with a TTL reports no expiry");
    }

    let second = TokenSet::new("at-second-secret")
        .with_refresh_token("rt-second-secret")
        .with_expires_at_unix(1_900_003_600);
    let r2 = ctx.put(&key, &second, PutOptions::new()).await;
    if r1 == r2 {
        ctx.fail(format!("an overwrite returned the same revision {r1}"));
    }
    let e2 = ctx.must_get(&key, "after the refresh").await;
    ctx.expect_token(&e2.token, &second, "get after an overwrite");
    ctx.expect_revision(&e2, &r2, "get after an overwrite");
    if e2.meta.expires_at.is_some() {
        ctx.fail("an overwrite without TTL kept the earlier write's expiry");
    }

    // A provider that does not rotate refresh tokens may answer without one.
    let third = TokenSet::new("at-third-secret");
    let r3 = ctx.put(&key, &third, PutOptions::new()).await;
    let e3 = ctx.must_get(&key, "after the second refresh").await;
    ctx.expect_token(&e3.token, &third, "get after an overwrite dropping fields");
    ctx.expect_revision(&e3, &r3, "get after the second refresh");

    ctx.cleanup(&[&key]).await;
}

/// Fields the token type does not know, of every JSON kind, survive the backend unchanged, and
/// so does the metadata object.
pub async fn unknown_fields_kept(backend: &DynBackend, config: &Config) {
    let ctx = Ctx::new(backend, config, "unknown_fields_kept");
    let key = ctx.key("extra");
    ctx.clear(&[&key]).await;

    let json = serde_json::json!({
        "access_token": "at-extra-secret",
        "refresh_token": "rt-extra-secret",
        "nested": {"a": [1, 2, {"b": null, "c": [true, false]}], "d": {}},
        "float": 1.5,
        "big": u64::MAX,
        "negative": -42,
        "unicode": "ключ 🔑 \u{e9}\u{301}",
        "escapes": "quote \" backslash \\ newline \n tab \t",
        "null_field": null,
        "empty_list": [],
        "with space": "x",
        "x-custom-header": "y",
        "metadata": {"account": "bob", "labels": ["a", "b"], "n": 0}
    });
    let token: TokenSet = ctx.ok(
        serde_json::from_value(json).map_err(|e| Error::InvalidTokenSet {
            location: "conformance fixture".into(),
            reason: e.to_string(),
        }),
        "building the fixture",
    );
    ctx.put(&key, &token, PutOptions::new()).await;
    let entry = ctx.must_get(&key, "after put").await;
    ctx.expect_token(
        &entry.token,
        &token,
        "get of a token set with unknown fields",
    );

    ctx.cleanup(&[&key]).await;
}

/// A key never written reads as `None`, deletes as `Ok(false)` and does not list.
pub async fn missing_key_is_none(backend: &DynBackend, config: &Config) {
    let ctx = Ctx::new(backend, config, "missing_key_is_none");
    let key = ctx.key("never-written");
    ctx.clear(&[&key]).await;

    if let Some(e) = ctx.get(&key).await {
        ctx.fail(format!("get of a key never written returned {e:?}"));
    }
    if ctx.delete(&key, DeleteOptions::new()).await {
        ctx.fail("delete of a key never written returned true");
    }
    if ctx.caps.list {
        let listed = ctx.list(key.as_str()).await;
        if !listed.is_empty() {
            ctx.fail(format!("list of a key never written returned {listed:?}"));
        }
    }
}

/// Deleting returns whether there was an entry; a second delete is `Ok(false)`, and the key can
/// be written again afterwards.
pub async fn delete_is_idempotent(backend: &DynBackend, config: &Config) {
    let ctx = Ctx::new(backend, config, "delete_is_idempotent");
    let key = ctx.key("k");
    ctx.clear(&[&key]).await;

    ctx.put(&key, &full_token("del-1"), PutOptions::new()).await;
    if !ctx.delete(&key, DeleteOptions::new()).await {
        ctx.fail("delete of an existing entry returned false");
    }
    if ctx.get(&key).await.is_some() {
        ctx.fail("get after delete returned an entry");
    }
    for attempt in ["second", "third"] {
        if ctx.delete(&key, DeleteOptions::new()).await {
            ctx.fail(format!("the {attempt} delete of one entry returned true"));
        }
    }
    if ctx.caps.list && !ctx.list(key.as_str()).await.is_empty() {
        ctx.fail("list after delete still shows the entry");
    }

    let again = full_token("del-2");
    let rev = ctx.put(&key, &again, PutOptions::new()).await;
    let entry = ctx
        .must_get(&key, "after re-creating a deleted entry")
        .await;
    ctx.expect_token(&entry.token, &again, "get after re-create");
    ctx.expect_revision(&entry, &rev, "get after re-create");

    ctx.cleanup(&[&key]).await;
}

/// "Only if absent" succeeds once; a second such write is a conflict that changes nothing.
/// After a delete the key is absent again.
pub async fn conditional_if_absent_conflicts(backend: &DynBackend, config: &Config) {
    let ctx = Ctx::new(backend, config, "conditional_if_absent_conflicts");
    let key = ctx.key("k");
    ctx.clear(&[&key]).await;
    let first = full_token("absent-1");
    let second = full_token("absent-2");

    if !ctx.caps.conditional_writes {
        let r = backend.put(&key, &first, PutOptions::if_absent()).await;
        ctx.expect_unsupported(r, "put if absent");
        if ctx.get(&key).await.is_some() {
            ctx.fail("a refused conditional write stored the entry anyway");
        }
        return;
    }

    let r1 = ctx.put(&key, &first, PutOptions::if_absent()).await;
    let r = backend.put(&key, &second, PutOptions::if_absent()).await;
    ctx.expect_conflict(r, "a second put if absent");
    let entry = ctx.must_get(&key, "after a lost put if absent").await;
    ctx.expect_token(&entry.token, &first, "after a lost put if absent");
    ctx.expect_revision(&entry, &r1, "after a lost put if absent");

    ctx.delete(&key, DeleteOptions::new()).await;
    let r2 = ctx.put(&key, &second, PutOptions::if_absent()).await;
    let entry = ctx
        .must_get(&key, "after put if absent on a deleted key")
        .await;
    ctx.expect_token(
        &entry.token,
        &second,
        "after put if absent on a deleted key",
    );
    ctx.expect_revision(&entry, &r2, "after put if absent on a deleted key");

    ctx.cleanup(&[&key]).await;
}

/// "Only if the revision is still R" succeeds with the current revision and is a conflict with
/// a stale one, an unknown one, or on a missing key; a lost write changes nothing.
pub async fn conditional_stale_revision_conflicts(backend: &DynBackend, config: &Config) {
    let ctx = Ctx::new(backend, config, "conditional_stale_revision_conflicts");
    let key = ctx.key("k");
    let missing = ctx.key("missing");
    ctx.clear(&[&key, &missing]).await;
    let t1 = full_token("rev-1");
    let t2 = full_token("rev-2");
    let t3 = full_token("rev-3");

    let r1 = ctx.put(&key, &t1, PutOptions::new()).await;
    if !ctx.caps.conditional_writes {
        let r = backend.put(&key, &t2, PutOptions::if_revision(r1)).await;
        ctx.expect_unsupported(r, "put if revision");
        let entry = ctx.must_get(&key, "after a refused put if revision").await;
        ctx.expect_token(&entry.token, &t1, "after a refused put if revision");
        ctx.cleanup(&[&key]).await;
        return;
    }

    let r2 = ctx
        .put(&key, &t2, PutOptions::if_revision(r1.clone()))
        .await;
    let r = backend
        .put(&key, &t3, PutOptions::if_revision(r1.clone()))
        .await;
    ctx.expect_conflict(r, "put with a stale revision");
    let entry = ctx.must_get(&key, "after a lost put if revision").await;
    ctx.expect_token(&entry.token, &t2, "after a lost put if revision");
    ctx.expect_revision(&entry, &r2, "after a lost put if revision");

    let bogus = Revision::new("conformance-no-such-revision");
    let r = backend
        .put(&key, &t3, PutOptions::if_revision(bogus.clone()))
        .await;
    ctx.expect_conflict(r, "put with a revision the backend never issued");

    let r3 = ctx
        .put(&key, &t3, PutOptions::if_revision(r2.clone()))
        .await;
    let entry = ctx.must_get(&key, "after a second put if revision").await;
    ctx.expect_token(&entry.token, &t3, "after a second put if revision");
    ctx.expect_revision(&entry, &r3, "after a second put if revision");

    let r = backend
        .put(&missing, &t1, PutOptions::if_revision(r3))
        .await;
    ctx.expect_conflict(r, "put if revision on a missing key");
    if ctx.get(&missing).await.is_some() {
        ctx.fail("a lost put if revision on a missing key created the entry");
    }

    ctx.cleanup(&[&key, &missing]).await;
}

/// A delete with a stale revision is a conflict that keeps the entry; with the current
/// revision it deletes; on a missing key it is a conflict.
pub async fn conditional_delete(backend: &DynBackend, config: &Config) {
    let ctx = Ctx::new(backend, config, "conditional_delete");
    let key = ctx.key("k");
    ctx.clear(&[&key]).await;
    let t1 = full_token("cdel-1");
    let t2 = full_token("cdel-2");

    let r1 = ctx.put(&key, &t1, PutOptions::new()).await;
    if !ctx.caps.conditional_writes {
        let r = backend.delete(&key, DeleteOptions::if_revision(r1)).await;
        ctx.expect_unsupported(r, "delete if revision");
        ctx.must_get(&key, "after a refused delete if revision")
            .await;
        ctx.cleanup(&[&key]).await;
        return;
    }

    let r2 = ctx.put(&key, &t2, PutOptions::new()).await;
    let r = backend
        .delete(&key, DeleteOptions::if_revision(r1.clone()))
        .await;
    ctx.expect_conflict(r, "delete with a stale revision");
    let entry = ctx.must_get(&key, "after a lost delete if revision").await;
    ctx.expect_token(&entry.token, &t2, "after a lost delete if revision");
    ctx.expect_revision(&entry, &r2, "after a lost delete if revision");

    if !ctx
        .delete(&key, DeleteOptions::if_revision(r2.clone()))
        .await
    {
        ctx.fail("delete with the current revision returned false");
    }
    if ctx.get(&key).await.is_some() {
        ctx.fail("get after a delete with the current revision returned an entry");
    }
    let r = backend.delete(&key, DeleteOptions::if_revision(r2)).await;
    ctx.expect_conflict(r, "delete if revision on a missing key");
}

/// Every write returns a new revision, even one that stores the same token set again, and a
/// deleted and re-created key never repeats an earlier revision; an old revision never
/// matches the re-created entry.
pub async fn revisions_change_on_every_write(backend: &DynBackend, config: &Config) {
    let ctx = Ctx::new(backend, config, "revisions_change_on_every_write");
    let key = ctx.key("k");
    ctx.clear(&[&key]).await;
    let token = full_token("revs");
    let mut seen: Vec<Revision> = Vec::new();
    let mut record = |ctx: &Ctx<'_>, rev: Revision, what: &str| {
        if seen.contains(&rev) {
            ctx.fail(format!(
                "{what} returned revision {rev}, already given out before"
            ));
        }
        seen.push(rev);
    };

    let first = ctx.put(&key, &token, PutOptions::new()).await;
    record(&ctx, first.clone(), "the first write");
    let same = ctx.put(&key, &token, PutOptions::new()).await;
    record(&ctx, same, "writing the same token set again");
    let with_ttl = ctx
        .put(
            &key,
            &token,
            PutOptions::new().with_ttl(Duration::from_secs(3600)),
        )
        .await;
    record(&ctx, with_ttl, "a write with TTL");

    for round in 0..3 {
        ctx.delete(&key, DeleteOptions::new()).await;
        let options = if ctx.caps.conditional_writes {
            PutOptions::if_absent()
        } else {
            PutOptions::new()
        };
        let rev = ctx.put(&key, &token, options).await;
        record(
            &ctx,
            rev.clone(),
            &format!("re-creating the key (round {round})"),
        );
        let entry = ctx.must_get(&key, "after re-create").await;
        ctx.expect_revision(&entry, &rev, "after re-create");
        if ctx.caps.list {
            let listed = ctx.list(key.as_str()).await;
            match listed.iter().find(|l| l.key == key) {
                Some(l) if l.meta.revision == rev => {}
                Some(l) => ctx.fail(format!(
                    "list shows revision {} but get shows {rev}",
                    l.meta.revision
                )),
                None => ctx.fail("list does not show an entry that get returns"),
            }
        }
    }

    if ctx.caps.conditional_writes {
        let r = backend
            .put(&key, &token, PutOptions::if_revision(first))
            .await;
        ctx.expect_conflict(
            r,
            "put with the revision of a deleted incarnation of the key",
        );
    }

    ctx.cleanup(&[&key]).await;
}

/// An entry written with a TTL is returned until it expires and never after, by neither `get`
/// nor `list`; an expired entry counts as absent for deletes and conditional writes; an entry
/// without TTL next to it is untouched.
pub async fn ttl_expiry(backend: &DynBackend, config: &Config) {
    let ctx = Ctx::new(backend, config, "ttl_expiry");
    let ttl = config.ttl;
    let wait = config.ttl_wait;
    if wait <= ttl {
        ctx.fail(format!(
            "misconfigured: the TTL wait ({wait:?}) must be longer than the TTL ({ttl:?})"
        ));
    }
    let short = ctx.key("short-lived");
    let kept = ctx.key("kept");
    ctx.clear(&[&short, &kept]).await;
    let short_token = full_token("ttl-short");
    let kept_token = full_token("ttl-kept");

    let before = ctx.now();
    let short_rev = ctx
        .put(&short, &short_token, PutOptions::new().with_ttl(ttl))
        .await;
    let kept_rev = ctx.put(&kept, &kept_token, PutOptions::new()).await;

    let entry = ctx.must_get(&short, "right after a write with TTL").await;
    ctx.expect_token(&entry.token, &short_token, "right after a write with TTL");
    ctx.expect_revision(&entry, &short_rev, "right after a write with TTL");
    let Some(expires_at) = entry.meta.expires_at else {
        ctx.fail("an entry written with a TTL reports no expiry");
    };
    let slack = ctx.slack();
    let earliest = (before + ttl).checked_sub(slack).unwrap_or(before);
    let latest = ctx.now() + ttl + slack;
    if expires_at < earliest || expires_at > latest {
        ctx.fail(format!(
            "the reported expiry {expires_at:?} is not about {ttl:?} after the write ({before:?})"
        ));
    }
    if ctx.caps.list {
        let listed = ctx.list(&ctx.base()).await;
        if !listed.iter().any(|l| l.key == short) {
            ctx.fail("list does not show an unexpired entry written with TTL");
        }
    }

    match &config.clock {
        Some(clock) => {
            clock.advance(ttl / 2);
            ctx.must_get(&short, "halfway through its TTL").await;
            clock.advance(wait.saturating_sub(ttl / 2));
        }
        None => tokio::time::sleep(wait).await,
    }

    if ctx.get(&short).await.is_some() {
        let hint = if config.clock.is_some() {
            " (the backend must run on the ManualClock given to Config::with_clock)"
        } else {
            ""
        };
        ctx.fail(format!(
            "get returned an entry {wait:?} after it was written with a TTL of {ttl:?}{hint}"
        ));
    }
    if ctx.caps.list {
        let listed = ctx.list(&ctx.base()).await;
        if listed.iter().any(|l| l.key == short) {
            ctx.fail("list shows an expired entry");
        }
        if !listed.iter().any(|l| l.key == kept) {
            ctx.fail("list lost an entry without TTL when another one expired");
        }
    }
    let entry = ctx.must_get(&kept, "of an entry without TTL").await;
    ctx.expect_token(
        &entry.token,
        &kept_token,
        "entry without TTL after another expired",
    );
    ctx.expect_revision(&entry, &kept_rev, "entry without TTL after another expired");

    if ctx.delete(&short, DeleteOptions::new()).await {
        ctx.fail("delete of an expired entry returned true");
    }
    if ctx.caps.conditional_writes {
        let r = backend
            .put(&short, &short_token, PutOptions::if_revision(short_rev))
            .await;
        ctx.expect_conflict(r, "put with the revision of an expired entry");
        ctx.put(&short, &short_token, PutOptions::if_absent()).await;
        ctx.must_get(&short, "after put if absent over an expired entry")
            .await;
    }

    ctx.cleanup(&[&short, &kept]).await;
}

/// The names used by [`unicode_and_long_keys`]: each must map to its own entry.
const TRICKY_KEY_NAMES: &[&str] = &[
    "a/b",
    "a/b/",
    "a/b/c",
    "a//b",
    "/a",
    "a%2Fb",
    "a%2fb",
    "a_b",
    "a b",
    "a\\b",
    "a%5Cb",
    "a:b",
    "A/B",
    "a",
    "A",
    ".",
    "..",
    "...",
    "../..",
    "../escape",
    "./x",
    "a/../b",
    "a/./b",
    " ",
    "a ",
    "a.",
    "~",
    "%",
    "%25",
    "*",
    "?",
    "CON",
    "nul",
    "ключ 🔑",
    "鍵",
    "\u{e9}",
    "e\u{301}",
    "\u{200b}",
];

/// Keys with `/`, `..`, spaces, case differences, percent signs, Unicode (including two
/// spellings of `é`) and two 512-byte keys that differ only in their last byte are all
/// distinct entries, read back, listed and deleted under exactly their own names.
pub async fn unicode_and_long_keys(backend: &DynBackend, config: &Config) {
    let ctx = Ctx::new(backend, config, "unicode_and_long_keys");
    let base = ctx.base();
    let mut keys: Vec<EntryKey> = TRICKY_KEY_NAMES.iter().map(|n| ctx.key(n)).collect();
    // Long keys: 512 bytes in all (more if the prefix is very long), differing only at the end.
    let long_len = 512.max(base.len() + 64);
    let stem = format!("{base}long-");
    for last in ['1', '2'] {
        let ascii = format!("{stem:x<width$}{last}", width = long_len - 1);
        keys.push(ctx.key(&ascii[base.len()..]));
    }
    let mut unicode = format!("{stem}ü");
    while unicode.len() + "ü".len() < long_len {
        unicode.push('ü');
    }
    while unicode.len() < long_len {
        unicode.push('u');
    }
    keys.push(ctx.key(&unicode[base.len()..]));
    let refs: Vec<&EntryKey> = keys.iter().collect();
    ctx.clear(&refs).await;

    let token_for = |i: usize| TokenSet::new(format!("at-key-{i}-secret"));
    let mut revisions = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        revisions.push(ctx.put(key, &token_for(i), PutOptions::new()).await);
    }
    for (i, key) in keys.iter().enumerate() {
        let entry = ctx.must_get(key, "after writing all tricky keys").await;
        if entry.token != token_for(i) {
            let other = (0..keys.len()).find(|&j| entry.token == token_for(j));
            match other {
                Some(j) => ctx.fail(format!(
                    "{key:?} collides with {:?}: it reads the token set written under that key",
                    keys[j]
                )),
                None => ctx.fail(format!("{key:?} reads back a different token set")),
            }
        }
        ctx.expect_revision(&entry, &revisions[i], &format!("get({key:?})"));
    }

    if ctx.caps.list {
        let listed: Vec<String> = ctx
            .list(&base)
            .await
            .into_iter()
            .map(|l| l.key.into_string())
            .collect();
        let mut want: Vec<String> = keys.iter().map(|k| k.as_str().to_owned()).collect();
        want.sort();
        if listed != want {
            let missing: Vec<&String> = want.iter().filter(|k| !listed.contains(k)).collect();
            let extra: Vec<&String> = listed.iter().filter(|k| !want.contains(k)).collect();
            ctx.fail(format!(
                "list({base:?}) does not return exactly the keys written, sorted; missing \
                 {missing:?}, unexpected {extra:?}"
            ));
        }
    }

    // Deleting one key must leave every other one in place.
    let (first, rest) = keys.split_first().expect("there are keys");
    ctx.delete(first, DeleteOptions::new()).await;
    for key in rest {
        ctx.must_get(key, &format!("after deleting {first:?}"))
            .await;
    }
    ctx.cleanup(&refs).await;
    if ctx.caps.list && !ctx.list(&base).await.is_empty() {
        ctx.fail("list still shows entries after all were deleted");
    }
}

/// A 64 KiB token set round-trips, unless the backend's `max_value_size` is smaller: then the
/// write fails with [`Error::TooLarge`] and stores nothing, and a token set of exactly the
/// limit round-trips.
pub async fn large_token_set(backend: &DynBackend, config: &Config) {
    const SIZE: usize = 64 * 1024;
    let ctx = Ctx::new(backend, config, "large_token_set");
    let key = ctx.key("big");
    ctx.clear(&[&key]).await;
    let big = sized_token(SIZE).expect("64 KiB is more than an empty token set");

    match ctx.caps.max_value_size {
        Some(limit) if limit < SIZE => {
            let r = backend.put(&key, &big, PutOptions::new()).await;
            match r {
                Err(Error::TooLarge { .. }) => {}
                Err(e) => ctx.fail(format!(
                    "a {SIZE}-byte token set on a backend with a {limit}-byte limit must fail \
                     with Error::TooLarge, got {e} ({e:?})"
                )),
                Ok(rev) => ctx.fail(format!(
                    "a {SIZE}-byte token set on a backend with a {limit}-byte limit was \
                     accepted (revision {rev})"
                )),
            }
            if ctx.get(&key).await.is_some() {
                ctx.fail("a token set refused as too large was stored anyway");
            }
            if let Some(at_limit) = sized_token(limit) {
                let rev = ctx.put(&key, &at_limit, PutOptions::new()).await;
                let entry = ctx
                    .must_get(&key, "after writing a token set of the limit")
                    .await;
                ctx.expect_token(
                    &entry.token,
                    &at_limit,
                    "token set of exactly the size limit",
                );
                ctx.expect_revision(&entry, &rev, "token set of exactly the size limit");
            }
        }
        _ => {
            let rev = ctx.put(&key, &big, PutOptions::new()).await;
            let entry = ctx.must_get(&key, "after writing 64 KiB").await;
            ctx.expect_token(&entry.token, &big, "64 KiB token set");
            ctx.expect_revision(&entry, &rev, "64 KiB token set");
        }
    }

    ctx.cleanup(&[&key]).await;
}

/// The name of the counter field [`concurrent_conditional_increments`] keeps in a token set.
const COUNTER_FIELD: &str = "conformance_counter";

fn counter_token(n: u64) -> TokenSet {
    let mut t = TokenSet::new(format!("at-counter-{n}-secret"));
    t.extra.insert(COUNTER_FIELD.into(), n.into());
    t
}

/// What one concurrent writer did.
struct WorkerReport {
    revisions: Vec<Revision>,
    conflicts: usize,
}

/// One writer: `increments` read-increment-write cycles, each retried on conflict.
async fn increment_worker(
    backend: &DynBackend,
    key: &EntryKey,
    increments: usize,
    max_tries: usize,
) -> Result<WorkerReport, String> {
    let mut report = WorkerReport {
        revisions: Vec::with_capacity(increments),
        conflicts: 0,
    };
    for _ in 0..increments {
        let mut tries = 0;
        loop {
            tries += 1;
            if tries > max_tries {
                return Err(format!(
                    "a writer lost {max_tries} conditional writes in a row; conflicts never \
                     resolve"
                ));
            }
            let current = backend
                .get(key)
                .await
                .map_err(|e| format!("get failed: {e}"))?;
            let (count, precondition) = match current {
                None => (0, Precondition::IfAbsent),
                Some(entry) => {
                    let n = entry
                        .token
                        .extra
                        .get(COUNTER_FIELD)
                        .and_then(serde_json::Value::as_u64)
                        .ok_or_else(|| format!("the counter field {COUNTER_FIELD} is missing"))?;
                    (n, Precondition::IfRevision(entry.meta.revision))
                }
            };
            // Let the other writers read the same revision before this one writes.
            tokio::task::yield_now().await;
            let options = PutOptions {
                precondition,
                ttl: None,
            };
            match backend.put(key, &counter_token(count + 1), options).await {
                Ok(rev) => {
                    report.revisions.push(rev);
                    break;
                }
                Err(e) if e.is_conflict() => report.conflicts += 1,
                Err(e) => return Err(format!("a conditional put failed: {e} ({e:?})")),
            }
        }
    }
    Ok(report)
}

async fn check_increments(
    ctx: &Ctx<'_>,
    key: &EntryKey,
    reports: Vec<Result<WorkerReport, String>>,
) {
    let expected = ctx.config.tasks * ctx.config.increments_per_task;
    let mut revisions = HashSet::new();
    let mut conflicts = 0;
    for report in reports {
        let report = report.unwrap_or_else(|e| ctx.fail(e));
        conflicts += report.conflicts;
        for rev in report.revisions {
            if !revisions.insert(rev.clone()) {
                ctx.fail(format!(
                    "two successful writes returned the same revision {rev}"
                ));
            }
        }
    }
    let entry = ctx.must_get(key, "after all increments").await;
    let count = entry
        .token
        .extra
        .get(COUNTER_FIELD)
        .and_then(serde_json::Value::as_u64);
    if count != Some(expected as u64) {
        ctx.fail(format!(
            "{} writers made {} increments each, but the counter reads {count:?} (with \
             {conflicts} conflicts retried): conditional writes are not atomic",
            ctx.config.tasks, ctx.config.increments_per_task
        ));
    }
    if !revisions.contains(&entry.meta.revision) {
        ctx.fail("the final revision is not one any writer got back");
    }
    ctx.cleanup(&[key]).await;
}

/// Concurrent writers each increment a counter kept in a token set field with conditional
/// writes, retrying on conflict; the final count is exact and no revision is handed out
/// twice.
///
/// The writers run interleaved on the calling task (the backend is borrowed, so they cannot
/// be spawned); they yield between read and write, so they race. For writers on separate
/// tokio tasks, and real parallelism on a multi-thread runtime, see
/// [`concurrent_conditional_increments_spawned`].
pub async fn concurrent_conditional_increments(backend: &DynBackend, config: &Config) {
    let ctx = Ctx::new(backend, config, "concurrent_conditional_increments");
    let key = ctx.key("counter");
    ctx.clear(&[&key]).await;
    if !ctx.caps.conditional_writes {
        let r = backend
            .put(&key, &counter_token(1), PutOptions::if_absent())
            .await;
        ctx.expect_unsupported(r, "put if absent");
        return;
    }
    let max_tries = 100 * config.tasks;
    let workers: Vec<BoxFuture<'_, _>> = (0..config.tasks)
        .map(|_| {
            Box::pin(increment_worker(
                backend,
                &key,
                config.increments_per_task,
                max_tries,
            )) as BoxFuture<'_, _>
        })
        .collect();
    let reports = join_all(workers).await;
    check_increments(&ctx, &key, reports).await;
}

/// [`concurrent_conditional_increments`] with each writer on its own tokio task (a
/// [`tokio::task::JoinSet`]), so on a multi-thread runtime the writers run in parallel.
///
/// # Panics
/// When called outside a tokio runtime, and when a check fails.
pub async fn concurrent_conditional_increments_spawned(backend: Arc<DynBackend>, config: &Config) {
    let ctx = Ctx::new(
        &*backend,
        config,
        "concurrent_conditional_increments_spawned",
    );
    let key = ctx.key("counter");
    ctx.clear(&[&key]).await;
    if !ctx.caps.conditional_writes {
        let r = backend
            .put(&key, &counter_token(1), PutOptions::if_absent())
            .await;
        ctx.expect_unsupported(r, "put if absent");
        return;
    }
    let max_tries = 100 * config.tasks;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..config.tasks {
        let backend = Arc::clone(&backend);
        let key = key.clone();
        let increments = config.increments_per_task;
        set.spawn(async move { increment_worker(&*backend, &key, increments, max_tries).await });
    }
    let mut reports = Vec::with_capacity(config.tasks);
    while let Some(joined) = set.join_next().await {
        reports.push(joined.unwrap_or_else(|e| Err(format!("a writer task failed: {e}"))));
    }
    check_increments(&ctx, &key, reports).await;
}

/// `list` returns exactly the unexpired entries whose key starts with the prefix (a plain
/// string prefix, not a path), sorted by key in byte order, with the revisions `get` shows.
/// Without the `list` capability, `list` fails with [`Error::Unsupported`].
pub async fn list_by_prefix(backend: &DynBackend, config: &Config) {
    let ctx = Ctx::new(backend, config, "list_by_prefix");
    let base = ctx.base();
    if !ctx.caps.list {
        let r = backend.list(&base).await;
        ctx.expect_unsupported(r, "list");
        return;
    }
    let names = ["b", "a", "ab", "a/x", "c/d", "z", "\u{e9}", "Z", "a b"];
    let keys: Vec<EntryKey> = names.iter().map(|n| ctx.key(n)).collect();
    // Shares the textual prefix `<prefix>list_by_prefix` but not `<prefix>list_by_prefix/`.
    let outside = match EntryKey::new(format!("{}list_by_prefix_outside", config.key_prefix)) {
        Ok(k) => k,
        Err(e) => ctx.fail(format!(
            "the configured key prefix makes an invalid key ({e})"
        )),
    };
    let mut all: Vec<&EntryKey> = keys.iter().collect();
    all.push(&outside);
    ctx.clear(&all).await;

    let mut revisions = std::collections::HashMap::new();
    for (i, key) in all.iter().enumerate() {
        let rev = ctx
            .put(
                key,
                &TokenSet::new(format!("at-list-{i}-secret")),
                PutOptions::new(),
            )
            .await;
        revisions.insert((*key).clone(), rev);
    }

    let expect = |prefix: &str, want: Vec<String>, listed: &[ListedEntry]| {
        let got: Vec<&str> = listed.iter().map(|l| l.key.as_str()).collect();
        if got != want {
            ctx.fail(format!(
                "list({prefix:?}) returned {got:?}, expected {want:?}"
            ));
        }
        for l in listed {
            if revisions.get(&l.key) != Some(&l.meta.revision) {
                ctx.fail(format!(
                    "list({prefix:?}) shows revision {} for {:?}, the write returned {:?}",
                    l.meta.revision,
                    l.key,
                    revisions.get(&l.key)
                ));
            }
        }
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let under = |names: &[&str]| sorted(names.iter().map(|n| format!("{base}{n}")).collect());

    expect(&base, under(&names), &ctx.list(&base).await);
    let a = format!("{base}a");
    expect(&a, under(&["a", "ab", "a/x", "a b"]), &ctx.list(&a).await);
    let c = format!("{base}c/");
    expect(&c, under(&["c/d"]), &ctx.list(&c).await);
    let none = format!("{base}nothing-here");
    expect(&none, Vec::new(), &ctx.list(&none).await);
    let textual = format!("{}list_by_prefix", config.key_prefix);
    let mut with_outside = under(&names);
    with_outside.push(outside.as_str().to_owned());
    expect(&textual, sorted(with_outside), &ctx.list(&textual).await);

    let everything = ctx.list("").await;
    for key in &all {
        if !everything.iter().any(|l| &l.key == *key) {
            ctx.fail(format!("list(\"\") does not show {key:?}"));
        }
    }
    if everything.windows(2).any(|w| w[0].key >= w[1].key) {
        ctx.fail("list(\"\") is not sorted by key, or repeats a key");
    }

    ctx.cleanup(&all).await;
}

/// Errors are the typed variants the contract names, and carry no secret: a lost condition
/// is [`Error::Conflict`]; a conditional operation on a backend without conditional writes is
/// [`Error::Unsupported`] and never silently done unconditionally; so is `list` without the
/// list capability.
pub async fn errors_are_typed(backend: &DynBackend, config: &Config) {
    let ctx = Ctx::new(backend, config, "errors_are_typed");
    let key = ctx.key("k");
    let absent = ctx.key("absent");
    ctx.clear(&[&key, &absent]).await;
    let stored = full_token("errors-stored");
    let other = full_token("errors-other");
    let mut leak_check = secrets(&stored);
    leak_check.extend(secrets(&other));
    let no_secrets = |e: &Error, what: &str| {
        let text = format!("{e} {e:?}");
        if leak_check.iter().any(|s| text.contains(s.as_str())) {
            ctx.fail(format!("the error of {what} contains a token value"));
        }
    };

    let rev = ctx.put(&key, &stored, PutOptions::new()).await;
    let attempts: [(&str, Result<()>); 4] = [
        (
            "put if absent on an existing key",
            backend
                .put(&key, &other, PutOptions::if_absent())
                .await
                .map(drop),
        ),
        (
            "put if revision with a bogus revision",
            backend
                .put(
                    &key,
                    &other,
                    PutOptions::if_revision(Revision::new("conformance-bogus")),
                )
                .await
                .map(drop),
        ),
        (
            "delete if revision with a bogus revision",
            backend
                .delete(
                    &key,
                    DeleteOptions::if_revision(Revision::new("conformance-bogus")),
                )
                .await
                .map(drop),
        ),
        (
            "put if revision on a missing key",
            backend
                .put(&absent, &other, PutOptions::if_revision(rev.clone()))
                .await
                .map(drop),
        ),
    ];
    for (what, result) in attempts {
        if let Err(e) = &result {
            no_secrets(e, what);
        }
        if ctx.caps.conditional_writes {
            ctx.expect_conflict(result, what);
        } else {
            ctx.expect_unsupported(result, what);
        }
    }
    // Whatever the backend can do, none of that may have changed anything.
    let entry = ctx
        .must_get(&key, "after refused conditional operations")
        .await;
    ctx.expect_token(
        &entry.token,
        &stored,
        "after refused conditional operations",
    );
    ctx.expect_revision(&entry, &rev, "after refused conditional operations");
    if ctx.get(&absent).await.is_some() {
        ctx.fail("a refused conditional write created an entry");
    }

    if !ctx.caps.conditional_writes {
        // The current revision: a backend that ignores conditions would succeed here.
        let r = backend
            .put(&key, &other, PutOptions::if_revision(rev.clone()))
            .await;
        ctx.expect_unsupported(r, "put if revision with the current revision");
        let r = backend
            .delete(&key, DeleteOptions::if_revision(rev.clone()))
            .await;
        ctx.expect_unsupported(r, "delete if revision with the current revision");
        let entry = ctx
            .must_get(&key, "after refused conditional operations")
            .await;
        ctx.expect_token(
            &entry.token,
            &stored,
            "after refused conditional operations",
        );
    }

    if !ctx.caps.list {
        let r = backend.list(&ctx.base()).await;
        ctx.expect_unsupported(r, "list");
    }

    too_large_error_is_clean(&ctx, &key).await;

    ctx.cleanup(&[&key, &absent]).await;
}

/// Part of [`errors_are_typed`]: a write over the size limit is `TooLarge`, without secrets.
async fn too_large_error_is_clean(ctx: &Ctx<'_>, key: &EntryKey) {
    let Some(limit) = ctx.caps.max_value_size else {
        return;
    };
    let Some(mut big) = sized_token(limit + 1024) else {
        return;
    };
    // Adds to the size: the token set stays over the limit.
    big.id_token = Some("rt-errors-big-secret".into());
    match ctx.backend.put(key, &big, PutOptions::new()).await {
        Err(e @ Error::TooLarge { .. }) => {
            let text = format!("{e} {e:?}");
            if text.contains("rt-errors-big-secret") {
                ctx.fail("the TooLarge error contains a token value");
            }
        }
        Err(e) => ctx.fail(format!(
            "a token set over max_value_size must fail with Error::TooLarge, got {e}"
        )),
        Ok(_) => ctx.fail("a token set over max_value_size was accepted"),
    }
}

/// Two stores (or two namespaces of one) do not see each other's entries: the same key holds
/// different token sets in each, and writes, deletes and listings in one never touch the
/// other.
pub async fn isolation(a: &DynBackend, b: &DynBackend, config: &Config) {
    let ca = Ctx::new(a, config, "isolation");
    let cb = Ctx::new(b, config, "isolation");
    let shared = ca.key("shared");
    let only_a = ca.key("only-a");
    let only_b = ca.key("only-b");
    let keys = [&shared, &only_a, &only_b];
    ca.clear(&keys).await;
    cb.clear(&keys).await;

    let ta = full_token("iso-a");
    let tb = full_token("iso-b");
    let ra = ca.put(&shared, &ta, PutOptions::new()).await;
    let rb = cb.put(&shared, &tb, PutOptions::new()).await;
    let ea = ca.must_get(&shared, "in the first store").await;
    ca.expect_token(&ea.token, &ta, "the same key in the first of two stores");
    ca.expect_revision(&ea, &ra, "the same key in the first of two stores");
    let eb = cb.must_get(&shared, "in the second store").await;
    cb.expect_token(&eb.token, &tb, "the same key in the second of two stores");
    cb.expect_revision(&eb, &rb, "the same key in the second of two stores");

    let own_token = full_token("iso-only-a");
    ca.put(&only_a, &own_token, PutOptions::new()).await;
    if cb.get(&only_a).await.is_some() {
        cb.fail("the second store sees an entry written only to the first");
    }
    if cb.delete(&only_a, DeleteOptions::new()).await {
        cb.fail("the second store deleted an entry written only to the first");
    }
    let e = ca
        .must_get(&only_a, "after a delete in the other store")
        .await;
    ca.expect_token(&e.token, &own_token, "after a delete in the other store");
    if cb.caps.conditional_writes {
        let intruder = full_token("iso-only-b");
        cb.put(&only_a, &intruder, PutOptions::if_absent()).await;
        let e = ca
            .must_get(&only_a, "after a put if absent in the other store")
            .await;
        ca.expect_token(
            &e.token,
            &own_token,
            "after a put if absent in the other store",
        );
        cb.delete(&only_a, DeleteOptions::new()).await;
        ca.must_get(&only_a, "after the other store deleted its own entry")
            .await;
    }

    cb.put(&only_b, &tb, PutOptions::new()).await;
    if ca.get(&only_b).await.is_some() {
        ca.fail("the first store sees an entry written only to the second");
    }
    for (ctx, own, foreign) in [(&ca, &only_a, &only_b), (&cb, &only_b, &only_a)] {
        if ctx.caps.list {
            let listed = ctx.list(&ctx.base()).await;
            if listed.iter().any(|l| &l.key == foreign) {
                ctx.fail("list shows an entry written only to the other store");
            }
            if !listed.iter().any(|l| &l.key == own) || !listed.iter().any(|l| l.key == shared) {
                ctx.fail("list does not show the store's own entries");
            }
        }
    }

    ca.delete(&shared, DeleteOptions::new()).await;
    let eb = cb
        .must_get(&shared, "after the first store deleted its entry")
        .await;
    cb.expect_token(&eb.token, &tb, "after the first store deleted the same key");

    ca.cleanup(&keys).await;
    cb.cleanup(&keys).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_token_has_exact_size() {
        for len in [200, 1000, 64 * 1024, 64 * 1024 + 3] {
            let t = sized_token(len).unwrap();
            assert_eq!(serialized_len(&t), len);
        }
        assert!(sized_token(5).is_none());
    }

    #[test]
    fn token_diff_names_fields_not_values() {
        let a = full_token("a");
        let mut b = full_token("b");
        b.extra.insert("new".into(), 1.into());
        let diff = token_diff(&a, &b).join(",");
        assert!(diff.contains("access_token") && diff.contains("extra field \"new\""));
        assert!(!diff.contains("secret"), "{diff}");
        assert!(token_diff(&a, &a).is_empty());
    }

    #[test]
    fn config_builder() {
        let c = Config::new()
            .with_key_prefix("run-1/")
            .with_ttl(Duration::from_secs(2))
            .with_ttl_wait(Duration::from_secs(3))
            .with_concurrency(0, 0);
        assert_eq!(c.key_prefix(), "run-1/");
        assert_eq!((c.tasks, c.increments_per_task), (1, 1));
        let r1 = Config::new().with_random_key_prefix();
        let r2 = Config::new().with_random_key_prefix();
        assert_ne!(r1.key_prefix(), r2.key_prefix());
        assert_eq!(r1.key_prefix().len(), "conformance-".len() + 16 + 1);
    }
}

//! The [`Backend`] trait every store implements, and the types it speaks in.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::entry_key::EntryKey;
use crate::error::{Error, Result};
use crate::token::TokenSet;

/// The trait object type of a backend: `&DynBackend`, `Arc<DynBackend>`, `Box<DynBackend>`.
pub type DynBackend = dyn Backend;

/// An opaque version of one entry, changed by every write.
///
/// Backends choose the form (a counter, a database row version, a secret version id); callers
/// only compare revisions for equality and pass them back in [`PutOptions::if_revision`]. A
/// backend never gives the same revision to two different writes of one key, even across a
/// delete and re-create.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Revision(Arc<str>);

impl Revision {
    /// The longest revision string a backend may produce.
    pub const MAX_LEN: usize = 256;

    /// A revision from a backend's own version string.
    ///
    /// # Panics
    /// Never for strings of printable ASCII up to [`Revision::MAX_LEN`] bytes; backends only
    /// produce such strings. Use [`Revision::parse`] for input from users.
    pub fn new(s: impl Into<Arc<str>>) -> Self {
        let s = s.into();
        debug_assert!(Self::is_valid(&s), "invalid revision string");
        Self(s)
    }

    /// A revision from a counter.
    #[must_use]
    pub fn from_u64(n: u64) -> Self {
        Self(n.to_string().into())
    }

    /// A fresh random revision, 128 bits in hex, for backends whose store has no version
    /// counter of its own. `backend` names the backend in the error if the system has no
    /// randomness to give.
    pub fn random(backend: &str) -> Result<Self> {
        use std::fmt::Write as _;
        let mut bytes = [0u8; 16];
        getrandom::getrandom(&mut bytes).map_err(|e| {
            Error::backend(
                backend,
                true,
                format!("no random numbers for a revision: {e}"),
            )
        })?;
        let mut s = String::with_capacity(32);
        for b in bytes {
            let _ = write!(s, "{b:02x}");
        }
        Ok(Self(s.into()))
    }

    /// Parses a revision a user typed (e.g. `--if-revision`): 1 to 256 printable ASCII bytes.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::is_valid(s).then(|| Self(s.into()))
    }

    fn is_valid(s: &str) -> bool {
        !s.is_empty() && s.len() <= Self::MAX_LEN && s.bytes().all(|b| b.is_ascii_graphic())
    }

    /// The revision as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The revision as a counter, for backends whose revisions are counters.
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }
}

impl fmt::Debug for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Revision({})", self.0)
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a backend knows about one stored entry, besides the token set itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryMeta {
    /// The entry's current revision.
    pub revision: Revision,
    /// When the entry expires (its TTL ran out), if it was written with a TTL.
    pub expires_at: Option<SystemTime>,
    /// When the entry was last written, where the backend knows.
    pub updated_at: Option<SystemTime>,
}

impl EntryMeta {
    /// Metadata with a revision and optional expiry and update time.
    #[must_use]
    pub fn new(
        revision: Revision,
        expires_at: Option<SystemTime>,
        updated_at: Option<SystemTime>,
    ) -> Self {
        Self {
            revision,
            expires_at,
            updated_at,
        }
    }

    /// Whether the entry is expired at `now`.
    #[must_use]
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }
}

/// A stored token set with its metadata, as [`Backend::get`] returns it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Entry {
    /// The token set.
    pub token: TokenSet,
    /// Its metadata.
    pub meta: EntryMeta,
}

impl Entry {
    /// An entry from a token set and its metadata.
    #[must_use]
    pub fn new(token: TokenSet, meta: EntryMeta) -> Self {
        Self { token, meta }
    }
}

/// One row of [`Backend::list`]: an entry key and its metadata, without the token set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListedEntry {
    /// The entry key.
    pub key: EntryKey,
    /// Its metadata.
    pub meta: EntryMeta,
}

impl ListedEntry {
    /// A listed entry.
    #[must_use]
    pub fn new(key: EntryKey, meta: EntryMeta) -> Self {
        Self { key, meta }
    }
}

/// The condition a write is made under.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Precondition {
    /// Write whatever is there.
    #[default]
    None,
    /// Write only if no (unexpired) entry exists under the key.
    IfAbsent,
    /// Write only if the entry exists with exactly this revision.
    IfRevision(Revision),
}

/// Options of [`Backend::put`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PutOptions {
    /// The condition the write is made under.
    pub precondition: Precondition,
    /// How long the entry lives; `None` keeps it until it is deleted.
    pub ttl: Option<Duration>,
}

impl PutOptions {
    /// An unconditional write without TTL.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A write that succeeds only if the key holds no entry.
    #[must_use]
    pub fn if_absent() -> Self {
        Self {
            precondition: Precondition::IfAbsent,
            ttl: None,
        }
    }

    /// A write that succeeds only if the entry's revision is still `revision`.
    #[must_use]
    pub fn if_revision(revision: Revision) -> Self {
        Self {
            precondition: Precondition::IfRevision(revision),
            ttl: None,
        }
    }

    /// Sets the time to live.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

/// Options of [`Backend::delete`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DeleteOptions {
    /// Delete only if the entry's revision is still this one.
    pub if_revision: Option<Revision>,
}

impl DeleteOptions {
    /// An unconditional delete.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A delete that succeeds only if the entry's revision is still `revision`.
    #[must_use]
    pub fn if_revision(revision: Revision) -> Self {
        Self {
            if_revision: Some(revision),
        }
    }
}

/// What a backend can do, as data, so callers and tests can branch on it.
///
/// Build one from [`Capabilities::default`] (nothing) and set fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
#[allow(clippy::struct_excessive_bools)]
pub struct Capabilities {
    /// [`Backend::list`] works.
    pub list: bool,
    /// [`Precondition::IfAbsent`], [`Precondition::IfRevision`] and conditional deletes are
    /// atomic. When false, conditional writes fail with [`Error::Unsupported`].
    pub conditional_writes: bool,
    /// Expiry is enforced by the service itself (otherwise the backend filters on read).
    pub native_ttl: bool,
    /// Entries survive the process.
    pub persistent: bool,
    /// Token sets are encrypted at rest by this backend.
    pub encrypted_at_rest: bool,
    /// Writers in different processes are serialized (no lost updates across processes).
    pub cross_process_locking: bool,
    /// The largest serialized token set the backend accepts, in bytes.
    pub max_value_size: Option<usize>,
}

/// A store of token sets: the small trait every backend implements.
///
/// Conveniences (`get_token`, `put_token`, `update`, …) live in [`BackendExt`], implemented for
/// every backend, so an implementor has only these methods to get right.
///
/// # The contract
/// - `get` never returns an expired entry.
/// - `put` with a precondition is atomic or fails with [`Error::Unsupported`]; a lost condition
///   is [`Error::Conflict`]. A successful `put` returns the new revision.
/// - `delete` of a missing key is `Ok(false)`; with `if_revision` it is a conflict instead.
/// - `list` returns unexpired entries whose key starts with `prefix`, sorted by key.
/// - No method blocks the async executor.
///
/// The shared conformance suite (`conformance` feature) checks all of this.
#[async_trait]
pub trait Backend: fmt::Debug + Send + Sync + 'static {
    /// A short name for messages and traces, such as `memory` or `file(/path)`.
    fn name(&self) -> String;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// The entry under `key`, or `None` if there is none (or it expired).
    async fn get(&self, key: &EntryKey) -> Result<Option<Entry>>;

    /// Stores `token` under `key` and returns the new revision.
    async fn put(&self, key: &EntryKey, token: &TokenSet, options: PutOptions) -> Result<Revision>;

    /// Removes the entry under `key`; returns whether there was one.
    async fn delete(&self, key: &EntryKey, options: DeleteOptions) -> Result<bool>;

    /// The entries whose key starts with `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<ListedEntry>>;
}

macro_rules! forward_backend {
    ($ty:ty) => {
        #[async_trait]
        impl<B: Backend + ?Sized> Backend for $ty {
            fn name(&self) -> String {
                (**self).name()
            }
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            async fn get(&self, key: &EntryKey) -> Result<Option<Entry>> {
                (**self).get(key).await
            }
            async fn put(
                &self,
                key: &EntryKey,
                token: &TokenSet,
                options: PutOptions,
            ) -> Result<Revision> {
                (**self).put(key, token, options).await
            }
            async fn delete(&self, key: &EntryKey, options: DeleteOptions) -> Result<bool> {
                (**self).delete(key, options).await
            }
            async fn list(&self, prefix: &str) -> Result<Vec<ListedEntry>> {
                (**self).list(prefix).await
            }
        }
    };
}

forward_backend!(Arc<B>);
forward_backend!(Box<B>);

/// Conveniences over any [`Backend`].
///
/// These are provided methods of a separate trait, not of [`Backend`], so a backend cannot
/// override them by accident and a wrapper cannot forget to forward one.
#[async_trait]
pub trait BackendExt: Backend {
    /// The token set under `key`, without metadata.
    async fn get_token(&self, key: &EntryKey) -> Result<Option<TokenSet>> {
        Ok(self.get(key).await?.map(|e| e.token))
    }

    /// Stores `token` under `key` unconditionally.
    async fn put_token(&self, key: &EntryKey, token: &TokenSet) -> Result<Revision> {
        self.put(key, token, PutOptions::new()).await
    }

    /// Removes the entry under `key` unconditionally; returns whether there was one.
    async fn remove(&self, key: &EntryKey) -> Result<bool> {
        self.delete(key, DeleteOptions::new()).await
    }

    /// Read-modify-write with optimistic concurrency: reads the entry, calls `f` with it, and
    /// writes the result only if nobody wrote in between, retrying on conflict up to
    /// `max_attempts` times. `f` returning `None` leaves the entry as it is.
    ///
    /// This is how a refresh should be stored: a second process that refreshed at the same
    /// time sees a conflict, re-reads, and finds the newer token set instead of overwriting it.
    async fn update<F>(
        &self,
        key: &EntryKey,
        ttl: Option<Duration>,
        max_attempts: u32,
        mut f: F,
    ) -> Result<Option<Revision>>
    where
        F: FnMut(Option<&TokenSet>) -> Option<TokenSet> + Send,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = self.get(key).await?;
            let Some(next) = f(current.as_ref().map(|e| &e.token)) else {
                return Ok(None);
            };
            let precondition = match current {
                Some(e) => Precondition::IfRevision(e.meta.revision),
                None => Precondition::IfAbsent,
            };
            let options = PutOptions { precondition, ttl };
            match self.put(key, &next, options).await {
                Ok(rev) => return Ok(Some(rev)),
                Err(e) if e.is_conflict() && attempt < max_attempts => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl<B: Backend + ?Sized> BackendExt for B {}

/// Checks a write against a backend's declared value size limit.
pub fn check_value_size(
    capabilities: &Capabilities,
    key: &EntryKey,
    serialized_len: usize,
) -> Result<()> {
    match capabilities.max_value_size {
        Some(limit) if serialized_len > limit => Err(Error::TooLarge {
            location: format!("token set for {key:?}"),
            size: serialized_len as u64,
            limit: limit as u64,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_parse_rules() {
        assert_eq!(Revision::parse("42").unwrap().as_u64(), Some(42));
        assert!(Revision::parse("").is_none());
        assert!(Revision::parse("a b").is_none());
        assert!(Revision::parse(&"1".repeat(257)).is_none());
        assert_eq!(Revision::from_u64(7).to_string(), "7");
        let (a, b) = (
            Revision::random("t").unwrap(),
            Revision::random("t").unwrap(),
        );
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(Revision::parse(a.as_str()).is_some());
    }

    #[test]
    fn public_types_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Revision>();
        check::<Entry>();
        check::<ListedEntry>();
        check::<PutOptions>();
        check::<Capabilities>();
        check::<Arc<DynBackend>>();
        check::<Box<DynBackend>>();
    }
}

//! [`NamespaceLayer`] and [`Namespaced`]: one store shared by several tenants or applications
//! without seeing each other's entries.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::Layer;
use crate::backend::{
    Backend, Capabilities, DeleteOptions, Entry, ListedEntry, PutOptions, Revision,
};
use crate::entry_key::{EntryKey, KeyError, validate_namespace};
use crate::error::Result;
use crate::token::TokenSet;

/// The character between a namespace and the key inside it.
const SEPARATOR: char = '/';

/// A validated namespace name: the rules of an [`EntryKey`], no `/`, and short enough to leave
/// room for keys.
fn checked_namespace(name: &str) -> Result<Arc<str>, KeyError> {
    validate_namespace(name, SEPARATOR)?;
    // `<name>/` plus at least one byte of key must fit in an entry key.
    let max = EntryKey::MAX_LEN - 2;
    if name.len() > max {
        return Err(KeyError::TooLong {
            len: name.len(),
            max,
        });
    }
    Ok(name.into())
}

/// Puts a backend in a namespace: see [`Namespaced`].
///
/// ```
/// use oauth_store_core::layer::NamespaceLayer;
///
/// assert!(NamespaceLayer::new("tenant-a").is_ok());
/// // A namespace cannot contain the separator, so it cannot reach into another one.
/// assert!(NamespaceLayer::new("tenant-a/../tenant-b").is_err());
/// assert!(NamespaceLayer::new("").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct NamespaceLayer {
    namespace: Arc<str>,
}

impl NamespaceLayer {
    /// A layer for the namespace `name`: 1 to 1022 bytes of printable UTF-8 without `/`.
    pub fn new(name: &str) -> Result<Self, KeyError> {
        Ok(Self {
            namespace: checked_namespace(name)?,
        })
    }

    /// The namespace.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
}

impl<B: Backend> Layer<B> for NamespaceLayer {
    type Backend = Namespaced<B>;

    fn layer(&self, inner: B) -> Namespaced<B> {
        Namespaced::from_checked(inner, Arc::clone(&self.namespace))
    }
}

/// A backend whose keys all live under `<namespace>/` in the backend inside.
///
/// The caller's key `k` is stored as `<namespace>/k`; `list` asks the backend inside for
/// `<namespace>/<prefix>` and returns keys with the namespace taken off again, so only keys
/// inside the namespace are ever seen. Since a namespace holds no `/`, sibling namespaces
/// (`a` and `ab`, `a` and `b`) can never produce the same stored key, whatever the keys hold
/// (`..`, `/`, anything): escaping is left to the backend inside, which maps every entry key
/// to its own naming without traversal. A key that would make the stored key longer than
/// [`EntryKey::MAX_LEN`] fails with [`Error::InvalidKey`](crate::Error::InvalidKey)
/// ([`KeyError::TooLong`], whose limit is the room left in this namespace).
///
/// Errors of the backend inside pass through unchanged, so a conflict names the stored key
/// (`<namespace>/k`).
#[derive(Clone)]
pub struct Namespaced<B> {
    inner: B,
    namespace: Arc<str>,
    prefix: String,
}

impl<B: fmt::Debug> fmt::Debug for Namespaced<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespaced")
            .field("namespace", &self.namespace)
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<B: Backend> Namespaced<B> {
    /// Puts `inner` in the namespace `name` (the rules of [`NamespaceLayer::new`]).
    pub fn new(inner: B, name: &str) -> Result<Self, KeyError> {
        Ok(Self::from_checked(inner, checked_namespace(name)?))
    }

    fn from_checked(inner: B, namespace: Arc<str>) -> Self {
        let prefix = format!("{namespace}{SEPARATOR}");
        Self {
            inner,
            namespace,
            prefix,
        }
    }

    /// The namespace.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The backend inside.
    #[must_use]
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// The backend inside, unwrapped.
    pub fn into_inner(self) -> B {
        self.inner
    }

    /// The longest key this namespace can hold, in bytes.
    #[must_use]
    pub fn max_key_len(&self) -> usize {
        EntryKey::MAX_LEN - self.prefix.len()
    }

    /// The key as stored in the backend inside.
    fn stored_key(&self, key: &EntryKey) -> Result<EntryKey> {
        let max = self.max_key_len();
        if key.as_str().len() > max {
            return Err(KeyError::TooLong {
                len: key.as_str().len(),
                max,
            }
            .into());
        }
        Ok(EntryKey::new(format!("{}{key}", self.prefix))?)
    }

    /// The caller's key of a stored key, or `None` if it lies outside the namespace.
    fn caller_key(&self, stored: &EntryKey) -> Option<EntryKey> {
        let rest = stored.as_str().strip_prefix(&self.prefix)?;
        EntryKey::new(rest).ok()
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<B: Backend> Backend for Namespaced<B> {
    fn name(&self) -> String {
        format!("namespaced({}, {})", self.namespace, self.inner.name())
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn get(&self, key: &EntryKey) -> Result<Option<Entry>> {
        self.inner.get(&self.stored_key(key)?).await
    }

    async fn put(&self, key: &EntryKey, token: &TokenSet, options: PutOptions) -> Result<Revision> {
        self.inner.put(&self.stored_key(key)?, token, options).await
    }

    async fn delete(&self, key: &EntryKey, options: DeleteOptions) -> Result<bool> {
        self.inner.delete(&self.stored_key(key)?, options).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedEntry>> {
        let listed = self.inner.list(&format!("{}{prefix}", self.prefix)).await?;
        // Taking off a common prefix keeps the order. The backend inside only returns keys
        // starting with the prefix asked for; anything else is dropped, never shown.
        Ok(listed
            .into_iter()
            .filter_map(|l| {
                let key = self.caller_key(&l.key)?;
                Some(ListedEntry::new(key, l.meta))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendExt;
    use crate::clock::ManualClock;
    use crate::conformance::{self, Config};
    use crate::error::Error;
    use crate::memory::MemoryBackend;

    fn key(s: &str) -> EntryKey {
        EntryKey::new(s).unwrap()
    }

    async fn stored_keys(memory: &MemoryBackend) -> Vec<String> {
        memory
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.key.into_string())
            .collect()
    }

    #[tokio::test]
    async fn passes_conformance() {
        let clock = ManualClock::new();
        let memory = MemoryBackend::with_clock(Arc::new(clock.clone()));
        let store = Namespaced::new(memory.clone(), "tenant-a").unwrap();
        let config = Config::new().with_clock(clock);
        conformance::run_all(&store, &config).await;
        assert!(stored_keys(&memory).await.is_empty(), "the suite cleans up");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_conformance_on_multi_thread() {
        let memory = MemoryBackend::new();
        let store = Arc::new(Namespaced::new(memory, "tenant-a").unwrap());
        let config = Config::new()
            .with_ttl(std::time::Duration::from_millis(50))
            .with_ttl_wait(std::time::Duration::from_millis(120));
        conformance::run_all(&*store, &config).await;
        conformance::concurrent_conditional_increments_spawned(store, &config).await;
    }

    #[tokio::test]
    async fn sibling_namespaces_are_isolated() {
        let memory = MemoryBackend::new();
        let config = Config::new();
        // `a` is a textual prefix of `ab`: the separator keeps them apart.
        for (x, y) in [("a", "b"), ("a", "ab"), ("..", ".")] {
            let first = Namespaced::new(memory.clone(), x).unwrap();
            let second = Namespaced::new(memory.clone(), y).unwrap();
            conformance::isolation(&first, &second, &config).await;
        }
        assert!(stored_keys(&memory).await.is_empty());
    }

    #[tokio::test]
    async fn keys_never_leave_the_namespace() {
        let memory = MemoryBackend::new();
        let a = Namespaced::new(memory.clone(), "a").unwrap();
        let b = Namespaced::new(memory.clone(), "b").unwrap();
        for k in ["../b/x", "/b/x", "..", "a/../../b/x", "x"] {
            a.put_token(&key(k), &TokenSet::new("at")).await.unwrap();
        }
        // Written behind the namespaces' backs: a key equal to the prefix, a sibling's.
        memory
            .put_token(&key("a"), &TokenSet::new("at"))
            .await
            .unwrap();
        memory
            .put_token(&key("ab/x"), &TokenSet::new("at"))
            .await
            .unwrap();
        memory
            .put_token(&key("b/x"), &TokenSet::new("at"))
            .await
            .unwrap();

        let mut stored = stored_keys(&memory).await;
        stored.retain(|k| k.starts_with("a/"));
        assert_eq!(
            stored,
            ["a/..", "a/../b/x", "a//b/x", "a/a/../../b/x", "a/x"]
        );
        let listed: Vec<String> = a
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.key.into_string())
            .collect();
        assert_eq!(listed, ["..", "../b/x", "/b/x", "a/../../b/x", "x"]);
        let listed_b: Vec<String> = b
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.key.into_string())
            .collect();
        assert_eq!(
            listed_b,
            ["x"],
            "only b's own key, however a's keys are spelled"
        );
        assert!(b.get(&key("../a/x")).await.unwrap().is_none());
        let only_dot: Vec<_> = a.list("..").await.unwrap();
        assert_eq!(only_dot.len(), 2);
    }

    #[tokio::test]
    async fn keys_too_long_for_the_namespace_are_typed_errors() {
        let memory = MemoryBackend::new();
        let ns = Namespaced::new(memory.clone(), "tenant").unwrap();
        let max = EntryKey::MAX_LEN - "tenant/".len();
        assert_eq!(ns.max_key_len(), max);

        let fits = key(&"k".repeat(max));
        ns.put_token(&fits, &TokenSet::new("at")).await.unwrap();
        assert!(ns.get_token(&fits).await.unwrap().is_some());

        let long = key(&"k".repeat(max + 1));
        let want = KeyError::TooLong { len: max + 1, max };
        let check = |r: Result<()>| match r {
            Err(Error::InvalidKey(e)) => assert_eq!(e, want),
            other => panic!("expected InvalidKey(TooLong), got {other:?}"),
        };
        check(ns.put_token(&long, &TokenSet::new("at")).await.map(drop));
        check(ns.get(&long).await.map(drop));
        check(ns.remove(&long).await.map(drop));
        assert_eq!(
            stored_keys(&memory).await.len(),
            1,
            "nothing else was written"
        );
        let e = ns.get(&long).await.unwrap_err();
        assert!(
            e.to_string().contains(&format!("at most {max} bytes")),
            "{e}"
        );
    }

    #[test]
    fn invalid_namespaces_are_rejected_with_the_rule() {
        assert_eq!(NamespaceLayer::new("").unwrap_err(), KeyError::Empty);
        assert_eq!(
            NamespaceLayer::new("a/b").unwrap_err(),
            KeyError::NamespaceSeparator {
                separator: '/',
                at: 1
            }
        );
        assert!(matches!(
            NamespaceLayer::new("a\nb").unwrap_err(),
            KeyError::ControlCharacter { .. }
        ));
        let longest = "n".repeat(EntryKey::MAX_LEN - 2);
        assert!(NamespaceLayer::new(&longest).is_ok());
        assert_eq!(
            NamespaceLayer::new(&format!("{longest}n")).unwrap_err(),
            KeyError::TooLong {
                len: EntryKey::MAX_LEN - 1,
                max: EntryKey::MAX_LEN - 2
            }
        );
        assert_eq!(NamespaceLayer::new("ü").unwrap().namespace(), "ü");
    }

    #[test]
    fn debug_and_name() {
        let ns = Namespaced::new(MemoryBackend::new(), "t").unwrap();
        assert_eq!(ns.name(), "namespaced(t, memory)");
        assert!(format!("{ns:?}").starts_with("Namespaced { namespace: \"t\""));
        assert_eq!(ns.namespace(), "t");
        assert_eq!(ns.clone().into_inner().name(), "memory");
    }
}

//! [`open`]: a store from a URL.

use std::sync::Arc;

use oauth_store_core::key_material::KeyRing;
use oauth_store_core::{DynBackend, Error, MemoryBackend};

use crate::url::{StoreUrl, UrlError};

/// Why [`open`] could not build a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The URL itself is malformed or names an unknown scheme.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The URL names a backend this build was compiled without.
    #[error(
        "the {scheme}: store is not in this build; enable the `{feature}` feature of the oauth-store crate"
    )]
    FeatureDisabled {
        /// The URL's scheme.
        scheme: &'static str,
        /// The Cargo feature that adds it.
        feature: &'static str,
    },
    /// The backend encrypts at rest and no key ring was given.
    #[error("the {scheme}: store encrypts its data and needs a key ring; none was given")]
    KeysRequired {
        /// The URL's scheme.
        scheme: &'static str,
    },
    /// The backend refused its configuration (a bad path, an unreadable directory, …).
    #[error(transparent)]
    Store(#[from] Error),
}

/// Builds the store a URL names; see [`StoreUrl`] for the forms.
///
/// `keys` is the key ring for backends that encrypt (`file:`); backends that do not need one
/// ignore it. The store is returned as a shared trait object, ready for any number of tasks.
///
/// ```
/// use oauth_store::OpenError;
///
/// let err = oauth_store::open("carrier-pigeon://roof", None).unwrap_err();
/// assert!(matches!(err, OpenError::Url(_)));
/// assert!(err.to_string().contains("unknown store scheme"));
/// ```
pub fn open(url: &str, keys: Option<KeyRing>) -> Result<Arc<DynBackend>, OpenError> {
    open_url(&StoreUrl::parse(url)?, keys)
}

/// [`open`] for an already parsed URL.
pub fn open_url(url: &StoreUrl, keys: Option<KeyRing>) -> Result<Arc<DynBackend>, OpenError> {
    match url {
        StoreUrl::Memory => Ok(Arc::new(MemoryBackend::new())),
        StoreUrl::File(path) => open_file(path, keys),
    }
}

#[cfg(feature = "file")]
fn open_file(path: &std::path::Path, keys: Option<KeyRing>) -> Result<Arc<DynBackend>, OpenError> {
    let ring = keys.ok_or(OpenError::KeysRequired { scheme: "file" })?;
    Ok(Arc::new(oauth_store_file::FileBackend::open(path, ring)?))
}

#[cfg(not(feature = "file"))]
fn open_file(
    _path: &std::path::Path,
    _keys: Option<KeyRing>,
) -> Result<Arc<DynBackend>, OpenError> {
    Err(OpenError::FeatureDisabled {
        scheme: "file",
        feature: "file",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oauth_store_core::{BackendExt, EntryKey, TokenSet};

    #[tokio::test]
    async fn memory_url_opens_an_empty_store() {
        let store = open("memory:", None).unwrap();
        assert_eq!(store.name(), "memory");
        let key = EntryKey::new("k").unwrap();
        assert!(store.get(&key).await.unwrap().is_none());
        store.put_token(&key, &TokenSet::new("a")).await.unwrap();
        assert!(store.get(&key).await.unwrap().is_some());
        // Each open is its own store.
        let other = open("memory:", None).unwrap();
        assert!(other.get(&key).await.unwrap().is_none());
    }

    #[test]
    fn unknown_scheme_is_a_url_error() {
        let e = open("s3://bucket/x", None).unwrap_err();
        assert!(
            matches!(&e, OpenError::Url(UrlError::UnknownScheme { scheme }) if scheme == "s3"),
            "{e:?}"
        );
    }

    #[cfg(feature = "file")]
    #[test]
    fn file_needs_keys() {
        let e = open("file:///tmp/x.json", None).unwrap_err();
        assert!(
            matches!(e, OpenError::KeysRequired { scheme: "file" }),
            "{e:?}"
        );
    }

    #[cfg(feature = "file")]
    #[tokio::test]
    async fn file_url_opens_an_encrypted_file_store() {
        use oauth_store_core::key_material::SecretKey;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("my tokens.json");
        let url = crate::StoreUrl::from_file_path(&path).unwrap().to_string();
        assert!(url.ends_with("/my%20tokens.json"), "{url}");
        let secret = SecretKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
        let store = open(&url, Some(KeyRing::new(secret.clone()))).unwrap();
        assert!(store.capabilities().encrypted_at_rest);
        let key = EntryKey::new("github").unwrap();
        store.put_token(&key, &TokenSet::new("at")).await.unwrap();
        assert!(path.exists());
        // Another open of the same URL sees the entry; a different key does not open it.
        let again = open(&url, Some(KeyRing::new(secret))).unwrap();
        assert_eq!(
            again
                .get_token(&key)
                .await
                .unwrap()
                .unwrap()
                .access_token
                .expose(),
            "at"
        );
        let wrong = open(&url, Some(KeyRing::new(SecretKey::generate()))).unwrap();
        assert!(matches!(
            wrong.get(&key).await.unwrap_err(),
            Error::WrongKey { .. }
        ));
    }

    #[cfg(not(feature = "file"))]
    #[test]
    fn file_without_its_feature_names_the_feature() {
        let e = open("file:///tmp/x.json", None).unwrap_err();
        assert!(
            matches!(
                e,
                OpenError::FeatureDisabled {
                    scheme: "file",
                    feature: "file"
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("`file` feature"), "{e}");
    }
}

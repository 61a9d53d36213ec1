//! Keep OAuth token sets safe, in whichever store fits: this is the crate applications depend
//! on.
//!
//! It re-exports the whole core API ([`TokenSet`], [`EntryKey`], the [`Backend`] trait and
//! [`BackendExt`], [`Error`], key material, layers) and adds one thing: [`open`], which builds
//! a store from a URL such as `file:///home/me/.local/share/app/tokens.json` or `memory:`, so
//! an application can leave the choice of store to its configuration. Which backends exist in
//! a build is chosen with Cargo features; a URL whose backend was left out fails with
//! [`OpenError::FeatureDisabled`], naming the feature to enable.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use oauth_store::{BackendExt, EntryKey, PutOptions, TokenSet};
//!
//! let store = oauth_store::open("memory:", None)?;
//! let key = EntryKey::new("github")?;
//! let token = TokenSet::new("gho_example").with_refresh_token("ghr_example");
//! let revision = store.put(&key, &token, PutOptions::if_absent()).await?;
//!
//! let entry = store.get(&key).await?.expect("just stored");
//! assert_eq!(entry.meta.revision, revision);
//! assert_eq!(entry.token.access_token.expose(), "gho_example");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Features
//! - `file` (default): the encrypted file backend, `file:///absolute/path`, re-exported as
//!   `oauth_store::file`. It needs a key ring.
//!
//! - `bridge`: the host bridge for embedders, `oauth_store::cloud` (`HostBridge`,
//!   `BridgeBackend` for the `session` and `org` scopes). Built in code, not from a URL: the
//!   host supplies the storage.
//!
//! - `custom`: backends built from async closures, `oauth_store::vault` (`CustomBackend`), for
//!   plugging in your own vault without implementing [`Backend`] by hand.
//!
//! - `conformance`: the shared conformance suite, `oauth_store::conformance`, for proving your
//!   own [`Backend`] implementation honours the contract.
//!
//! The `memory:` store is always available.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod open;
mod url;

pub use oauth_store_core::*;
#[cfg(feature = "file")]
#[cfg_attr(docsrs, doc(cfg(feature = "file")))]
pub use oauth_store_file as file;

#[cfg(feature = "bridge")]
#[cfg_attr(docsrs, doc(cfg(feature = "bridge")))]
pub use oauth_store_cloud as cloud;
#[cfg(feature = "custom")]
#[cfg_attr(docsrs, doc(cfg(feature = "custom")))]
pub use oauth_store_vault as vault;

pub use crate::open::{OpenError, open, open_url};
pub use crate::url::{KNOWN_SCHEMES, StoreUrl, UrlError};

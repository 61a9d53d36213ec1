//! Vaults and keychains for oauth-store.
//!
//! Today this crate holds **custom backends**: a [`CustomBackend`] is built from async
//! closures — `get`, `set` and `delete`, and if your store can, `list` and the conditional
//! `set_if` / `delete_if` — so that a secret manager, a keychain or a database you already
//! use can keep token sets without writing a whole [`Backend`](oauth_store_core::Backend).
//! The backend adds what the contract asks around your closures: a revision on every write,
//! TTL expiry checked on every read, a size limit, conditional writes only when you provide
//! them atomically, and your closures' errors tagged `custom(<id>)`. The OS keychain and
//! `HashiCorp` Vault / `OpenBao` KV v2 backends will follow, each behind its own feature.
//!
//! For a backend written against the trait directly, and for how to prove either kind with
//! the shared conformance suite, see `docs/CUSTOM-BACKENDS.md` in the repository.
//!
//! # Example
//! A store over a shared map, with every optional closure:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::collections::BTreeMap;
//! use std::sync::{Arc, Mutex};
//!
//! use oauth_store_core::{Backend, BackendExt, EntryKey, PutOptions, TokenSet};
//! use oauth_store_vault::{CustomBackend, CustomRecord};
//!
//! type Map = Arc<Mutex<BTreeMap<EntryKey, CustomRecord>>>;
//! let map: Map = Map::default();
//! let m = |map: &Map| map.clone();
//!
//! let store = CustomBackend::builder("my-vault")
//!     .get({ let map = m(&map); move |key| {
//!         let found = map.lock().unwrap().get(&key).cloned();
//!         async move { Ok(found) }
//!     }})
//!     .set({ let map = m(&map); move |key, record| {
//!         map.lock().unwrap().insert(key, record);
//!         async { Ok(()) }
//!     }})
//!     .delete({ let map = m(&map); move |key| {
//!         map.lock().unwrap().remove(&key);
//!         async { Ok(()) }
//!     }})
//!     .list({ let map = m(&map); move |prefix| {
//!         let keys = map.lock().unwrap().keys()
//!             .filter(|k| k.as_str().starts_with(&prefix)).cloned().collect();
//!         async move { Ok(keys) }
//!     }})
//!     .set_if({ let map = m(&map); move |key, record, condition| {
//!         // Check and store under one lock: atomic.
//!         let mut map = map.lock().unwrap();
//!         let applied = condition.holds(map.get(&key).map(|r| &r.revision));
//!         if applied {
//!             map.insert(key, record);
//!         }
//!         async move { Ok(applied) }
//!     }})
//!     .delete_if({ let map = m(&map); move |key, revision| {
//!         let mut map = map.lock().unwrap();
//!         let applied = map.get(&key).is_some_and(|r| r.revision == revision);
//!         if applied {
//!             map.remove(&key);
//!         }
//!         async move { Ok(applied) }
//!     }})
//!     .build()?;
//!
//! let key = EntryKey::new("github")?;
//! let rev = store.put(&key, &TokenSet::new("at-1"), PutOptions::if_absent()).await?;
//! store.put(&key, &TokenSet::new("at-2"), PutOptions::if_revision(rev.clone())).await?;
//! // A writer still holding the old revision loses instead of overwriting.
//! let lost = store.put(&key, &TokenSet::new("at-x"), PutOptions::if_revision(rev)).await;
//! assert!(lost.unwrap_err().is_conflict());
//! assert_eq!(store.get_token(&key).await?.unwrap().access_token.expose(), "at-2");
//! assert!(store.capabilities().conditional_writes && store.capabilities().list);
//!
//! // Without `get`, `set` or `delete` there is no backend, and the error says why.
//! let err = CustomBackend::builder("half").build().unwrap_err();
//! assert!(err.to_string().contains("has no `get` closure"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Features
//! - `custom` (default): [`CustomBackend`]. Adds `serde_json` and `getrandom`, which the core
//!   crate uses already.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;

#[cfg(feature = "custom")]
#[cfg_attr(docsrs, doc(cfg(feature = "custom")))]
pub mod custom;

pub use error::Error;

#[cfg(feature = "custom")]
#[cfg_attr(docsrs, doc(cfg(feature = "custom")))]
pub use custom::{Condition, CustomBackend, CustomBackendBuilder, CustomRecord};

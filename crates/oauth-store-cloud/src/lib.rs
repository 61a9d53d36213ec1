//! Shared and remote token stores for oauth-store.
//!
//! Today this crate holds the **host bridge**: the `cloud_session` and `cloud_org` backends,
//! for programs that embed oauth-store and already have storage of their own (a scripting
//! runtime's host, a platform's per-session or per-organisation secret store). The embedder
//! implements [`bridge::HostBridge`] — `get`, `set` and `delete` of JSON values by scope and
//! key, plus whichever optional operations it can do atomically — and
//! [`bridge::BridgeBackend`] turns it into an [`oauth_store_core::Backend`] with TTLs
//! enforced on read, revisions, conditional writes when the host can compare-and-swap, and
//! every host response checked before it is believed. AWS Secrets Manager and
//! `PostgreSQL` backends will follow, each behind its own feature.
//!
//! # Example
//! A host over a map, with only the three operations of the original host capability:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::collections::HashMap;
//! use std::sync::{Arc, Mutex};
//!
//! use async_trait::async_trait;
//! use oauth_store_cloud::bridge::{BridgeBackend, HostBridge, Scope};
//! use oauth_store_core::{Backend, BackendExt, BoxError, EntryKey, PutOptions, TokenSet};
//! use serde_json::Value;
//!
//! #[derive(Debug, Default)]
//! struct MyHost(Mutex<HashMap<(Scope, String), Value>>);
//!
//! #[async_trait]
//! impl HostBridge for MyHost {
//!     fn name(&self) -> String {
//!         "my-host".into()
//!     }
//!     async fn get(&self, scope: Scope, key: &str) -> Result<Value, BoxError> {
//!         Ok(self.0.lock().unwrap().get(&(scope, key.to_owned())).cloned().unwrap_or(Value::Null))
//!     }
//!     async fn set(&self, scope: Scope, key: &str, value: Value, _ttl: Option<u64>)
//!         -> Result<(), BoxError> {
//!         self.0.lock().unwrap().insert((scope, key.to_owned()), value);
//!         Ok(())
//!     }
//!     async fn delete(&self, scope: Scope, key: &str) -> Result<(), BoxError> {
//!         self.0.lock().unwrap().remove(&(scope, key.to_owned()));
//!         Ok(())
//!     }
//! }
//!
//! let host = Arc::new(MyHost::default());
//! let store = BridgeBackend::new(Scope::Session, host.clone());
//! let key = EntryKey::new("github")?;
//! store.put_token(&key, &TokenSet::new("gho_example")).await?;
//! assert_eq!(store.get_token(&key).await?.unwrap().access_token.expose(), "gho_example");
//! assert_eq!(store.name(), "cloud_session(my-host)");
//!
//! // This host cannot compare-and-swap, so a conditional write is refused, not done blindly.
//! assert!(!store.capabilities().conditional_writes);
//! let err = store.put(&key, &TokenSet::new("x"), PutOptions::if_absent()).await.unwrap_err();
//! assert!(matches!(err, oauth_store_core::Error::Unsupported { .. }));
//!
//! // What the host hands back is checked: garbage is a typed error, not a token.
//! host.0.lock().unwrap().insert((Scope::Session, "github".into()), Value::from(42));
//! let err = store.get(&key).await.unwrap_err();
//! assert!(err.to_string().contains("\"my-host\""));
//! assert!(err.to_string().contains("cloud_get"));
//! # Ok::<(), oauth_store_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Features
//! - `bridge` (default): the host bridge, [`bridge`]. Adds `serde_json`, `sha2` and
//!   `getrandom`, which the core crate uses already.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;

#[cfg(feature = "bridge")]
#[cfg_attr(docsrs, doc(cfg(feature = "bridge")))]
pub mod bridge;

pub use error::Error;

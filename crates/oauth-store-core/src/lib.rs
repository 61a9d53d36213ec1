//! The core of oauth-store: what a token set is, what a store of them must do, and how one is
//! sealed at rest.
//!
//! This crate has no I/O of its own. It defines:
//!
//! - [`TokenSet`]: an OAuth token set whose unknown fields survive a round trip and whose
//!   secrets never appear in `Debug` output;
//! - [`EntryKey`]: the validated name a token set is stored under;
//! - [`Backend`]: the small async trait every store implements, with conditional writes
//!   ([`Precondition`]), TTLs and [`Capabilities`] as data; conveniences live in
//!   [`BackendExt`];
//! - [`Error`]: one typed error for every backend;
//! - [`envelope`] and [`key_material`]: the versioned AES-256-GCM envelope (v2, plus the v1
//!   format of harn-vm 0.8) and the keys that open it;
//! - [`MemoryBackend`]: an in-process store, and [`mock::MockBackend`], one with error
//!   injection for testing callers;
//! - [`layer`]: wrappers such as namespacing and tracing;
//! - `conformance` (feature `conformance`): the checks every backend must pass.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! use oauth_store_core::{Backend, BackendExt, EntryKey, MemoryBackend, PutOptions, TokenSet};
//!
//! let store = MemoryBackend::new();
//! let key = EntryKey::new("github")?;
//! let rev = store.put(&key, &TokenSet::new("at-1"), PutOptions::if_absent()).await?;
//!
//! // A refresh: write only if nobody else refreshed since we read.
//! let refreshed = TokenSet::new("at-2").with_refresh_token("rt-2");
//! store.put(&key, &refreshed, PutOptions::if_revision(rev.clone())).await?;
//! // A second writer still holding the old revision loses, instead of burning a token.
//! let lost = store.put(&key, &TokenSet::new("at-x"), PutOptions::if_revision(rev)).await;
//! assert!(lost.unwrap_err().is_conflict());
//! assert_eq!(store.get_token(&key).await?.unwrap().access_token.expose(), "at-2");
//! # Ok::<(), oauth_store_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Features
//! - `conformance`: the public conformance suite, for backend authors' tests.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
pub mod clock;
mod entry_key;
pub mod envelope;
mod error;
pub mod key_material;
pub mod layer;
mod memory;
pub mod mock;
mod token;

#[cfg(any(feature = "conformance", test))]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;

pub use backend::{
    Backend, BackendExt, Capabilities, DeleteOptions, DynBackend, Entry, EntryMeta, ListedEntry,
    Precondition, PutOptions, Revision, check_value_size,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use entry_key::{EntryKey, KeyError};
pub use error::{BoxError, Error, Result};
pub use memory::{MemoryBackend, check_precondition};
pub use token::{SecretString, TokenSet, redact_quoted};

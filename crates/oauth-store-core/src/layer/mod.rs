//! Wrappers over backends: namespacing, tracing and caching, stacked like tower layers.
//!
//! A [`Layer`] turns one backend into another that wraps it; the wrapper forwards every
//! [`Backend`] method to the backend inside, adding its own behaviour on the way. Layers stack
//! with [`BackendBuilder`]:
//!
//! ```
//! use oauth_store_core::layer::{BackendBuilder, NamespaceLayer, TracingLayer};
//! use oauth_store_core::{Backend, MemoryBackend};
//!
//! let store = BackendBuilder::new(MemoryBackend::new())
//!     .layer(NamespaceLayer::new("tenant-a")?)
//!     .layer(TracingLayer::new())
//!     .build();
//! // Traced<Namespaced<MemoryBackend>>: calls pass tracing first, then the namespace.
//! assert_eq!(store.name(), "namespaced(tenant-a, memory)");
//! # Ok::<(), oauth_store_core::KeyError>(())
//! ```
//!
//! # Ordering
//! Each `.layer(..)` wraps everything added before it, so the **last layer added is the
//! outermost**: a call passes the layers from last to first on its way to the backend, and
//! its result passes them from first to last on the way back (as with tower's
//! `ServiceBuilder` reversed: there, the first layer added is the outermost).
//!
//! Where a layer sits changes what it sees:
//! - [`TracingLayer`] outside [`NamespaceLayer`] (added after it) traces the keys the caller
//!   used; inside it (added before it), the stored keys with their `<namespace>/` prefix.
//! - A namespace inside another namespace nests: `outer/inner/key`.
//! - [`CacheLayer`] outside [`TracingLayer`] hides cache hits from the traces (only reads that
//!   reach the backend are traced); inside it, every call is traced, hit or not.
//!
//! # Writing a layer
//! A wrapper implements every method of [`Backend`], even those with a default, so nothing is
//! silently skipped: the wrappers here carry `#[deny(clippy::missing_trait_methods)]` on their
//! `Backend` impls, and every wrapper runs the whole conformance suite in its tests.

mod cache;
mod namespace;
mod trace;

use std::sync::Arc;

use crate::backend::{Backend, DynBackend};

pub use cache::{CacheLayer, Cached};
pub use namespace::{NamespaceLayer, Namespaced};
pub use trace::{Traced, TracingLayer};

/// Something that wraps a backend in another backend (tower's `Layer`, for backends).
pub trait Layer<B> {
    /// The wrapped backend.
    type Backend: Backend;

    /// Wraps `inner`.
    fn layer(&self, inner: B) -> Self::Backend;
}

impl<B, L: Layer<B>> Layer<B> for &L {
    type Backend = L::Backend;

    fn layer(&self, inner: B) -> Self::Backend {
        (**self).layer(inner)
    }
}

/// Stacks layers over a backend; see the [module docs](self) for the order they apply in.
#[derive(Debug, Clone)]
pub struct BackendBuilder<B> {
    backend: B,
}

impl<B: Backend> BackendBuilder<B> {
    /// Starts from `backend`.
    pub fn new(backend: B) -> Self {
        Self { backend }
    }

    /// Wraps the backend built so far in `layer`, which becomes the outermost layer.
    #[must_use]
    pub fn layer<L: Layer<B>>(self, layer: L) -> BackendBuilder<L::Backend> {
        BackendBuilder {
            backend: layer.layer(self.backend),
        }
    }

    /// The stacked backend.
    pub fn build(self) -> B {
        self.backend
    }

    /// The stacked backend as a shared trait object.
    pub fn build_dyn(self) -> Arc<DynBackend> {
        Arc::new(self.backend)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::backend::BackendExt;
    use crate::clock::ManualClock;
    use crate::conformance::{self, Config};
    use crate::entry_key::EntryKey;
    use crate::memory::MemoryBackend;
    use crate::mock::MockBackend;
    use crate::token::TokenSet;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stacked_layers_pass_conformance() {
        let clock = ManualClock::new();
        let config = Config::new().with_clock(clock.clone());
        let store = BackendBuilder::new(MockBackend::with_clock(Arc::new(clock)))
            .layer(NamespaceLayer::new("outer").unwrap())
            .layer(TracingLayer::new())
            .layer(&NamespaceLayer::new("inner").unwrap())
            .build_dyn();
        assert_eq!(
            store.name(),
            "namespaced(inner, namespaced(outer, mock))",
            "the last layer added is the outermost"
        );
        conformance::run_all(&*store, &config).await;
        conformance::concurrent_conditional_increments_spawned(store, &config).await;
    }

    #[tokio::test]
    async fn later_layers_see_the_callers_keys() {
        let memory = MemoryBackend::new();
        let store = BackendBuilder::new(memory.clone())
            .layer(NamespaceLayer::new("a").unwrap())
            .layer(NamespaceLayer::new("b").unwrap())
            .build();
        let key = EntryKey::new("k").unwrap();
        store.put_token(&key, &TokenSet::new("at")).await.unwrap();
        let stored: Vec<String> = memory
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.key.into_string())
            .collect();
        assert_eq!(
            stored,
            ["a/b/k"],
            "the first layer added is nearest the backend"
        );
    }
}

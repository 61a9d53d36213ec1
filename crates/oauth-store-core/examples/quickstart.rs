//! Stores a token set in the memory backend, seals the store's contents in an envelope v2,
//! opens it again, and prints what happened at each step (never a token value).
//!
//! Run with `cargo run -p oauth-store-core --example quickstart`.

use oauth_store_core::envelope::{self, OpenOptions, SealOptions};
use oauth_store_core::key_material::{KeyRing, SecretKey};
use oauth_store_core::{Backend, EntryKey, MemoryBackend, PutOptions, TokenSet};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let store = MemoryBackend::new();
    let key = EntryKey::new("github/alice")?;
    let token = TokenSet::new("gho_example_access_token")
        .with_refresh_token("ghr_example_refresh_token")
        .with_token_type("Bearer")
        .with_scopes(["repo", "read:user"]);

    let rev = store.put(&key, &token, PutOptions::if_absent()).await?;
    println!("stored {key} in the memory backend at revision {rev}");

    let read = store.get(&key).await?.ok_or("the entry vanished")?;
    println!(
        "read {key} back: revision {}, token {:?}",
        read.meta.revision, read.token
    );

    let refreshed = token
        .clone()
        .with_refresh_token("ghr_rotated_refresh_token");
    let rev2 = store
        .put(&key, &refreshed, PutOptions::if_revision(rev.clone()))
        .await?;
    println!("refreshed {key} conditionally: revision {rev} -> {rev2}");
    let stale = store.put(&key, &token, PutOptions::if_revision(rev)).await;
    match stale {
        Err(e) if e.is_conflict() => println!("a second writer with a stale revision lost: {e}"),
        other => return Err(format!("expected a conflict, got {other:?}").into()),
    }

    let ring = KeyRing::new(SecretKey::generate());
    let plaintext = serde_json::to_vec(&read.token)?;
    let sealed = envelope::seal(
        &ring,
        &plaintext,
        &SealOptions::v2().context(b"github/alice"),
    )?;
    println!(
        "sealed the token set into a {}-byte envelope v2 with key id {}",
        sealed.len(),
        ring.primary()
            .key_id()
            .map(|id| id.to_string())
            .unwrap_or_default()
    );

    let opened = envelope::open(
        &ring,
        &sealed,
        &OpenOptions::new("quickstart").context(b"github/alice"),
    )?;
    let back: TokenSet = serde_json::from_slice(&opened.plaintext)?;
    assert_eq!(back, read.token);
    println!("opened the envelope: the token set round-tripped intact");

    let moved = envelope::open(
        &ring,
        &sealed,
        &OpenOptions::new("quickstart").context(b"github/mallory"),
    );
    println!(
        "opening it under another entry's context fails: {}",
        moved.expect_err("context is bound")
    );
    Ok(())
}

//! The README's example, compiled and run against a temporary file.
#![cfg(feature = "file")]

use oauth_store::key_material::{KeyRing, SecretKey};
use oauth_store::{BackendExt, EntryKey, PutOptions, StoreUrl, TokenSet};

#[tokio::test]
async fn readme_example_runs() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let url = StoreUrl::from_file_path(dir.path().join("tokens.json"))?.to_string();
    let keys = KeyRing::new(SecretKey::new(b"a high-entropy application key".to_vec())?);
    let store = oauth_store::open(&url, Some(keys))?;

    let key = EntryKey::new("github")?;
    store
        .put(&key, &TokenSet::new("gho_example"), PutOptions::if_absent())
        .await?;
    let token = store.get_token(&key).await?.expect("stored");
    assert_eq!(token.access_token.expose(), "gho_example");
    Ok(())
}

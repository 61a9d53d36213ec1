//! Helpers shared by this crate's integration tests (each test binary uses a subset).
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use oauth_store_core::EntryKey;
use oauth_store_core::key_material::{KeyRing, SecretKey};

/// The secret of [`ring`]; tests that decrypt a file independently derive from it.
pub const SECRET: &[u8] = b"file backend test secret, not a real one";

/// A key ring holding [`SECRET`].
pub fn ring() -> KeyRing {
    KeyRing::new(SecretKey::new(SECRET.to_vec()).unwrap())
}

/// An entry key known to be valid.
pub fn key(s: &str) -> EntryKey {
    EntryKey::new(s).unwrap()
}

/// The writers' temporary files in `dir`, sorted.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".tmp-"))
        .collect();
    found.sort();
    found
}

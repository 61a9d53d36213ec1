//! Vaults and keychains for oauth-store: closure-based custom backends, and later the OS
//! keychain and HashiCorp Vault / OpenBao KV v2, each behind its own feature.
//!
//! (Being written.)

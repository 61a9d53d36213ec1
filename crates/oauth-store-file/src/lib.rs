//! The encrypted file backend of oauth-store, the embedded default: one envelope file holding
//! every token set, safe under many processes, crashes and bad files.
//!
//! (Being written.)

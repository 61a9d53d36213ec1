//! The sealed envelope: versioned AES-256-GCM encryption of a store's plaintext.
//! (Being written: see docs/FORMAT.md.)

/// What is wrong with a sealed envelope.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The data is not a JSON envelope.
    #[error("not a JSON envelope: {0}")]
    NotJson(String),
}

//! The sealed envelope: versioned AES-256-GCM encryption of a store's plaintext.
//!
//! An envelope is a small JSON document holding a ciphertext and everything needed to open it
//! again except the key. Two versions exist (the exact byte layout is in `docs/FORMAT.md`):
//!
//! - **v2**, written by default: a fresh random 16-byte salt per envelope, a key id so a
//!   [`KeyRing`] can hold several keys, a passphrase mode (Argon2id, with its cost parameters
//!   recorded and bounded on read), and a header that is authenticated as a whole together with
//!   a caller-chosen *context* (for example namespace and entry key), so a ciphertext moved to
//!   another row, tenant or file does not open;
//! - **v1**, the format of harn-vm 0.8 (`std/oauth/storage`), read bit for bit and written on
//!   request for interoperability. It has no salt, no key id and no context.
//!
//! [`seal`] encrypts with the ring's primary key; [`open`] finds the right key (by key id for
//! v2; by trying each key for v1) and reports whether it was the primary, so callers can seal
//! again after a key rotation. Every malformed input gives a typed [`Error`], never a panic;
//! input is bounded by [`OpenOptions::max_len`] before it is parsed, the parser holds little
//! more than the input's size, and the Argon2 cost a file may ask for is bounded.
//!
//! # Example
//!
//! ```
//! use oauth_store_core::envelope::{open, seal, OpenOptions, SealOptions, Version};
//! use oauth_store_core::key_material::{KeyRing, SecretKey};
//! use oauth_store_core::Error;
//!
//! let old = SecretKey::generate();
//! let ring = KeyRing::new(old.clone());
//! let context = b"tenant-a/github";
//! let sealed = seal(&ring, br#"{"access_token":"at"}"#, &SealOptions::v2().context(context))?;
//!
//! // Opening needs the same context.
//! let opened = open(&ring, &sealed, &OpenOptions::new("row 42").context(context))?;
//! assert_eq!(opened.plaintext.as_slice(), br#"{"access_token":"at"}"#);
//! assert_eq!(opened.header.version(), Version::V2);
//! let moved = open(&ring, &sealed, &OpenOptions::new("row 43").context(b"tenant-b/github"));
//! assert!(matches!(moved, Err(Error::Corrupt { .. })));
//!
//! // Rotation: a new primary still opens data sealed with the old key, and says so.
//! let rotated = KeyRing::new(SecretKey::generate()).with_previous(old);
//! let opened = open(&rotated, &sealed, &OpenOptions::new("row 42").context(context))?;
//! assert!(!opened.by_primary);
//! let resealed = seal(
//!     &rotated,
//!     &opened.plaintext,
//!     &SealOptions::v2().context(context).reuse_salt_of(&opened.header),
//! )?;
//! assert!(open(&rotated, &resealed, &OpenOptions::new("row 42").context(context))?.by_primary);
//! # Ok::<(), Error>(())
//! ```

mod json;

use std::fmt;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use zeroize::Zeroizing;

use self::json::Value;
use crate::error::{Error, Result};
use crate::key_material::{
    Argon2Params, Derivation, DerivedKey, KeyId, KeyMaterialError, KeyRing, V1_INFO,
};

/// The only AEAD algorithm: AES-256-GCM, as named in the v2 `alg` field.
pub const ALG_A256GCM: &str = "A256GCM";
/// Name of the HKDF-SHA256 KDF in the v2 `kdf.name` field.
pub const KDF_HKDF_SHA256: &str = "hkdf-sha256";
/// Name of the Argon2id (version 0x13) KDF in the v2 `kdf.name` field.
pub const KDF_ARGON2ID: &str = "argon2id";
/// Domain-separation label that starts the v2 additional authenticated data.
const V2_AAD_LABEL: &[u8] = b"oauth-store envelope v2";
/// Length of a v2 salt in bytes.
pub const SALT_LEN: usize = 16;
/// Length of an AES-GCM nonce in bytes.
pub const NONCE_LEN: usize = 12;
/// Length of an AES-GCM authentication tag in bytes.
pub const TAG_LEN: usize = 16;
/// Longest field name quoted in an error (longer ones are cut).
const MAX_QUOTED_NAME: usize = 64;

/// What is wrong with a sealed envelope.
///
/// Carried by [`Error::Corrupt`] together with the location of the data. No variant holds key
/// material or plaintext; strings quoted from the input (field names, algorithm names) are cut
/// to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The data is not JSON (a syntax error, or trailing data after the document).
    #[error("not a JSON envelope: {0}")]
    NotJson(String),
    /// An object has more members than any envelope has (more than 32); its content was
    /// skipped unread.
    #[error("too many members{} (an envelope has at most 7)", in_field(.field))]
    TooManyMembers {
        /// Which object (empty for the document itself, `kdf` for the KDF object).
        field: String,
    },
    /// The data is JSON but not an object (or the `kdf` member is not an object).
    #[error("expected a JSON object{}, found {found}", in_field(.field))]
    NotAnObject {
        /// Which member should have been an object (empty for the document itself).
        field: String,
        /// What was found instead.
        found: &'static str,
    },
    /// The `version` is not one this crate reads (1 or 2).
    #[error("unknown envelope version {0} (this version of oauth-store reads 1 and 2)")]
    UnknownVersion(u64),
    /// A required field is missing.
    #[error("missing field `{0}`")]
    MissingField(String),
    /// A field appears more than once.
    #[error("duplicate field `{0}`")]
    DuplicateField(String),
    /// A field this version of the format does not have.
    #[error("unknown field `{0}`")]
    UnknownField(String),
    /// A field has the wrong JSON type.
    #[error("field `{field}` must be {expected}, found {found}")]
    WrongType {
        /// The field.
        field: String,
        /// What it must be.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// A field is not canonical unpadded standard base64.
    #[error("field `{field}` is not unpadded standard base64")]
    BadBase64 {
        /// The field.
        field: &'static str,
    },
    /// The nonce does not have 12 bytes.
    #[error("nonce must be 12 bytes, found {found}")]
    NonceLength {
        /// Its length in bytes.
        found: usize,
    },
    /// The salt does not have 16 bytes.
    #[error("salt must be 16 bytes, found {found}")]
    SaltLength {
        /// Its length in bytes.
        found: usize,
    },
    /// The key id is not 16 lowercase hex characters.
    #[error("field `kid` must be 16 lowercase hex characters")]
    BadKeyId,
    /// The `alg` is not `A256GCM`.
    #[error("unknown algorithm {0:?} (expected \"A256GCM\")")]
    UnknownAlgorithm(String),
    /// The `kdf.name` is not `hkdf-sha256` or `argon2id`.
    #[error("unknown KDF {0:?} (expected \"hkdf-sha256\" or \"argon2id\")")]
    UnknownKdf(String),
    /// Argon2 parameters outside the accepted bounds (a crafted file cannot demand more).
    #[error("KDF parameters out of bounds: {0}")]
    KdfParamsOutOfBounds(KeyMaterialError),
    /// The ciphertext is shorter than the 16-byte authentication tag.
    #[error("ciphertext too short: {len} bytes, at least 16 (the tag) are needed")]
    CiphertextTooShort {
        /// Its length in bytes.
        len: usize,
    },
    /// The key was identified but the authentication tag does not match: the ciphertext,
    /// the header or the context was changed.
    #[error("authentication failed: the data, its header or its context was changed")]
    AuthenticationFailed,
    /// A v1 envelope was found where data bound to a context was expected. v1 cannot bind a
    /// context, so accepting it would let anyone holding an old v1 blob substitute it.
    #[error("a v1 envelope cannot be bound to a context, but a context was required")]
    ContextNotSupported,
    /// The envelope opened, but the plaintext inside is not what its user expects (for a
    /// store file: not a valid store document). Says what is wrong, never the plaintext.
    #[error("invalid plaintext: {0}")]
    Plaintext(String),
}

fn in_field(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!(" in field `{field}`")
    }
}

fn quote(name: &str) -> String {
    name.chars().take(MAX_QUOTED_NAME).collect()
}

/// An envelope format version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// The harn-vm 0.8 format: unsalted HKDF, constant AAD, no key id.
    V1,
    /// This crate's format: salt, key id, Argon2id for passphrases, authenticated header and
    /// context.
    V2,
}

impl Version {
    /// The number written in the `version` field.
    #[must_use]
    pub fn number(self) -> u32 {
        match self {
            Self::V1 => 1,
            Self::V2 => 2,
        }
    }
}

/// How the data key was derived from the key material.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kdf {
    /// HKDF-SHA256 over a secret key (unsalted in v1, salted in v2).
    HkdfSha256,
    /// Argon2id (version 0x13) over a passphrase, then HKDF-SHA256 (v2 only).
    Argon2id(Argon2Params),
}

impl Kdf {
    /// The name written in the v2 `kdf.name` field.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::HkdfSha256 => KDF_HKDF_SHA256,
            Self::Argon2id(_) => KDF_ARGON2ID,
        }
    }
}

/// The authenticated header of an envelope: everything but the ciphertext.
///
/// Obtained from [`Opened::header`]; pass it to [`SealOptions::reuse_salt_of`] to keep a file's
/// salt when writing it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    version: Version,
    kdf: Kdf,
    salt: Option<[u8; SALT_LEN]>,
    key_id: Option<KeyId>,
    nonce: [u8; NONCE_LEN],
}

impl Header {
    /// The format version.
    #[must_use]
    pub fn version(&self) -> Version {
        self.version
    }

    /// The AEAD algorithm: always `"A256GCM"`.
    #[must_use]
    pub fn alg(&self) -> &'static str {
        ALG_A256GCM
    }

    /// How the data key is derived (v1: [`Kdf::HkdfSha256`] without salt).
    #[must_use]
    pub fn kdf(&self) -> Kdf {
        self.kdf
    }

    /// The 16-byte salt (v2), or `None` (v1).
    #[must_use]
    pub fn salt(&self) -> Option<&[u8; SALT_LEN]> {
        self.salt.as_ref()
    }

    /// The key id (v2), or `None` (v1 has none).
    #[must_use]
    pub fn key_id(&self) -> Option<KeyId> {
        self.key_id
    }

    /// The 12-byte AES-GCM nonce.
    #[must_use]
    pub fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }
}

/// How to [`seal`]: which version, which context, and whether to keep an existing salt.
#[derive(Clone, Copy, Debug)]
pub struct SealOptions<'a> {
    /// The format to write ([`Version::V2`] unless interoperability with harn-vm 0.8 is needed).
    pub version: Version,
    /// Extra data the ciphertext is bound to (v2 only; must be empty for v1). Not stored:
    /// [`open`] must be given the same bytes.
    pub context: &'a [u8],
    /// A header whose salt the new envelope keeps (v2 only; ignored if it has no salt).
    pub reuse: Option<&'a Header>,
}

impl<'a> SealOptions<'a> {
    /// Version 2, no context, a fresh salt.
    #[must_use]
    pub fn v2() -> Self {
        Self {
            version: Version::V2,
            context: &[],
            reuse: None,
        }
    }

    /// Version 1 (harn-vm 0.8), for interoperability. Sealing v1 with a context is an error.
    #[must_use]
    pub fn v1() -> Self {
        Self {
            version: Version::V1,
            ..Self::v2()
        }
    }

    /// Binds the ciphertext to `context` (v2 only).
    #[must_use]
    pub fn context(mut self, context: &'a [u8]) -> Self {
        self.context = context;
        self
    }

    /// Keeps the salt of `header` (the envelope being replaced), so a file keeps one salt and
    /// a passphrase is stretched once per salt, not on every write. A v1 header has no salt:
    /// a fresh one is used.
    #[must_use]
    pub fn reuse_salt_of(mut self, header: &'a Header) -> Self {
        self.reuse = Some(header);
        self
    }
}

impl Default for SealOptions<'_> {
    fn default() -> Self {
        Self::v2()
    }
}

/// How to [`open`]: where the data came from (for errors), its context, and a size bound.
#[derive(Clone, Copy, Debug)]
pub struct OpenOptions<'a> {
    /// Where the data came from (a file path, a row, a secret name), quoted in errors.
    pub location: &'a str,
    /// The context the envelope was sealed with (empty if none). A v1 envelope has no context:
    /// opening one with a non-empty context fails with [`FormatError::ContextNotSupported`].
    pub context: &'a [u8],
    /// Larger input is refused with [`Error::TooLarge`] before it is parsed.
    pub max_len: usize,
}

impl<'a> OpenOptions<'a> {
    /// The default [`max_len`](Self::max_len): 64 MiB.
    pub const DEFAULT_MAX_LEN: usize = 64 * 1024 * 1024;

    /// Options for data from `location`, with no context and the default size bound.
    #[must_use]
    pub fn new(location: &'a str) -> Self {
        Self {
            location,
            context: &[],
            max_len: Self::DEFAULT_MAX_LEN,
        }
    }

    /// Expects the envelope to be bound to `context`.
    #[must_use]
    pub fn context(mut self, context: &'a [u8]) -> Self {
        self.context = context;
        self
    }

    /// Refuses input longer than `max_len` bytes.
    #[must_use]
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }
}

/// An opened envelope.
pub struct Opened {
    /// The plaintext, zeroized on drop.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The envelope's header (pass it to [`SealOptions::reuse_salt_of`] when writing back).
    pub header: Header,
    /// `false` if an older key of the ring opened it: the caller should seal the data again
    /// (with the primary) to complete a key rotation.
    pub by_primary: bool,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field(
                "plaintext",
                &format_args!("<{} bytes>", self.plaintext.len()),
            )
            .field("header", &self.header)
            .field("by_primary", &self.by_primary)
            .finish()
    }
}

/// Seals `plaintext` with the primary key of `ring`, returning the whole envelope (the bytes of
/// a file or blob).
///
/// v2 uses a fresh random salt (or the one of [`SealOptions::reuse`]) and always a fresh random
/// nonce. v1 refuses a non-empty context with [`Error::Unsupported`].
pub fn seal(ring: &KeyRing, plaintext: &[u8], options: &SealOptions<'_>) -> Result<Vec<u8>> {
    let nonce: [u8; NONCE_LEN] = random()?;
    let salt = match (options.version, options.reuse.and_then(Header::salt)) {
        (Version::V1, _) => [0; SALT_LEN], // unused
        (Version::V2, Some(salt)) => *salt,
        (Version::V2, None) => random()?,
    };
    seal_with(ring, plaintext, options, salt, nonce)
}

/// [`seal`] with the salt (v2 only) and nonce given: deterministic, for known-answer tests.
fn seal_with(
    ring: &KeyRing,
    plaintext: &[u8],
    options: &SealOptions<'_>,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>> {
    match options.version {
        Version::V1 => {
            if !options.context.is_empty() {
                return Err(Error::unsupported("envelope v1", "binding a context"));
            }
            let key = derive(ring, 0, Derivation::V1)?.ok_or_else(no_primary)?;
            let ciphertext = encrypt(&key.key, &nonce, V1_INFO, plaintext)?;
            Ok(format!(
                r#"{{"version":1,"nonce":"{}","ciphertext":"{}"}}"#,
                STANDARD_NO_PAD.encode(nonce),
                STANDARD_NO_PAD.encode(ciphertext)
            )
            .into_bytes())
        }
        Version::V2 => {
            let kdf = ring.primary().sealing_kdf();
            let key = derive(ring, 0, Derivation::V2 { kdf, salt })?.ok_or_else(no_primary)?;
            let key_id = key.key_id.ok_or_else(no_primary)?;
            let header = Header {
                version: Version::V2,
                kdf,
                salt: Some(salt),
                key_id: Some(key_id),
                nonce,
            };
            let aad = v2_aad(&header, options.context);
            let ciphertext = encrypt(&key.key, &nonce, &aad, plaintext)?;
            let kdf_json = match kdf {
                Kdf::HkdfSha256 => format!(r#"{{"name":"{KDF_HKDF_SHA256}"}}"#),
                Kdf::Argon2id(p) => format!(
                    r#"{{"name":"{KDF_ARGON2ID}","m_kib":{},"t":{},"p":{}}}"#,
                    p.m_kib, p.t, p.p
                ),
            };
            Ok(format!(
                r#"{{"version":2,"alg":"{ALG_A256GCM}","kdf":{kdf_json},"kid":"{key_id}","salt":"{}","nonce":"{}","ciphertext":"{}"}}"#,
                STANDARD_NO_PAD.encode(salt),
                STANDARD_NO_PAD.encode(nonce),
                STANDARD_NO_PAD.encode(ciphertext)
            )
            .into_bytes())
        }
    }
}

/// Opens an envelope written by [`seal`] (v2) or by harn-vm 0.8 (v1).
///
/// Errors: [`Error::TooLarge`] if `sealed` is longer than [`OpenOptions::max_len`] (checked
/// before parsing); [`Error::Corrupt`] with a [`FormatError`] for anything malformed, and for
/// a v2 envelope whose key is in the ring but whose tag does not verify (tampered data, header
/// or context); [`Error::WrongKey`] if no key of the ring has the v2 envelope's key id, or no
/// key opens a v1 envelope (v1 cannot tell a wrong key from tampering).
pub fn open(ring: &KeyRing, sealed: &[u8], options: &OpenOptions<'_>) -> Result<Opened> {
    if sealed.len() > options.max_len {
        return Err(Error::TooLarge {
            location: options.location.to_owned(),
            size: sealed.len() as u64,
            limit: options.max_len as u64,
        });
    }
    let corrupt = |source| Error::corrupt(options.location, source);
    let Parsed { header, ciphertext } = parse(sealed).map_err(corrupt)?;
    match header.version {
        Version::V1 => {
            if !options.context.is_empty() {
                return Err(corrupt(FormatError::ContextNotSupported));
            }
            for index in 0..ring.len() {
                let Some(key) = derive(ring, index, Derivation::V1)? else {
                    continue;
                };
                if let Some(plaintext) = decrypt(&key.key, &header.nonce, V1_INFO, &ciphertext) {
                    return Ok(Opened {
                        plaintext,
                        header,
                        by_primary: index == 0,
                    });
                }
            }
            Err(Error::WrongKey {
                location: options.location.to_owned(),
                reason: format!(
                    "none of the {} key(s) opens this v1 envelope (v1 has no key id, so a wrong \
                     key cannot be told apart from tampered data)",
                    ring.len()
                ),
            })
        }
        Version::V2 => {
            // The v2 parser always sets both; this guards without panicking.
            let (Some(salt), Some(key_id)) = (header.salt, header.key_id) else {
                return Err(corrupt(FormatError::MissingField("salt".into())));
            };
            let derivation = Derivation::V2 {
                kdf: header.kdf,
                salt,
            };
            let aad = v2_aad(&header, options.context);
            let mut identified = false;
            for (index, material) in ring.keys().iter().enumerate() {
                // A secret's key id needs no derivation: skip the others before deriving, so
                // they neither cost time nor push useful keys out of the cache.
                if material.key_id().is_some_and(|id| id != key_id) {
                    continue;
                }
                let Some(key) = derive(ring, index, derivation)? else {
                    continue;
                };
                if key.key_id != Some(key_id) {
                    continue;
                }
                identified = true;
                if let Some(plaintext) = decrypt(&key.key, &header.nonce, &aad, &ciphertext) {
                    return Ok(Opened {
                        plaintext,
                        header,
                        by_primary: index == 0,
                    });
                }
            }
            if identified {
                Err(corrupt(FormatError::AuthenticationFailed))
            } else {
                Err(Error::WrongKey {
                    location: options.location.to_owned(),
                    reason: format!(
                        "no key in the ring has key id {key_id} (kdf {})",
                        header.kdf.name()
                    ),
                })
            }
        }
    }
}

fn no_primary() -> Error {
    // Unreachable: every key material yields a key for the KDF it seals with.
    Error::backend(
        "envelope",
        false,
        "the primary key cannot derive its own data key",
    )
}

fn derive(ring: &KeyRing, index: usize, derivation: Derivation) -> Result<Option<DerivedKey>> {
    ring.derive(index, derivation)
        .map_err(|e| Error::backend("argon2", false, format!("key derivation failed: {e}")))
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::getrandom(&mut out).map_err(|e| {
        Error::backend(
            "envelope",
            false,
            format!("random number generator failed: {e}"),
        )
    })?;
    Ok(out)
}

fn encrypt(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    // Room for the tag up front, so the plaintext copy is never reallocated (and left behind).
    let mut buffer = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
    buffer.extend_from_slice(plaintext);
    cipher
        .encrypt_in_place(Nonce::from_slice(nonce), aad, &mut *buffer)
        .map_err(|_| {
            Error::backend(
                "envelope",
                false,
                "AES-GCM refused the plaintext (too long)",
            )
        })?;
    Ok(buffer)
}

fn decrypt(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place(Nonce::from_slice(nonce), aad, &mut *buffer)
        .ok()?;
    Some(buffer)
}

/// The v2 additional authenticated data: each item as an 8-byte big-endian length and its
/// bytes, in this order: label, version, alg, kdf name, kdf parameters, salt, key id, context.
fn v2_aad(header: &Header, context: &[u8]) -> Vec<u8> {
    fn item(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    let mut params = Vec::with_capacity(12);
    if let Kdf::Argon2id(p) = header.kdf {
        params.extend_from_slice(&p.m_kib.to_be_bytes());
        params.extend_from_slice(&p.t.to_be_bytes());
        params.extend_from_slice(&p.p.to_be_bytes());
    }
    let mut out = Vec::with_capacity(128 + context.len());
    item(&mut out, V2_AAD_LABEL);
    item(&mut out, &header.version.number().to_be_bytes());
    item(&mut out, ALG_A256GCM.as_bytes());
    item(&mut out, header.kdf.name().as_bytes());
    item(&mut out, &params);
    item(&mut out, header.salt.as_ref().map_or(&[][..], |s| &s[..]));
    item(
        &mut out,
        header
            .key_id
            .as_ref()
            .map_or(&[][..], |k| &k.as_bytes()[..]),
    );
    item(&mut out, context);
    out
}

/// The members of a JSON object, without duplicates.
struct Members {
    prefix: &'static str,
    members: Vec<(String, Value)>,
}

impl Members {
    /// Rejects duplicate names (whatever the names).
    fn new(prefix: &'static str, members: Vec<(String, Value)>) -> Result<Self, FormatError> {
        // A set, not pairwise comparison: a crafted object may have millions of members.
        let mut seen = std::collections::HashSet::with_capacity(members.len());
        if let Some((name, _)) = members.iter().find(|(name, _)| !seen.insert(name.as_str())) {
            return Err(FormatError::DuplicateField(format!(
                "{prefix}{}",
                quote(name)
            )));
        }
        Ok(Self { prefix, members })
    }

    /// Rejects names not in `allowed`.
    fn deny_unknown(&self, allowed: &[&str]) -> Result<(), FormatError> {
        match self
            .members
            .iter()
            .find(|(n, _)| !allowed.contains(&n.as_str()))
        {
            Some((name, _)) => Err(FormatError::UnknownField(format!(
                "{}{}",
                self.prefix,
                quote(name)
            ))),
            None => Ok(()),
        }
    }

    fn take(&mut self, name: &'static str) -> Result<Value, FormatError> {
        let at = self
            .members
            .iter()
            .position(|(n, _)| n == name)
            .ok_or_else(|| FormatError::MissingField(format!("{}{name}", self.prefix)))?;
        Ok(self.members.remove(at).1)
    }

    fn string(&mut self, name: &'static str) -> Result<String, FormatError> {
        match self.take(name)? {
            Value::Str(s) => Ok(s),
            other => Err(self.wrong_type(name, "a string", &other)),
        }
    }

    fn uint(&mut self, name: &'static str) -> Result<u64, FormatError> {
        match self.take(name)? {
            Value::UInt(n) => Ok(n),
            other => Err(self.wrong_type(name, "a non-negative integer", &other)),
        }
    }

    fn base64(&mut self, name: &'static str) -> Result<Vec<u8>, FormatError> {
        let text = self.string(name)?;
        STANDARD_NO_PAD
            .decode(text.as_bytes())
            .map_err(|_| FormatError::BadBase64 { field: name })
    }

    fn wrong_type(&self, name: &str, expected: &'static str, found: &Value) -> FormatError {
        FormatError::WrongType {
            field: format!("{}{name}", self.prefix),
            expected,
            found: found.kind(),
        }
    }
}

const V1_FIELDS: &[&str] = &["version", "nonce", "ciphertext"];
const V2_FIELDS: &[&str] = &[
    "version",
    "alg",
    "kdf",
    "kid",
    "salt",
    "nonce",
    "ciphertext",
];
const HKDF_FIELDS: &[&str] = &["name"];
const ARGON2ID_FIELDS: &[&str] = &["name", "m_kib", "t", "p"];

/// A parsed envelope: its header and ciphertext (tag included).
struct Parsed {
    header: Header,
    ciphertext: Vec<u8>,
}

/// Parses and validates an envelope's JSON, without touching any key.
///
/// Checks run in this order, and the first failure is reported: JSON syntax; the document is
/// an object of at most 32 members; no duplicate field; `version` present, an integer, 1 or 2; no field unknown to
/// that version; then each field in the order of [`V1_FIELDS`] / [`V2_FIELDS`].
fn parse(sealed: &[u8]) -> Result<Parsed, FormatError> {
    // serde_json's messages name line and column, never the content.
    let document: Value =
        serde_json::from_slice(sealed).map_err(|e| FormatError::NotJson(e.to_string()))?;
    let members = match document {
        Value::Obj(members) => members,
        Value::LargeObj => {
            return Err(FormatError::TooManyMembers {
                field: String::new(),
            });
        }
        other => {
            return Err(FormatError::NotAnObject {
                field: String::new(),
                found: other.kind(),
            });
        }
    };
    let mut fields = Members::new("", members)?;
    let version = match fields.uint("version")? {
        1 => Version::V1,
        2 => Version::V2,
        other => return Err(FormatError::UnknownVersion(other)),
    };
    match version {
        Version::V1 => {
            fields.deny_unknown(V1_FIELDS)?;
            let nonce = nonce(&mut fields)?;
            let ciphertext = ciphertext(&mut fields)?;
            Ok(Parsed {
                header: Header {
                    version,
                    kdf: Kdf::HkdfSha256,
                    salt: None,
                    key_id: None,
                    nonce,
                },
                ciphertext,
            })
        }
        Version::V2 => {
            fields.deny_unknown(V2_FIELDS)?;
            let alg = fields.string("alg")?;
            if alg != ALG_A256GCM {
                return Err(FormatError::UnknownAlgorithm(quote(&alg)));
            }
            let kdf = kdf(fields.take("kdf")?)?;
            let key_id = fields
                .string("kid")?
                .parse::<KeyId>()
                .map_err(|_| FormatError::BadKeyId)?;
            let salt = fields.base64("salt")?;
            let salt = <[u8; SALT_LEN]>::try_from(salt.as_slice())
                .map_err(|_| FormatError::SaltLength { found: salt.len() })?;
            let nonce = nonce(&mut fields)?;
            let ciphertext = ciphertext(&mut fields)?;
            Ok(Parsed {
                header: Header {
                    version,
                    kdf,
                    salt: Some(salt),
                    key_id: Some(key_id),
                    nonce,
                },
                ciphertext,
            })
        }
    }
}

fn nonce(fields: &mut Members) -> Result<[u8; NONCE_LEN], FormatError> {
    let nonce = fields.base64("nonce")?;
    <[u8; NONCE_LEN]>::try_from(nonce.as_slice())
        .map_err(|_| FormatError::NonceLength { found: nonce.len() })
}

fn ciphertext(fields: &mut Members) -> Result<Vec<u8>, FormatError> {
    let ciphertext = fields.base64("ciphertext")?;
    if ciphertext.len() < TAG_LEN {
        return Err(FormatError::CiphertextTooShort {
            len: ciphertext.len(),
        });
    }
    Ok(ciphertext)
}

fn kdf(value: Value) -> Result<Kdf, FormatError> {
    let members = match value {
        Value::Obj(members) => members,
        Value::LargeObj => {
            return Err(FormatError::TooManyMembers {
                field: "kdf".into(),
            });
        }
        other => {
            return Err(FormatError::NotAnObject {
                field: "kdf".into(),
                found: other.kind(),
            });
        }
    };
    let mut fields = Members::new("kdf.", members)?;
    let name = fields.string("name")?;
    match name.as_str() {
        KDF_HKDF_SHA256 => {
            fields.deny_unknown(HKDF_FIELDS)?;
            Ok(Kdf::HkdfSha256)
        }
        KDF_ARGON2ID => {
            fields.deny_unknown(ARGON2ID_FIELDS)?;
            let m_kib = fields.uint("m_kib")?;
            let t = fields.uint("t")?;
            let p = fields.uint("p")?;
            Argon2Params::check(m_kib, t, p)
                .map(Kdf::Argon2id)
                .map_err(FormatError::KdfParamsOutOfBounds)
        }
        _ => Err(FormatError::UnknownKdf(quote(&name))),
    }
}

#[cfg(test)]
mod tests;

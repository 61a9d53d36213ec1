//! Key material: the secrets and passphrases that open an [`envelope`](crate::envelope), and the
//! key ring that holds several of them for rotation.
//!
//! There are two kinds of key:
//!
//! - a [`SecretKey`]: high-entropy bytes (a random 32-byte key, or the secret string harn-vm 0.8
//!   was configured with). It is turned into a data key with HKDF-SHA256 only, which is cheap;
//! - a [`Passphrase`]: something a person types. It is first stretched with Argon2id using the
//!   [`Argon2Params`] it carries (recorded in every envelope it seals), then fed to the same HKDF
//!   step.
//!
//! A [`KeyRing`] holds a primary key, used to seal, and any number of older keys, tried when
//! opening. Opening with an older key succeeds and tells the caller so, so the data can be sealed
//! again with the primary (rotation). The ring caches derived keys (the last 16), so opening and
//! sealing the same file again does not run Argon2 again.
//!
//! Argon2 runs once per envelope salt. That suits a passphrase protecting a file (one salt,
//! kept across rewrites), not per-entry sealing in a database where every row has its own
//! salt: use a [`SecretKey`] there, for which deriving a key is a cheap HKDF.
//!
//! Every secret here is zeroized when dropped and printed as `******` (or not at all) by `Debug`.
//!
//! # Example
//!
//! ```
//! use oauth_store_core::key_material::{Argon2Params, KeyRing, Passphrase, SecretKey};
//!
//! let old = SecretKey::new(b"the secret harn-vm was configured with".to_vec())?;
//! let new = Passphrase::new("correct horse battery staple")?
//!     .with_params(Argon2Params { m_kib: 64, t: 1, p: 1 })?;
//! let ring = KeyRing::new(new).with_previous(old.clone());
//! assert_eq!(ring.len(), 2);
//! // Key ids are public fingerprints: safe to log, never the key itself.
//! assert_eq!(old.key_id().to_string().len(), 16);
//! assert!(!format!("{ring:?}").contains("horse"));
//! # Ok::<(), oauth_store_core::key_material::KeyMaterialError>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::envelope::Kdf;

/// HKDF `info` of the v1 format (harn-vm 0.8): the data key is
/// `HKDF-SHA256(salt = none, ikm = secret, info = this)`.
pub(crate) const V1_INFO: &[u8] = b"harn-oauth-storage-v1";
/// HKDF `info` for the v2 data key.
pub(crate) const V2_DATA_KEY_INFO: &[u8] = b"oauth-store v2 data key";
/// HKDF `info` for v2 key ids.
pub(crate) const V2_KEY_ID_INFO: &[u8] = b"oauth-store v2 key id";

/// How many derived keys a [`KeyRing`] keeps in its cache.
const CACHE_CAPACITY: usize = 16;

/// What is wrong with key material given to this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyMaterialError {
    /// A secret key must have at least one byte.
    #[error("a secret key must not be empty")]
    EmptySecret,
    /// A passphrase must have at least one character.
    #[error("a passphrase must not be empty")]
    EmptyPassphrase,
    /// Argon2 parameters outside the bounds this crate accepts (see [`Argon2Params::validate`]).
    #[error(
        "Argon2 parameters out of bounds: m_kib = {m_kib}, t = {t}, p = {p} (allowed: {min_p} <= p <= {max_p}, \
         {min_t} <= t <= {max_t}, 8 * p <= m_kib <= {max_m})",
        min_p = Argon2Params::MIN_P,
        max_p = Argon2Params::MAX_P,
        min_t = Argon2Params::MIN_T,
        max_t = Argon2Params::MAX_T,
        max_m = Argon2Params::MAX_M_KIB
    )]
    ParamsOutOfBounds {
        /// Memory cost in KiB, as given.
        m_kib: u64,
        /// Time cost (passes), as given.
        t: u64,
        /// Parallelism (lanes), as given.
        p: u64,
    },
    /// A key id is written as exactly 16 lowercase hexadecimal characters.
    #[error("a key id is 16 lowercase hex characters")]
    InvalidKeyId,
}

/// Cost parameters of Argon2id (version 0x13), recorded in every envelope a passphrase seals.
///
/// The default (`m_kib = 19456`, `t = 2`, `p = 1`) is OWASP's recommended minimum for Argon2id.
/// Because an envelope carries its own parameters, the bounds checked by
/// [`validate`](Self::validate) are what stops a crafted file from demanding gigabytes of memory
/// or minutes of work: at most 256 MiB, 16 passes and 16 lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Argon2Params {
    /// Memory cost in KiB (at least `8 * p`, at most [`MAX_M_KIB`](Self::MAX_M_KIB)).
    pub m_kib: u32,
    /// Time cost: number of passes (1 to [`MAX_T`](Self::MAX_T)).
    pub t: u32,
    /// Parallelism: number of lanes (1 to [`MAX_P`](Self::MAX_P)).
    pub p: u32,
}

impl Argon2Params {
    /// Largest accepted memory cost: 262 144 KiB (256 MiB).
    pub const MAX_M_KIB: u32 = 262_144;
    /// Smallest accepted time cost.
    pub const MIN_T: u32 = 1;
    /// Largest accepted time cost.
    pub const MAX_T: u32 = 16;
    /// Smallest accepted parallelism.
    pub const MIN_P: u32 = 1;
    /// Largest accepted parallelism.
    pub const MAX_P: u32 = 16;

    /// Checks the parameters against the bounds: `1 <= p <= 16`, `1 <= t <= 16` and
    /// `8 * p <= m_kib <= 262144` (Argon2 itself requires `m_kib >= 8 * p`).
    pub fn validate(&self) -> Result<(), KeyMaterialError> {
        Self::check(u64::from(self.m_kib), u64::from(self.t), u64::from(self.p)).map(|_| ())
    }

    /// Checks parameters read from untrusted input, before they are narrowed to `u32`.
    pub(crate) fn check(m_kib: u64, t: u64, p: u64) -> Result<Self, KeyMaterialError> {
        let in_bounds = (u64::from(Self::MIN_P)..=u64::from(Self::MAX_P)).contains(&p)
            && (u64::from(Self::MIN_T)..=u64::from(Self::MAX_T)).contains(&t)
            && (8 * p..=u64::from(Self::MAX_M_KIB)).contains(&m_kib);
        match (u32::try_from(m_kib), u32::try_from(t), u32::try_from(p)) {
            (Ok(m_kib), Ok(t), Ok(p)) if in_bounds => Ok(Self { m_kib, t, p }),
            _ => Err(KeyMaterialError::ParamsOutOfBounds { m_kib, t, p }),
        }
    }
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            m_kib: 19_456,
            t: 2,
            p: 1,
        }
    }
}

/// The public fingerprint of a key, written into v2 envelopes so a [`KeyRing`] knows which of
/// its keys to use.
///
/// Shown (by `Display`, `Debug` and in envelopes) as 16 lowercase hex characters. It reveals
/// nothing about the key beyond allowing a guess to be checked, which for a high-entropy key is
/// of no use; see `docs/FORMAT.md` for how it is computed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 8]);

impl KeyId {
    /// A key id from its 8 bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 8]) -> Self {
        Self(bytes)
    }

    /// The key id of input keying material: the first 8 bytes of
    /// `HKDF-SHA256(salt = none, ikm, info = "oauth-store v2 key id")`.
    pub(crate) fn of_ikm(ikm: &[u8]) -> Self {
        let mut out = [0u8; 8];
        hkdf_expand(None, ikm, V2_KEY_ID_INFO, &mut out);
        Self(out)
    }

    /// The 8 bytes of the id.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for KeyId {
    type Err = KeyMaterialError;

    /// Parses exactly 16 lowercase hex characters (the form written into envelopes).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        fn nibble(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            }
        }
        let bytes = s.as_bytes();
        if bytes.len() != 16 {
            return Err(KeyMaterialError::InvalidKeyId);
        }
        let mut out = [0u8; 8];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let (Some(hi), Some(lo)) = (nibble(pair[0]), nibble(pair[1])) else {
                return Err(KeyMaterialError::InvalidKeyId);
            };
            out[i] = (hi << 4) | lo;
        }
        Ok(Self(out))
    }
}

/// High-entropy secret bytes (any non-empty bytes, like the secret harn-vm 0.8 was given).
///
/// Zeroized on drop; `Debug` shows only the key id.
#[derive(Clone)]
pub struct SecretKey {
    bytes: Zeroizing<Vec<u8>>,
    key_id: KeyId,
}

impl SecretKey {
    /// Wraps secret bytes. They must not be empty.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, KeyMaterialError> {
        let bytes = Zeroizing::new(bytes.into());
        if bytes.is_empty() {
            return Err(KeyMaterialError::EmptySecret);
        }
        let key_id = KeyId::of_ikm(&bytes);
        Ok(Self { bytes, key_id })
    }

    /// A new random 32-byte key from the operating system's random number generator.
    ///
    /// # Panics
    /// If the operating system cannot provide random bytes (there is no safe key to return).
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; 32]);
        getrandom::getrandom(&mut bytes)
            .expect("the operating system's random number generator failed");
        let key_id = KeyId::of_ikm(&bytes);
        Self { bytes, key_id }
    }

    /// The secret bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// The key id: derived from the secret alone, so the same secret always has the same id.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A passphrase a person types, stretched with Argon2id before use.
///
/// Zeroized on drop; `Debug` shows only the Argon2 parameters. Its key id depends on the salt
/// of each envelope (it is computed from the stretched key), so it has no fixed key id.
#[derive(Clone)]
pub struct Passphrase {
    phrase: Zeroizing<String>,
    params: Argon2Params,
}

impl Passphrase {
    /// Wraps a passphrase, with the default [`Argon2Params`]. It must not be empty.
    pub fn new(phrase: impl Into<String>) -> Result<Self, KeyMaterialError> {
        let phrase = Zeroizing::new(phrase.into());
        if phrase.is_empty() {
            return Err(KeyMaterialError::EmptyPassphrase);
        }
        Ok(Self {
            phrase,
            params: Argon2Params::default(),
        })
    }

    /// Uses these Argon2 parameters when sealing (opening uses the parameters recorded in the
    /// envelope). Fails if they are out of bounds.
    pub fn with_params(mut self, params: Argon2Params) -> Result<Self, KeyMaterialError> {
        params.validate()?;
        self.params = params;
        Ok(self)
    }

    /// The Argon2 parameters used when sealing.
    #[must_use]
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// The passphrase.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.phrase
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passphrase")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// One key of a [`KeyRing`]: a secret or a passphrase.
#[derive(Clone, Debug)]
pub enum KeyMaterial {
    /// High-entropy secret bytes.
    Secret(SecretKey),
    /// A passphrase, stretched with Argon2id.
    Passphrase(Passphrase),
}

impl KeyMaterial {
    /// The fixed key id of a secret key; `None` for a passphrase, whose key id depends on the
    /// envelope's salt.
    #[must_use]
    pub fn key_id(&self) -> Option<KeyId> {
        match self {
            Self::Secret(s) => Some(s.key_id()),
            Self::Passphrase(_) => None,
        }
    }

    /// `"secret"` or `"passphrase"`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Secret(_) => "secret",
            Self::Passphrase(_) => "passphrase",
        }
    }

    /// The KDF this key seals with.
    pub(crate) fn sealing_kdf(&self) -> Kdf {
        match self {
            Self::Secret(_) => Kdf::HkdfSha256,
            Self::Passphrase(p) => Kdf::Argon2id(p.params),
        }
    }
}

impl From<SecretKey> for KeyMaterial {
    fn from(key: SecretKey) -> Self {
        Self::Secret(key)
    }
}

impl From<Passphrase> for KeyMaterial {
    fn from(phrase: Passphrase) -> Self {
        Self::Passphrase(phrase)
    }
}

/// Which data key to derive from a key of the ring.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Derivation {
    /// The v1 key: `HKDF-SHA256(salt = none, ikm = secret bytes or passphrase UTF-8, info = v1)`.
    V1,
    /// A v2 data key for this KDF and salt.
    V2 { kdf: Kdf, salt: [u8; 16] },
}

/// A derived data key and, for v2, the key id the envelope records for it.
#[derive(Clone)]
pub(crate) struct DerivedKey {
    pub(crate) key: Zeroizing<[u8; 32]>,
    pub(crate) key_id: Option<KeyId>,
}

struct CacheEntry {
    index: usize,
    derivation: Derivation,
    derived: DerivedKey,
}

struct Inner {
    keys: Vec<KeyMaterial>,
    /// Derived keys, oldest first; at most [`CACHE_CAPACITY`] entries. Zeroized on drop.
    cache: Mutex<Vec<CacheEntry>>,
}

/// A primary key, used to seal, and older keys, also tried when opening.
///
/// Cheap to clone (the keys and the cache of derived keys are shared), `Send` and `Sync`.
/// `Debug` shows the kind and key id of each key, never the key.
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<Inner>,
}

impl KeyRing {
    /// A ring with one key, the primary.
    pub fn new(primary: impl Into<KeyMaterial>) -> Self {
        Self::from_keys(vec![primary.into()])
    }

    /// Adds an older key, tried (after the keys already in the ring) when opening. Opening
    /// with it reports `by_primary == false`, so the caller can seal again with the primary.
    #[must_use]
    pub fn with_previous(self, older: impl Into<KeyMaterial>) -> Self {
        let mut keys = self.inner.keys.clone();
        keys.push(older.into());
        Self::from_keys(keys)
    }

    fn from_keys(keys: Vec<KeyMaterial>) -> Self {
        Self {
            inner: Arc::new(Inner {
                keys,
                cache: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The key used to seal.
    #[must_use]
    pub fn primary(&self) -> &KeyMaterial {
        &self.inner.keys[0]
    }

    /// All keys, primary first.
    #[must_use]
    pub fn keys(&self) -> &[KeyMaterial] {
        &self.inner.keys
    }

    /// How many keys the ring holds (at least one).
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.keys.len()
    }

    /// Always `false`: a ring has a primary key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.keys.is_empty()
    }

    /// The data key of key `index` for `derivation`, from the cache or freshly derived.
    /// `None` if that key cannot produce it (a secret for an Argon2id envelope, or the reverse).
    pub(crate) fn derive(
        &self,
        index: usize,
        derivation: Derivation,
    ) -> Result<Option<DerivedKey>, argon2::Error> {
        let Some(material) = self.inner.keys.get(index) else {
            return Ok(None);
        };
        {
            let cache = self
                .inner
                .cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(hit) = cache
                .iter()
                .find(|e| e.index == index && e.derivation == derivation)
            {
                return Ok(Some(hit.derived.clone()));
            }
        }
        // Derive without holding the lock: Argon2 may take a while.
        let Some(derived) = derive_key(material, derivation)? else {
            return Ok(None);
        };
        let mut cache = self
            .inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !cache
            .iter()
            .any(|e| e.index == index && e.derivation == derivation)
        {
            if cache.len() >= CACHE_CAPACITY {
                cache.remove(0);
            }
            cache.push(CacheEntry {
                index,
                derivation,
                derived: derived.clone(),
            });
        }
        Ok(Some(derived))
    }

    /// How many derived keys are cached (for tests).
    #[cfg(test)]
    pub(crate) fn cached(&self) -> usize {
        self.inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Keys<'a>(&'a [KeyMaterial]);
        impl fmt::Debug for Keys<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut list = f.debug_list();
                for key in self.0 {
                    match key {
                        KeyMaterial::Secret(s) => {
                            list.entry(&format_args!("secret {}", s.key_id()))
                        }
                        KeyMaterial::Passphrase(p) => list.entry(&format_args!(
                            "passphrase (argon2id m_kib={} t={} p={})",
                            p.params.m_kib, p.params.t, p.params.p
                        )),
                    };
                }
                list.finish()
            }
        }
        f.debug_struct("KeyRing")
            .field("keys", &Keys(&self.inner.keys))
            .finish_non_exhaustive()
    }
}

/// `HKDF-SHA256(salt, ikm, info)` expanded into `out` (at most 255 * 32 bytes, always true here).
pub(crate) fn hkdf_expand(salt: Option<&[u8]>, ikm: &[u8], info: &[u8], out: &mut [u8]) {
    Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, out)
        .expect("HKDF output of at most 32 bytes is always valid");
}

fn derive_key(
    material: &KeyMaterial,
    derivation: Derivation,
) -> Result<Option<DerivedKey>, argon2::Error> {
    let mut key = Zeroizing::new([0u8; 32]);
    match (derivation, material) {
        (Derivation::V1, KeyMaterial::Secret(s)) => {
            hkdf_expand(None, s.expose(), V1_INFO, key.as_mut());
            Ok(Some(DerivedKey { key, key_id: None }))
        }
        (Derivation::V1, KeyMaterial::Passphrase(p)) => {
            hkdf_expand(None, p.expose().as_bytes(), V1_INFO, key.as_mut());
            Ok(Some(DerivedKey { key, key_id: None }))
        }
        (
            Derivation::V2 {
                kdf: Kdf::HkdfSha256,
                salt,
            },
            KeyMaterial::Secret(s),
        ) => {
            hkdf_expand(Some(&salt), s.expose(), V2_DATA_KEY_INFO, key.as_mut());
            Ok(Some(DerivedKey {
                key,
                key_id: Some(s.key_id()),
            }))
        }
        (
            Derivation::V2 {
                kdf: Kdf::Argon2id(params),
                salt,
            },
            KeyMaterial::Passphrase(p),
        ) => {
            let stretched = stretch(p.expose().as_bytes(), &salt, params)?;
            hkdf_expand(
                Some(&salt),
                stretched.as_ref(),
                V2_DATA_KEY_INFO,
                key.as_mut(),
            );
            Ok(Some(DerivedKey {
                key,
                key_id: Some(KeyId::of_ikm(stretched.as_ref())),
            }))
        }
        (Derivation::V2 { .. }, _) => Ok(None),
    }
}

/// Argon2id (version 0x13) of a passphrase: 32 bytes.
fn stretch(
    phrase: &[u8],
    salt: &[u8],
    params: Argon2Params,
) -> Result<Zeroizing<[u8; 32]>, argon2::Error> {
    let params = argon2::Params::new(params.m_kib, params.t, params.p, Some(32))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon.hash_password_into(phrase, salt, out.as_mut())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_material_is_rejected() {
        assert_eq!(
            SecretKey::new(Vec::new()).unwrap_err(),
            KeyMaterialError::EmptySecret
        );
        assert_eq!(
            Passphrase::new("").unwrap_err(),
            KeyMaterialError::EmptyPassphrase
        );
    }

    #[test]
    fn argon2_bounds() {
        assert!(Argon2Params::default().validate().is_ok());
        assert!(
            Argon2Params {
                m_kib: 64,
                t: 1,
                p: 1
            }
            .validate()
            .is_ok()
        );
        assert!(
            Argon2Params {
                m_kib: 8,
                t: 1,
                p: 1
            }
            .validate()
            .is_ok()
        );
        for bad in [
            Argon2Params {
                m_kib: 7,
                t: 1,
                p: 1,
            },
            Argon2Params {
                m_kib: 15,
                t: 1,
                p: 2,
            },
            Argon2Params {
                m_kib: 262_145,
                t: 1,
                p: 1,
            },
            Argon2Params {
                m_kib: 64,
                t: 0,
                p: 1,
            },
            Argon2Params {
                m_kib: 64,
                t: 17,
                p: 1,
            },
            Argon2Params {
                m_kib: 1024,
                t: 1,
                p: 0,
            },
            Argon2Params {
                m_kib: 1024,
                t: 1,
                p: 17,
            },
        ] {
            assert!(
                matches!(
                    bad.validate(),
                    Err(KeyMaterialError::ParamsOutOfBounds { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(Argon2Params::check(u64::MAX, 1, 1).is_err());
        assert!(
            Passphrase::new("pw")
                .unwrap()
                .with_params(Argon2Params {
                    m_kib: 1,
                    t: 1,
                    p: 1
                })
                .is_err()
        );
    }

    #[test]
    fn key_id_display_and_parse() {
        let id = KeyId([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        assert_eq!(id.to_string(), "0123456789abcdef");
        assert_eq!(format!("{id:?}"), "0123456789abcdef");
        assert_eq!("0123456789abcdef".parse::<KeyId>().unwrap(), id);
        for bad in [
            "",
            "0123456789ABCDEF",
            "0123456789abcde",
            "0123456789abcdef0",
            "0123456789abcdeg",
            "é123456789abcde",
        ] {
            assert_eq!(
                bad.parse::<KeyId>(),
                Err(KeyMaterialError::InvalidKeyId),
                "{bad}"
            );
        }
    }

    #[test]
    fn secret_key_id_depends_on_the_secret_only() {
        let a = SecretKey::new(b"abc".to_vec()).unwrap();
        let b = SecretKey::new(b"abc".to_vec()).unwrap();
        let c = SecretKey::new(b"abd".to_vec()).unwrap();
        assert_eq!(a.key_id(), b.key_id());
        assert_ne!(a.key_id(), c.key_id());
        assert_ne!(
            SecretKey::generate().key_id(),
            SecretKey::generate().key_id()
        );
        assert_eq!(SecretKey::generate().expose().len(), 32);
    }

    #[test]
    fn debug_is_redacted() {
        let secret = SecretKey::new(b"hunter2-secret".to_vec()).unwrap();
        let phrase = Passphrase::new("hunter2-phrase").unwrap();
        let ring = KeyRing::new(secret.clone()).with_previous(phrase.clone());
        for shown in [
            format!("{secret:?}"),
            format!("{phrase:?}"),
            format!("{ring:?}"),
            format!("{:?}", KeyMaterial::from(phrase.clone())),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        let shown = format!("{ring:?}");
        assert!(shown.contains(&secret.key_id().to_string()), "{shown}");
        assert!(shown.contains("passphrase"), "{shown}");
    }

    #[test]
    fn ring_basics_and_cache() {
        let primary = SecretKey::new(b"one".to_vec()).unwrap();
        let ring =
            KeyRing::new(primary.clone()).with_previous(SecretKey::new(b"two".to_vec()).unwrap());
        assert_eq!(ring.len(), 2);
        assert!(!ring.is_empty());
        assert_eq!(ring.primary().key_id(), Some(primary.key_id()));
        let clone = ring.clone();
        let d = Derivation::V2 {
            kdf: Kdf::HkdfSha256,
            salt: [7; 16],
        };
        let k1 = ring.derive(0, d).unwrap().unwrap();
        assert_eq!(clone.cached(), 1, "clones share the cache");
        let k2 = clone.derive(0, d).unwrap().unwrap();
        assert_eq!(*k1.key, *k2.key);
        assert_eq!(ring.cached(), 1);
        // A secret cannot open an Argon2id envelope.
        let argon = Derivation::V2 {
            kdf: Kdf::Argon2id(Argon2Params {
                m_kib: 8,
                t: 1,
                p: 1,
            }),
            salt: [7; 16],
        };
        assert!(ring.derive(0, argon).unwrap().is_none());
        assert!(ring.derive(5, d).unwrap().is_none());
        for i in 0..40u8 {
            ring.derive(
                1,
                Derivation::V2 {
                    kdf: Kdf::HkdfSha256,
                    salt: [i; 16],
                },
            )
            .unwrap();
        }
        assert_eq!(ring.cached(), CACHE_CAPACITY, "the cache is bounded");
    }

    #[test]
    fn public_types_are_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<KeyRing>();
        check::<SecretKey>();
        check::<Passphrase>();
        check::<KeyMaterialError>();
    }
}

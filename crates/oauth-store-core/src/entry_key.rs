//! Entry keys: the names token sets are stored under, validated once, here.
//!
//! An [`EntryKey`] is any UTF-8 string of 1 to [`EntryKey::MAX_LEN`] bytes without control
//! characters. `/`, `..`, spaces and any other printable Unicode are allowed: each backend maps
//! keys onto its own naming rules (escaping, hashing) so that no key can collide with another
//! or traverse out of its place.

use std::borrow::Borrow;
use std::fmt;

/// A rule an entry key (or a namespace) broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is the empty string.
    #[error("an entry key must not be empty")]
    Empty,
    /// The key is longer than the limit.
    #[error("an entry key must be at most {max} bytes, this one is {len}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The key holds a control character.
    #[error("an entry key must not contain control characters; found {found:?} at byte {at}")]
    ControlCharacter {
        /// The character.
        found: char,
        /// Its byte offset.
        at: usize,
    },
    /// A namespace holds the separator character.
    #[error("a namespace must not contain {separator:?}; found one at byte {at}")]
    NamespaceSeparator {
        /// The separator.
        separator: char,
        /// Its byte offset.
        at: usize,
    },
}

/// The validated name of one stored token set.
///
/// ```
/// use oauth_store_core::EntryKey;
///
/// let key = EntryKey::new("github/alice")?;
/// assert_eq!(key.as_str(), "github/alice");
/// assert!(EntryKey::new("").is_err());
/// assert!(EntryKey::new("bad\nkey").is_err());
/// # Ok::<(), oauth_store_core::KeyError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryKey(String);

impl EntryKey {
    /// The longest key, in bytes. Large enough for a 512-byte key inside a namespace.
    pub const MAX_LEN: usize = 1024;

    /// Validates `key`.
    pub fn new(key: impl Into<String>) -> Result<Self, KeyError> {
        let key = key.into();
        validate(&key)?;
        Ok(Self(key))
    }

    /// The key as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as a string, consuming it.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

fn validate(key: &str) -> Result<(), KeyError> {
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    if key.len() > EntryKey::MAX_LEN {
        return Err(KeyError::TooLong {
            len: key.len(),
            max: EntryKey::MAX_LEN,
        });
    }
    if let Some((at, found)) = key.char_indices().find(|(_, c)| c.is_control()) {
        return Err(KeyError::ControlCharacter { found, at });
    }
    Ok(())
}

impl fmt::Debug for EntryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for EntryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EntryKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for EntryKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for EntryKey {
    type Error = KeyError;
    fn try_from(value: &str) -> Result<Self, KeyError> {
        Self::new(value)
    }
}

impl TryFrom<String> for EntryKey {
    type Error = KeyError;
    fn try_from(value: String) -> Result<Self, KeyError> {
        Self::new(value)
    }
}

impl std::str::FromStr for EntryKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::new(s)
    }
}

impl serde::Serialize for EntryKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for EntryKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

/// Checks a namespace name: the rules of an entry key, plus no `separator` inside it, so that
/// two sibling namespaces can never produce the same stored key.
pub(crate) fn validate_namespace(name: &str, separator: char) -> Result<(), KeyError> {
    validate(name)?;
    if let Some(at) = name.find(separator) {
        return Err(KeyError::NamespaceSeparator { separator, at });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_unicode_slashes_and_dots() {
        for k in ["a", "github/alice", "../etc/passwd", "ключ 🔑", " spaced "] {
            assert_eq!(EntryKey::new(k).unwrap().as_str(), k);
        }
    }

    #[test]
    fn rejects_empty_long_and_control() {
        assert_eq!(EntryKey::new(""), Err(KeyError::Empty));
        let long = "x".repeat(EntryKey::MAX_LEN + 1);
        assert_eq!(
            EntryKey::new(long),
            Err(KeyError::TooLong {
                len: EntryKey::MAX_LEN + 1,
                max: EntryKey::MAX_LEN
            })
        );
        assert!(EntryKey::new("x".repeat(EntryKey::MAX_LEN)).is_ok());
        assert_eq!(
            EntryKey::new("ab\u{0}c"),
            Err(KeyError::ControlCharacter { found: '\0', at: 2 })
        );
        assert!(EntryKey::new("a\u{7f}").is_err());
        assert!(EntryKey::new("a\u{85}").is_err());
    }

    #[test]
    fn error_names_the_rule() {
        let e = EntryKey::new("a\tb").unwrap_err();
        assert_eq!(
            e.to_string(),
            "an entry key must not contain control characters; found '\\t' at byte 1"
        );
    }

    #[test]
    fn serde_validates() {
        let k: EntryKey = serde_json::from_str("\"ok\"").unwrap();
        assert_eq!(k.as_str(), "ok");
        assert!(serde_json::from_str::<EntryKey>("\"\"").is_err());
    }

    #[test]
    fn namespace_rejects_separator() {
        assert!(validate_namespace("tenant-a", '/').is_ok());
        assert_eq!(
            validate_namespace("a/b", '/'),
            Err(KeyError::NamespaceSeparator {
                separator: '/',
                at: 1
            })
        );
    }
}

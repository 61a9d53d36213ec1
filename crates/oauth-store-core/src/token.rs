//! Token sets: what an OAuth client keeps between runs.
//!
//! The JSON field names are the ones harn-vm 0.8 writes (`access_token`, `refresh_token`,
//! `expires_at_unix`, …), so files written by either side read the same. Fields this type does
//! not know are kept in [`TokenSet::extra`] and written back unchanged.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// A string that is a secret: zeroized on drop, `"******"` in `Debug` and `Display`.
///
/// Read it with [`SecretString::expose`]; the name makes each use easy to find in review.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(Zeroizing::new(secret.into()))
    }

    /// The secret itself.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"******\"")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("******")
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// One OAuth token set.
///
/// ```
/// use oauth_store_core::TokenSet;
///
/// let json = r#"{"access_token":"at","refresh_token":"rt","expires_at_unix":1700000000,
///                "token_type":"Bearer","scopes":["repo"],"provider_extra":{"x":1}}"#;
/// let token: TokenSet = serde_json::from_str(json)?;
/// assert_eq!(token.access_token.expose(), "at");
/// assert!(token.extra.contains_key("provider_extra"));
/// // Debug never shows a secret.
/// assert!(!format!("{token:?}").contains("\"at\""));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenSet {
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token, when the provider issued one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<SecretString>,
    /// The token type, usually `Bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// When the access token expires, in seconds since the Unix epoch.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_i64"
    )]
    pub expires_at_unix: Option<i64>,
    /// When the token set was issued, in seconds since the Unix epoch.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_i64"
    )]
    pub issued_at_unix: Option<i64>,
    /// The lifetime the provider announced, in seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_i64"
    )]
    pub expires_in: Option<i64>,
    /// Granted scopes. A space-separated string (the OAuth wire form) is accepted on input.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "scopes_list_or_string"
    )]
    pub scopes: Option<Vec<String>>,
    /// The `OpenID` Connect ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<SecretString>,
    /// Application metadata kept with the token set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Every other field, kept as it was read and written back unchanged.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl TokenSet {
    /// A token set holding only an access token.
    pub fn new(access_token: impl Into<SecretString>) -> Self {
        Self {
            access_token: access_token.into(),
            ..Self::default()
        }
    }

    /// Sets the refresh token.
    #[must_use]
    pub fn with_refresh_token(mut self, token: impl Into<SecretString>) -> Self {
        self.refresh_token = Some(token.into());
        self
    }

    /// Sets the expiry, in seconds since the Unix epoch.
    #[must_use]
    pub fn with_expires_at_unix(mut self, at: i64) -> Self {
        self.expires_at_unix = Some(at);
        self
    }

    /// Sets the token type.
    #[must_use]
    pub fn with_token_type(mut self, token_type: impl Into<String>) -> Self {
        self.token_type = Some(token_type.into());
        self
    }

    /// Sets the scopes.
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The access token's expiry as a time, from `expires_at_unix`, else `issued_at_unix +
    /// expires_in`. `None` when the token set does not say.
    #[must_use]
    pub fn expires_at(&self) -> Option<SystemTime> {
        let secs = self.expires_at_unix.or_else(|| {
            self.issued_at_unix
                .zip(self.expires_in)
                .and_then(|(i, e)| i.checked_add(e))
        })?;
        Some(unix_to_system_time(secs))
    }

    /// Whether the access token is expired at `now`, counting it expired `skew` early so a
    /// caller refreshes before a request can fail. A token set that does not say when it
    /// expires is never expired.
    #[must_use]
    pub fn is_expired_at(&self, now: SystemTime, skew: Duration) -> bool {
        match self.expires_at() {
            Some(at) => now.checked_add(skew).is_none_or(|n| n >= at),
            None => false,
        }
    }

    /// [`TokenSet::is_expired_at`] with the system clock.
    #[must_use]
    pub fn is_expired(&self, skew: Duration) -> bool {
        self.is_expired_at(SystemTime::now(), skew)
    }
}

/// The message of a JSON (or other serde) error with every double-quoted string replaced by
/// `"…"`. Serde quotes the offending value when a string appears where it does not belong, and
/// in a token set that value may be a secret; backends use this before putting a parser's
/// message into an error.
///
/// ```
/// use oauth_store_core::redact_quoted;
/// assert_eq!(redact_quoted(r#"invalid type: string "s3cr\"et", expected i64"#),
///            r#"invalid type: string "…", expected i64"#);
/// ```
#[must_use]
pub fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        out.push_str("\"…\"");
        let mut escaped = false;
        for c in chars.by_ref() {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => break,
                _ => escaped = false,
            }
        }
    }
    out
}

fn unix_to_system_time(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Metadata and unknown fields may hold secrets a provider sent: show their names only.
        let names =
            |m: &serde_json::Map<String, serde_json::Value>| m.keys().cloned().collect::<Vec<_>>();
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("token_type", &self.token_type)
            .field("expires_at_unix", &self.expires_at_unix)
            .field("issued_at_unix", &self.issued_at_unix)
            .field("expires_in", &self.expires_in)
            .field("scopes", &self.scopes)
            .field("id_token", &self.id_token)
            .field("metadata_fields", &self.metadata.as_ref().map(names))
            .field("extra_fields", &names(&self.extra))
            .finish()
    }
}

/// Accepts an integer, or a float with no fractional part (a scripting runtime may write
/// `1700000000.0`); anything else is an error naming the value.
fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<serde_json::Number>::deserialize(d)?;
    let Some(n) = v else { return Ok(None) };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    if let Some(f) = n.as_f64() {
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        if f.fract() == 0.0 && f >= i64::MIN as f64 && f <= i64::MAX as f64 {
            return Ok(Some(f as i64));
        }
    }
    Err(serde::de::Error::custom(format!(
        "expected a whole number of seconds, found {n}"
    )))
}

fn scopes_list_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scopes {
        List(Vec<String>),
        Spaced(String),
    }
    Ok(Option::<Scopes>::deserialize(d)?.map(|s| match s {
        Scopes::List(l) => l,
        Scopes::Spaced(s) => s.split_whitespace().map(str::to_owned).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_round_trip() {
        let json = r#"{"access_token":"a","weird":[1,{"b":null}],"metadata":{"m":true},"expires_in":3600}"#;
        let t: TokenSet = serde_json::from_str(json).unwrap();
        let back: serde_json::Value = serde_json::to_value(&t).unwrap();
        let orig: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn debug_redacts_every_secret() {
        let mut t = TokenSet::new("ACCESS-SECRET")
            .with_refresh_token("REFRESH-SECRET")
            .with_scopes(["repo"]);
        t.id_token = Some("ID-SECRET".into());
        t.extra
            .insert("client_secret".into(), "EXTRA-SECRET".into());
        let mut m = serde_json::Map::new();
        m.insert("note".into(), "META-SECRET".into());
        t.metadata = Some(m);
        let dbg = format!("{t:?} {t:#?}");
        for s in [
            "ACCESS-SECRET",
            "REFRESH-SECRET",
            "ID-SECRET",
            "EXTRA-SECRET",
            "META-SECRET",
        ] {
            assert!(!dbg.contains(s), "{s} leaked into {dbg}");
        }
        assert!(dbg.contains("client_secret"), "field names stay visible");
        assert_eq!(format!("{}", t.access_token), "******");
    }

    #[test]
    fn expiry_with_skew() {
        let t = TokenSet::new("a").with_expires_at_unix(1_000);
        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        assert!(!t.is_expired_at(at(900), Duration::from_secs(60)));
        assert!(t.is_expired_at(at(950), Duration::from_secs(60)));
        assert!(t.is_expired_at(at(1_000), Duration::ZERO));
        let mut t2 = TokenSet::new("a");
        assert!(!t2.is_expired_at(at(u64::from(u32::MAX)), Duration::ZERO));
        t2.issued_at_unix = Some(100);
        t2.expires_in = Some(50);
        assert_eq!(t2.expires_at(), Some(at(150)));
    }

    #[test]
    fn lenient_numbers_and_scopes() {
        let t: TokenSet =
            serde_json::from_str(r#"{"access_token":"a","expires_at_unix":5.0,"scopes":"a b  c"}"#)
                .unwrap();
        assert_eq!(t.expires_at_unix, Some(5));
        assert_eq!(t.scopes.unwrap(), ["a", "b", "c"]);
        let e = serde_json::from_str::<TokenSet>(r#"{"access_token":"a","expires_in":1.5}"#)
            .unwrap_err();
        assert!(e.to_string().contains("whole number"), "{e}");
    }

    #[test]
    fn redact_quoted_hides_every_quoted_value() {
        assert_eq!(redact_quoted(r#"a "b\"c" d "e""#), r#"a "…" d "…""#);
        let e = serde_json::from_str::<TokenSet>(r#"{"access_token":"a","expires_in":"SECRET"}"#)
            .unwrap_err();
        let msg = redact_quoted(&e.to_string());
        assert!(!msg.contains("SECRET"), "{msg}");
    }

    #[test]
    fn access_token_is_required() {
        let e = serde_json::from_str::<TokenSet>(r#"{"refresh_token":"r"}"#).unwrap_err();
        assert!(e.to_string().contains("access_token"), "{e}");
    }
}

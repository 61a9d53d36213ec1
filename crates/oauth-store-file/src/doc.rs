//! The plaintext inside the envelope: the map of entries, in the v1 shape and the v2 shape.
//!
//! See `docs/FILE-BACKEND.md` ("Plaintext schema") for the specification; in short:
//!
//! - **v1** (inside a v1 envelope, readable by harn-vm 0.8): a JSON object
//!   `{"<entry key>": {"token": {…}, "ttl_seconds": n?, "revision": n?, "expires_at_ms": n?,
//!   "updated_at_ms": n?}}`. harn-vm reads `token` and `ttl_seconds` and ignores the rest.
//! - **v2**: `{"schema": "oauth-store-file/2", "revision": n, "entries": {<same as v1>}}`,
//!   where `revision` is the store-wide write counter.
//!
//! Entry keys appear once; a duplicated key is corruption, not "last one wins".

use std::collections::BTreeMap;
use std::fmt;

use oauth_store_core::TokenSet;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use zeroize::Zeroizing;

/// The `schema` value of a v2 plaintext.
pub(crate) const SCHEMA_V2: &str = "oauth-store-file/2";

/// The largest revision this crate generates at random (2^53, so every JSON reader keeps it
/// exact).
pub(crate) const MAX_RANDOM_REVISION: u64 = 1 << 53;

/// The decrypted store: all entries and the store-wide write counter.
#[derive(Clone, Default)]
pub(crate) struct StoreDoc {
    /// The store-wide write counter (v2); for a v1 plaintext, the largest entry revision.
    pub(crate) revision: u64,
    /// Entries by their key as stored (a key harn-vm wrote may not be a valid `EntryKey`).
    pub(crate) entries: BTreeMap<String, StoredEntry>,
}

impl fmt::Debug for StoreDoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreDoc")
            .field("revision", &self.revision)
            .field("entries", &self.entries.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// One stored entry.
#[derive(Clone)]
pub(crate) struct StoredEntry {
    pub(crate) token: StoredToken,
    /// The TTL the entry was written with, as harn-vm stores it (informational).
    pub(crate) ttl_seconds: Option<i64>,
    /// The entry's revision; for entries without one (written by harn-vm), a hash of the
    /// content, so it is stable across reads.
    pub(crate) revision: u64,
    /// Whether `revision` was stored (false: derived from the content).
    pub(crate) revision_stored: bool,
    /// When the entry expires, in Unix milliseconds.
    pub(crate) expires_at_ms: Option<u64>,
    /// When the entry was last written, in Unix milliseconds.
    pub(crate) updated_at_ms: Option<u64>,
}

/// A stored token set, as the JSON text it was written as (zeroized on drop).
///
/// It is parsed into a [`TokenSet`] only when asked for, so loading a store of N entries
/// costs one scan of the text rather than N token sets, and writing it back copies the text.
/// A value that is not a valid token set (a harn-vm program may store any dict) is kept
/// verbatim and reported as invalid when read.
#[derive(Clone)]
pub(crate) struct StoredToken(Zeroizing<String>);

impl StoredToken {
    /// The JSON of `token`.
    pub(crate) fn new(token: &TokenSet) -> Self {
        // Serializing a token set (string keys, JSON values) cannot fail.
        Self(Zeroizing::new(
            serde_json::to_string(token).expect("a token set always serializes"),
        ))
    }

    /// Parses the token set; the error says what is wrong without quoting values.
    pub(crate) fn parse(&self) -> Result<TokenSet, String> {
        serde_json::from_str(&self.0).map_err(|e| redact(&e.to_string()))
    }

    /// The JSON text.
    pub(crate) fn json(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for StoredEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token: only what may be logged.
        f.debug_struct("StoredEntry")
            .field(
                "token",
                &format_args!("<{} bytes>", self.token.json().len()),
            )
            .field("ttl_seconds", &self.ttl_seconds)
            .field("revision", &self.revision)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("updated_at_ms", &self.updated_at_ms)
            .finish_non_exhaustive()
    }
}

impl StoredEntry {
    /// Whether the entry is expired at `now_ms`.
    pub(crate) fn is_expired_at(&self, now_ms: u64) -> bool {
        self.expires_at_ms.is_some_and(|at| now_ms >= at)
    }
}

/// What is wrong with a plaintext.
pub(crate) type DocError = String;

/// Which plaintext shape to read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    V1,
    V2,
}

// ---------------------------------------------------------------------------------------------
// Reading

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry<'a> {
    #[serde(borrow)]
    token: &'a RawValue,
    #[serde(default)]
    ttl_seconds: Option<i64>,
    #[serde(default)]
    revision: Option<u64>,
    #[serde(default)]
    expires_at_ms: Option<u64>,
    #[serde(default)]
    updated_at_ms: Option<u64>,
}

/// An entries map that rejects duplicate keys.
struct Entries<'a>(BTreeMap<String, RawEntry<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'a>, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    if out.contains_key(&key) {
                        return Err(de::Error::custom(format_args!(
                            "entry key {key:?} appears twice"
                        )));
                    }
                    let raw: &'a RawValue = map.next_value()?;
                    // Only a JSON object is an entry (serde would also take an array).
                    if !raw.get().starts_with('{') {
                        return Err(de::Error::custom(format_args!(
                            "entry {key:?} is not a JSON object"
                        )));
                    }
                    let value: RawEntry<'a> = serde_json::from_str(raw.get()).map_err(|e| {
                        de::Error::custom(format_args!("entry {key:?}: {}", redact(&e.to_string())))
                    })?;
                    out.insert(key, value);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawV2<'a> {
    #[serde(borrow)]
    schema: std::borrow::Cow<'a, str>,
    revision: u64,
    #[serde(borrow)]
    entries: Entries<'a>,
}

/// Parses a plaintext of the given shape. An empty plaintext is an empty store.
pub(crate) fn parse(plaintext: &[u8], shape: Shape) -> Result<StoreDoc, DocError> {
    if plaintext.iter().all(u8::is_ascii_whitespace) {
        return Ok(StoreDoc::default());
    }
    let (store_revision, raw) = match shape {
        Shape::V1 => {
            let Entries(raw) = serde_json::from_slice(plaintext)
                .map_err(|e| format!("the v1 plaintext is not a map of entries: {e}"))?;
            (None, raw)
        }
        Shape::V2 => {
            let doc: RawV2<'_> = serde_json::from_slice(plaintext)
                .map_err(|e| format!("the v2 plaintext is not a store document: {e}"))?;
            if doc.schema != SCHEMA_V2 {
                return Err(format!(
                    "unknown plaintext schema {:?}, expected {SCHEMA_V2:?}",
                    doc.schema
                ));
            }
            (Some(doc.revision), doc.entries.0)
        }
    };
    let mut entries = BTreeMap::new();
    let mut max_revision = 0;
    for (key, raw) in raw {
        let (revision, revision_stored) = match raw.revision {
            Some(r) => (r, true),
            None => (content_revision(raw.token.get(), raw.ttl_seconds), false),
        };
        if revision_stored {
            max_revision = max_revision.max(revision);
        }
        let token = StoredToken(Zeroizing::new(raw.token.get().to_owned()));
        entries.insert(
            key,
            StoredEntry {
                token,
                ttl_seconds: raw.ttl_seconds,
                revision,
                revision_stored,
                expires_at_ms: raw.expires_at_ms,
                updated_at_ms: raw.updated_at_ms,
            },
        );
    }
    let revision = match store_revision {
        Some(r) if r < max_revision => {
            return Err(format!(
                "the store revision {r} is below an entry revision {max_revision}"
            ));
        }
        Some(r) => r,
        None => max_revision,
    };
    Ok(StoreDoc { revision, entries })
}

/// Removes double-quoted values from a serde error message: serde quotes the offending
/// string (`invalid type: string "…"`), which could be a token. Field names (in backticks)
/// stay.
pub(crate) fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_quotes = false;
    let mut escaped = false;
    for c in message.chars() {
        if in_quotes {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => {
                    in_quotes = false;
                    out.push_str("\"…\"");
                }
                _ => escaped = false,
            }
        } else if c == '"' {
            in_quotes = true;
        } else {
            out.push(c);
        }
    }
    if in_quotes {
        out.push_str("\"…");
    }
    out
}

/// A stable revision for an entry written without one (by harn-vm): FNV-1a over its
/// canonical JSON, kept below 2^53 and never 0.
fn content_revision(token_json: &str, ttl: Option<i64>) -> u64 {
    let ttl = ttl.map_or_else(String::new, |t| t.to_string());
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in token_json.bytes().chain([0]).chain(ttl.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % (MAX_RANDOM_REVISION - 1)) + 1
}

// ---------------------------------------------------------------------------------------------
// Writing

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // Writing a string into a Vec cannot fail.
    serde_json::to_writer(&mut *out, s).expect("writing JSON into memory cannot fail");
}

fn push_field(out: &mut Vec<u8>, name: &str, value: impl fmt::Display) {
    use std::io::Write as _;
    // Writing into a Vec cannot fail.
    let _ = write!(out, ",\"{name}\":{value}");
}

fn push_entries(out: &mut Vec<u8>, entries: &BTreeMap<String, StoredEntry>) {
    out.push(b'{');
    for (i, (key, e)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_str(out, key);
        out.extend_from_slice(b":{\"token\":");
        out.extend_from_slice(e.token.json().as_bytes());
        if let Some(ttl) = e.ttl_seconds {
            push_field(out, "ttl_seconds", ttl);
        }
        if e.revision_stored {
            push_field(out, "revision", e.revision);
        }
        if let Some(at) = e.expires_at_ms {
            push_field(out, "expires_at_ms", at);
        }
        if let Some(at) = e.updated_at_ms {
            push_field(out, "updated_at_ms", at);
        }
        out.push(b'}');
    }
    out.push(b'}');
}

/// Serializes a store in the given shape, into a buffer that is zeroized when dropped and
/// sized up front so it is never reallocated (which would leave copies behind).
pub(crate) fn serialize(doc: &StoreDoc, shape: Shape) -> Zeroizing<Vec<u8>> {
    let size: usize = doc
        .entries
        .iter()
        .map(|(k, e)| k.len() * 6 + e.token.json().len() + 160)
        .sum::<usize>()
        + 96;
    let mut out = Zeroizing::new(Vec::with_capacity(size));
    match shape {
        Shape::V1 => push_entries(&mut out, &doc.entries),
        Shape::V2 => {
            out.extend_from_slice(b"{\"schema\":");
            push_json_str(&mut out, SCHEMA_V2);
            push_field(&mut out, "revision", doc.revision);
            out.extend_from_slice(b",\"entries\":");
            push_entries(&mut out, &doc.entries);
            out.push(b'}');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn entry(at: &str, revision: u64) -> StoredEntry {
        StoredEntry {
            token: StoredToken::new(&TokenSet::new(at)),
            ttl_seconds: Some(60),
            revision,
            revision_stored: true,
            expires_at_ms: Some(1_000),
            updated_at_ms: Some(940),
        }
    }

    #[test]
    fn v2_round_trip() {
        let mut doc = StoreDoc {
            revision: 7,
            ..StoreDoc::default()
        };
        doc.entries.insert("a".into(), entry("at-a", 7));
        let bytes = serialize(&doc, Shape::V2);
        let back = parse(&bytes, Shape::V2).unwrap();
        assert_eq!(back.revision, 7);
        let e = &back.entries["a"];
        assert_eq!(e.revision, 7);
        assert_eq!(e.expires_at_ms, Some(1_000));
        assert!(e.is_expired_at(1_000) && !e.is_expired_at(999));
        assert_eq!(e.token.parse().unwrap().access_token.expose(), "at-a");
    }

    #[test]
    fn v1_shape_is_what_harn_reads() {
        let mut doc = StoreDoc::default();
        doc.entries.insert("k".into(), entry("at", 5));
        let bytes = serialize(&doc, Shape::V1);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["k"]["token"]["access_token"], "at");
        assert_eq!(v["k"]["ttl_seconds"], 60);
        assert_eq!(parse(&bytes, Shape::V1).unwrap().revision, 5);
    }

    #[test]
    fn harn_written_entries_get_stable_content_revisions() {
        let plain = br#"{"k":{"token":{"access_token":"a"},"ttl_seconds":30},"j":{"token":{"access_token":"b"}}}"#;
        let a = parse(plain, Shape::V1).unwrap();
        let b = parse(plain, Shape::V1).unwrap();
        assert_eq!(a.entries["k"].revision, b.entries["k"].revision);
        assert_ne!(a.entries["k"].revision, a.entries["j"].revision);
        assert!(!a.entries["k"].revision_stored);
        assert_eq!(
            a.entries["k"].expires_at_ms, None,
            "ttl_seconds alone never expires"
        );
        // Written back without inventing a revision field.
        let out = serialize(&a, Shape::V1);
        assert!(!String::from_utf8_lossy(&out).contains("revision"));
    }

    #[test]
    fn invalid_tokens_are_kept_verbatim() {
        let plain = br#"{"k":{"token":{"refresh_token":"r","odd":[1,2]}}}"#;
        let doc = parse(plain, Shape::V1).unwrap();
        let reason = doc.entries["k"].token.parse().unwrap_err();
        assert!(reason.contains("access_token"), "{reason}");
        let out = serialize(&doc, Shape::V1);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["k"]["token"]["odd"][1], 2);
    }

    #[test]
    fn bad_plaintexts_are_errors() {
        let cases: &[(&[u8], Shape, &str)] = &[
            (br#"{"k":{"token":{}},"k":{"token":{}}}"#, Shape::V1, "twice"),
            (b"[1]", Shape::V1, "map of entries"),
            (br#"{"k":{"tok":{}}}"#, Shape::V1, "entry \"k\""),
            (br#"{"schema":"x","revision":1,"entries":{}}"#, Shape::V2, "unknown plaintext schema"),
            (br#"{"schema":"oauth-store-file/2","revision":1,"entries":{"a":{"token":{},"revision":9}}}"#, Shape::V2, "below"),
            (br#"{"schema":"oauth-store-file/2","revision":1,"revision":2,"entries":{}}"#, Shape::V2, "duplicate"),
            (br#"{"k":1}"#, Shape::V1, "entry"),
        ];
        for (plain, shape, needle) in cases {
            let e = parse(plain, *shape)
                .err()
                .unwrap_or_else(|| panic!("{} parsed", String::from_utf8_lossy(plain)));
            assert!(e.contains(needle), "{e} lacks {needle}");
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(deep.as_bytes(), Shape::V1).is_err());
        assert_eq!(parse(b"  \n", Shape::V2).unwrap().entries.len(), 0);
    }

    #[test]
    fn errors_never_quote_values() {
        let plain = br#"{"k":{"token":{"access_token":"a","expires_in":"SECRET-VALUE"}}}"#;
        let doc = parse(plain, Shape::V1).unwrap();
        let reason = doc.entries["k"].token.parse().unwrap_err();
        assert!(!reason.contains("SECRET-VALUE"), "{reason}");
        assert!(reason.contains("expected a JSON number"), "{reason}");
        let plain = br#"{"k":{"token":{},"ttl_seconds":"SECRET-VALUE"}}"#;
        let e = parse(plain, Shape::V1).err().unwrap();
        assert!(!e.contains("SECRET-VALUE") && e.contains("entry"), "{e}");
        assert_eq!(redact(r#"a "b\"c" d "e"#), r#"a "…" d "…"#);
    }

    #[test]
    fn debug_shows_keys_only() {
        let mut doc = StoreDoc::default();
        doc.entries
            .insert("visible-key".into(), entry("SECRET-AT", 1));
        let dbg = format!("{doc:?} {:?}", doc.entries["visible-key"]);
        assert!(
            dbg.contains("visible-key") && !dbg.contains("SECRET-AT"),
            "{dbg}"
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn entry_strategy() -> impl Strategy<Value = (String, StoredEntry)> {
            (
                "\\PC{1,24}",
                "\\PC{0,40}",
                proptest::option::of(any::<i64>()),
                1..MAX_RANDOM_REVISION,
                proptest::option::of(any::<u64>()),
                proptest::option::of(any::<u64>()),
                proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{0,8}", 0..3),
            )
                .prop_map(|(key, at, ttl, revision, exp, upd, extra)| {
                    let mut t = TokenSet::new(at);
                    for (k, v) in extra {
                        t.extra.insert(format!("x_{k}"), v.into());
                    }
                    let e = StoredEntry {
                        token: StoredToken::new(&t),
                        ttl_seconds: ttl,
                        revision,
                        revision_stored: true,
                        expires_at_ms: exp,
                        updated_at_ms: upd,
                    };
                    (key, e)
                })
        }

        proptest! {
            #[test]
            fn serialize_then_parse_is_identity(
                entries in proptest::collection::vec(entry_strategy(), 0..8),
                v1 in any::<bool>(),
            ) {
                let mut doc = StoreDoc::default();
                for (k, e) in entries {
                    doc.revision = doc.revision.max(e.revision);
                    doc.entries.insert(k, e);
                }
                let shape = if v1 { Shape::V1 } else { Shape::V2 };
                let bytes = serialize(&doc, shape);
                // Valid JSON, compact, and read back to the same store.
                let _: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                let back = parse(&bytes, shape).unwrap();
                prop_assert_eq!(back.entries.len(), doc.entries.len());
                for (k, e) in &doc.entries {
                    let b = &back.entries[k];
                    prop_assert_eq!(b.token.json(), e.token.json());
                    prop_assert_eq!(b.ttl_seconds, e.ttl_seconds);
                    prop_assert_eq!(b.revision, e.revision);
                    prop_assert_eq!(b.expires_at_ms, e.expires_at_ms);
                    prop_assert_eq!(b.updated_at_ms, e.updated_at_ms);
                }
                if shape == Shape::V2 {
                    prop_assert_eq!(back.revision, doc.revision);
                }
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
                let _ = parse(&bytes, Shape::V1);
                let _ = parse(&bytes, Shape::V2);
            }
        }
    }
}

//! The record a `BridgeBackend` stores through a host, and the checks on what a host returns.

use std::fmt::Write as _;
use std::io;

use oauth_store_core::clock::{from_unix_millis, to_unix_millis};
use oauth_store_core::{EntryMeta, Revision, TokenSet, redact_quoted};
use serde::Deserialize as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{Operation, Scope};
use crate::Error;

/// The version of the record format; the `oauth_store` member of every record.
pub(crate) const RECORD_VERSION: u64 = 1;

/// An upper bound on what a record adds around its token set, in bytes: the fixed members
/// (about 150 bytes) and the entry key, escaped (at most twice its 1024 bytes).
pub(crate) const RECORD_OVERHEAD: usize = 4096;

/// Where a response came from, for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) bridge: &'a str,
    pub(crate) operation: Operation,
    pub(crate) scope: Scope,
    pub(crate) key: &'a str,
}

impl Context<'_> {
    pub(crate) fn invalid(&self, reason: impl Into<String>) -> Error {
        Error::InvalidResponse {
            bridge: self.bridge.to_owned(),
            operation: self.operation,
            scope: self.scope,
            key: self.key.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A token set read back from a host, with its metadata.
pub(crate) struct Stored {
    pub(crate) token: TokenSet,
    pub(crate) meta: EntryMeta,
}

/// The record stored for `token` under `key` in `scope`.
pub(crate) fn encode(
    scope: Scope,
    key: &str,
    token: &TokenSet,
    meta: &EntryMeta,
) -> Result<Value, serde_json::Error> {
    let mut record = Map::new();
    record.insert("oauth_store".into(), RECORD_VERSION.into());
    record.insert("scope".into(), scope.as_str().into());
    record.insert("key".into(), key.into());
    record.insert("revision".into(), meta.revision.as_str().into());
    if let Some(at) = meta.updated_at {
        record.insert("updated_at_ms".into(), to_unix_millis(at).into());
    }
    if let Some(at) = meta.expires_at {
        record.insert("expires_at_ms".into(), to_unix_millis(at).into());
    }
    record.insert("token".into(), serde_json::to_value(token)?);
    Ok(Value::Object(record))
}

/// The size of `value` serialized as compact JSON, in bytes.
pub(crate) fn json_size(value: &Value) -> u64 {
    struct Counter(u64);
    impl io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a `Value` into a writer that never fails cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// Refuses responses larger than `limit` bytes.
pub(crate) fn check_size(ctx: &Context<'_>, value: &Value, limit: usize) -> Result<(), Error> {
    let size = json_size(value);
    if size > limit as u64 {
        return Err(Error::ResponseTooLarge {
            bridge: ctx.bridge.to_owned(),
            operation: ctx.operation,
            scope: ctx.scope,
            key: ctx.key.to_owned(),
            size,
            limit: limit as u64,
        });
    }
    Ok(())
}

/// What kind of JSON value this is, for messages that must not show the value.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks what a host returned from `cloud_get`: `null`, a record for exactly this scope and
/// key, or a bare token set as the original implementation stored it.
pub(crate) fn decode(
    ctx: &Context<'_>,
    value: &Value,
    limit: usize,
) -> Result<Option<Stored>, Error> {
    if value.is_null() {
        return Ok(None);
    }
    check_size(ctx, value, limit)?;
    let object = match value {
        Value::Object(object) => object,
        other => {
            return Err(ctx.invalid(format!(
                "expected a token record, a token set or null, found {}",
                kind(other)
            )));
        }
    };
    if object.contains_key("oauth_store") {
        decode_record(ctx, object).map(Some)
    } else if object.contains_key("access_token") {
        let token = parse_token(ctx, value, "the token set")?;
        let revision = legacy_revision(value);
        Ok(Some(Stored {
            token,
            meta: EntryMeta::new(revision, None, None),
        }))
    } else {
        Err(ctx.invalid(
            "expected a token record or a token set, found an object with neither an \
             `oauth_store` nor an `access_token` member",
        ))
    }
}

fn decode_record(ctx: &Context<'_>, record: &Map<String, Value>) -> Result<Stored, Error> {
    match record.get("oauth_store").and_then(Value::as_u64) {
        Some(RECORD_VERSION) => {}
        Some(v) => {
            return Err(ctx.invalid(format!(
                "unsupported record version {v}; this version reads version {RECORD_VERSION}"
            )));
        }
        None => return Err(ctx.invalid("record member `oauth_store` is not a version number")),
    }
    let string = |name: &str| match record.get(name) {
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(other) => Err(ctx.invalid(format!(
            "record member `{name}` must be a string, found {}",
            kind(other)
        ))),
        None => Err(ctx.invalid(format!("record has no `{name}` member"))),
    };
    let millis = |name: &str| match record.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(|ms| Some(from_unix_millis(ms)))
            .ok_or_else(|| {
                ctx.invalid(format!(
                    "record member `{name}` must be milliseconds since the Unix epoch, found {}",
                    kind(v)
                ))
            }),
    };

    let scope = string("scope")?;
    if scope != ctx.scope.as_str() {
        return Err(ctx.invalid(format!(
            "the record belongs to scope {scope:?}, not {:?}",
            ctx.scope.as_str()
        )));
    }
    let key = string("key")?;
    if key != ctx.key {
        return Err(ctx.invalid(format!(
            "the record belongs to key {key:?}, not {:?}",
            ctx.key
        )));
    }
    let revision = Revision::parse(string("revision")?).ok_or_else(|| {
        ctx.invalid("record member `revision` is not 1 to 256 printable ASCII characters")
    })?;
    let updated_at = millis("updated_at_ms")?;
    let expires_at = millis("expires_at_ms")?;
    let token = match record.get("token") {
        Some(token @ Value::Object(_)) => parse_token(ctx, token, "record member `token`")?,
        Some(other) => {
            return Err(ctx.invalid(format!(
                "record member `token` must be a token set, found {}",
                kind(other)
            )));
        }
        None => return Err(ctx.invalid("record has no `token` member")),
    };
    Ok(Stored {
        token,
        meta: EntryMeta::new(revision, expires_at, updated_at),
    })
}

fn parse_token(ctx: &Context<'_>, value: &Value, what: &str) -> Result<TokenSet, Error> {
    TokenSet::deserialize(value).map_err(|e| {
        ctx.invalid(format!(
            "{what} is not a valid token set: {}",
            redact_quoted(&e.to_string())
        ))
    })
}

/// The revision of a bare token set: a hash of its content, so any change to it changes the
/// revision. Only records written by this crate carry random revisions.
fn legacy_revision(value: &Value) -> Revision {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    let mut s = String::from("legacy-");
    for b in &digest[..16] {
        let _ = write!(s, "{b:02x}");
    }
    Revision::new(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Context<'static> {
        Context {
            bridge: "test-host",
            operation: Operation::Get,
            scope: Scope::Session,
            key: "github",
        }
    }

    fn reason(e: Error) -> String {
        match e {
            Error::InvalidResponse { reason, .. } => reason,
            other => panic!("expected InvalidResponse, got {other:?}"),
        }
    }

    #[test]
    fn round_trip() {
        let token = TokenSet::new("at").with_refresh_token("rt");
        let meta = EntryMeta::new(
            Revision::new("r1"),
            Some(from_unix_millis(2_000)),
            Some(from_unix_millis(1_000)),
        );
        let v = encode(Scope::Session, "github", &token, &meta).unwrap();
        assert_eq!(v["oauth_store"], json!(1));
        assert_eq!(v["scope"], json!("session"));
        assert_eq!(v["expires_at_ms"], json!(2_000));
        let back = decode(&ctx(), &v, 1 << 20).unwrap().unwrap();
        assert_eq!(back.token, token);
        assert_eq!(back.meta, meta);
    }

    #[test]
    fn null_is_nothing_and_bare_token_sets_are_read() {
        assert!(decode(&ctx(), &Value::Null, 10).unwrap().is_none());
        let bare = json!({"access_token": "at", "ttl_hint": 5});
        let s = decode(&ctx(), &bare, 1 << 20).unwrap().unwrap();
        assert_eq!(s.token.access_token.expose(), "at");
        assert!(s.meta.revision.as_str().starts_with("legacy-"));
        assert_eq!(s.meta.expires_at, None);
        // The revision follows the content.
        let other = json!({"access_token": "at2", "ttl_hint": 5});
        let s2 = decode(&ctx(), &other, 1 << 20).unwrap().unwrap();
        assert_ne!(s.meta.revision, s2.meta.revision);
    }

    #[test]
    fn wrong_shapes_are_named() {
        let cases = [
            (json!(42), "found a number"),
            (json!("at"), "found a string"),
            (json!([1]), "found an array"),
            (json!(true), "found a boolean"),
            (json!({"refresh_token": "x"}), "neither"),
            (json!({"oauth_store": 2}), "unsupported record version 2"),
            (json!({"oauth_store": "1"}), "not a version number"),
            (
                json!({"oauth_store": 1, "scope": "org", "key": "github", "revision": "r", "token": {"access_token": "a"}}),
                "scope \"org\"",
            ),
            (
                json!({"oauth_store": 1, "scope": "session", "key": "gitlab", "revision": "r", "token": {"access_token": "a"}}),
                "key \"gitlab\"",
            ),
            (
                json!({"oauth_store": 1, "scope": "session", "key": "github", "revision": "a b", "token": {"access_token": "a"}}),
                "`revision`",
            ),
            (
                json!({"oauth_store": 1, "scope": "session", "key": "github", "revision": "r", "token": 7}),
                "`token` must be a token set, found a number",
            ),
            (
                json!({"oauth_store": 1, "scope": "session", "key": "github", "revision": "r", "token": {}}),
                "missing field `access_token`",
            ),
            (
                json!({"oauth_store": 1, "scope": "session", "key": "github", "revision": "r", "expires_at_ms": -1, "token": {"access_token": "a"}}),
                "`expires_at_ms`",
            ),
            (
                json!({"oauth_store": 1, "scope": "session", "revision": "r", "token": {"access_token": "a"}}),
                "no `key` member",
            ),
        ];
        for (value, want) in cases {
            let r = reason(decode(&ctx(), &value, 1 << 20).err().unwrap());
            assert!(r.contains(want), "{value}: {r:?} lacks {want:?}");
        }
    }

    #[test]
    fn parse_errors_do_not_show_values() {
        let v = json!({"access_token": "at", "expires_at_unix": "SECRET-VALUE"});
        let r = reason(decode(&ctx(), &v, 1 << 20).err().unwrap());
        assert!(!r.contains("SECRET-VALUE"), "{r}");
        assert!(r.contains("not a valid token set"), "{r}");
    }

    #[test]
    fn oversized_responses_are_refused() {
        let v = json!({"access_token": "x".repeat(100)});
        match decode(&ctx(), &v, 50).err().unwrap() {
            Error::ResponseTooLarge { size, limit, .. } => {
                assert_eq!(size, json_size(&v));
                assert!(size > 100);
                assert_eq!(limit, 50);
            }
            other => panic!("{other:?}"),
        }
    }
}

//! A minimal JSON value that keeps every member of an object, duplicates included, so the
//! envelope parser can reject duplicate and unknown fields with typed errors.
//!
//! Only what an envelope needs is kept: strings, non-negative integers and objects. Anything
//! else is recorded by its kind only (its content is skipped), so the parser can say "expected a
//! string, found an array" without holding the array.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The most members an object may have and still be kept (an envelope has at most 7).
pub(crate) const MAX_MEMBERS: usize = 32;

/// A parsed JSON value, reduced to what an envelope can contain.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// A string.
    Str(String),
    /// A non-negative integer that fits in `u64`.
    UInt(u64),
    /// An object's members in document order, duplicates kept.
    Obj(Vec<(String, Value)>),
    /// An object with more than [`MAX_MEMBERS`] members: its content is skipped, not kept, so
    /// a crafted object cannot make the parser allocate many times the input's size.
    LargeObj,
    /// Any other value, by kind: `"a negative integer"`, `"a number with a fraction"`,
    /// `"a boolean"`, `"null"`, `"an array"`.
    Other(&'static str),
}

impl Value {
    /// What kind of value this is, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Str(_) => "a string",
            Self::UInt(_) => "an integer",
            Self::Obj(_) | Self::LargeObj => "an object",
            Self::Other(kind) => kind,
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(u64::try_from(v).map_or(Value::Other("a negative integer"), Value::UInt))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::UInt(v))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Other("a number with a fraction or exponent"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Other("null"))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Other("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Other("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            if members.len() == MAX_MEMBERS {
                // Too many: drop what was kept and skip the rest without keeping it.
                drop(members);
                map.next_value::<IgnoredAny>()?;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                return Ok(Value::LargeObj);
            }
            members.push((name, map.next_value::<Value>()?));
        }
        Ok(Value::Obj(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_duplicates_and_kinds() {
        let v: Value = serde_json::from_str(
            r#"{"a":1,"a":"x","b":[1,{"c":2}],"d":null,"e":-1,"f":1.5,"g":true}"#,
        )
        .unwrap();
        assert_eq!(
            v,
            Value::Obj(vec![
                ("a".into(), Value::UInt(1)),
                ("a".into(), Value::Str("x".into())),
                ("b".into(), Value::Other("an array")),
                ("d".into(), Value::Other("null")),
                ("e".into(), Value::Other("a negative integer")),
                (
                    "f".into(),
                    Value::Other("a number with a fraction or exponent")
                ),
                ("g".into(), Value::Other("a boolean")),
            ])
        );
    }

    #[test]
    fn large_objects_are_not_kept() {
        let members = |n: usize| {
            let fields: Vec<String> = (0..n)
                .map(|i| format!("\"m{i}\":{{\"x\":[{i}]}}"))
                .collect();
            format!("{{{}}}", fields.join(","))
        };
        let kept: Value = serde_json::from_str(&members(MAX_MEMBERS)).unwrap();
        assert!(matches!(kept, Value::Obj(m) if m.len() == MAX_MEMBERS));
        let skipped: Value = serde_json::from_str(&members(MAX_MEMBERS + 1)).unwrap();
        assert_eq!(skipped, Value::LargeObj);
        assert_eq!(skipped.kind(), "an object");
        // Skipped content must still be valid JSON.
        let broken = members(MAX_MEMBERS + 5).replace("\"m35\":{", "\"m35\":{,");
        assert!(serde_json::from_str::<Value>(&broken).is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert!(serde_json::from_str::<Value>(&deep).is_err());
        let deep = "{\"a\":".repeat(100_000);
        assert!(serde_json::from_str::<Value>(&deep).is_err());
    }
}

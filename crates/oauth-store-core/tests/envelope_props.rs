//! Property tests of the envelope: round trips of arbitrary token stores, and every kind of
//! damage (bit flips, truncation, extension, changed or reordered header fields, arbitrary
//! bytes, wrong keys) gives a typed error, never a panic and never a different plaintext.
//!
//! Case counts: 256 per property, 32 for the passphrase round trip (Argon2id with m <= 64 KiB).

use oauth_store_core::Error;
use oauth_store_core::envelope::{self, OpenOptions, SealOptions, Version};
use oauth_store_core::key_material::{Argon2Params, KeyRing, Passphrase, SecretKey};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};

const CASES: u32 = 256;

fn secret_ring() -> KeyRing {
    KeyRing::new(SecretKey::new(b"property-test-secret".to_vec()).unwrap())
}

fn phrase_ring() -> KeyRing {
    KeyRing::new(
        Passphrase::new("property test passphrase")
            .unwrap()
            .with_params(Argon2Params {
                m_kib: 8,
                t: 1,
                p: 1,
            })
            .unwrap(),
    )
}

/// A token set as harn-vm stores it, with provider-specific extra fields.
fn token_set() -> impl Strategy<Value = Value> {
    (
        "[ -~]{0,40}",
        proptest::option::of("[A-Za-z0-9._-]{1,40}"),
        proptest::option::of(any::<i64>()),
        proptest::option::of("(Bearer|bearer|MAC)"),
        proptest::collection::vec("[a-z:._/-]{1,12}", 0..4),
        proptest::collection::btree_map("x_[a-z]{1,8}", any::<u32>(), 0..3),
        proptest::option::of("\\PC{0,16}"),
    )
        .prop_map(|(access, refresh, expires, kind, scopes, extra, note)| {
            let mut token = Map::new();
            token.insert("access_token".into(), access.into());
            if let Some(r) = refresh {
                token.insert("refresh_token".into(), r.into());
            }
            if let Some(e) = expires {
                token.insert("expires_at_unix".into(), e.into());
            }
            if let Some(k) = kind {
                token.insert("token_type".into(), k.into());
            }
            token.insert("scopes".into(), scopes.into());
            for (k, v) in extra {
                token.insert(k, v.into());
            }
            if let Some(n) = note {
                token.insert("metadata".into(), json!({ "note": n }));
            }
            Value::Object(token)
        })
}

/// A whole store: `{"<entry key>": {"token": {…}, "ttl_seconds": n?}}`.
fn store() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::btree_map(
        "[a-z0-9_./-]{1,24}",
        (token_set(), proptest::option::of(0u32..1_000_000)),
        0..5,
    )
    .prop_map(|entries| {
        let mut store = Map::new();
        for (key, (token, ttl)) in entries {
            let mut entry = Map::new();
            entry.insert("token".into(), token);
            if let Some(ttl) = ttl {
                entry.insert("ttl_seconds".into(), ttl.into());
            }
            store.insert(key, Value::Object(entry));
        }
        serde_json::to_vec(&Value::Object(store)).unwrap()
    })
}

fn version() -> impl Strategy<Value = Version> {
    prop_oneof![Just(Version::V1), Just(Version::V2)]
}

fn options(version: Version) -> SealOptions<'static> {
    match version {
        Version::V1 => SealOptions::v1(),
        Version::V2 => SealOptions::v2().context(b"ns\0entry"),
    }
}

fn open_options(version: Version) -> OpenOptions<'static> {
    match version {
        Version::V1 => OpenOptions::new("prop"),
        Version::V2 => OpenOptions::new("prop").context(b"ns\0entry"),
    }
}

/// Opens damaged data: it must fail with a typed error, or (only when `may_open`) give back
/// exactly the original plaintext. Returns whether it opened.
fn check_damaged(
    ring: &KeyRing,
    damaged: &[u8],
    version: Version,
    original: &[u8],
    may_open: bool,
) -> Result<bool, TestCaseError> {
    match envelope::open(ring, damaged, &open_options(version)) {
        Ok(opened) => {
            prop_assert!(
                may_open,
                "damaged data opened: {:?}",
                String::from_utf8_lossy(damaged)
            );
            prop_assert_eq!(opened.plaintext.as_slice(), original);
            Ok(true)
        }
        Err(Error::Corrupt { location, .. } | Error::WrongKey { location, .. }) => {
            prop_assert_eq!(location, "prop");
            Ok(false)
        }
        Err(other) => Err(TestCaseError::fail(format!("untyped error: {other:?}"))),
    }
}

proptest! {
    #![proptest_config(Config::with_cases(CASES))]

    #[test]
    fn stores_round_trip(plaintext in store(), version in version()) {
        let ring = secret_ring();
        let sealed = envelope::seal(&ring, &plaintext, &options(version)).unwrap();
        let opened = envelope::open(&ring, &sealed, &open_options(version)).unwrap();
        prop_assert_eq!(opened.plaintext.as_slice(), plaintext.as_slice());
        prop_assert_eq!(opened.header.version(), version);
        prop_assert!(opened.by_primary);
    }

    #[test]
    fn arbitrary_context_binds(plaintext in store(), context in proptest::collection::vec(any::<u8>(), 0..64),
                               other in proptest::collection::vec(any::<u8>(), 0..64)) {
        let ring = secret_ring();
        let sealed = envelope::seal(&ring, &plaintext, &SealOptions::v2().context(&context)).unwrap();
        let opened = envelope::open(&ring, &sealed, &OpenOptions::new("p").context(&context)).unwrap();
        prop_assert_eq!(opened.plaintext.as_slice(), plaintext.as_slice());
        let result = envelope::open(&ring, &sealed, &OpenOptions::new("p").context(&other));
        if other == context {
            prop_assert!(result.is_ok());
        } else {
            let is_tampered = matches!(result, Err(Error::Corrupt { .. }));
            prop_assert!(is_tampered, "{:?}", result);
        }
    }

    #[test]
    fn bit_flips_are_detected(plaintext in store(), version in version(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let ring = secret_ring();
        let mut sealed = envelope::seal(&ring, &plaintext, &options(version)).unwrap();
        let i = at.index(sealed.len());
        sealed[i] ^= 1 << bit;
        check_damaged(&ring, &sealed, version, &plaintext, false)?;
    }

    #[test]
    fn truncation_is_detected(plaintext in store(), version in version(), at in any::<prop::sample::Index>()) {
        let ring = secret_ring();
        let sealed = envelope::seal(&ring, &plaintext, &options(version)).unwrap();
        let cut = at.index(sealed.len());
        check_damaged(&ring, &sealed[..cut], version, &plaintext, false)?;
    }

    #[test]
    fn extension_is_detected(plaintext in store(), version in version(),
                             tail in proptest::collection::vec(any::<u8>(), 1..32), at in any::<prop::sample::Index>()) {
        let ring = secret_ring();
        let sealed = envelope::seal(&ring, &plaintext, &options(version)).unwrap();
        // Appended at the end, or inserted anywhere.
        let mut appended = sealed.clone();
        appended.extend_from_slice(&tail);
        // JSON allows trailing whitespace: only then may it open (to the same plaintext).
        let only_space = tail.iter().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        check_damaged(&ring, &appended, version, &plaintext, only_space)?;
        let mut inserted = sealed.clone();
        let i = at.index(sealed.len() + 1);
        inserted.splice(i..i, tail.iter().copied());
        // Whitespace between tokens is insignificant too; anything else must fail.
        check_damaged(&ring, &inserted, version, &plaintext, only_space)?;
    }

    #[test]
    fn changed_header_fields_are_detected(plaintext in store(), version in version(),
                                          which in any::<prop::sample::Index>(), replacement in json_value()) {
        let ring = secret_ring();
        let sealed = envelope::seal(&ring, &plaintext, &options(version)).unwrap();
        let mut doc: Map<String, Value> = serde_json::from_slice(&sealed).unwrap();
        let names: Vec<String> = doc.keys().cloned().collect();
        let name = &names[which.index(names.len())];
        prop_assume!(doc[name] != replacement);
        doc.insert(name.clone(), replacement);
        let changed = serde_json::to_vec(&doc).unwrap();
        check_damaged(&ring, &changed, version, &plaintext, false)?;
        // Removing the field fails too.
        doc.remove(name);
        check_damaged(&ring, &serde_json::to_vec(&doc).unwrap(), version, &plaintext, false)?;
    }

    #[test]
    fn swapped_header_values_are_detected(plaintext in store(), other in store(),
                                          which in any::<prop::sample::Index>()) {
        // Values taken from another valid envelope (same key): each is well-formed on its own.
        let ring = secret_ring();
        let sealed = envelope::seal(&ring, &plaintext, &SealOptions::v2()).unwrap();
        let donor = envelope::seal(&ring, &other, &SealOptions::v2()).unwrap();
        let mut doc: Map<String, Value> = serde_json::from_slice(&sealed).unwrap();
        let donor: Map<String, Value> = serde_json::from_slice(&donor).unwrap();
        let name = ["salt", "nonce", "ciphertext"][which.index(3)];
        doc.insert(name.into(), donor[name].clone());
        let changed = serde_json::to_vec(&doc).unwrap();
        check_damaged(&ring, &changed, Version::V2, &plaintext, false)?;
    }

    #[test]
    fn field_order_does_not_matter(plaintext in store(), version in version(), seed in any::<u64>()) {
        let ring = secret_ring();
        let sealed = envelope::seal(&ring, &plaintext, &options(version)).unwrap();
        let doc: Map<String, Value> = serde_json::from_slice(&sealed).unwrap();
        let mut fields: Vec<(String, Value)> = doc.into_iter().collect();
        // A deterministic shuffle from the seed.
        let mut s = seed;
        for i in (1..fields.len()).rev() {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let j = usize::try_from(s >> 33).unwrap() % (i + 1);
            fields.swap(i, j);
        }
        let reordered = serde_json::to_vec(&fields.into_iter().collect::<Map<_, _>>()).unwrap();
        let opened = envelope::open(&ring, &reordered, &open_options(version)).unwrap();
        prop_assert_eq!(opened.plaintext.as_slice(), plaintext.as_slice());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let result = envelope::open(&secret_ring(), &bytes, &OpenOptions::new("prop"));
        let typed = matches!(result, Err(Error::Corrupt { .. } | Error::WrongKey { .. }));
        prop_assert!(typed, "{:?}", result.map(|o| o.header));
    }

    #[test]
    fn arbitrary_envelope_shaped_json_never_panics(doc in envelope_shaped()) {
        let bytes = serde_json::to_vec(&doc).unwrap();
        for ring in [secret_ring(), phrase_ring()] {
            let result = envelope::open(&ring, &bytes, &OpenOptions::new("prop"));
            let typed = matches!(result, Err(Error::Corrupt { .. } | Error::WrongKey { .. }));
            prop_assert!(typed, "{}: {:?}", String::from_utf8_lossy(&bytes), result.map(|o| o.header));
        }
    }

    #[test]
    fn wrong_key_is_wrong_key(plaintext in store(), version in version(), secret in proptest::collection::vec(any::<u8>(), 1..48)) {
        prop_assume!(secret != b"property-test-secret");
        let sealed = envelope::seal(&secret_ring(), &plaintext, &options(version)).unwrap();
        let wrong = KeyRing::new(SecretKey::new(secret).unwrap());
        let result = envelope::open(&wrong, &sealed, &open_options(version));
        let is_wrong_key = matches!(result, Err(Error::WrongKey { .. }));
        prop_assert!(is_wrong_key, "{:?}", result.map(|o| o.header));
    }

    #[test]
    fn too_large_is_refused_first(bytes in proptest::collection::vec(any::<u8>(), 1..256)) {
        let limit = bytes.len() - 1;
        let result = envelope::open(&secret_ring(), &bytes, &OpenOptions::new("prop").max_len(limit));
        let too_large = matches!(result, Err(Error::TooLarge { size, limit: l, .. }) if size == bytes.len() as u64 && l == limit as u64);
        prop_assert!(too_large);
    }
}

proptest! {
    #![proptest_config(Config::with_cases(32))]

    #[test]
    fn passphrase_stores_round_trip(plaintext in store(), reuse in any::<bool>()) {
        let ring = phrase_ring();
        let sealed = envelope::seal(&ring, &plaintext, &SealOptions::v2()).unwrap();
        let opened = envelope::open(&ring, &sealed, &OpenOptions::new("p")).unwrap();
        prop_assert_eq!(opened.plaintext.as_slice(), plaintext.as_slice());
        let options = if reuse { SealOptions::v2().reuse_salt_of(&opened.header) } else { SealOptions::v2() };
        let again = envelope::seal(&ring, &plaintext, &options).unwrap();
        let again = envelope::open(&ring, &again, &OpenOptions::new("p")).unwrap();
        prop_assert_eq!(again.header.salt() == opened.header.salt(), reuse);
    }
}

/// Small arbitrary JSON values (what a header field may be replaced with).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..20).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[A-Za-z0-9+/]{0,40}".prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        Just(json!("A256GCM")),
        Just(json!({"name": "hkdf-sha256"})),
        (1u64..300, 0u64..20, 0u64..20)
            .prop_map(|(m, t, p)| json!({"name": "argon2id", "m_kib": m, "t": t, "p": p})),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects made of envelope field names with arbitrary values.
fn envelope_shaped() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        Just("version".to_owned()),
        Just("alg".to_owned()),
        Just("kdf".to_owned()),
        Just("kid".to_owned()),
        Just("salt".to_owned()),
        Just("nonce".to_owned()),
        Just("ciphertext".to_owned()),
        "[a-z]{1,8}",
    ];
    let value = prop_oneof![
        3 => json_value(),
        1 => Just(json!("0123456789abcdef")),
        1 => Just(json!("AAAAAAAAAAAAAAAAAAAAAA")),
        1 => Just(json!("AAAAAAAAAAAAAAAA")),
        1 => (1u64..3).prop_map(Value::from),
    ];
    proptest::collection::vec((name, value), 0..9)
        .prop_map(|fields| Value::Object(fields.into_iter().collect()))
}

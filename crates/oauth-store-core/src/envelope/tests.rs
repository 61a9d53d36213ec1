//! Unit tests of the envelope: every error case, round trips, rotation, context binding.

use super::*;
use crate::key_material::{KeyMaterial, Passphrase, SecretKey};

const TINY: Argon2Params = Argon2Params {
    m_kib: 64,
    t: 1,
    p: 1,
};

fn secret(s: &str) -> SecretKey {
    SecretKey::new(s.as_bytes().to_vec()).unwrap()
}

fn phrase(s: &str) -> Passphrase {
    Passphrase::new(s).unwrap().with_params(TINY).unwrap()
}

fn at(location: &str) -> OpenOptions<'_> {
    OpenOptions::new(location)
}

/// Opens and expects `Error::Corrupt` with this location, returning the format error.
fn corrupt(ring: &KeyRing, sealed: &[u8]) -> FormatError {
    match open(ring, sealed, &at("the-file")) {
        Err(Error::Corrupt { location, source }) => {
            assert_eq!(location, "the-file");
            source
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// Rewrites one member of a sealed envelope's JSON.
fn edit(sealed: &[u8], f: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(sealed).unwrap();
    f(v.as_object_mut().unwrap());
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn v2_round_trip_with_secret_and_passphrase() {
    for key in [
        KeyMaterial::from(secret("s3cret")),
        KeyMaterial::from(phrase("pass phrase")),
    ] {
        let ring = KeyRing::new(key);
        for plaintext in [
            &b""[..],
            b"{}",
            br#"{"github":{"token":{"access_token":"at"}}}"#,
        ] {
            let sealed = seal(&ring, plaintext, &SealOptions::v2()).unwrap();
            let opened = open(&ring, &sealed, &at("f")).unwrap();
            assert_eq!(opened.plaintext.as_slice(), plaintext);
            assert!(opened.by_primary);
            assert_eq!(opened.header.version(), Version::V2);
            assert_eq!(opened.header.alg(), "A256GCM");
            assert!(opened.header.salt().is_some());
            assert!(opened.header.key_id().is_some());
        }
    }
}

#[test]
fn v2_header_describes_the_key() {
    let s = secret("s3cret");
    let sealed = seal(&KeyRing::new(s.clone()), b"x", &SealOptions::v2()).unwrap();
    let opened = open(&KeyRing::new(s.clone()), &sealed, &at("f")).unwrap();
    assert_eq!(opened.header.kdf(), Kdf::HkdfSha256);
    assert_eq!(opened.header.key_id(), Some(s.key_id()));
    let text = String::from_utf8(sealed).unwrap();
    assert!(
        text.starts_with(r#"{"version":2,"alg":"A256GCM","kdf":{"name":"hkdf-sha256"},"kid":""#),
        "{text}"
    );
    assert!(!text.contains('='), "no padding: {text}");

    let ring = KeyRing::new(phrase("pw"));
    let sealed = seal(&ring, b"x", &SealOptions::v2()).unwrap();
    let opened = open(&ring, &sealed, &at("f")).unwrap();
    assert_eq!(opened.header.kdf(), Kdf::Argon2id(TINY));
    let text = String::from_utf8(sealed).unwrap();
    assert!(
        text.contains(r#""kdf":{"name":"argon2id","m_kib":64,"t":1,"p":1}"#),
        "{text}"
    );
}

#[test]
fn v1_round_trip_and_shape() {
    for key in [
        KeyMaterial::from(secret("s3cret")),
        KeyMaterial::from(phrase("pass phrase")),
    ] {
        let ring = KeyRing::new(key);
        let sealed = seal(&ring, b"{\"a\":1}", &SealOptions::v1()).unwrap();
        let text = std::str::from_utf8(&sealed).unwrap();
        assert!(text.starts_with(r#"{"version":1,"nonce":""#), "{text}");
        assert!(!text.contains('='), "{text}");
        let opened = open(&ring, &sealed, &at("f")).unwrap();
        assert_eq!(opened.plaintext.as_slice(), b"{\"a\":1}");
        assert_eq!(opened.header.version(), Version::V1);
        assert_eq!(opened.header.salt(), None);
        assert_eq!(opened.header.key_id(), None);
        assert!(opened.by_primary);
    }
}

#[test]
fn v1_is_compatible_with_a_secret_and_a_passphrase_of_the_same_bytes() {
    // harn-vm took "any non-empty string or bytes": a passphrase in v1 is its UTF-8 bytes.
    let sealed = seal(&KeyRing::new(secret("same")), b"x", &SealOptions::v1()).unwrap();
    let opened = open(&KeyRing::new(phrase("same")), &sealed, &at("f")).unwrap();
    assert_eq!(opened.plaintext.as_slice(), b"x");
}

#[test]
fn v1_refuses_a_context() {
    let ring = KeyRing::new(secret("k"));
    let err = seal(&ring, b"x", &SealOptions::v1().context(b"ns/key")).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    let sealed = seal(&ring, b"x", &SealOptions::v1()).unwrap();
    let err = open(&ring, &sealed, &at("f").context(b"ns/key")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corrupt {
                source: FormatError::ContextNotSupported,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn rotation_reports_older_keys() {
    let old = secret("old");
    let new = phrase("new");
    let old_ring = KeyRing::new(old.clone());
    let ring = KeyRing::new(new)
        .with_previous(secret("older still"))
        .with_previous(old);
    for options in [SealOptions::v2(), SealOptions::v1()] {
        let sealed = seal(&old_ring, b"data", &options).unwrap();
        let opened = open(&ring, &sealed, &at("f")).unwrap();
        assert_eq!(opened.plaintext.as_slice(), b"data");
        assert!(!opened.by_primary, "{:?}", options.version);
        let resealed = seal(
            &ring,
            &opened.plaintext,
            &SealOptions::v2().reuse_salt_of(&opened.header),
        )
        .unwrap();
        assert!(open(&ring, &resealed, &at("f")).unwrap().by_primary);
        assert!(matches!(
            open(&old_ring, &resealed, &at("f")),
            Err(Error::WrongKey { .. })
        ));
    }
}

#[test]
fn wrong_key_is_told_apart_from_tampering() {
    let ring = KeyRing::new(secret("right"));
    let wrong = KeyRing::new(secret("wrong")).with_previous(phrase("also wrong"));
    let sealed = seal(&ring, b"data", &SealOptions::v2()).unwrap();
    match open(&wrong, &sealed, &at("the-file")) {
        Err(Error::WrongKey { location, reason }) => {
            assert_eq!(location, "the-file");
            let kid = ring.primary().key_id().unwrap().to_string();
            assert!(reason.contains(&kid), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let sealed = seal(&ring, b"data", &SealOptions::v1()).unwrap();
    assert!(matches!(
        open(&wrong, &sealed, &at("f")),
        Err(Error::WrongKey { .. })
    ));

    // A passphrase envelope opened with another passphrase: its key id does not match.
    let ring = KeyRing::new(phrase("right"));
    let sealed = seal(&ring, b"data", &SealOptions::v2()).unwrap();
    assert!(matches!(
        open(&wrong, &sealed, &at("f")),
        Err(Error::WrongKey { .. })
    ));
}

#[test]
fn tampered_ciphertext_fails_authentication() {
    let ring = KeyRing::new(secret("k"));
    let sealed = seal(&ring, b"some plaintext", &SealOptions::v2()).unwrap();
    let tampered = edit(&sealed, |m| {
        let ct = STANDARD_NO_PAD
            .decode(m["ciphertext"].as_str().unwrap())
            .unwrap();
        let mut ct = ct;
        ct[0] ^= 1;
        m["ciphertext"] = STANDARD_NO_PAD.encode(ct).into();
    });
    assert_eq!(corrupt(&ring, &tampered), FormatError::AuthenticationFailed);
    // A changed nonce or salt also fails the tag (the key id still matches a secret).
    let other = seal(&ring, b"some plaintext", &SealOptions::v2()).unwrap();
    let other: serde_json::Value = serde_json::from_slice(&other).unwrap();
    for field in ["nonce", "salt"] {
        let tampered = edit(&sealed, |m| m[field] = other[field].clone());
        assert_eq!(
            corrupt(&ring, &tampered),
            FormatError::AuthenticationFailed,
            "{field}"
        );
    }
}

#[test]
fn changed_kdf_params_or_key_id_do_not_open() {
    let ring = KeyRing::new(phrase("pw"));
    let sealed = seal(&ring, b"x", &SealOptions::v2()).unwrap();
    // Other Argon2 params give another stretched key, hence another key id: wrong key.
    let changed = edit(&sealed, |m| m["kdf"]["t"] = 2.into());
    assert!(matches!(
        open(&ring, &changed, &at("f")),
        Err(Error::WrongKey { .. })
    ));
    let changed = edit(&sealed, |m| m["kid"] = "0000000000000000".into());
    assert!(matches!(
        open(&ring, &changed, &at("f")),
        Err(Error::WrongKey { .. })
    ));
    // Switching the KDF to HKDF: no secret key in the ring matches.
    let changed = edit(&sealed, |m| {
        m["kdf"] = serde_json::json!({"name": "hkdf-sha256"});
    });
    assert!(matches!(
        open(&ring, &changed, &at("f")),
        Err(Error::WrongKey { .. })
    ));
}

#[test]
fn context_is_bound() {
    let ring = KeyRing::new(secret("k"));
    let sealed = seal(&ring, b"x", &SealOptions::v2().context(b"tenant-a/github")).unwrap();
    assert_eq!(
        open(&ring, &sealed, &at("f").context(b"tenant-a/github"))
            .unwrap()
            .plaintext
            .as_slice(),
        b"x"
    );
    for wrong in [
        &b""[..],
        b"tenant-b/github",
        b"tenant-a/github\0",
        b"tenant-a/githu",
    ] {
        match open(&ring, &sealed, &at("f").context(wrong)) {
            Err(Error::Corrupt {
                source: FormatError::AuthenticationFailed,
                ..
            }) => {}
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(wrong)),
        }
    }
    // And sealed without context, opened with one.
    let sealed = seal(&ring, b"x", &SealOptions::v2()).unwrap();
    assert!(open(&ring, &sealed, &at("f").context(b"c")).is_err());
}

#[test]
fn salt_is_fresh_unless_reused_and_nonce_always_fresh() {
    let ring = KeyRing::new(phrase("pw"));
    let first = open(
        &ring,
        &seal(&ring, b"x", &SealOptions::v2()).unwrap(),
        &at("f"),
    )
    .unwrap();
    let second = open(
        &ring,
        &seal(&ring, b"x", &SealOptions::v2()).unwrap(),
        &at("f"),
    )
    .unwrap();
    assert_ne!(first.header.salt(), second.header.salt());
    assert_ne!(
        first.header.key_id(),
        second.header.key_id(),
        "passphrase key id depends on the salt"
    );
    let again = seal(&ring, b"x", &SealOptions::v2().reuse_salt_of(&first.header)).unwrap();
    let again = open(&ring, &again, &at("f")).unwrap();
    assert_eq!(again.header.salt(), first.header.salt());
    assert_eq!(again.header.key_id(), first.header.key_id());
    assert_ne!(again.header.nonce(), first.header.nonce());

    // Reusing a v1 header (no salt) gives a fresh salt.
    let v1 = seal(&ring, b"x", &SealOptions::v1()).unwrap();
    let v1 = open(&ring, &v1, &at("f")).unwrap();
    let upgraded = seal(&ring, b"x", &SealOptions::v2().reuse_salt_of(&v1.header)).unwrap();
    assert!(
        open(&ring, &upgraded, &at("f"))
            .unwrap()
            .header
            .salt()
            .is_some()
    );
}

#[test]
fn derived_keys_are_cached_per_salt() {
    let ring = KeyRing::new(phrase("pw"));
    let sealed = seal(&ring, b"x", &SealOptions::v2()).unwrap();
    assert_eq!(ring.cached(), 1);
    let opened = open(&ring, &sealed, &at("f")).unwrap();
    let _ = seal(
        &ring,
        b"y",
        &SealOptions::v2().reuse_salt_of(&opened.header),
    )
    .unwrap();
    assert_eq!(ring.cached(), 1, "same salt and params: no new derivation");
    let _ = seal(&ring, b"y", &SealOptions::v2()).unwrap();
    assert_eq!(ring.cached(), 2, "a fresh salt is a new derivation");
}

#[test]
fn too_large_is_refused_before_parsing() {
    let ring = KeyRing::new(secret("k"));
    let garbage = vec![b'x'; 101];
    match open(&ring, &garbage, &at("big").max_len(100)) {
        Err(Error::TooLarge {
            location,
            size,
            limit,
        }) => {
            assert_eq!((location.as_str(), size, limit), ("big", 101, 100));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(OpenOptions::new("x").max_len, 64 * 1024 * 1024);
    let sealed = seal(&ring, b"x", &SealOptions::v2()).unwrap();
    assert!(open(&ring, &sealed, &at("f").max_len(sealed.len())).is_ok());
}

/// A valid v1 envelope's fields, to build malformed variants from.
fn v1_parts(ring: &KeyRing) -> (String, String) {
    let sealed = seal(ring, b"x", &SealOptions::v1()).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
    (
        v["nonce"].as_str().unwrap().to_owned(),
        v["ciphertext"].as_str().unwrap().to_owned(),
    )
}

#[test]
#[allow(clippy::too_many_lines)] // a table of cases reads best as one list
fn malformed_documents() {
    let ring = KeyRing::new(secret("k"));
    let (n, c) = v1_parts(&ring);
    let cases: Vec<(String, FormatError)> = vec![
        (
            "[1,2]".into(),
            FormatError::NotAnObject {
                field: String::new(),
                found: "an array",
            },
        ),
        (
            "\"x\"".into(),
            FormatError::NotAnObject {
                field: String::new(),
                found: "a string",
            },
        ),
        ("{}".into(), FormatError::MissingField("version".into())),
        (r#"{"version":3}"#.into(), FormatError::UnknownVersion(3)),
        (r#"{"version":0}"#.into(), FormatError::UnknownVersion(0)),
        (
            r#"{"version":"1"}"#.into(),
            FormatError::WrongType {
                field: "version".into(),
                expected: "a non-negative integer",
                found: "a string",
            },
        ),
        (
            r#"{"version":1.0}"#.into(),
            FormatError::WrongType {
                field: "version".into(),
                expected: "a non-negative integer",
                found: "a number with a fraction or exponent",
            },
        ),
        (
            r#"{"version":-1}"#.into(),
            FormatError::WrongType {
                field: "version".into(),
                expected: "a non-negative integer",
                found: "a negative integer",
            },
        ),
        (
            format!(r#"{{"version":1,"nonce":"{n}"}}"#),
            FormatError::MissingField("ciphertext".into()),
        ),
        (
            format!(r#"{{"version":1,"ciphertext":"{c}"}}"#),
            FormatError::MissingField("nonce".into()),
        ),
        (
            format!(
                r#"{{"version":1,"nonce":"{n}","ciphertext":"{c}","salt":"AAAAAAAAAAAAAAAAAAAAAA"}}"#
            ),
            FormatError::UnknownField("salt".into()),
        ),
        (
            format!(r#"{{"version":1,"version":1,"nonce":"{n}","ciphertext":"{c}"}}"#),
            FormatError::DuplicateField("version".into()),
        ),
        (
            format!(r#"{{"version":1,"nonce":"{n}","ciphertext":"{c}","nonce":"{n}"}}"#),
            FormatError::DuplicateField("nonce".into()),
        ),
        (
            format!(r#"{{"version":1,"nonce":null,"ciphertext":"{c}"}}"#),
            FormatError::WrongType {
                field: "nonce".into(),
                expected: "a string",
                found: "null",
            },
        ),
        (
            format!(r#"{{"version":1,"nonce":"{n}=","ciphertext":"{c}"}}"#),
            FormatError::BadBase64 { field: "nonce" },
        ),
        (
            format!(r#"{{"version":1,"nonce":"{n}","ciphertext":"{c}!"}}"#),
            FormatError::BadBase64 {
                field: "ciphertext",
            },
        ),
        (
            format!(r#"{{"version":1,"nonce":"AAAA","ciphertext":"{c}"}}"#),
            FormatError::NonceLength { found: 3 },
        ),
        (
            format!(r#"{{"version":1,"nonce":"{n}","ciphertext":"AAAAAAAAAAAAAAAAAAAA"}}"#),
            FormatError::CiphertextTooShort { len: 15 },
        ),
        (
            format!(r#"{{"version":1,"nonce":"{n}","ciphertext":""}}"#),
            FormatError::CiphertextTooShort { len: 0 },
        ),
    ];
    for (doc, expected) in cases {
        assert_eq!(corrupt(&ring, doc.as_bytes()), expected, "{doc}");
    }
    for not_json in [
        &b""[..],
        b"{",
        b"{\"version\":1}x",
        b"\xff\xfe",
        b"nul",
        b"{\"version\":1,}",
    ] {
        assert!(
            matches!(corrupt(&ring, not_json), FormatError::NotJson(_)),
            "{:?}",
            String::from_utf8_lossy(not_json)
        );
    }
}

#[test]
fn base64_is_strict_unpadded_and_canonical() {
    let ring = KeyRing::new(secret("k"));
    let sealed = seal(&ring, b"x", &SealOptions::v1()).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
    let nonce = v["nonce"].as_str().unwrap();
    assert_eq!(
        nonce.len(),
        16,
        "12 bytes are 16 characters without padding"
    );
    let ct = v["ciphertext"].as_str().unwrap(); // 17 bytes: 23 characters, would be padded with "="
    assert_eq!(ct.len(), 23);
    let padded = edit(&sealed, |m| m["ciphertext"] = format!("{ct}=").into());
    assert_eq!(
        corrupt(&ring, &padded),
        FormatError::BadBase64 {
            field: "ciphertext"
        }
    );
    // The URL-safe alphabet is not accepted.
    let url = edit(&sealed, |m| {
        m["ciphertext"] = ct.replace('+', "-").replace('/', "_").into();
    });
    if url != sealed {
        assert_eq!(
            corrupt(&ring, &url),
            FormatError::BadBase64 {
                field: "ciphertext"
            }
        );
    }
    let url = edit(&sealed, |m| m["nonce"] = "________________".into());
    assert_eq!(
        corrupt(&ring, &url),
        FormatError::BadBase64 { field: "nonce" }
    );
    // Non-zero trailing bits (a second spelling of the same bytes) are refused.
    let last = ct.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let idx = alphabet.find(last).unwrap();
    let sibling = alphabet.as_bytes()[idx ^ 1] as char; // 23 chars: the last char carries 2 unused bits
    let noncanonical = edit(&sealed, |m| {
        m["ciphertext"] = format!("{}{sibling}", &ct[..22]).into();
    });
    assert_eq!(
        corrupt(&ring, &noncanonical),
        FormatError::BadBase64 {
            field: "ciphertext"
        }
    );
    // Whitespace inside base64 is refused.
    let spaced = edit(&sealed, |m| {
        m["nonce"] = format!("{} {}", &nonce[..8], &nonce[8..]).into();
    });
    assert_eq!(
        corrupt(&ring, &spaced),
        FormatError::BadBase64 { field: "nonce" }
    );
}

/// A change to a sealed envelope's JSON members.
type Edit = Box<dyn FnOnce(&mut serde_json::Map<String, serde_json::Value>)>;

#[test]
#[allow(clippy::too_many_lines)] // a table of cases reads best as one list
fn malformed_v2_headers() {
    let ring = KeyRing::new(secret("k"));
    let sealed = seal(&ring, b"x", &SealOptions::v2()).unwrap();
    let cases: Vec<(Edit, FormatError)> = vec![
        (
            Box::new(|m| {
                m.remove("alg");
            }),
            FormatError::MissingField("alg".into()),
        ),
        (
            Box::new(|m| {
                m.remove("kdf");
            }),
            FormatError::MissingField("kdf".into()),
        ),
        (
            Box::new(|m| {
                m.remove("kid");
            }),
            FormatError::MissingField("kid".into()),
        ),
        (
            Box::new(|m| {
                m.remove("salt");
            }),
            FormatError::MissingField("salt".into()),
        ),
        (
            Box::new(|m| {
                m.insert("extra".into(), 1.into());
            }),
            FormatError::UnknownField("extra".into()),
        ),
        (
            Box::new(|m| {
                m.insert("x".repeat(1000), 1.into());
            }),
            FormatError::UnknownField("x".repeat(64)),
        ),
        (
            Box::new(|m| m["alg"] = "A128GCM".into()),
            FormatError::UnknownAlgorithm("A128GCM".into()),
        ),
        (
            Box::new(|m| m["alg"] = 1.into()),
            FormatError::WrongType {
                field: "alg".into(),
                expected: "a string",
                found: "an integer",
            },
        ),
        (
            Box::new(|m| m["kdf"] = "hkdf-sha256".into()),
            FormatError::NotAnObject {
                field: "kdf".into(),
                found: "a string",
            },
        ),
        (
            Box::new(|m| m["kdf"] = serde_json::json!({})),
            FormatError::MissingField("kdf.name".into()),
        ),
        (
            Box::new(|m| m["kdf"] = serde_json::json!({"name": "scrypt"})),
            FormatError::UnknownKdf("scrypt".into()),
        ),
        (
            Box::new(|m| m["kdf"] = serde_json::json!({"name": "hkdf-sha256", "m_kib": 1})),
            FormatError::UnknownField("kdf.m_kib".into()),
        ),
        (
            Box::new(|m| m["kdf"] = serde_json::json!({"name": "argon2id", "m_kib": 64, "t": 1})),
            FormatError::MissingField("kdf.p".into()),
        ),
        (
            Box::new(|m| {
                m["kdf"] =
                    serde_json::json!({"name": "argon2id", "m_kib": 64, "t": 1, "p": 1, "v": 19});
            }),
            FormatError::UnknownField("kdf.v".into()),
        ),
        (
            Box::new(|m| {
                m["kdf"] =
                    serde_json::json!({"name": "argon2id", "m_kib": 4_194_304, "t": 1, "p": 1});
            }),
            FormatError::KdfParamsOutOfBounds(KeyMaterialError::ParamsOutOfBounds {
                m_kib: 4_194_304,
                t: 1,
                p: 1,
            }),
        ),
        (
            Box::new(|m| {
                m["kdf"] =
                    serde_json::json!({"name": "argon2id", "m_kib": 64, "t": u64::MAX, "p": 1});
            }),
            FormatError::KdfParamsOutOfBounds(KeyMaterialError::ParamsOutOfBounds {
                m_kib: 64,
                t: u64::MAX,
                p: 1,
            }),
        ),
        (
            Box::new(|m| {
                m["kdf"] = serde_json::json!({"name": "argon2id", "m_kib": 64, "t": 1, "p": 0});
            }),
            FormatError::KdfParamsOutOfBounds(KeyMaterialError::ParamsOutOfBounds {
                m_kib: 64,
                t: 1,
                p: 0,
            }),
        ),
        (
            Box::new(|m| m["kid"] = "ABCDEF0123456789".into()),
            FormatError::BadKeyId,
        ),
        (Box::new(|m| m["kid"] = "abc".into()), FormatError::BadKeyId),
        (
            Box::new(|m| m["salt"] = "AAAAAAAAAAAAAAAAAAAA".into()),
            FormatError::SaltLength { found: 15 },
        ),
        (
            Box::new(|m| m["salt"] = "AAAA".into()),
            FormatError::SaltLength { found: 3 },
        ),
        (
            Box::new(|m| m["salt"] = "AAAAAAAAAAAAAAAAAAAAAA==".into()),
            FormatError::BadBase64 { field: "salt" },
        ),
        (
            Box::new(|m| m["nonce"] = "AAAAAAAAAAAAAAAAAAAAAA".into()),
            FormatError::NonceLength { found: 16 },
        ),
    ];
    for (i, (change, expected)) in cases.into_iter().enumerate() {
        let doc = edit(&sealed, change);
        assert_eq!(
            corrupt(&ring, &doc),
            expected,
            "case {i}: {}",
            String::from_utf8_lossy(&doc)
        );
    }
}

#[test]
fn duplicate_fields_in_v2_and_in_kdf_are_rejected() {
    let ring = KeyRing::new(secret("k"));
    let sealed = String::from_utf8(seal(&ring, b"x", &SealOptions::v2()).unwrap()).unwrap();
    let dup_top = sealed.replacen(
        r#""alg":"A256GCM","#,
        r#""alg":"A256GCM","alg":"A256GCM","#,
        1,
    );
    assert_eq!(
        corrupt(&ring, dup_top.as_bytes()),
        FormatError::DuplicateField("alg".into())
    );
    let dup_kdf = sealed.replacen(
        r#""name":"hkdf-sha256""#,
        r#""name":"hkdf-sha256","name":"hkdf-sha256""#,
        1,
    );
    assert_eq!(
        corrupt(&ring, dup_kdf.as_bytes()),
        FormatError::DuplicateField("kdf.name".into())
    );
    // A duplicate ciphertext (the classic "which one is authenticated?" confusion).
    let dup_ct = sealed.replacen(
        "\"ciphertext\"",
        "\"ciphertext\":\"AAAA\",\"ciphertext\"",
        1,
    );
    assert_eq!(
        corrupt(&ring, dup_ct.as_bytes()),
        FormatError::DuplicateField("ciphertext".into())
    );
    // The original still opens, and whitespace between tokens is accepted.
    assert!(open(&ring, sealed.as_bytes(), &at("f")).is_ok());
    let spaced = sealed.replace(',', " ,\n ").replace(':', " : ");
    assert!(open(&ring, spaced.as_bytes(), &at("f")).is_ok());
}

#[test]
fn errors_name_the_problem() {
    let e = Error::corrupt("/data/store.json", FormatError::UnknownVersion(7));
    assert_eq!(
        e.to_string(),
        "corrupt or tampered data at /data/store.json: unknown envelope version 7 (this version of oauth-store reads 1 and 2)"
    );
    assert_eq!(
        FormatError::BadBase64 { field: "salt" }.to_string(),
        "field `salt` is not unpadded standard base64"
    );
    assert_eq!(
        FormatError::NotAnObject {
            field: "kdf".into(),
            found: "a string"
        }
        .to_string(),
        "expected a JSON object in field `kdf`, found a string"
    );
    assert_eq!(
        FormatError::NotAnObject {
            field: String::new(),
            found: "null"
        }
        .to_string(),
        "expected a JSON object, found null"
    );
}

#[test]
fn opened_debug_hides_the_plaintext() {
    let ring = KeyRing::new(secret("k"));
    let sealed = seal(&ring, b"access-token-hunter2", &SealOptions::v2()).unwrap();
    let opened = open(&ring, &sealed, &at("f")).unwrap();
    let shown = format!("{opened:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("20 bytes"), "{shown}");
}

#[test]
fn aad_layout_is_length_prefixed() {
    let header = Header {
        version: Version::V2,
        kdf: Kdf::Argon2id(TINY),
        salt: Some([0xaa; 16]),
        key_id: Some(KeyId::from_bytes([0xbb; 8])),
        nonce: [0; 12],
    };
    let aad = v2_aad(&header, b"ctx");
    let mut expected = Vec::new();
    for item in [
        &b"oauth-store envelope v2"[..],
        &[0, 0, 0, 2],
        b"A256GCM",
        b"argon2id",
        &[0, 0, 0, 64, 0, 0, 0, 1, 0, 0, 0, 1],
        &[0xaa; 16],
        &[0xbb; 8],
        b"ctx",
    ] {
        expected.extend_from_slice(&(item.len() as u64).to_be_bytes());
        expected.extend_from_slice(item);
    }
    assert_eq!(aad, expected);
}

#[test]
fn public_types_are_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Opened>();
    check::<Header>();
    check::<FormatError>();
    check::<SealOptions<'_>>();
    check::<OpenOptions<'_>>();
}

/// The known answers of `tests/vectors/manifest.json` (also checked by `generate.py`):
/// sealing with the recorded salt and nonce gives exactly the recorded bytes.
#[test]
fn known_answers_match_the_independent_implementation() {
    let manifest: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/vectors/manifest.json")).unwrap();
    let cases = manifest["known_answers"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let hex = |field: &str| hex_of(case[field].as_str().unwrap());
        let key = &case["key"];
        let material: KeyMaterial = if let Some(s) = key["secret_utf8"].as_str() {
            secret(s).into()
        } else if key.get("secret_hex").is_some() {
            SecretKey::new(hex_of(key["secret_hex"].as_str().unwrap()))
                .unwrap()
                .into()
        } else {
            let params = Argon2Params {
                m_kib: u32::try_from(key["m_kib"].as_u64().unwrap()).unwrap(),
                t: u32::try_from(key["t"].as_u64().unwrap()).unwrap(),
                p: u32::try_from(key["p"].as_u64().unwrap()).unwrap(),
            };
            Passphrase::new(key["passphrase"].as_str().unwrap())
                .unwrap()
                .with_params(params)
                .unwrap()
                .into()
        };
        let ring = KeyRing::new(material);
        let context = case["context_utf8"].as_str().unwrap().as_bytes();
        let plaintext = case["plaintext_utf8"].as_str().unwrap().as_bytes();
        let (options, salt) = if case["version"] == 1 {
            (SealOptions::v1(), [0; SALT_LEN])
        } else {
            let salt = <[u8; SALT_LEN]>::try_from(hex("salt_hex")).unwrap();
            (SealOptions::v2().context(context), salt)
        };
        let nonce = <[u8; NONCE_LEN]>::try_from(hex("nonce_hex")).unwrap();
        let sealed = seal_with(&ring, plaintext, &options, salt, nonce).unwrap();
        let expected = case["envelope"].as_str().unwrap();
        assert_eq!(
            std::str::from_utf8(&sealed).unwrap(),
            expected,
            "{}",
            case["name"]
        );
        let opened = open(&ring, expected.as_bytes(), &at("f").context(context)).unwrap();
        assert_eq!(opened.plaintext.as_slice(), plaintext);
    }
}

fn hex_of(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn huge_objects_are_refused_without_being_kept() {
    // 200 000 members: neither kept in memory nor compared pairwise.
    let ring = KeyRing::new(secret("k"));
    let mut doc = String::from("{");
    for i in 0..200_000 {
        doc.push_str("\"f");
        doc.push_str(&i.to_string());
        doc.push_str("\":0,");
    }
    doc.push_str("\"version\":2}");
    assert_eq!(
        corrupt(&ring, doc.as_bytes()),
        FormatError::TooManyMembers {
            field: String::new()
        }
    );
    // Up to 32 members are read, so unknown ones are named.
    let mut doc = String::from("{\"version\":2");
    for i in 0..31 {
        doc.push_str(",\"f");
        doc.push_str(&i.to_string());
        doc.push_str("\":0");
    }
    doc.push('}');
    assert_eq!(
        corrupt(&ring, doc.as_bytes()),
        FormatError::UnknownField("f0".into())
    );
    let sealed = seal(&ring, b"x", &SealOptions::v2()).unwrap();
    let big_kdf = edit(&sealed, |m| {
        m["kdf"] = (0..40)
            .map(|i| (format!("k{i}"), serde_json::Value::from(i)))
            .collect();
    });
    assert_eq!(
        corrupt(&ring, &big_kdf),
        FormatError::TooManyMembers {
            field: "kdf".into()
        }
    );
}

#[test]
fn opening_derives_only_the_matching_secret() {
    let mut ring = KeyRing::new(secret("primary"));
    for i in 0..20 {
        ring = ring.with_previous(secret(&format!("older {i}")));
    }
    let sealed = seal(&ring, b"x", &SealOptions::v2()).unwrap();
    assert_eq!(ring.cached(), 1);
    open(&ring, &sealed, &at("f")).unwrap();
    assert_eq!(ring.cached(), 1, "the 20 other secrets were not derived");
    let older = seal(&KeyRing::new(secret("older 19")), b"y", &SealOptions::v2()).unwrap();
    assert!(!open(&ring, &older, &at("f")).unwrap().by_primary);
    assert_eq!(ring.cached(), 2);
}

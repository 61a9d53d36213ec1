//! The committed envelope test vectors (`tests/vectors/`): written by this crate and by an
//! independent Python implementation (`tests/vectors/generate.py`), opened here to the
//! expected plaintext or the expected error.
//!
//! `OAUTH_STORE_WRITE_VECTORS=1 cargo test -p oauth-store-core --test envelope_vectors`
//! rewrites the Rust-written vectors first; `python3 tests/vectors/generate.py` then checks
//! them with the Python implementation.

use std::path::{Path, PathBuf};

use oauth_store_core::Error;
use oauth_store_core::envelope::{self, OpenOptions, SealOptions, Version};
use oauth_store_core::key_material::{Argon2Params, KeyMaterial, KeyRing, Passphrase, SecretKey};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// The manifest's vectors; with `OAUTH_STORE_WRITE_VECTORS` set, the Rust-written vectors are
/// rewritten first (once, before any test reads them).
fn manifest() -> Vec<Value> {
    static WRITTEN: std::sync::Once = std::sync::Once::new();
    let vectors = read_manifest();
    if std::env::var_os("OAUTH_STORE_WRITE_VECTORS").is_some() {
        WRITTEN.call_once(|| write_rust_vectors(&vectors));
    }
    vectors
}

fn read_manifest() -> Vec<Value> {
    let text = std::fs::read_to_string(dir().join("manifest.json")).unwrap();
    let manifest: Value = serde_json::from_str(&text).unwrap();
    manifest["vectors"].as_array().unwrap().clone()
}

fn u32_of(v: &Value) -> u32 {
    u32::try_from(v.as_u64().unwrap()).unwrap()
}

fn key_of(vector: &Value) -> KeyMaterial {
    let key = &vector["key"];
    if let Some(s) = key["secret_utf8"].as_str() {
        SecretKey::new(s.as_bytes().to_vec()).unwrap().into()
    } else if let Some(hex) = key["secret_hex"].as_str() {
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect::<Vec<u8>>();
        SecretKey::new(bytes).unwrap().into()
    } else {
        let params = Argon2Params {
            m_kib: u32_of(&key["m_kib"]),
            t: u32_of(&key["t"]),
            p: u32_of(&key["p"]),
        };
        Passphrase::new(key["passphrase"].as_str().unwrap())
            .unwrap()
            .with_params(params)
            .unwrap()
            .into()
    }
}

fn str_of<'a>(vector: &'a Value, field: &str) -> &'a str {
    vector[field].as_str().unwrap()
}

/// The name of an error as the manifest spells it: `WrongKey` or the `FormatError` variant.
fn error_name(error: &Error) -> String {
    match error {
        Error::WrongKey { .. } => "WrongKey".to_owned(),
        Error::Corrupt { source, .. } => format!("{source:?}")
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect(),
        other => format!("unexpected {other:?}"),
    }
}

fn write_rust_vectors(vectors: &[Value]) {
    for vector in vectors
        .iter()
        .filter(|v| v["writer"] == "rust" && v.get("expect_error").is_none())
    {
        let ring = KeyRing::new(key_of(vector));
        let options = match vector["version"].as_u64() {
            Some(1) => SealOptions::v1(),
            _ => SealOptions::v2(),
        };
        let sealed = envelope::seal(
            &ring,
            str_of(vector, "plaintext_utf8").as_bytes(),
            &options.context(str_of(vector, "context_utf8").as_bytes()),
        )
        .unwrap();
        std::fs::write(dir().join(str_of(vector, "file")), sealed).unwrap();
    }
}

#[test]
fn every_vector_opens_as_the_manifest_says() {
    let vectors = manifest();
    let mut by_writer = [0usize; 2];
    for vector in &vectors {
        let file = str_of(vector, "file");
        let sealed = std::fs::read(dir().join(file)).unwrap();
        let ring = KeyRing::new(key_of(vector));
        let options = OpenOptions::new(file).context(str_of(vector, "context_utf8").as_bytes());
        let result = envelope::open(&ring, &sealed, &options);
        if let Some(expected) = vector.get("expect_error").and_then(Value::as_str) {
            let error = result.expect_err(file);
            assert_eq!(error_name(&error), expected, "{file}: {error}");
            continue;
        }
        let opened = result.unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            opened.plaintext.as_slice(),
            str_of(vector, "plaintext_utf8").as_bytes(),
            "{file}"
        );
        let version = match vector["version"].as_u64() {
            Some(1) => Version::V1,
            _ => Version::V2,
        };
        assert_eq!(opened.header.version(), version, "{file}");
        assert!(opened.by_primary);
        by_writer[usize::from(vector["writer"] == "rust")] += 1;
    }
    assert!(by_writer[0] >= 5, "python-written vectors: {by_writer:?}");
    assert!(by_writer[1] >= 3, "rust-written vectors: {by_writer:?}");
}

#[test]
fn vectors_are_canonical_compact_json() {
    // What seal writes is byte-for-byte what FORMAT.md describes, whichever side wrote it:
    // re-serializing the parsed document in the documented field order gives the same bytes.
    for vector in manifest()
        .iter()
        .filter(|v| v.get("expect_error").is_none())
    {
        let file = str_of(vector, "file");
        let text = std::fs::read_to_string(dir().join(file)).unwrap();
        assert!(!text.contains(char::is_whitespace), "{file}");
        assert!(!text.contains('='), "{file}: no base64 padding");
        let order: &[&str] = if vector["version"] == 1 {
            &["version", "nonce", "ciphertext"]
        } else {
            &[
                "version",
                "alg",
                "kdf",
                "kid",
                "salt",
                "nonce",
                "ciphertext",
            ]
        };
        let doc: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
        let keys: Vec<&str> = doc.keys().map(String::as_str).collect();
        assert_eq!(keys, order, "{file}");
    }
}

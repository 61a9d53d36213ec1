//! A corpus of crafted bad store files. Each must give a typed error naming the path (never a
//! panic), and must be byte-for-byte unchanged after a get, a put and a delete attempt.
#![allow(clippy::disallowed_methods)] // tests plant files directly

mod common;

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use common::ring;
use oauth_store_core::envelope::{SealOptions, seal};
use oauth_store_core::key_material::{KeyRing, SecretKey};
use oauth_store_core::{Backend, BackendExt, DeleteOptions, EntryKey, Error, TokenSet};
use oauth_store_file::{FILE_CONTEXT, FileBackend, Problem};
use serde_json::{Value, json};

/// What is planted at the store path.
enum Plant {
    Bytes(Vec<u8>),
    Directory,
    DanglingSymlink,
    SymlinkToGoodFile(Vec<u8>),
}

/// A valid v2 store file holding one entry, written by the backend itself.
async fn good_file() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("good.json");
    let store = FileBackend::open(&path, ring()).unwrap();
    store
        .put_token(
            &EntryKey::new("github").unwrap(),
            &TokenSet::new("gho_secret"),
        )
        .await
        .unwrap();
    fs::read(&path).unwrap()
}

fn sealed_v2(plaintext: &[u8]) -> Vec<u8> {
    seal(&ring(), plaintext, &SealOptions::v2().context(FILE_CONTEXT)).unwrap()
}

/// The good file's envelope as JSON, changed by `f`.
fn edit(good: &[u8], f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(good).unwrap();
    f(v.as_object_mut().unwrap());
    serde_json::to_vec(&v).unwrap()
}

/// Flips one bit of a base64 field of the good file.
fn flip(good: &[u8], field: &str, at_end: bool) -> Vec<u8> {
    edit(good, |m| {
        let mut raw = STANDARD_NO_PAD.decode(m[field].as_str().unwrap()).unwrap();
        let i = if at_end { raw.len() - 1 } else { raw.len() / 2 };
        raw[i] ^= 0x10;
        m[field] = STANDARD_NO_PAD.encode(raw).into();
    })
}

fn pseudo_random(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[allow(clippy::too_many_lines)] // one line per case: the list is the point
async fn corpus() -> Vec<(&'static str, Plant)> {
    use Plant::{Bytes, DanglingSymlink, Directory, SymlinkToGoodFile};
    let good = good_file().await;
    let n = good.len();
    let text = String::from_utf8(good.clone()).unwrap();
    let mut v1_other_key = seal(
        &KeyRing::new(SecretKey::new(b"some other secret".to_vec()).unwrap()),
        br#"{"k":{"token":{"access_token":"a"}}}"#,
        &SealOptions::v1(),
    )
    .unwrap();
    let v1_padded = {
        let mut v: Value = serde_json::from_slice(&v1_other_key).unwrap();
        let ct = format!("{}==", v["ciphertext"].as_str().unwrap());
        v["ciphertext"] = ct.into();
        serde_json::to_vec(&v).unwrap()
    };
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(&good);
    let mut trailing = good.clone();
    trailing.extend_from_slice(b" {}");
    let mut huge = pseudo_random(1 << 20, 42);
    huge.truncate(1 << 20);
    let plain_doc = |entries: &str| {
        format!(r#"{{"schema":"oauth-store-file/2","revision":5,"entries":{entries}}}"#)
            .into_bytes()
    };
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let nested_plain = format!(
        r#"{{"schema":"oauth-store-file/2","revision":5,"entries":{{"k":{}{}}}}}"#,
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let v2_without_context = seal(&ring(), &plain_doc("{}"), &SealOptions::v2()).unwrap();
    v1_other_key.truncate(v1_other_key.len());
    vec![
        ("whitespace only", Bytes(b" \n\t".to_vec())),
        ("truncated to half", Bytes(good[..n / 2].to_vec())),
        ("truncated by one byte", Bytes(good[..n - 1].to_vec())),
        ("trailing data", Bytes(trailing)),
        ("byte order mark", Bytes(bom)),
        ("NUL bytes", Bytes(vec![0; 64])),
        ("binary garbage", Bytes(pseudo_random(4096, 7))),
        ("JSON array", Bytes(b"[]".to_vec())),
        ("JSON string", Bytes(b"\"store\"".to_vec())),
        ("deeply nested envelope", Bytes(nested.into_bytes())),
        (
            "padded base64 ciphertext",
            Bytes(edit(&good, |m| {
                let ct = format!("{}=", m["ciphertext"].as_str().unwrap());
                m["ciphertext"] = ct.into();
            })),
        ),
        (
            "invalid base64 nonce",
            Bytes(edit(&good, |m| {
                m["nonce"] = "!!!!!!!!!!!!!!!!".into();
            })),
        ),
        (
            "nonce of 8 bytes",
            Bytes(edit(&good, |m| {
                m["nonce"] = STANDARD_NO_PAD.encode([1u8; 8]).into();
            })),
        ),
        (
            "salt of 4 bytes",
            Bytes(edit(&good, |m| {
                m["salt"] = STANDARD_NO_PAD.encode([1u8; 4]).into();
            })),
        ),
        (
            "version 0",
            Bytes(edit(&good, |m| {
                m["version"] = 0.into();
            })),
        ),
        (
            "version 3",
            Bytes(edit(&good, |m| {
                m["version"] = 3.into();
            })),
        ),
        (
            "huge version",
            Bytes(
                text.replacen("\"version\":2", "\"version\":18446744073709551616", 1)
                    .into_bytes(),
            ),
        ),
        (
            "version as a string",
            Bytes(edit(&good, |m| {
                m["version"] = "2".into();
            })),
        ),
        (
            "duplicate version field",
            Bytes(
                text.replacen("\"version\":2", "\"version\":2,\"version\":2", 1)
                    .into_bytes(),
            ),
        ),
        (
            "unknown field",
            Bytes(edit(&good, |m| {
                m.insert("extra".into(), true.into());
            })),
        ),
        (
            "missing ciphertext",
            Bytes(edit(&good, |m| {
                m.remove("ciphertext");
            })),
        ),
        (
            "unknown algorithm",
            Bytes(edit(&good, |m| {
                m["alg"] = "A128GCM".into();
            })),
        ),
        (
            "unknown kdf",
            Bytes(edit(&good, |m| {
                m["kdf"] = json!({"name": "scrypt"});
            })),
        ),
        (
            "absurd argon2 parameters",
            Bytes(edit(&good, |m| {
                m["kdf"] = json!({"name": "argon2id", "m_kib": 4_294_967_295_u64, "t": 1, "p": 1});
            })),
        ),
        ("bit flip in salt", Bytes(flip(&good, "salt", false))),
        ("bit flip in nonce", Bytes(flip(&good, "nonce", false))),
        (
            "bit flip in ciphertext",
            Bytes(flip(&good, "ciphertext", false)),
        ),
        ("bit flip in tag", Bytes(flip(&good, "ciphertext", true))),
        (
            "other key id",
            Bytes(edit(&good, |m| {
                m["kid"] = "0123456789abcdef".into();
            })),
        ),
        (
            "ciphertext shorter than a tag",
            Bytes(edit(&good, |m| {
                m["ciphertext"] = STANDARD_NO_PAD.encode([0u8; 5]).into();
            })),
        ),
        (
            "v2 sealed without the file context",
            Bytes(v2_without_context),
        ),
        ("plaintext not JSON", Bytes(sealed_v2(b"hello"))),
        (
            "plaintext deeply nested",
            Bytes(sealed_v2(nested_plain.as_bytes())),
        ),
        (
            "plaintext with duplicate entry keys",
            Bytes(sealed_v2(&plain_doc(
                r#"{"k":{"token":{"access_token":"a"},"revision":1},"k":{"token":{"access_token":"b"},"revision":2}}"#,
            ))),
        ),
        (
            "plaintext with unknown schema",
            Bytes(sealed_v2(br#"{"schema":"x/9","revision":1,"entries":{}}"#)),
        ),
        (
            "plaintext in the v1 shape inside v2",
            Bytes(sealed_v2(br#"{"k":{"token":{"access_token":"a"}}}"#)),
        ),
        (
            "plaintext entry not an object",
            Bytes(sealed_v2(&plain_doc(r#"{"k":7}"#))),
        ),
        (
            "plaintext store revision below an entry's",
            Bytes(sealed_v2(&plain_doc(
                r#"{"k":{"token":{"access_token":"a"},"revision":9}}"#,
            ))),
        ),
        ("v1 with the wrong key", Bytes(v1_other_key)),
        ("v1 with padded base64", Bytes(v1_padded)),
        ("100 MB of garbage", Bytes(huge)),
        ("a directory", Directory),
        ("a dangling symlink", DanglingSymlink),
        ("a symlink to a good file", SymlinkToGoodFile(good)),
    ]
}

/// What is at `path`, to compare before and after.
fn fingerprint(path: &Path) -> (Vec<u8>, String, u64) {
    let meta = fs::symlink_metadata(path).unwrap();
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = fs::read_link(path).unwrap();
        (
            Vec::new(),
            format!("symlink {}", target.display()),
            meta.ino(),
        )
    } else if ft.is_dir() {
        (Vec::new(), "dir".into(), meta.ino())
    } else {
        (fs::read(path).unwrap(), "file".into(), meta.ino())
    }
}

#[tokio::test]
async fn every_bad_file_gives_a_typed_error_and_stays_unchanged() {
    let cases = corpus().await;
    assert!(cases.len() >= 25, "{} cases", cases.len());
    let key = EntryKey::new("github").unwrap();
    for (name, plant) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.json");
        match plant {
            Plant::Bytes(bytes) if name == "100 MB of garbage" => {
                let mut f = fs::File::create(&path).unwrap();
                for _ in 0..100 {
                    f.write_all(&bytes).unwrap();
                }
            }
            Plant::Bytes(bytes) => fs::write(&path, bytes).unwrap(),
            Plant::Directory => fs::create_dir(&path).unwrap(),
            Plant::DanglingSymlink => {
                std::os::unix::fs::symlink(dir.path().join("nowhere"), &path).unwrap();
            }
            Plant::SymlinkToGoodFile(bytes) => {
                fs::write(dir.path().join("real.json"), bytes).unwrap();
                std::os::unix::fs::symlink(dir.path().join("real.json"), &path).unwrap();
            }
        }
        let before = fingerprint(&path);
        let store = FileBackend::open(&path, ring()).unwrap();
        let results = [
            ("get", store.get(&key).await.err()),
            ("list", store.list("").await.err()),
            (
                "put",
                store.put_token(&key, &TokenSet::new("new")).await.err(),
            ),
            (
                "delete",
                store.delete(&key, DeleteOptions::new()).await.err(),
            ),
        ];
        for (op, err) in results {
            let Some(err) = err else {
                panic!("{name}: {op} succeeded on a bad file");
            };
            assert!(
                matches!(
                    err,
                    Error::Corrupt { .. }
                        | Error::WrongKey { .. }
                        | Error::TooLarge { .. }
                        | Error::Io { .. }
                ),
                "{name}: {op} gave {err:?}"
            );
            let msg = err.to_string();
            assert!(msg.contains("store.json"), "{name}: {op}: {msg}");
            assert!(!msg.contains("gho_secret"), "{name}: {op} leaked: {msg}");
        }
        let st = store.status().await.unwrap();
        assert!(
            st.problems
                .iter()
                .any(|p| matches!(p, Problem::Unreadable(_))),
            "{name}: {:?}",
            st.problems
        );
        assert!(fingerprint(&path) == before, "{name}: the file changed");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{name}: {leftovers:?}");
    }
}

#[tokio::test]
async fn quarantine_moves_corrupt_files_but_not_directories() {
    let good = good_file().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    fs::write(&path, &good[..good.len() / 2]).unwrap();
    let store = FileBackend::open(&path, ring()).unwrap();
    let aside = store.quarantine().await.unwrap().unwrap();
    assert_eq!(fs::read(aside).unwrap(), &good[..good.len() / 2]);
    // A directory is not a corrupt store: quarantine reports the error instead of moving it.
    fs::create_dir(&path).unwrap();
    let e = store.quarantine().await.unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(path.is_dir());
}

#[tokio::test]
async fn a_deeply_nested_token_is_an_error_for_its_key_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let plain = format!(
        r#"{{"schema":"oauth-store-file/2","revision":5,"entries":{{"deep":{{"token":{}{},"revision":1}},"ok":{{"token":{{"access_token":"a"}},"revision":2}}}}}}"#,
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    fs::write(&path, sealed_v2(plain.as_bytes())).unwrap();
    let store = FileBackend::open(&path, ring()).unwrap();
    let e = store
        .get(&EntryKey::new("deep").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidTokenSet { .. }), "{e:?}");
    assert!(
        store
            .get(&EntryKey::new("ok").unwrap())
            .await
            .unwrap()
            .is_some()
    );
    // Kept verbatim through a write of another key.
    store
        .put_token(&EntryKey::new("new").unwrap(), &TokenSet::new("n"))
        .await
        .unwrap();
    let st = store.status().await.unwrap();
    assert!(matches!(&st.problems[..], [Problem::InvalidEntries { keys }] if keys == &["deep"]));
}

#[tokio::test]
async fn an_exhausted_revision_counter_is_an_error_not_a_wrap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let plain = format!(
        r#"{{"schema":"oauth-store-file/2","revision":{},"entries":{{}}}}"#,
        u64::MAX
    );
    let sealed = sealed_v2(plain.as_bytes());
    fs::write(&path, &sealed).unwrap();
    let store = FileBackend::open(&path, ring()).unwrap();
    let e = store
        .put_token(&EntryKey::new("k").unwrap(), &TokenSet::new("a"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("exhausted"), "{e}");
    assert_eq!(fs::read(&path).unwrap(), sealed);
}

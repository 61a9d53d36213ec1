//! Behaviour of the file backend beyond the shared conformance suite: file modes, v1
//! interoperability, TTL purging, deletion of the last key, rotation, quarantine, locking,
//! size bounds, stale temporary files and redaction.
#![allow(clippy::disallowed_methods)] // tests plant and inspect files directly

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use common::{SECRET, key, ring, temp_files};
use oauth_store_core::key_material::{KeyRing, SecretKey};
use oauth_store_core::{
    Backend, BackendExt, DeleteOptions, Error, ManualClock, PutOptions, TokenSet,
};
use oauth_store_file::{FileBackend, Problem};
use serde_json::Value;

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().mode() & 0o777
}

/// The v1 algorithm, re-implemented here independently of the envelope module.
fn v1_key() -> [u8; 32] {
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, SECRET);
    let mut out = [0u8; 32];
    hk.expand(b"harn-oauth-storage-v1", &mut out).unwrap();
    out
}

fn v1_decrypt(file: &[u8]) -> Value {
    let env: Value = serde_json::from_slice(file).unwrap();
    assert_eq!(env["version"], 1);
    assert_eq!(
        env.as_object().unwrap().len(),
        3,
        "exactly version, nonce, ciphertext"
    );
    let nonce = STANDARD_NO_PAD
        .decode(env["nonce"].as_str().unwrap())
        .unwrap();
    let ct = STANDARD_NO_PAD
        .decode(env["ciphertext"].as_str().unwrap())
        .unwrap();
    let key = v1_key();
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key));
    let plain = cipher
        .decrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &ct,
                aad: b"harn-oauth-storage-v1",
            },
        )
        .unwrap();
    serde_json::from_slice(&plain).unwrap()
}

fn v1_encrypt(plaintext: &[u8]) -> Vec<u8> {
    let key = v1_key();
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key));
    let nonce = [7u8; 12];
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: b"harn-oauth-storage-v1",
            },
        )
        .unwrap();
    format!(
        r#"{{"version":1,"nonce":"{}","ciphertext":"{}"}}"#,
        STANDARD_NO_PAD.encode(nonce),
        STANDARD_NO_PAD.encode(ct)
    )
    .into_bytes()
}

/// The entry type harn-vm 0.8 reads a v1 plaintext into (no `deny_unknown_fields`).
#[derive(serde::Deserialize)]
struct HarnStoredEntry {
    token: Value,
    #[serde(default)]
    ttl_seconds: Option<i64>,
}

#[tokio::test]
async fn files_and_dirs_get_private_modes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/store.json");
    let store = FileBackend::open(&path, ring()).unwrap();
    store
        .put_token(&key("k"), &TokenSet::new("at"))
        .await
        .unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("a/b/store.json.lock")), 0o600);
    assert_eq!(mode(&dir.path().join("a")), 0o700);
    assert_eq!(mode(&dir.path().join("a/b")), 0o700);
    assert!(temp_files(&dir.path().join("a/b")).is_empty());
    let st = store.status().await.unwrap();
    assert_eq!(st.mode, Some(0o600));
    assert_eq!(st.envelope_version, Some(2));
    assert_eq!(st.entries, Some(1));
    assert_eq!(st.opened_by_primary, Some(true));
    assert!(!st.lock_held_elsewhere);
    assert!(st.is_healthy(), "{:?}", st.problems);
}

#[tokio::test]
async fn group_readable_file_is_reported_then_tightened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let store = FileBackend::open(&path, ring()).unwrap();
    store
        .put_token(&key("k"), &TokenSet::new("at"))
        .await
        .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let st = store.status().await.unwrap();
    assert!(
        st.problems
            .iter()
            .any(|p| matches!(p, Problem::PermissiveMode { mode: 0o644 })),
        "{:?}",
        st.problems
    );
    assert_eq!(mode(&path), 0o644, "status does not change the file");
    // The next access tightens it, and still reads the content.
    let other = FileBackend::open(&path, ring()).unwrap();
    assert!(other.get(&key("k")).await.unwrap().is_some());
    assert_eq!(mode(&path), 0o600);
}

#[tokio::test]
async fn v1_files_written_here_open_with_the_v1_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("harn.json");
    let clock = ManualClock::new();
    let store = FileBackend::builder(&path, ring())
        .write_v1(true)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let token = TokenSet::new("at-1").with_refresh_token("rt-1");
    let rev = store
        .put(
            &key("github"),
            &token,
            PutOptions::new().with_ttl(Duration::from_secs(90)),
        )
        .await
        .unwrap();
    let plain = v1_decrypt(&fs::read(&path).unwrap());
    // harn-vm 0.8 reads the plaintext into exactly its own types: our extra fields are ignored.
    let harn: std::collections::BTreeMap<String, HarnStoredEntry> =
        serde_json::from_value(plain.clone()).unwrap();
    assert_eq!(harn["github"].token["access_token"], "at-1");
    assert_eq!(harn["github"].ttl_seconds, Some(90));
    let e = &plain["github"];
    assert_eq!(e["token"]["access_token"], "at-1");
    assert_eq!(e["token"]["refresh_token"], "rt-1");
    assert_eq!(e["ttl_seconds"], 90);
    assert_eq!(e["revision"].as_u64(), rev.as_u64());
    assert!(e["expires_at_ms"].as_u64().is_some());
    assert_eq!(
        store.status().await.unwrap().envelope_version,
        Some(1),
        "stays v1"
    );
    // The v1 behaviour: deleting the last key removes the file (the lock file stays).
    assert!(store.remove(&key("github")).await.unwrap());
    assert!(!path.exists());
    assert!(dir.path().join("harn.json.lock").exists());
}

#[tokio::test]
async fn files_written_by_harn_vm_are_read_and_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("harn.json");
    // What harn-vm 0.8 writes: no revisions, a TTL it never enforces, any dict as a token.
    let plain = br#"{"github":{"token":{"access_token":"gho","expires_at_unix":1700000000,"weird":[1]},"ttl_seconds":60},"odd":{"token":{"no_access_token":true}}}"#;
    fs::write(&path, v1_encrypt(plain)).unwrap();
    let store = FileBackend::open(&path, ring()).unwrap();
    let entry = store.get(&key("github")).await.unwrap().unwrap();
    assert_eq!(entry.token.access_token.expose(), "gho");
    assert!(entry.token.extra.contains_key("weird"));
    assert_eq!(entry.meta.expires_at, None, "harn-vm stored no expiry");
    // A stable revision, usable for a conditional write.
    let again = store.get(&key("github")).await.unwrap().unwrap();
    assert_eq!(entry.meta.revision, again.meta.revision);
    // The invalid token set is an error for its key only, and is kept.
    let e = store.get(&key("odd")).await.unwrap_err();
    assert!(matches!(e, Error::InvalidTokenSet { .. }), "{e:?}");
    assert!(e.to_string().contains("odd"));
    store
        .put(
            &key("github"),
            &TokenSet::new("gho-2"),
            PutOptions::if_revision(entry.meta.revision),
        )
        .await
        .unwrap();
    // Default: the write upgraded the file to v2, keeping the odd entry verbatim.
    let st = store.status().await.unwrap();
    assert_eq!(st.envelope_version, Some(2));
    assert_eq!(st.entries, Some(2));
    assert!(matches!(&st.problems[..], [Problem::InvalidEntries { keys }] if keys == &["odd"]));
    let fresh = FileBackend::open(&path, ring()).unwrap();
    assert!(fresh.get(&key("odd")).await.is_err());
    let listed: Vec<_> = fresh.list("").await.unwrap();
    assert_eq!(listed.len(), 2);
}

#[tokio::test]
async fn committed_v1_vectors_open() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../oauth-store-core/tests/vectors");
    let manifest: Value =
        serde_json::from_slice(&fs::read(vectors.join("manifest.json")).unwrap()).unwrap();
    let (mut opened, mut refused) = (0, 0);
    for v in manifest["vectors"].as_array().unwrap() {
        if v["version"] != 1 {
            continue;
        }
        let file = v["file"].as_str().unwrap();
        let secret = v["key"]["secret_utf8"].as_str().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("store.json");
        fs::copy(vectors.join(file), &copy).unwrap();
        let original = fs::read(&copy).unwrap();
        let ring = KeyRing::new(SecretKey::new(secret.as_bytes().to_vec()).unwrap());
        let store = FileBackend::open(&copy, ring).unwrap();
        if let Some(expected) = v["expect_error"].as_str() {
            let e = store.list("").await.unwrap_err();
            assert!(
                matches!(e, Error::Corrupt { .. } | Error::WrongKey { .. }),
                "{file}: expected {expected}, got {e:?}"
            );
            assert!(
                store
                    .put_token(&key("x"), &TokenSet::new("y"))
                    .await
                    .is_err()
            );
            assert_eq!(fs::read(&copy).unwrap(), original, "{file} was changed");
            refused += 1;
            continue;
        }
        let plain: Value = serde_json::from_str(v["plaintext_utf8"].as_str().unwrap()).unwrap();
        let plain = plain.as_object().unwrap();
        assert_eq!(store.list("").await.unwrap().len(), plain.len(), "{file}");
        for (k, stored) in plain {
            let token = store.get_token(&key(k)).await.unwrap().unwrap();
            assert_eq!(
                serde_json::to_value(&token).unwrap(),
                stored["token"],
                "{file}: {k}"
            );
        }
        let st = store.status().await.unwrap();
        assert_eq!(st.envelope_version, Some(1), "{file}");
        opened += 1;
    }
    assert!(
        opened >= 2 && refused >= 2,
        "opened {opened}, refused {refused}"
    );
}

#[tokio::test]
async fn ttl_is_enforced_and_purged_on_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let store = FileBackend::builder(dir.path().join("s.json"), ring())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    store
        .put(
            &key("short"),
            &TokenSet::new("a"),
            PutOptions::new().with_ttl(Duration::from_secs(10)),
        )
        .await
        .unwrap();
    store
        .put_token(&key("long"), &TokenSet::new("b"))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(9));
    assert!(store.get(&key("short")).await.unwrap().is_some());
    clock.advance(Duration::from_secs(1));
    assert!(store.get(&key("short")).await.unwrap().is_none());
    assert_eq!(store.list("").await.unwrap().len(), 1);
    let st = store.status().await.unwrap();
    assert_eq!((st.entries, st.expired_entries), (Some(2), Some(1)));
    // An expired entry does not block "if absent", and the next write purges it.
    store
        .put(&key("other"), &TokenSet::new("c"), PutOptions::new())
        .await
        .unwrap();
    let st = store.status().await.unwrap();
    assert_eq!((st.entries, st.expired_entries), (Some(2), Some(0)));
    store
        .put(&key("short"), &TokenSet::new("d"), PutOptions::if_absent())
        .await
        .unwrap();
}

#[tokio::test]
async fn deleting_the_last_key_keeps_an_empty_v2_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let store = FileBackend::open(&path, ring()).unwrap();
    let r1 = store
        .put_token(&key("k"), &TokenSet::new("a"))
        .await
        .unwrap();
    assert!(store.remove(&key("k")).await.unwrap());
    assert!(
        path.exists(),
        "the v2 file stays, keeping its salt and counter"
    );
    let st = store.status().await.unwrap();
    assert_eq!(st.entries, Some(0));
    let fresh = FileBackend::open(&path, ring()).unwrap();
    let r2 = fresh
        .put_token(&key("k"), &TokenSet::new("a"))
        .await
        .unwrap();
    assert_ne!(
        r1, r2,
        "a revision never repeats across delete and re-create"
    );
    assert!(r2.as_u64().unwrap() > r1.as_u64().unwrap());
    // Deleting a missing key writes nothing.
    let before = fs::metadata(&path).unwrap().ino();
    assert!(!fresh.remove(&key("missing")).await.unwrap());
    assert_eq!(fs::metadata(&path).unwrap().ino(), before);
}

#[tokio::test]
async fn missing_and_empty_files_are_empty_stores() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let store = FileBackend::open(&path, ring()).unwrap();
    assert!(store.get(&key("k")).await.unwrap().is_none());
    assert!(store.list("").await.unwrap().is_empty());
    assert!(!path.exists(), "reading creates nothing");
    fs::write(&path, b"").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(store.get(&key("k")).await.unwrap().is_none());
    assert!(!store.remove(&key("k")).await.unwrap());
    store
        .put_token(&key("k"), &TokenSet::new("a"))
        .await
        .unwrap();
    assert!(store.get(&key("k")).await.unwrap().is_some());
}

#[tokio::test]
async fn another_handles_write_is_seen_by_the_next_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let a = FileBackend::open(&path, ring()).unwrap();
    let b = FileBackend::open(&path, ring()).unwrap();
    for i in 0..50 {
        // Writes in quick succession have the same size and often the same mtime tick.
        a.put_token(&key("k"), &TokenSet::new(format!("v{i:02}")))
            .await
            .unwrap();
        let seen = b.get_token(&key("k")).await.unwrap().unwrap();
        assert_eq!(seen.access_token.expose(), format!("v{i:02}"));
    }
}

#[tokio::test]
async fn rotation_re_encrypts_under_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let old = SecretKey::generate();
    let new = SecretKey::generate();
    let store = FileBackend::open(&path, KeyRing::new(old.clone())).unwrap();
    store
        .put_token(&key("a"), &TokenSet::new("1"))
        .await
        .unwrap();
    store
        .put_token(&key("b"), &TokenSet::new("2"))
        .await
        .unwrap();
    let old_kid = store.status().await.unwrap().key_id.unwrap();
    assert_eq!(old_kid, old.key_id().to_string());

    // Before rotation, a ring with a new primary and the old key still opens the file.
    let both = KeyRing::new(new.clone()).with_previous(old.clone());
    let reader = FileBackend::open(&path, both.clone()).unwrap();
    assert!(reader.get(&key("a")).await.unwrap().is_some());
    let st = reader.status().await.unwrap();
    assert_eq!(st.opened_by_primary, Some(false));
    assert!(
        st.problems
            .iter()
            .any(|p| matches!(p, Problem::OpenedByOldKey))
    );

    assert_eq!(store.rotate(both).await.unwrap(), 2);
    let st = store.status().await.unwrap();
    assert_eq!(st.key_id.unwrap(), new.key_id().to_string());
    assert_eq!(st.opened_by_primary, Some(true));
    assert_eq!(
        store
            .get_token(&key("b"))
            .await
            .unwrap()
            .unwrap()
            .access_token
            .expose(),
        "2"
    );
    // The old key alone no longer opens it; the new one alone does.
    let old_only = FileBackend::open(&path, KeyRing::new(old)).unwrap();
    let e = old_only.get(&key("a")).await.unwrap_err();
    assert!(matches!(e, Error::WrongKey { .. }), "{e:?}");
    let new_only = FileBackend::open(&path, KeyRing::new(new)).unwrap();
    assert!(new_only.get(&key("a")).await.unwrap().is_some());
}

#[tokio::test]
async fn bad_file_is_kept_until_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let store = FileBackend::open(&path, ring()).unwrap();
    assert_eq!(store.quarantine().await.unwrap(), None, "nothing to move");
    store
        .put_token(&key("k"), &TokenSet::new("a"))
        .await
        .unwrap();
    assert_eq!(store.quarantine().await.unwrap(), None, "a good file stays");
    let mut bytes = fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0x01;
    fs::write(&path, &bytes).unwrap();

    let e = store
        .put_token(&key("k2"), &TokenSet::new("b"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e:?}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    assert!(store.remove(&key("k")).await.is_err());
    assert_eq!(fs::read(&path).unwrap(), bytes, "never overwritten");
    assert!(!store.status().await.unwrap().is_healthy());

    let aside = store.quarantine().await.unwrap().expect("moved aside");
    assert!(
        aside
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("s.json.corrupt-")
    );
    assert_eq!(fs::read(&aside).unwrap(), bytes, "the evidence is kept");
    assert!(!path.exists());
    store
        .put_token(&key("k"), &TokenSet::new("fresh"))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_token(&key("k"))
            .await
            .unwrap()
            .unwrap()
            .access_token
            .expose(),
        "fresh"
    );
}

#[tokio::test]
async fn wrong_key_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let a = FileBackend::open(&path, KeyRing::new(SecretKey::generate())).unwrap();
    a.put_token(&key("k"), &TokenSet::new("a")).await.unwrap();
    let before = fs::read(&path).unwrap();
    let b = FileBackend::open(&path, KeyRing::new(SecretKey::generate())).unwrap();
    for e in [
        b.put_token(&key("x"), &TokenSet::new("b"))
            .await
            .unwrap_err(),
        b.get(&key("k")).await.unwrap_err(),
    ] {
        assert!(matches!(e, Error::WrongKey { .. }), "{e:?}");
    }
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[tokio::test(flavor = "current_thread")]
async fn a_held_lock_ends_in_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let store = FileBackend::builder(&path, ring())
        .lock_timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    store
        .put_token(&key("k"), &TokenSet::new("a"))
        .await
        .unwrap();
    let lock = fs::OpenOptions::new()
        .read(true)
        .open(dir.path().join("s.json.lock"))
        .unwrap();
    lock.lock().unwrap();
    let start = std::time::Instant::now();
    let e = store
        .put_token(&key("k"), &TokenSet::new("b"))
        .await
        .unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(150));
    match &e {
        Error::Locked { location, .. } => assert!(location.ends_with("s.json.lock")),
        other => panic!("expected Locked, got {other:?}"),
    }
    // Reads never wait for the lock.
    assert!(store.get(&key("k")).await.unwrap().is_some());
    assert!(store.status().await.unwrap().lock_held_elsewhere);
    lock.unlock().unwrap();
    store
        .put_token(&key("k"), &TokenSet::new("b"))
        .await
        .unwrap();
}

#[tokio::test]
async fn size_bound_is_checked_on_read_and_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let store = FileBackend::builder(&path, ring())
        .max_file_size(4096)
        .build()
        .unwrap();
    store
        .put_token(&key("small"), &TokenSet::new("a"))
        .await
        .unwrap();
    let before = fs::read(&path).unwrap();
    let e = store
        .put_token(&key("big"), &TokenSet::new("x".repeat(5000)))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
    let mut t = TokenSet::new("y");
    for i in 0..40 {
        t.extra.insert(format!("f{i}"), "z".repeat(60).into());
    }
    let e = store.put_token(&key("many"), &t).await.unwrap_err();
    assert!(matches!(e, Error::TooLarge { limit: 4096, .. }), "{e:?}");
    assert_eq!(fs::read(&path).unwrap(), before);
    // A bigger file is refused before it is read.
    let big = FileBackend::open(&path, ring()).unwrap();
    big.put_token(&key("big"), &TokenSet::new("x".repeat(5000)))
        .await
        .unwrap();
    let e = store.get(&key("small")).await.unwrap_err();
    assert!(matches!(e, Error::TooLarge { limit: 4096, .. }), "{e:?}");
}

#[tokio::test]
async fn stale_temp_files_are_removed_by_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let store = FileBackend::open(&path, ring()).unwrap();
    store
        .put_token(&key("k"), &TokenSet::new("a"))
        .await
        .unwrap();
    fs::write(
        dir.path().join(".s.json.tmp-1234-00000000deadbeef"),
        b"half a write",
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join(".s.json.tmp-1-link")).unwrap();
    fs::write(dir.path().join(".other.json.tmp-1-x"), b"not ours").unwrap();
    // A directory under a temporary name cannot be removed as a file: it must not block writes.
    fs::create_dir(dir.path().join(".s.json.tmp-9-dir")).unwrap();
    let st = store.status().await.unwrap();
    assert_eq!(st.stale_temp_files.len(), 3);
    store
        .put_token(&key("k"), &TokenSet::new("b"))
        .await
        .unwrap();
    let mut left = temp_files(dir.path());
    left.sort();
    assert_eq!(
        left,
        vec![
            dir.path().join(".other.json.tmp-1-x"),
            dir.path().join(".s.json.tmp-9-dir")
        ]
    );
    assert!(Path::new("/etc/passwd").exists());
}

#[tokio::test]
async fn secrets_stay_out_of_debug_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let store = FileBackend::open(&path, ring()).unwrap();
    store
        .put_token(
            &key("k"),
            &TokenSet::new("ACCESS-SECRET").with_refresh_token("REFRESH-SECRET"),
        )
        .await
        .unwrap();
    let builder = FileBackend::builder(&path, ring());
    let status = store.status().await.unwrap();
    let entry = store.get(&key("k")).await.unwrap().unwrap();
    let conflict = store
        .put(&key("k"), &TokenSet::new("x"), PutOptions::if_absent())
        .await
        .unwrap_err();
    let text = format!(
        "{store:?} {builder:?} {status:?} {entry:?} {conflict} {conflict:?} {:?}",
        store.name()
    );
    for s in [
        "ACCESS-SECRET",
        "REFRESH-SECRET",
        "harn-compatible test secret",
    ] {
        assert!(!text.contains(s), "{s} leaked: {text}");
    }
    assert!(text.contains("s.json"));
    // The file itself holds no plaintext either.
    let raw = String::from_utf8(fs::read(&path).unwrap()).unwrap();
    assert!(!raw.contains("ACCESS-SECRET") && !raw.contains("\"k\""));
}

#[tokio::test]
async fn conditional_delete_and_revision_checks() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileBackend::open(dir.path().join("s.json"), ring()).unwrap();
    let r1 = store
        .put_token(&key("k"), &TokenSet::new("a"))
        .await
        .unwrap();
    let r2 = store
        .put_token(&key("k"), &TokenSet::new("b"))
        .await
        .unwrap();
    let e = store
        .delete(&key("k"), DeleteOptions::if_revision(r1))
        .await
        .unwrap_err();
    assert!(e.is_conflict());
    assert!(
        store
            .delete(&key("k"), DeleteOptions::if_revision(r2))
            .await
            .unwrap()
    );
}

#[test]
fn a_path_without_a_file_name_is_refused() {
    let e = FileBackend::open("/", ring()).unwrap_err();
    assert!(matches!(e, Error::NotConfigured { .. }), "{e:?}");
}

#[tokio::test]
async fn the_longest_ttl_never_expires_and_does_not_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileBackend::open(dir.path().join("s.json"), ring()).unwrap();
    store
        .put(
            &key("k"),
            &TokenSet::new("a"),
            PutOptions::new().with_ttl(Duration::MAX),
        )
        .await
        .unwrap();
    let e = store.get(&key("k")).await.unwrap().unwrap();
    assert_eq!(e.meta.expires_at, None);
}

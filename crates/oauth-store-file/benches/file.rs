//! Benchmarks of the file backend against the original v1 algorithm and the I/O floor.
//!
//! For each store size N (1, 100, 1 000, 10 000 entries of about 1 KiB each, with JWT-sized
//! access tokens) and each operation (get, put, delete), three things are measured:
//!
//! - `file`: [`FileBackend`] from a current-thread tokio runtime (cache warm, file unchanged
//!   by others, so a get is an `lstat` and a map lookup);
//! - `baseline_v1`: the original harn-vm 0.8 algorithm, re-implemented exactly: every get
//!   reads the whole file, derives the key with HKDF and decrypts everything; every put and
//!   delete reads, derives, decrypts, modifies, encrypts, writes `<name>.tmp`, fsyncs and
//!   renames;
//! - `floor`: writing the same number of bytes the file backend's write produces, with write +
//!   fsync + rename + directory fsync, and nothing else: no write can be faster.
//!
//! A `put_many` group measures batches of 1, 100 and 1 000 puts written in one rewrite of a
//! store of 1 000 entries.
//!
//! Run with `cargo bench -p oauth-store-file`; results are in `docs/BENCHMARKS.md`.
#![allow(missing_docs, clippy::disallowed_methods, clippy::wildcard_imports)] // bench groups share the setup

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use divan::Bencher;
use oauth_store_core::envelope::{SealOptions, seal};
use oauth_store_core::key_material::{KeyRing, SecretKey};
use oauth_store_core::{Backend, DeleteOptions, EntryKey, PutOptions, TokenSet};
use oauth_store_file::{FILE_CONTEXT, FileBackend};
use serde_json::{Value, json};

const SIZES: &[usize] = &[1, 100, 1_000, 10_000];
const SECRET: &[u8] = b"benchmark secret";

fn main() {
    divan::main();
}

/// A token set of about 1 KiB: a JWT-sized access token, a refresh token, scopes.
fn token(i: usize) -> Value {
    let jwt = format!(
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{}.{}",
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ".repeat(6),
        format!("{i:08}").repeat(43)
    );
    json!({
        "access_token": jwt,
        "refresh_token": format!("rt-{i:08}-{}", "r".repeat(60)),
        "token_type": "Bearer",
        "expires_at_unix": 1_900_000_000 + i,
        "scopes": ["repo", "read:org", "workflow"],
    })
}

fn key_name(i: usize) -> String {
    format!("provider-{i:05}/user")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Setup: stores of N entries, written in one go.

fn ring() -> KeyRing {
    KeyRing::new(SecretKey::new(SECRET.to_vec()).unwrap())
}

/// A v2 store file of `n` entries, as the backend writes it.
fn file_store(dir: &Path, n: usize) -> (FileBackend, PathBuf) {
    let path = dir.join("store.json");
    let entries: serde_json::Map<String, Value> = (0..n)
        .map(|i| {
            let e = json!({"token": token(i), "revision": i + 1, "updated_at_ms": 1});
            (key_name(i), e)
        })
        .collect();
    let doc = json!({"schema": "oauth-store-file/2", "revision": n + 1, "entries": entries});
    let sealed = seal(
        &ring(),
        &serde_json::to_vec(&doc).unwrap(),
        &SealOptions::v2().context(FILE_CONTEXT),
    )
    .unwrap();
    write_private(&path, &sealed);
    let store = FileBackend::open(&path, ring()).unwrap();
    (store, path)
}

fn write_private(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

// ---------------------------------------------------------------------------------------------
// The original v1 algorithm (harn-vm 0.8 `std/oauth/storage`, file backend), re-implemented.

mod baseline {
    use super::{BTreeMap, File, Path, PathBuf, SECRET, Value, fs};
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use aes_gcm::{Aes256Gcm, Key, Nonce};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    use serde::{Deserialize, Serialize};
    use std::io::Write as _;

    const INFO: &[u8] = b"harn-oauth-storage-v1";

    #[derive(Serialize, Deserialize)]
    pub(crate) struct StoredEntry {
        pub(crate) token: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) ttl_seconds: Option<i64>,
    }

    #[derive(Serialize, Deserialize)]
    struct Envelope {
        version: u32,
        nonce: String,
        ciphertext: String,
    }

    fn derive() -> [u8; 32] {
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, SECRET);
        let mut out = [0u8; 32];
        hk.expand(INFO, &mut out).unwrap();
        out
    }

    pub(crate) fn read(path: &Path) -> BTreeMap<String, StoredEntry> {
        let raw = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return BTreeMap::new(),
            Err(e) => panic!("{e}"),
        };
        if raw.is_empty() {
            return BTreeMap::new();
        }
        let env: Envelope = serde_json::from_slice(&raw).unwrap();
        assert_eq!(env.version, 1);
        let nonce = STANDARD_NO_PAD.decode(env.nonce.as_bytes()).unwrap();
        let ct = STANDARD_NO_PAD.decode(env.ciphertext.as_bytes()).unwrap();
        let key = derive();
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key));
        let plain = cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ct,
                    aad: INFO,
                },
            )
            .unwrap();
        serde_json::from_slice(&plain).unwrap()
    }

    pub(crate) fn write(path: &Path, map: &BTreeMap<String, StoredEntry>) {
        let plain = serde_json::to_vec(map).unwrap();
        let key = derive();
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key));
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut nonce).unwrap();
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: INFO,
                },
            )
            .unwrap();
        let env = Envelope {
            version: 1,
            nonce: STANDARD_NO_PAD.encode(nonce),
            ciphertext: STANDARD_NO_PAD.encode(ct),
        };
        let bytes = serde_json::to_vec(&env).unwrap();
        let mut tmp_name = path.file_name().unwrap().to_owned();
        tmp_name.push(".tmp");
        let tmp: PathBuf = path.with_file_name(tmp_name);
        let mut f = File::create(&tmp).unwrap();
        f.write_all(&bytes).unwrap();
        f.sync_all().unwrap();
        fs::rename(&tmp, path).unwrap();
    }

    pub(crate) fn get(path: &Path, key: &str) -> Option<Value> {
        read(path).remove(key).map(|e| e.token)
    }

    pub(crate) fn set(path: &Path, key: &str, token: Value) {
        let mut map = read(path);
        map.insert(
            key.to_owned(),
            StoredEntry {
                token,
                ttl_seconds: None,
            },
        );
        write(path, &map);
    }

    pub(crate) fn delete(path: &Path, key: &str) {
        let mut map = read(path);
        if map.remove(key).is_some() {
            if map.is_empty() {
                fs::remove_file(path).unwrap();
            } else {
                write(path, &map);
            }
        }
    }
}

fn baseline_store(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join("harn.json");
    let map: BTreeMap<String, baseline::StoredEntry> = (0..n)
        .map(|i| {
            (
                key_name(i),
                baseline::StoredEntry {
                    token: token(i),
                    ttl_seconds: None,
                },
            )
        })
        .collect();
    baseline::write(&path, &map);
    path
}

/// The floor: `bytes` written to a fresh temporary file, fsynced, renamed, directory fsynced.
fn floor_write(dir: &Path, target: &Path, bytes: &[u8]) {
    let tmp = dir.join(".floor.tmp");
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .unwrap();
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
    fs::rename(&tmp, target).unwrap();
    File::open(dir).unwrap().sync_all().unwrap();
}

// ---------------------------------------------------------------------------------------------
// get

#[divan::bench_group(sample_count = 20, max_time = 4)]
mod get {
    use super::*;

    #[divan::bench(args = SIZES)]
    fn file(bencher: Bencher<'_, '_>, n: usize) {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = file_store(dir.path(), n);
        let rt = runtime();
        let key = EntryKey::new(key_name(n / 2)).unwrap();
        assert!(rt.block_on(store.get(&key)).unwrap().is_some());
        bencher.bench_local(|| rt.block_on(store.get(&key)).unwrap());
    }

    #[divan::bench(args = SIZES)]
    fn baseline_v1(bencher: Bencher<'_, '_>, n: usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = baseline_store(dir.path(), n);
        let key = key_name(n / 2);
        assert!(baseline::get(&path, &key).is_some());
        bencher.bench_local(|| baseline::get(&path, &key));
    }
}

// ---------------------------------------------------------------------------------------------
// put

#[divan::bench_group(sample_count = 15, sample_size = 1, max_time = 6)]
mod put {
    use super::*;

    #[divan::bench(args = SIZES)]
    fn file(bencher: Bencher<'_, '_>, n: usize) {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = file_store(dir.path(), n);
        let rt = runtime();
        let key = EntryKey::new(key_name(0)).unwrap();
        let t: TokenSet = serde_json::from_value(token(0)).unwrap();
        rt.block_on(store.put(&key, &t, PutOptions::new())).unwrap();
        bencher.bench_local(|| rt.block_on(store.put(&key, &t, PutOptions::new())).unwrap());
    }

    #[divan::bench(args = SIZES)]
    fn baseline_v1(bencher: Bencher<'_, '_>, n: usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = baseline_store(dir.path(), n);
        let key = key_name(0);
        bencher.bench_local(|| baseline::set(&path, &key, token(0)));
    }

    #[divan::bench(args = SIZES)]
    fn floor(bencher: Bencher<'_, '_>, n: usize) {
        let dir = tempfile::tempdir().unwrap();
        let (store, path) = file_store(dir.path(), n);
        // The size of what the backend writes for this store.
        let rt = runtime();
        let key = EntryKey::new(key_name(0)).unwrap();
        let t: TokenSet = serde_json::from_value(token(0)).unwrap();
        rt.block_on(store.put(&key, &t, PutOptions::new())).unwrap();
        let bytes = vec![b'x'; usize::try_from(fs::metadata(&path).unwrap().len()).unwrap()];
        bencher.bench_local(|| floor_write(dir.path(), &path, &bytes));
    }
}

// ---------------------------------------------------------------------------------------------
// put_many: a batch of B items (replacing entries) in one write, into a store of 1 000 entries

#[divan::bench_group(sample_count = 15, sample_size = 1, max_time = 6)]
mod put_many {
    use super::*;

    const BATCHES: &[usize] = &[1, 100, 1_000];

    #[divan::bench(args = BATCHES)]
    fn file(bencher: Bencher<'_, '_>, b: usize) {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = file_store(dir.path(), 1_000);
        let rt = runtime();
        let items: Vec<(EntryKey, TokenSet, PutOptions)> = (0..b)
            .map(|i| {
                let t: TokenSet = serde_json::from_value(token(i)).unwrap();
                (EntryKey::new(key_name(i)).unwrap(), t, PutOptions::new())
            })
            .collect();
        rt.block_on(store.put_many(items.clone())).unwrap();
        bencher
            .with_inputs(|| items.clone())
            .bench_local_values(|items| rt.block_on(store.put_many(items)).unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// delete (of an entry put back, untimed, before each measured delete)

#[divan::bench_group(sample_count = 15, sample_size = 1, max_time = 6)]
mod delete {
    use super::*;

    #[divan::bench(args = SIZES)]
    fn file(bencher: Bencher<'_, '_>, n: usize) {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = file_store(dir.path(), n);
        let rt = runtime();
        let key = EntryKey::new(key_name(0)).unwrap();
        let t: TokenSet = serde_json::from_value(token(0)).unwrap();
        bencher
            .with_inputs(|| {
                rt.block_on(store.put(&key, &t, PutOptions::new())).unwrap();
            })
            .bench_local_values(|()| {
                assert!(
                    rt.block_on(store.delete(&key, DeleteOptions::new()))
                        .unwrap()
                );
            });
    }

    #[divan::bench(args = SIZES)]
    fn baseline_v1(bencher: Bencher<'_, '_>, n: usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = baseline_store(dir.path(), n);
        let key = key_name(0);
        bencher
            .with_inputs(|| baseline::set(&path, &key, token(0)))
            .bench_local_values(|()| baseline::delete(&path, &key));
    }

    #[divan::bench(args = SIZES)]
    fn floor(bencher: Bencher<'_, '_>, n: usize) {
        let dir = tempfile::tempdir().unwrap();
        let (store, path) = file_store(dir.path(), n);
        let rt = runtime();
        let key = EntryKey::new(key_name(0)).unwrap();
        rt.block_on(store.delete(&key, DeleteOptions::new()))
            .unwrap();
        let bytes = vec![b'x'; usize::try_from(fs::metadata(&path).unwrap().len()).unwrap()];
        bencher.bench_local(|| floor_write(dir.path(), &path, &bytes));
    }
}

// ---------------------------------------------------------------------------------------------
// reference: what the file backend's get is made of, to read the numbers above

#[divan::bench_group(sample_count = 20, max_time = 2)]
mod reference {
    use super::*;

    /// One round trip to tokio's blocking pool from a current-thread runtime, doing nothing:
    /// the fixed cost every file operation pays to keep file I/O off the executor.
    #[divan::bench]
    fn spawn_blocking_round_trip(bencher: Bencher<'_, '_>) {
        let rt = runtime();
        let round_trip =
            || rt.block_on(async { tokio::task::spawn_blocking(|| ()).await.unwrap() });
        round_trip();
        bencher.bench_local(round_trip);
    }

    /// The same round trip with the `lstat` of a cached get as its work: unlike the empty
    /// closure, the caller has time to go to sleep before the answer comes, so this includes
    /// waking a sleeping thread (on a virtual machine, a halted vCPU).
    #[divan::bench]
    fn spawn_blocking_lstat_round_trip(bencher: Bencher<'_, '_>) {
        let dir = tempfile::tempdir().unwrap();
        let (_, path) = file_store(dir.path(), 1);
        let rt = runtime();
        let round_trip = || {
            let path = path.clone();
            rt.block_on(async move {
                tokio::task::spawn_blocking(move || fs::symlink_metadata(&path).unwrap())
                    .await
                    .unwrap()
            })
        };
        round_trip();
        bencher.bench_local(round_trip);
    }

    /// The `lstat` that revalidates the cache on every read.
    #[divan::bench]
    fn lstat(bencher: Bencher<'_, '_>) {
        let dir = tempfile::tempdir().unwrap();
        let (_, path) = file_store(dir.path(), 1);
        bencher.bench_local(|| fs::symlink_metadata(&path).unwrap());
    }

    /// Sealing the plaintext of a 100-entry store (about 100 KiB) with a cached data key:
    /// the CPU part of a put at N = 100 that the floor does not have.
    #[divan::bench]
    fn seal_100_entries(bencher: Bencher<'_, '_>) {
        let entries: serde_json::Map<String, Value> = (0..100)
            .map(|i| (key_name(i), json!({"token": token(i)})))
            .collect();
        let plain = serde_json::to_vec(&entries).unwrap();
        let ring = ring();
        let options = SealOptions::v2().context(FILE_CONTEXT);
        seal(&ring, &plain, &options).unwrap();
        bencher.bench_local(|| seal(&ring, &plain, &options).unwrap());
    }

    /// Parsing one stored token set, as a cached get does.
    #[divan::bench]
    fn parse_one_token_set(bencher: Bencher<'_, '_>) {
        let json = serde_json::to_string(&token(7)).unwrap();
        bencher.bench_local(|| serde_json::from_str::<TokenSet>(&json).unwrap());
    }
}

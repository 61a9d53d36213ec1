//! Batches: [`FileBackend::put_many`] and [`FileBackend::put_many_skipping_conflicts`] apply
//! many puts under one lock in one atomic rewrite, all or nothing, with preconditions checked
//! in item order.
#![allow(clippy::disallowed_methods)] // tests inspect files directly

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{key, ring};
use oauth_store_core::key_material::{KeyRing, SecretKey};
use oauth_store_core::{
    Backend, BackendExt, Clock, EntryKey, Error, ManualClock, PutOptions, Revision, TokenSet,
};
use oauth_store_file::FileBackend;

type Item = (EntryKey, TokenSet, PutOptions);

/// `n` items `<prefix>/<i>` whose access token is their key.
fn items(prefix: &str, n: usize, options: &PutOptions) -> Vec<Item> {
    (0..n)
        .map(|i| {
            let k = format!("{prefix}/{i:04}");
            (key(&k), TokenSet::new(k), options.clone())
        })
        .collect()
}

fn item(k: &str, access: &str, options: PutOptions) -> Item {
    (key(k), TokenSet::new(access), options)
}

async fn access(store: &FileBackend, k: &str) -> Option<String> {
    store
        .get_token(&key(k))
        .await
        .unwrap()
        .map(|t| t.access_token.expose().to_owned())
}

fn ino(path: &Path) -> u64 {
    fs::metadata(path).unwrap().ino()
}

fn conflict_key(e: &Error) -> &str {
    match e {
        Error::Conflict { key, .. } => key,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_1000_lands_in_one_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let store = FileBackend::open(&path, ring()).unwrap();
    let r0 = store
        .put_token(&key("existing"), &TokenSet::new("e"))
        .await
        .unwrap()
        .as_u64()
        .unwrap();

    // A reader with its own handle polls while the batch runs: it must only ever see the
    // store before the batch or after it, and the file replaced at most once.
    let reader = FileBackend::open(&path, ring()).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let poll = tokio::spawn({
        let (done, started) = (Arc::clone(&done), Arc::clone(&started));
        let path = path.clone();
        async move {
            let (mut counts, mut inodes) = (BTreeSet::new(), BTreeSet::new());
            loop {
                let finished = done.load(Ordering::SeqCst);
                counts.insert(reader.list("").await.unwrap().len());
                inodes.insert(ino(&path));
                started.store(true, Ordering::SeqCst);
                if finished {
                    return (counts, inodes);
                }
                tokio::task::yield_now().await;
            }
        }
    });
    while !started.load(Ordering::SeqCst) {
        tokio::task::yield_now().await;
    }
    let revisions = store
        .put_many(items("batch", 1000, &PutOptions::if_absent()))
        .await
        .unwrap();
    done.store(true, Ordering::SeqCst);
    let (counts, inodes) = poll.await.unwrap();
    assert_eq!(
        counts,
        BTreeSet::from([1, 1001]),
        "never a part of the batch"
    );
    assert_eq!(inodes.len(), 2, "the file was replaced exactly once");

    // One revision per item, in item order, continuing the store's counter.
    let expected: Vec<u64> = (1..=1000).map(|i| r0 + i).collect();
    let got: Vec<u64> = revisions.iter().map(|r| r.as_u64().unwrap()).collect();
    assert_eq!(got, expected);
    assert_eq!(
        store.status().await.unwrap().store_revision,
        Some(r0 + 1000)
    );

    // Everything is there for a fresh handle, and every entry carries the one write time.
    let fresh = FileBackend::open(&path, ring()).unwrap();
    let listed = fresh.list("batch/").await.unwrap();
    assert_eq!(listed.len(), 1000);
    let times: BTreeSet<_> = listed.iter().map(|e| e.meta.updated_at).collect();
    assert_eq!(times.len(), 1, "{} distinct write times", times.len());
    for (e, r) in listed.iter().zip(&revisions) {
        assert_eq!(&e.meta.revision, r);
    }
    assert_eq!(
        access(&fresh, "batch/0999").await.as_deref(),
        Some("batch/0999")
    );
    assert_eq!(access(&fresh, "existing").await.as_deref(), Some("e"));
}

#[tokio::test]
async fn a_failing_precondition_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let store = FileBackend::open(&path, ring()).unwrap();
    let ra = store
        .put_token(&key("a"), &TokenSet::new("a0"))
        .await
        .unwrap();
    let rb = store
        .put_token(&key("b"), &TokenSet::new("b0"))
        .await
        .unwrap();
    let bytes = fs::read(&path).unwrap();
    let inode = ino(&path);

    // The 501st item wants "a" absent.
    let mut batch = items("new", 500, &PutOptions::new());
    batch.push(item("a", "a1", PutOptions::if_absent()));
    batch.extend(items("more", 499, &PutOptions::new()));
    let e = store.put_many(batch).await.unwrap_err();
    assert_eq!(conflict_key(&e), "a", "{e}");
    assert!(
        e.to_string().contains("\"a\""),
        "the message names the key: {e}"
    );

    // A stale revision, after an item that replaced another key.
    let batch = vec![
        item("a", "a2", PutOptions::new()),
        item("b", "b2", PutOptions::if_revision(ra.clone())),
    ];
    let e = store.put_many(batch).await.unwrap_err();
    assert_eq!(conflict_key(&e), "b");

    assert_eq!(
        fs::read(&path).unwrap(),
        bytes,
        "the file is byte for byte the same"
    );
    assert_eq!(ino(&path), inode, "and was not replaced");

    // The handle that ran the failed batches does not see any of it either…
    assert_eq!(store.list("").await.unwrap().len(), 2);
    assert_eq!(access(&store, "a").await.as_deref(), Some("a0"));
    assert_eq!(
        store.get(&key("b")).await.unwrap().unwrap().meta.revision,
        rb
    );
    assert!(store.get(&key("new/0000")).await.unwrap().is_none());
    // …nor does its next write carry any of it into the file.
    let rc = store
        .put_token(&key("c"), &TokenSet::new("c0"))
        .await
        .unwrap();
    let fresh = FileBackend::open(&path, ring()).unwrap();
    let keys: Vec<String> = fresh
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key.into_string())
        .collect();
    assert_eq!(keys, ["a", "b", "c"]);
    assert_eq!(access(&fresh, "a").await.as_deref(), Some("a0"));
    // The failed batches handed out no revisions: the counter went on from "b".
    assert_eq!(rc.as_u64().unwrap(), rb.as_u64().unwrap() + 1);

    // A failed first batch into a new store creates no store file.
    let new_path = dir.path().join("new.json");
    let new_store = FileBackend::open(&new_path, ring()).unwrap();
    let e = new_store
        .put_many(vec![
            item("x", "1", PutOptions::if_absent()),
            item("x", "2", PutOptions::if_absent()),
        ])
        .await
        .unwrap_err();
    assert_eq!(conflict_key(&e), "x");
    assert!(!new_path.exists());
}

#[tokio::test]
async fn items_apply_in_order_like_sequential_puts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let store = FileBackend::open(&path, ring()).unwrap();

    // Two items for one key: the second replaces the first, with the later revision.
    let revs = store
        .put_many(vec![
            item("k", "first", PutOptions::if_absent()),
            item("k", "second", PutOptions::new()),
        ])
        .await
        .unwrap();
    assert!(revs[1].as_u64() > revs[0].as_u64());
    let entry = store.get(&key("k")).await.unwrap().unwrap();
    assert_eq!(entry.token.access_token.expose(), "second");
    assert_eq!(entry.meta.revision, revs[1]);

    // A revision condition sees the earlier items: the first passes, the same condition
    // on the second item then fails, and the batch writes nothing.
    let r = revs[1].clone();
    let e = store
        .put_many(vec![
            item("k", "third", PutOptions::if_revision(r.clone())),
            item("k", "fourth", PutOptions::if_revision(r.clone())),
        ])
        .await
        .unwrap_err();
    assert_eq!(conflict_key(&e), "k");
    assert_eq!(access(&store, "k").await.as_deref(), Some("second"));

    // Skipping: a skipped item changes nothing, so it does not affect later items.
    let outcomes = store
        .put_many_skipping_conflicts(vec![
            item("m", "m1", PutOptions::if_absent()),
            item("m", "m2", PutOptions::if_absent()),
            item("k", "k-new", PutOptions::if_revision(r.clone())),
            item("k", "k-stale", PutOptions::if_revision(r.clone())),
            item("n", "n1", PutOptions::new()),
        ])
        .await
        .unwrap();
    let shape: Vec<Option<&str>> = outcomes
        .iter()
        .map(|o| o.as_ref().err().map(conflict_key))
        .collect();
    assert_eq!(shape, [None, Some("m"), None, Some("k"), None]);
    let fresh = FileBackend::open(&path, ring()).unwrap();
    assert_eq!(access(&fresh, "m").await.as_deref(), Some("m1"));
    assert_eq!(access(&fresh, "k").await.as_deref(), Some("k-new"));
    assert_eq!(access(&fresh, "n").await.as_deref(), Some("n1"));
    let written: Vec<&Revision> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert!(written.windows(2).all(|w| w[0].as_u64() < w[1].as_u64()));
}

#[tokio::test]
async fn skipping_everything_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let store = FileBackend::open(&path, ring()).unwrap();
    store
        .put_many(items("k", 3, &PutOptions::new()))
        .await
        .unwrap();
    let bytes = fs::read(&path).unwrap();
    let outcomes = store
        .put_many_skipping_conflicts(items("k", 3, &PutOptions::if_absent()))
        .await
        .unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| o.as_ref().is_err_and(Error::is_conflict))
    );
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

#[tokio::test]
async fn ttls_are_per_item() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let store = FileBackend::builder(dir.path().join("s.json"), ring())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let start = clock.now();
    let ttl = |s| PutOptions::new().with_ttl(Duration::from_secs(s));
    store
        .put_many(vec![
            item("short", "s", ttl(10)),
            item("long", "l", ttl(100)),
            item("forever", "f", PutOptions::new()),
        ])
        .await
        .unwrap();
    let expiry = |k: &'static str| {
        let store = store.clone();
        async move { store.get(&key(k)).await.unwrap().unwrap().meta.expires_at }
    };
    let ms = |t: std::time::SystemTime| t.duration_since(start).unwrap().as_millis();
    assert_eq!(expiry("short").await.map(ms), Some(10_000));
    assert_eq!(expiry("long").await.map(ms), Some(100_000));
    assert_eq!(expiry("forever").await, None);

    clock.advance(Duration::from_secs(10));
    assert!(store.get(&key("short")).await.unwrap().is_none());
    assert!(store.get(&key("long")).await.unwrap().is_some());
    // An expired entry does not block "if absent" in a batch, and the batch purges it.
    let revs = store
        .put_many(vec![item(
            "short",
            "s2",
            PutOptions::if_absent().with_ttl(Duration::from_secs(5)),
        )])
        .await
        .unwrap();
    assert_eq!(revs.len(), 1);
    assert_eq!(expiry("short").await.map(ms), Some(15_000));
    clock.advance(Duration::from_secs(90));
    let left: Vec<String> = store
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key.into_string())
        .collect();
    assert_eq!(left, ["forever"]);
}

#[tokio::test]
async fn a_bad_store_file_refuses_a_batch_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let store = FileBackend::open(&path, ring()).unwrap();
    store
        .put_token(&key("k"), &TokenSet::new("a"))
        .await
        .unwrap();
    let mut bytes = fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0x01;
    fs::write(&path, &bytes).unwrap();

    let e = store
        .put_many(items("x", 10, &PutOptions::new()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e:?}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    let e = store
        .put_many_skipping_conflicts(items("x", 10, &PutOptions::if_absent()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e:?}");
    assert_eq!(fs::read(&path).unwrap(), bytes, "never overwritten");

    // A file that does not open with this key is kept the same way.
    let other = dir.path().join("other.json");
    let a = FileBackend::open(&other, KeyRing::new(SecretKey::generate())).unwrap();
    a.put_token(&key("k"), &TokenSet::new("a")).await.unwrap();
    let before = fs::read(&other).unwrap();
    let b = FileBackend::open(&other, ring()).unwrap();
    let e = b
        .put_many(items("x", 10, &PutOptions::new()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::WrongKey { .. }), "{e:?}");
    assert_eq!(fs::read(&other).unwrap(), before);
}

#[tokio::test(flavor = "current_thread")]
async fn sizes_are_checked_before_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let store = FileBackend::builder(&path, ring())
        .max_file_size(4096)
        .lock_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    store
        .put_token(&key("small"), &TokenSet::new("a"))
        .await
        .unwrap();
    let bytes = fs::read(&path).unwrap();
    // With the lock held elsewhere, a batch that took the lock would wait and fail with
    // `Locked`; the oversized item is refused at once instead.
    let lock = fs::OpenOptions::new()
        .read(true)
        .open(dir.path().join("s.json.lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut batch = items("ok", 3, &PutOptions::new());
    batch.push(item("big", &"x".repeat(5000), PutOptions::new()));
    let start = std::time::Instant::now();
    let e = store.put_many(batch).await.unwrap_err();
    assert!(
        matches!(&e, Error::TooLarge { location, .. } if location.contains("big")),
        "{e:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "did not wait for the lock"
    );
    lock.unlock().unwrap();
    // Items that fit one by one but not together: the sealed file is too large.
    let mut t = TokenSet::new("y");
    t.extra.insert("pad".into(), "z".repeat(1500).into());
    let batch = (0..3)
        .map(|i| (key(&format!("pad{i}")), t.clone(), PutOptions::new()))
        .collect();
    let e = store.put_many(batch).await.unwrap_err();
    assert!(matches!(e, Error::TooLarge { limit: 4096, .. }), "{e:?}");
    assert_eq!(fs::read(&path).unwrap(), bytes);
    assert_eq!(store.list("").await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_empty_batch_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/s.json");
    let store = FileBackend::open(&path, ring()).unwrap();
    assert!(store.put_many(Vec::new()).await.unwrap().is_empty());
    assert!(
        store
            .put_many_skipping_conflicts(Vec::new())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !dir.path().join("sub").exists(),
        "no directory, store or lock file"
    );
}

#[tokio::test]
async fn a_v1_store_takes_batches_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("harn.json");
    let store = FileBackend::builder(&path, ring())
        .write_v1(true)
        .build()
        .unwrap();
    let revs = store
        .put_many(items("k", 5, &PutOptions::if_absent()))
        .await
        .unwrap();
    assert_eq!(
        revs.iter().collect::<BTreeSet<_>>().len(),
        5,
        "distinct revisions"
    );
    let fresh = FileBackend::open(&path, ring()).unwrap();
    assert_eq!(fresh.status().await.unwrap().envelope_version, Some(1));
    for (e, r) in fresh.list("").await.unwrap().iter().zip(&revs) {
        assert_eq!(&e.meta.revision, r);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_and_single_puts_from_many_handles_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    // Separate handles lock through separate open file descriptions, as processes do.
    let open = || FileBackend::open(&path, ring()).unwrap();
    let (batcher, skipper, single) = (open(), open(), open());
    let batch_task = tokio::spawn(async move {
        for round in 0..5 {
            batcher
                .put_many(items(
                    &format!("batch{round}"),
                    100,
                    &PutOptions::if_absent(),
                ))
                .await
                .unwrap();
        }
    });
    let skipping = tokio::spawn(async move {
        for round in 0..5 {
            let outcomes = skipper
                .put_many_skipping_conflicts(items(
                    &format!("skip{round}"),
                    50,
                    &PutOptions::if_absent(),
                ))
                .await
                .unwrap();
            assert!(outcomes.iter().all(Result::is_ok));
        }
    });
    let singles = tokio::spawn(async move {
        for i in 0..60 {
            let k = format!("single/{i:04}");
            single
                .put(&key(&k), &TokenSet::new(k.clone()), PutOptions::if_absent())
                .await
                .unwrap();
        }
    });
    batch_task.await.unwrap();
    skipping.await.unwrap();
    singles.await.unwrap();

    let fresh = open();
    let listed = fresh.list("").await.unwrap();
    assert_eq!(listed.len(), 5 * 100 + 5 * 50 + 60);
    for e in &listed {
        assert_eq!(
            access(&fresh, e.key.as_str()).await.as_deref(),
            Some(e.key.as_str())
        );
    }
    // Every write got its own revision.
    let revisions: BTreeSet<_> = listed.iter().map(|e| e.meta.revision.clone()).collect();
    assert_eq!(revisions.len(), listed.len());
}

//! Tests where processes are the point: many writers (single puts and batches) at once,
//! writers killed at random moments, and writers whose writes fail (`RLIMIT_FSIZE`).
//!
//! This is a test binary without libtest (`harness = false`) that is also its own child
//! process: run with `child <mode> …` it acts as one writer, printing `ACK <n>` after each put
//! that returned (and so is durable). Run without arguments it runs every scenario; a
//! non-flag argument filters scenarios by name.
#![allow(clippy::disallowed_methods)] // tests inspect files directly

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::{key, ring, temp_files};
use oauth_store_core::{Backend, BackendExt, Error, PutOptions, TokenSet};
use oauth_store_file::FileBackend;

/// The test key, compiled in so no secret crosses a command line or an environment.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A token of about `size` bytes, like a JWT access token with a refresh token.
fn token(label: &str, size: usize) -> TokenSet {
    TokenSet::new(format!(
        "{label}.{}",
        "x".repeat(size.saturating_sub(label.len()))
    ))
    .with_refresh_token(format!("rt-{label}"))
}

fn counter_of(t: &TokenSet) -> u64 {
    t.extra
        .get("n")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// The child

fn child(args: &[String]) -> i32 {
    let mode = args[0].as_str();
    let path = PathBuf::from(&args[1]);
    let store = FileBackend::builder(&path, ring())
        .lock_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    runtime().block_on(async move {
        match mode {
            "puts" => {
                let prefix = &args[2];
                let count: usize = args[3].parse().unwrap();
                for i in 0..count {
                    store
                        .put_token(&key(&format!("{prefix}-{i}")), &token(prefix, 8))
                        .await
                        .unwrap();
                }
                0
            }
            "batches" => {
                // `count` batches of `size` puts each, acknowledging each batch.
                let prefix = &args[2];
                let count: usize = args[3].parse().unwrap();
                let size: usize = args[4].parse().unwrap();
                for b in 0..count {
                    let items = (0..size)
                        .map(|i| {
                            let k = key(&format!("{prefix}-{b}-{i}"));
                            (k, token(prefix, 8), PutOptions::if_absent())
                        })
                        .collect();
                    store.put_many(items).await.unwrap();
                    println!("ACK {b}");
                }
                0
            }
            "incr" => {
                let count: usize = args[2].parse().unwrap();
                for _ in 0..count {
                    store
                        .update(&key("counter"), None, 100_000, |t| {
                            let n = t.map_or(0, counter_of);
                            let mut next = TokenSet::new(format!("at-{}", n + 1));
                            next.extra.insert("n".into(), (n + 1).into());
                            Some(next)
                        })
                        .await
                        .unwrap();
                }
                0
            }
            "loop" | "fill" => {
                let prefix = &args[2];
                let size = if mode == "fill" { 2048 } else { 200 };
                for i in 0.. {
                    let r = store
                        .put(
                            &key(&format!("{prefix}-{i}")),
                            &token(prefix, size),
                            PutOptions::new(),
                        )
                        .await;
                    match r {
                        Ok(_) => println!("ACK {i}"),
                        Err(Error::Io { source, .. }) => {
                            println!("ERR Io {:?}", source.kind());
                            return 0;
                        }
                        Err(e) => {
                            println!("ERR other {e}");
                            return 0;
                        }
                    }
                }
                0
            }
            other => panic!("unknown child mode {other}"),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The parent

fn spawn(args: &[&str]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .arg("child")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Reads a child's `ACK n` lines until it exits; returns them and the last other line.
fn acks(stdout: ChildStdout) -> (BTreeSet<usize>, Option<String>) {
    acks_with(stdout, |_| {})
}

/// [`acks`], calling `on_ack` as each one arrives.
fn acks_with(
    stdout: ChildStdout,
    mut on_ack: impl FnMut(usize),
) -> (BTreeSet<usize>, Option<String>) {
    let out = BufReader::new(stdout);
    let mut acked = BTreeSet::new();
    let mut other = None;
    for line in out.lines() {
        let Ok(line) = line else { break };
        match line.strip_prefix("ACK ") {
            Some(n) => {
                let n = n.parse().unwrap();
                on_ack(n);
                acked.insert(n);
            }
            None => other = Some(line),
        }
    }
    (acked, other)
}

/// Starts a child with `args`, SIGKILLs it after a random delay of up to `max_delay_us`, and
/// returns what it acknowledged. Three rounds in four wait for the first acknowledgement
/// first, so the child is killed while busy writing; the rest may kill it while it starts.
fn kill_at_a_random_moment(
    args: &[&str],
    round: usize,
    rng: &mut Rng,
    max_delay_us: u64,
) -> BTreeSet<usize> {
    let mut child = spawn(args);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let (acked, _) = acks_with(stdout, |n| {
            let _ = tx.send(n);
        });
        acked
    });
    if !round.is_multiple_of(4) {
        let _ = rx.recv_timeout(Duration::from_secs(10));
    }
    std::thread::sleep(Duration::from_micros(rng.below(max_delay_us)));
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap()
}

struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        #[allow(clippy::cast_possible_truncation)]
        Self(seed as u64 | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn eight_processes_put_distinct_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let p = path.to_str().unwrap();
    let mut children: Vec<Child> = (0..8)
        .map(|j| spawn(&["puts", p, &format!("p{j}"), "100"]))
        .collect();
    for c in &mut children {
        assert!(c.wait().unwrap().success());
    }
    let store = FileBackend::open(&path, ring()).unwrap();
    let listed = runtime().block_on(store.list("")).unwrap();
    assert_eq!(listed.len(), 800, "every put of every process is there");
    for j in 0..8 {
        for i in 0..100 {
            assert!(listed.iter().any(|e| e.key.as_str() == format!("p{j}-{i}")));
        }
    }
    assert!(temp_files(dir.path()).is_empty());
}

fn batches_and_single_puts_from_four_processes_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let p = path.to_str().unwrap();
    let mut children = vec![
        spawn(&["batches", p, "b0", "5", "50"]),
        spawn(&["batches", p, "b1", "5", "50"]),
        spawn(&["puts", p, "s0", "50"]),
        spawn(&["puts", p, "s1", "50"]),
    ];
    for c in &mut children {
        assert!(c.wait().unwrap().success());
    }
    let store = FileBackend::open(&path, ring()).unwrap();
    let listed = runtime().block_on(store.list("")).unwrap();
    let keys: BTreeSet<String> = listed.iter().map(|e| e.key.to_string()).collect();
    assert_eq!(keys.len(), 2 * 5 * 50 + 2 * 50);
    for j in 0..2 {
        for b in 0..5 {
            for i in 0..50 {
                assert!(keys.contains(&format!("b{j}-{b}-{i}")));
            }
        }
        for i in 0..50 {
            assert!(keys.contains(&format!("s{j}-{i}")));
        }
    }
    assert!(temp_files(dir.path()).is_empty());
}

fn killed_batch_writers_leave_whole_batches() {
    const ROUNDS: usize = 40;
    const SIZE: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let p = path.to_str().unwrap();
    let rt = runtime();
    let mut rng = Rng::new();
    let mut total_acked = 0;
    for round in 0..ROUNDS {
        let prefix = format!("r{round}");
        let size = SIZE.to_string();
        let batches = ["batches", p, &prefix, "1000000", &size];
        let acked = kill_at_a_random_moment(&batches, round, &mut rng, 20_000);
        total_acked += acked.len();

        // Every batch is there whole or not at all, and every acknowledged one is there.
        let store = FileBackend::open(&path, ring()).unwrap();
        let listed = rt.block_on(store.list(&format!("{prefix}-"))).unwrap();
        let mut per_batch = std::collections::BTreeMap::<usize, usize>::new();
        for e in &listed {
            let b = e.key.as_str().split('-').nth(1).unwrap().parse().unwrap();
            *per_batch.entry(b).or_default() += 1;
        }
        assert!(
            per_batch.values().all(|&n| n == SIZE),
            "round {round}: a batch landed in part: {per_batch:?}"
        );
        for b in &acked {
            assert!(
                per_batch.contains_key(b),
                "round {round}: acknowledged batch {b} is missing"
            );
        }
    }
    println!("    {ROUNDS} kills, {total_acked} acknowledged batches of {SIZE} checked");
    assert!(
        total_acked >= ROUNDS / 2,
        "the children should get batches done"
    );
}

fn eight_processes_increment_one_counter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let p = path.to_str().unwrap();
    let mut children: Vec<Child> = (0..8).map(|_| spawn(&["incr", p, "100"])).collect();
    for c in &mut children {
        assert!(c.wait().unwrap().success());
    }
    let store = FileBackend::open(&path, ring()).unwrap();
    let t = runtime()
        .block_on(store.get_token(&key("counter")))
        .unwrap()
        .unwrap();
    assert_eq!(counter_of(&t), 800, "no increment lost, none doubled");
}

fn killed_writers_lose_nothing_acknowledged() {
    const ROUNDS: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let p = path.to_str().unwrap();
    let rt = runtime();
    let mut rng = Rng::new();
    let (mut total_acked, mut rounds_with_temp) = (0, 0);
    for round in 0..ROUNDS {
        let prefix = format!("r{round}");
        let acked = kill_at_a_random_moment(&["loop", p, &prefix], round, &mut rng, 40_000);
        total_acked += acked.len();

        let store = FileBackend::open(&path, ring()).unwrap();
        rt.block_on(async {
            for i in &acked {
                let got = store.get(&key(&format!("{prefix}-{i}"))).await;
                assert!(
                    matches!(got, Ok(Some(_))),
                    "round {round}: acknowledged put {i} is missing: {got:?}"
                );
            }
        });
        if !temp_files(dir.path()).is_empty() {
            rounds_with_temp += 1;
        }
        // The next successful write removes what a killed writer left behind.
        rt.block_on(store.put_token(&key("survivor"), &token("s", 10)))
            .unwrap();
        assert!(temp_files(dir.path()).is_empty(), "round {round}");
    }
    println!(
        "    {ROUNDS} kills, {total_acked} acknowledged puts checked, \
         {rounds_with_temp} kills left a temporary file behind"
    );
    assert!(
        total_acked >= ROUNDS / 2,
        "the children should get puts done"
    );
}

fn failing_writes_are_typed_and_keep_the_old_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let rt = runtime();
    let store = FileBackend::open(&path, ring()).unwrap();
    rt.block_on(store.put_token(&key("before"), &token("b", 100)))
        .unwrap();
    // 64 blocks of 512 bytes: the child's store can grow to 32 KiB, not more.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"trap "" XFSZ; ulimit -f 64 && exec "$0" "$@""#)
        .arg(std::env::current_exe().unwrap())
        .args(["child", "fill", path.to_str().unwrap(), "f"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (acked, last) = acks(child.stdout.take().unwrap());
    assert!(child.wait().unwrap().success());
    assert_eq!(
        last.as_deref(),
        Some("ERR Io FileTooLarge"),
        "after {acked:?}"
    );
    assert!(!acked.is_empty(), "some puts fit under the limit");
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size <= 64 * 512, "{size}");
    let fresh = FileBackend::open(&path, ring()).unwrap();
    rt.block_on(async {
        assert!(fresh.get(&key("before")).await.unwrap().is_some());
        for i in &acked {
            assert!(fresh.get(&key(&format!("f-{i}"))).await.unwrap().is_some());
        }
        let next = acked.last().unwrap() + 1;
        assert!(
            fresh
                .get(&key(&format!("f-{next}")))
                .await
                .unwrap()
                .is_none()
        );
    });
    assert!(
        temp_files(dir.path()).is_empty(),
        "the failed write's temp file was removed"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        std::process::exit(child(&args[1..]));
    }
    let filter: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let scenarios: [(&str, fn()); 6] = [
        (
            "eight_processes_put_distinct_keys",
            eight_processes_put_distinct_keys,
        ),
        (
            "batches_and_single_puts_from_four_processes_lose_nothing",
            batches_and_single_puts_from_four_processes_lose_nothing,
        ),
        (
            "killed_batch_writers_leave_whole_batches",
            killed_batch_writers_leave_whole_batches,
        ),
        (
            "eight_processes_increment_one_counter",
            eight_processes_increment_one_counter,
        ),
        (
            "killed_writers_lose_nothing_acknowledged",
            killed_writers_lose_nothing_acknowledged,
        ),
        (
            "failing_writes_are_typed_and_keep_the_old_content",
            failing_writes_are_typed_and_keep_the_old_content,
        ),
    ];
    if args.iter().any(|a| a == "--list") {
        // The libtest listing format, for runners such as cargo-nextest.
        if !args.iter().any(|a| a == "--ignored") {
            for (name, _) in scenarios {
                println!("{name}: test");
            }
        }
        return;
    }
    let (mut passed, mut failed) = (0, 0);
    for (name, scenario) in scenarios {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let start = Instant::now();
        let ok = std::panic::catch_unwind(scenario).is_ok();
        println!(
            "test {name} ... {} ({:.1} s)",
            if ok { "ok" } else { "FAILED" },
            start.elapsed().as_secs_f64()
        );
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}

//! End-to-end tests of the `oauth-store` binary, each in its own temporary HOME.
//!
//! Unix only: they build `file://` URLs from temporary paths, check permission bits and lean on
//! XDG directories.
#![cfg(unix)]

mod common;

use std::time::Duration;

use common::{Sandbox, stderr_of, stdout_of, vector};
use predicates::prelude::*;
use serde_json::Value;

const GITHUB: &str = r#"{"access_token":"gho_abc","refresh_token":"ghr_def","expires_at_unix":1700000000,"token_type":"Bearer","scopes":["repo"],"provider_extra":{"x":1}}"#;

#[test]
fn zero_config_set_then_get_field() {
    let s = Sandbox::new();
    let first = s
        .cmd(&["set", "github"])
        .write_stdin(GITHUB)
        .assert()
        .success();
    let rev = stdout_of(&first);
    assert!(!rev.trim().is_empty(), "set prints the revision");
    // The key file is created once, 0600 in a 0700 directory, and the user is told where.
    let notice = stderr_of(&first);
    assert!(notice.contains("created a new key in"), "{notice}");
    assert!(
        notice.contains(&s.key_file().display().to_string()),
        "{notice}"
    );
    assert!(s.key_file().exists() && s.store_file().exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&s.key_file()), 0o600);
        assert_eq!(mode(s.key_file().parent().unwrap()), 0o700);
        assert_eq!(mode(&s.store_file()), 0o600);
    }

    let get = s
        .cmd(&["get", "github", "--field", "access_token"])
        .assert()
        .success();
    assert_eq!(stdout_of(&get), "gho_abc\n");
    assert_eq!(stderr_of(&get), "", "the notice is said only once");

    // Whole token set: JSON with unknown fields kept.
    let all = s.cmd(&["get", "github"]).assert().success();
    let v: Value = serde_json::from_str(&stdout_of(&all)).unwrap();
    assert_eq!(v, serde_json::from_str::<Value>(GITHUB).unwrap());
    // Non-string fields print as JSON; a missing field is "not found".
    assert_eq!(s.field("github", "scopes"), "[\"repo\"]\n");
    assert_eq!(s.field("github", "expires_at_unix"), "1700000000\n");
    s.cmd(&["get", "github", "--field", "id_token"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no field \"id_token\""));
    // --meta carries the revision for --if-revision.
    let meta = s.cmd(&["get", "github", "--meta"]).assert().success();
    let m: Value = serde_json::from_str(&stdout_of(&meta)).unwrap();
    assert_eq!(m["revision"], rev.trim());
    assert_eq!(m["token"]["access_token"], "gho_abc");
}

#[test]
fn reading_a_fresh_home_creates_nothing() {
    let s = Sandbox::new();
    s.cmd(&["get", "github"]).assert().code(1);
    s.cmd(&["delete", "github"]).assert().code(1);
    s.cmd(&["list"]).assert().success().stdout("");
    let e = s.cmd(&["export"]).assert().success();
    assert_eq!(
        serde_json::from_str::<Value>(&stdout_of(&e)).unwrap(),
        serde_json::json!({})
    );
    s.cmd(&["quarantine"]).assert().success();
    assert!(!s.key_file().exists() && !s.store_file().exists());
    assert!(!s.home().join("data").exists() && !s.home().join("config").exists());
}

#[test]
fn conditional_writes_and_their_exit_codes() {
    let s = Sandbox::new();
    let r1 = s.set("k", r#"{"access_token":"a1"}"#, &["--if-absent"]);
    s.cmd(&["set", "k", "--if-absent"])
        .write_stdin(r#"{"access_token":"a2"}"#)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("conflict"));
    let r2 = s.set("k", r#"{"access_token":"a2"}"#, &["--if-revision", &r1]);
    assert_ne!(r1, r2);
    // The old revision lost.
    s.cmd(&["set", "k", "--if-revision", &r1])
        .write_stdin(r#"{"access_token":"a3"}"#)
        .assert()
        .code(3);
    assert_eq!(s.field("k", "access_token"), "a2\n");
    // Conditional delete.
    s.cmd(&["delete", "k", "--if-revision", &r1])
        .assert()
        .code(3);
    s.cmd(&["delete", "k", "--if-revision", &r2])
        .assert()
        .success();
    s.cmd(&["get", "k"]).assert().code(1);
}

#[test]
fn delete_and_not_found() {
    let s = Sandbox::new();
    s.set("a", r#"{"access_token":"x"}"#, &[]);
    s.cmd(&["delete", "a"]).assert().success();
    s.cmd(&["delete", "a"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no entry \"a\""));
    s.cmd(&["delete", "a", "--force"]).assert().success();
    s.cmd(&["get", "a"]).assert().code(1);
}

#[test]
fn usage_errors_exit_2() {
    let s = Sandbox::new();
    s.cmd(&["set", "k", "--ttl", "soon"])
        .write_stdin("{}")
        .assert()
        .code(2);
    s.cmd(&["get", ""]).assert().code(2);
    s.cmd(&["frobnicate"]).assert().code(2);
    // There is no way to pass a key on the command line.
    s.cmd(&["--key", "abc", "get", "k"]).assert().code(2);
    s.cmd(&["set", "k"])
        .write_stdin("not json")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not valid JSON"));
    s.cmd(&["set", "k"])
        .write_stdin(r#"{"refresh_token":"r"}"#)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing field `access_token`"));
    s.cmd(&["set", "k"]).write_stdin("[1]").assert().code(2);
    s.cmd(&["--store", "carrier-pigeon://roof", "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown store scheme"));
    s.cmd(&["list"])
        .env("OAUTH_STORE_URL", "file://relative/x")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("OAUTH_STORE_URL"));
    s.cmd(&["set", "k"])
        .env("OAUTH_STORE_KEY", "short")
        .write_stdin(r#"{"access_token":"x"}"#)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("at least 16 bytes"));
    s.cmd(&["--store", "memory:", "rotate-key"])
        .assert()
        .code(2);
    s.cmd(&["--store", "memory:", "quarantine"])
        .assert()
        .code(2);
}

#[test]
fn help_documents_exit_codes() {
    let s = Sandbox::new();
    s.cmd(&["--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes:"))
        .stdout(predicate::str::contains("4  locked"))
        .stdout(predicate::str::contains("OAUTH_STORE_PASSPHRASE"));
}

#[test]
fn other_failures_exit_6() {
    let s = Sandbox::new();
    std::fs::write(s.home().join("a-file"), "x").unwrap();
    let url = format!("file://{}/a-file/tokens.json", s.home().display());
    let a = s
        .cmd(&["--store", &url, "set", "k"])
        .write_stdin(r#"{"access_token":"x"}"#)
        .assert()
        .code(6);
    assert_eq!(
        stderr_of(&a).trim().lines().count(),
        2,
        "key notice + one error line"
    );
    // -v adds the causes, one per line; without it there is no Debug dump.
    let v = s
        .cmd(&["-v", "--store", &url, "set", "k"])
        .write_stdin(r#"{"access_token":"x"}"#)
        .assert()
        .code(6);
    let err = stderr_of(&v);
    assert!(err.contains("caused by:"), "{err}");
    assert!(
        !stderr_of(&a).contains("caused by") && !err.contains("Io {"),
        "{err}"
    );
}

#[test]
fn locked_store_exits_4() {
    let s = Sandbox::new();
    s.set("k", r#"{"access_token":"x"}"#, &[]);
    let lock_path = s.home().join("data/oauth-store/tokens.json.lock");
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lock_path)
        .unwrap();
    lock.lock().unwrap();
    s.cmd(&["--lock-timeout", "300ms", "set", "k"])
        .write_stdin(r#"{"access_token":"y"}"#)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("locked"));
    // Reads do not wait for the lock, and doctor shows who holds it.
    s.cmd(&["get", "k"]).assert().success();
    s.cmd(&["doctor"])
        .assert()
        .success()
        .stdout(predicate::str::contains("held by another process"));
    lock.unlock().unwrap();
    s.set("k", r#"{"access_token":"y"}"#, &[]);
}

#[test]
fn wrong_key_and_corruption_exit_5_and_quarantine_recovers() {
    let s = Sandbox::new();
    let key_a = "A".repeat(32);
    let key_b = "B".repeat(32);
    s.cmd(&["set", "k"])
        .env("OAUTH_STORE_KEY", &key_a)
        .write_stdin(r#"{"access_token":"x"}"#)
        .assert()
        .success();
    s.cmd(&["get", "k"])
        .env("OAUTH_STORE_KEY", &key_b)
        .assert()
        .code(5)
        .stderr(predicate::str::contains("wrong key"));
    // Quarantine refuses to move a file that may only need the right key.
    s.cmd(&["quarantine"])
        .env("OAUTH_STORE_KEY", &key_b)
        .assert()
        .code(5);
    assert!(s.store_file().exists());

    // A store file that was damaged: exit 5, quarantine moves it aside, a new store starts.
    std::fs::write(s.store_file(), b"{\"version\":2,\"garbage\":true}").unwrap();
    s.cmd(&["list"])
        .env("OAUTH_STORE_KEY", &key_a)
        .assert()
        .code(5)
        .stderr(predicate::str::contains("quarantine"));
    let q = s
        .cmd(&["quarantine"])
        .env("OAUTH_STORE_KEY", &key_a)
        .assert()
        .success();
    let moved = stdout_of(&q);
    assert!(moved.contains("corrupt"), "{moved}");
    assert!(std::path::Path::new(moved.trim()).exists());
    s.cmd(&["set", "k"])
        .env("OAUTH_STORE_KEY", &key_a)
        .write_stdin(r#"{"access_token":"fresh"}"#)
        .assert()
        .success();
    s.cmd(&["quarantine"])
        .env("OAUTH_STORE_KEY", &key_a)
        .assert()
        .success()
        .stderr(predicate::str::contains("nothing to quarantine"));
}

#[test]
fn store_without_its_key_file_is_not_given_a_new_key() {
    let s = Sandbox::new();
    s.set("k", r#"{"access_token":"x"}"#, &[]);
    std::fs::remove_file(s.key_file()).unwrap();
    s.cmd(&["get", "k"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(
            "does not exist but the store does",
        ));
    assert!(!s.key_file().exists());
    // The key is lost for good: quarantine --force moves the store aside, and a new one starts.
    s.cmd(&["quarantine"]).assert().code(5);
    let q = s.cmd(&["quarantine", "--force"]).assert().success();
    assert!(std::path::Path::new(stdout_of(&q).trim()).exists());
    assert!(!s.store_file().exists() && !s.key_file().exists());
    s.set("k", r#"{"access_token":"new"}"#, &[]);
    assert_eq!(s.field("k", "access_token"), "new\n");
}

#[test]
fn passphrase_and_key_file_sources() {
    let s = Sandbox::new();
    s.cmd(&["set", "k"])
        .env("OAUTH_STORE_PASSPHRASE", "correct horse battery staple")
        .write_stdin(r#"{"access_token":"p"}"#)
        .assert()
        .success();
    assert!(
        !s.key_file().exists(),
        "no key file when a passphrase is given"
    );
    s.cmd(&["get", "k", "--field", "access_token"])
        .env("OAUTH_STORE_PASSPHRASE", "correct horse battery staple")
        .assert()
        .success()
        .stdout("p\n");
    s.cmd(&["get", "k"])
        .env("OAUTH_STORE_PASSPHRASE", "wrong horse")
        .assert()
        .code(5);

    // --key-file: created on first use, used as the secret text.
    let kf = s.home().join("my.key");
    let url = format!("file://{}/other.json", s.home().display());
    let kfs = kf.to_str().unwrap();
    s.cmd(&["--store", &url, "--key-file", kfs, "set", "k"])
        .write_stdin(r#"{"access_token":"f"}"#)
        .assert()
        .success();
    let secret = std::fs::read_to_string(&kf).unwrap();
    // The same secret given in OAUTH_STORE_KEY opens the same store.
    s.cmd(&["--store", &url, "get", "k", "--field", "access_token"])
        .env("OAUTH_STORE_KEY", secret.trim_end())
        .assert()
        .success()
        .stdout("f\n");
    // OAUTH_STORE_KEY wins over --key-file.
    s.cmd(&["--store", &url, "--key-file", kfs, "get", "k"])
        .env("OAUTH_STORE_KEY", "Z".repeat(32))
        .assert()
        .code(5);
}

#[test]
fn list_json_and_plain() {
    let s = Sandbox::new();
    s.set("github/alice", r#"{"access_token":"1"}"#, &[]);
    s.set("github/bob", r#"{"access_token":"2"}"#, &["--ttl", "1h"]);
    s.set("gitlab", r#"{"access_token":"3"}"#, &[]);
    let plain = s.cmd(&["list"]).assert().success();
    assert_eq!(stdout_of(&plain), "github/alice\ngithub/bob\ngitlab\n");
    let json = s.cmd(&["list", "github/", "--json"]).assert().success();
    let rows: Vec<Value> = stdout_of(&json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["key"], "github/alice");
    assert!(rows[0]["expires_at_unix"].is_null());
    assert!(
        rows[1]["expires_at_unix"].as_u64().unwrap() > rows[1]["updated_at_unix"].as_u64().unwrap()
    );
    let empty = s.cmd(&["list", "nothing"]).assert().success();
    assert_eq!(stdout_of(&empty), "");
}

#[test]
fn short_ttl_expires() {
    let s = Sandbox::new();
    s.set("brief", r#"{"access_token":"x"}"#, &["--ttl", "1s"]);
    s.cmd(&["get", "brief"]).assert().success();
    std::thread::sleep(Duration::from_millis(1500));
    s.cmd(&["get", "brief"]).assert().code(1);
    let l = s.cmd(&["list"]).assert().success();
    assert_eq!(stdout_of(&l), "");
}

#[test]
fn sixteen_parallel_writers_lose_nothing() {
    let s = Sandbox::new();
    std::thread::scope(|scope| {
        for p in 0..16 {
            let s = &s;
            scope.spawn(move || {
                for i in 0..20 {
                    let key = format!("p{p:02}/k{i:02}");
                    s.cmd(&["set", &key])
                        .write_stdin(format!(r#"{{"access_token":"{key}"}}"#))
                        .assert()
                        .success();
                }
            });
        }
    });
    let l = s.cmd(&["list"]).assert().success();
    let keys: Vec<String> = stdout_of(&l).lines().map(str::to_owned).collect();
    assert_eq!(keys.len(), 320, "all 320 entries are present");
    assert_eq!(s.field("p07/k13", "access_token"), "p07/k13\n");
    // All racers agreed on one key: a single key file, and every entry opens with it.
    let names: Vec<_> = std::fs::read_dir(s.key_file().parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn import_harn_v1_vectors() {
    let s = Sandbox::new();
    let v1 = vector("v1-secret.python.json");
    let v1 = v1.to_str().unwrap();
    // Without the original secret, the store's own key does not open it.
    s.cmd(&["import", v1]).assert().code(5);
    let ok = s
        .cmd(&["import", v1])
        .env("OAUTH_STORE_IMPORT_KEY", "harn-test-secret")
        .assert()
        .success();
    assert!(stderr_of(&ok).contains("imported 1 entries"));
    assert_eq!(
        s.field("github", "access_token"),
        "gho_16C7e42F292c6912E7710c838347Ae178B4a\n"
    );
    assert_eq!(s.field("github", "scopes"), "[\"repo\",\"read:org\"]\n");
    // ttl_seconds (36000) becomes the entry's TTL.
    let l = s.cmd(&["list", "--json"]).assert().success();
    let row: Value = serde_json::from_str(stdout_of(&l).trim()).unwrap();
    let ttl = row["expires_at_unix"].as_u64().unwrap() - row["updated_at_unix"].as_u64().unwrap();
    assert!((35_990..=36_010).contains(&ttl), "{ttl}");

    // The crate-written v1 vector, from stdin.
    let bytes = std::fs::read(vector("v1-secret.rust.json")).unwrap();
    s.cmd(&["import", "-"])
        .env("OAUTH_STORE_IMPORT_KEY", "harn-test-secret")
        .write_stdin(bytes)
        .assert()
        .success();
    assert_eq!(s.field("gitlab", "expires_in"), "7200\n");
    // Importing again: existing entries are skipped with exit 3, or replaced.
    s.cmd(&["import", v1])
        .env("OAUTH_STORE_IMPORT_KEY", "harn-test-secret")
        .assert()
        .code(3)
        .stderr(predicate::str::contains("--overwrite"));
    s.cmd(&["import", v1, "--overwrite"])
        .env("OAUTH_STORE_IMPORT_KEY", "harn-test-secret")
        .assert()
        .success();
    let empty = vector("v1-empty-store.python.json");
    s.cmd(&["import", empty.to_str().unwrap()])
        .env("OAUTH_STORE_IMPORT_KEY", "harn-test-secret")
        .assert()
        .success()
        .stderr(predicate::str::contains("imported 0 entries"));
}

#[test]
fn export_then_import_round_trips() {
    let a = Sandbox::new();
    a.set("one", GITHUB, &[]);
    a.set("two", r#"{"access_token":"t2"}"#, &["--ttl", "2h"]);
    let out = a.cmd(&["export"]).assert().success();
    let json = stdout_of(&out);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["one"]["token"],
        serde_json::from_str::<Value>(GITHUB).unwrap()
    );
    let ttl = v["two"]["ttl_seconds"].as_u64().unwrap();
    assert!((7_190..=7_200).contains(&ttl), "{ttl}");
    assert!(v["one"].get("ttl_seconds").is_none());

    let b = Sandbox::new();
    b.cmd(&["import"]).write_stdin(json).assert().success();
    assert_eq!(b.field("one", "provider_extra"), "{\"x\":1}\n");
    assert_eq!(b.field("two", "access_token"), "t2\n");

    // A bare token set per key is accepted too; a bad entry stops the import before any write.
    b.cmd(&["import"])
        .write_stdin(r#"{"three":{"access_token":"t3"}}"#)
        .assert()
        .success();
    b.cmd(&["import"])
        .write_stdin(r#"{"four":{"access_token":"t4"},"bad":{"token":{"nope":1}}}"#)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("\"bad\""));
    b.cmd(&["get", "four"]).assert().code(1);
}

#[test]
fn import_a_file_store_of_another_key() {
    let a = Sandbox::new();
    let secret = "S".repeat(40);
    a.cmd(&["set", "k"])
        .env("OAUTH_STORE_KEY", &secret)
        .write_stdin(r#"{"access_token":"from-a"}"#)
        .assert()
        .success();
    let b = Sandbox::new();
    let file = a.store_file();
    b.cmd(&["import", file.to_str().unwrap()])
        .env("OAUTH_STORE_IMPORT_KEY", &secret)
        .assert()
        .success();
    assert_eq!(b.field("k", "access_token"), "from-a\n");
}

#[test]
fn rotate_key_file() {
    let s = Sandbox::new();
    s.set("k", r#"{"access_token":"x"}"#, &[]);
    let before = std::fs::read(s.key_file()).unwrap();
    let r = s.cmd(&["rotate-key"]).assert().success();
    assert!(stderr_of(&r).contains("re-encrypted 1 entries"));
    let after = std::fs::read(s.key_file()).unwrap();
    assert_ne!(before, after);
    assert!(!s.key_file().with_file_name("key.next").exists());
    assert_eq!(s.field("k", "access_token"), "x\n");
    // The old key no longer opens the store.
    s.cmd(&["get", "k"])
        .env(
            "OAUTH_STORE_KEY",
            String::from_utf8(before).unwrap().trim_end(),
        )
        .assert()
        .code(5);
}

#[test]
fn interrupted_rotation_still_opens_and_finishes() {
    let s = Sandbox::new();
    s.set("k", r#"{"access_token":"x"}"#, &[]);
    let old = std::fs::read_to_string(s.key_file()).unwrap();
    let next = s.key_file().with_file_name("key.next");
    let new = format!("{}\n", "n".repeat(64));
    std::fs::write(&next, &new).unwrap();
    // Crash after re-encryption, before the rename: the store is under the new key.
    let secret_new = new.trim_end().to_owned();
    // Re-encrypt the store under [new, old] without touching the key file (environment keys
    // win over the key file), as rotate-key's step 2 would, and "crash" before step 3.
    s.cmd(&["rotate-key"])
        .env("OAUTH_STORE_KEY", old.trim_end())
        .env("OAUTH_STORE_NEW_KEY", &secret_new)
        .assert()
        .success();
    // Any command still opens it (the .next key is in the ring) and points at the fix.
    let g = s
        .cmd(&["get", "k", "--field", "access_token"])
        .assert()
        .success();
    assert_eq!(stdout_of(&g), "x\n");
    assert!(stderr_of(&g).contains("interrupted key rotation"));
    // rotate-key finishes: the .next key becomes the key file.
    s.cmd(&["rotate-key"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "finishing the interrupted rotation",
        ))
        .stderr(predicate::str::contains("run `oauth-store rotate-key`").not());
    assert_eq!(std::fs::read_to_string(s.key_file()).unwrap(), new);
    assert!(!next.exists());
    assert_eq!(s.field("k", "access_token"), "x\n");
}

#[test]
fn a_write_during_rotation_is_sealed_with_the_new_key() {
    let s = Sandbox::new();
    s.set("k", r#"{"access_token":"x"}"#, &[]);
    let old = std::fs::read_to_string(s.key_file()).unwrap();
    let next = s.key_file().with_file_name("key.next");
    let new = format!("{}\n", "m".repeat(64));
    std::fs::write(&next, &new).unwrap();
    // Rotation steps 1 and 2 done: the store is under the new key.
    s.cmd(&["rotate-key"])
        .env("OAUTH_STORE_KEY", old.trim_end())
        .env("OAUTH_STORE_NEW_KEY", new.trim_end())
        .assert()
        .success();
    // Another process writes now, before step 3.
    s.set("during", r#"{"access_token":"y"}"#, &[]);
    // Step 3: the new key replaces the key file, and the old key is gone.
    std::fs::rename(&next, s.key_file()).unwrap();
    assert_eq!(s.field("during", "access_token"), "y\n");
    assert_eq!(s.field("k", "access_token"), "x\n");
}

#[test]
fn rotate_env_key() {
    let s = Sandbox::new();
    let old = "O".repeat(32);
    let new = "N".repeat(32);
    s.cmd(&["set", "k"])
        .env("OAUTH_STORE_KEY", &old)
        .write_stdin(r#"{"access_token":"x"}"#)
        .assert()
        .success();
    s.cmd(&["rotate-key"])
        .env("OAUTH_STORE_KEY", &old)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("OAUTH_STORE_NEW_KEY"));
    s.cmd(&["rotate-key"])
        .env("OAUTH_STORE_KEY", &old)
        .env("OAUTH_STORE_NEW_KEY", &new)
        .assert()
        .success();
    s.cmd(&["get", "k"])
        .env("OAUTH_STORE_KEY", &old)
        .assert()
        .code(5);
    s.cmd(&["get", "k"])
        .env("OAUTH_STORE_KEY", &new)
        .assert()
        .success();
}

#[test]
fn doctor_reports_and_changes_nothing() {
    let s = Sandbox::new();
    let fresh = s.cmd(&["doctor"]).assert().success();
    assert!(stdout_of(&fresh).contains("not created yet"));
    assert!(!s.key_file().exists(), "doctor creates no key file");

    s.set("k", r#"{"access_token":"x"}"#, &[]);
    let ok = s.cmd(&["doctor"]).assert().success();
    let text = stdout_of(&ok);
    for want in [
        "store:",
        "(from the default location)",
        "key file",
        "format v2",
        "entries:       1",
        "lock:          free",
        "cross-process locking",
        "problems:      none",
    ] {
        assert!(text.contains(want), "{want} missing in\n{text}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(s.key_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
        let bad = s.cmd(&["doctor"]).assert().code(6);
        let text = stdout_of(&bad);
        assert!(
            text.contains("mode 0644") && text.contains("fix: chmod 600"),
            "{text}"
        );
    }
    let wrong = s
        .cmd(&["doctor"])
        .env("OAUTH_STORE_KEY", "W".repeat(32))
        .assert()
        .code(5);
    assert!(stdout_of(&wrong).contains("wrong key"));
    s.cmd(&["--store", "memory:", "doctor"])
        .assert()
        .success()
        .stdout(predicate::str::contains("none needed"));
}

#[test]
fn memory_store_works_within_one_process() {
    let s = Sandbox::new();
    s.cmd(&["--store", "memory:", "set", "k"])
        .write_stdin(r#"{"access_token":"x"}"#)
        .assert()
        .success()
        .stdout("1\n");
    // Each process has its own memory store.
    s.cmd(&["--store", "memory:", "get", "k"]).assert().code(1);
    assert!(!s.key_file().exists(), "a memory store needs no key");
}

#[test]
fn completions() {
    let s = Sandbox::new();
    s.cmd(&["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("oauth-store"))
        .stdout(predicate::str::contains("rotate-key"));
    s.cmd(&["completions", "zsh"]).assert().success();
    s.cmd(&["completions", "tcsh"]).assert().code(2);
}

#[test]
fn no_secret_reaches_stderr_on_any_error_path() {
    const TOKEN: &str = "TOKEN-SECRET-7f3a9";
    const KEY: &str = "KEY-SECRET-0123456789abcdef";
    const OTHER_KEY: &str = "OTHER-SECRET-0123456789abcdef";
    const PASS: &str = "PASS-SECRET-horse";
    let s = Sandbox::new();
    let check = |a: assert_cmd::assert::Assert, what: &str| {
        let err = stderr_of(&a);
        assert!(!err.is_empty(), "{what}: expected an error");
        for secret in [TOKEN, KEY, OTHER_KEY, PASS] {
            assert!(!err.contains(secret), "{what}: {secret} leaked: {err}");
        }
    };
    let good = format!(r#"{{"access_token":"{TOKEN}"}}"#);
    s.cmd(&["set", "k"])
        .env("OAUTH_STORE_KEY", KEY)
        .write_stdin(good.clone())
        .assert()
        .success();
    for v in ["", "-v"] {
        let args = |a: &[&'static str]| -> Vec<&'static str> {
            let mut out: Vec<&str> = a.to_vec();
            if !v.is_empty() {
                out.insert(0, "-v");
            }
            out
        };
        // Wrong types holding the secret, broken JSON around it.
        for bad in [
            format!(r#"{{"access_token":"x","expires_in":"{TOKEN}"}}"#),
            format!(r#"{{"access_token":["{TOKEN}"]}}"#),
            format!(r#"{{"access_token":"{TOKEN}""#),
            format!(r#"{{"access_token":"{TOKEN}", oops}}"#),
            format!(r#"{{"scopes":"{TOKEN}"}}"#),
            format!(r#"{{"access_token":"x","scopes":{{"{TOKEN}":1}}}}"#),
        ] {
            let a = s
                .cmd(&args(&["set", "k2"]))
                .env("OAUTH_STORE_KEY", KEY)
                .write_stdin(bad)
                .assert()
                .code(2);
            check(a, "bad token JSON");
        }
        let a = s
            .cmd(&args(&["set", "k", "--if-absent"]))
            .env("OAUTH_STORE_KEY", KEY)
            .write_stdin(good.clone())
            .assert()
            .code(3);
        check(a, "conflict");
        let a = s
            .cmd(&args(&["get", "k"]))
            .env("OAUTH_STORE_KEY", OTHER_KEY)
            .assert()
            .code(5);
        check(a, "wrong key");
        let a = s
            .cmd(&args(&["get", "k"]))
            .env("OAUTH_STORE_PASSPHRASE", PASS)
            .assert()
            .code(5);
        check(a, "wrong passphrase");
        let a = s
            .cmd(&args(&["get", "k"]))
            .env("OAUTH_STORE_KEY", &KEY[..10])
            .assert()
            .code(2);
        check(a, "short key");
        let a = s
            .cmd(&args(&["import"]))
            .env("OAUTH_STORE_KEY", KEY)
            .write_stdin(format!(
                r#"{{"k":{{"token":{{"access_token":"{TOKEN}","expires_in":"{TOKEN}"}}}}}}"#
            ))
            .assert()
            .code(2);
        check(a, "bad import");
        let a = s
            .cmd(&args(&["rotate-key"]))
            .env("OAUTH_STORE_KEY", KEY)
            .env("OAUTH_STORE_NEW_KEY", "tiny")
            .assert()
            .code(2);
        check(a, "short new key");
    }
    // Corrupt store.
    std::fs::write(s.store_file(), format!(r#"{{"version":2,"x":"{TOKEN}"}}"#)).unwrap();
    let a = s
        .cmd(&["-v", "get", "k"])
        .env("OAUTH_STORE_KEY", KEY)
        .assert()
        .code(5);
    check(a, "corrupt store");
}

#[test]
fn a_reader_closing_the_pipe_is_not_an_error() {
    use std::io::Read;
    use std::process::Stdio;
    let s = Sandbox::new();
    let big = "x".repeat(1000);
    let entries: serde_json::Map<String, Value> = (0..150)
        .map(|i| (format!("k{i:03}"), serde_json::json!({"access_token": big})))
        .collect();
    s.cmd(&["import"])
        .write_stdin(Value::Object(entries).to_string())
        .assert()
        .success();
    // export prints ~150 KB, more than a pipe holds: the reader takes a little and leaves.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_oauth-store"))
        .env_clear()
        .env("HOME", s.home())
        .env("XDG_DATA_HOME", s.home().join("data"))
        .env("XDG_CONFIG_HOME", s.home().join("config"))
        .arg("export")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?} {err}", out.status);
    assert!(!err.contains("panicked"), "{err}");
}

/// `{"<prefix><i>": {"token": {"access_token": "<prefix><i>"}}}` for `n` entries.
fn import_json(prefix: &str, n: usize) -> String {
    let entries: serde_json::Map<String, Value> = (0..n)
        .map(|i| {
            let k = format!("{prefix}{i:04}");
            (k.clone(), serde_json::json!({"token": {"access_token": k}}))
        })
        .collect();
    Value::Object(entries).to_string()
}

#[test]
fn import_into_a_file_store_is_one_atomic_write() {
    let s = Sandbox::new();
    s.set("svc0500", r#"{"access_token":"kept"}"#, &[]);
    // 1000 entries, one of which exists: the other 999 are written, it is skipped (exit 3).
    let out = s
        .cmd(&["import"])
        .write_stdin(import_json("svc", 1000))
        .assert()
        .code(3);
    let err = stderr_of(&out);
    assert!(err.contains("imported 999 entries"), "{err}");
    assert!(
        err.contains("skipped 1 existing entries (svc0500)"),
        "{err}"
    );
    let l = s.cmd(&["list"]).assert().success();
    let keys: Vec<String> = stdout_of(&l).lines().map(str::to_owned).collect();
    assert_eq!(keys.len(), 1000);
    assert_eq!(s.field("svc0500", "access_token"), "kept\n");
    assert_eq!(s.field("svc0999", "access_token"), "svc0999\n");
    // All written entries share the write time of one write.
    let l = s.cmd(&["list", "--json"]).assert().success();
    let times: std::collections::BTreeSet<u64> = stdout_of(&l)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|row| row["key"] != "svc0500")
        .map(|row| row["updated_at_unix"].as_u64().unwrap())
        .collect();
    assert_eq!(times.len(), 1, "{times:?}");
    s.cmd(&["import", "--overwrite"])
        .write_stdin(import_json("svc", 1000))
        .assert()
        .success()
        .stderr(predicate::str::contains("imported 1000 entries"));
    assert_eq!(s.field("svc0500", "access_token"), "svc0500\n");

    // A store file that cannot be opened: exit 5, and not a byte of it changes.
    let garbage = b"{\"version\":2,\"garbage\":true}";
    std::fs::write(s.store_file(), garbage).unwrap();
    s.cmd(&["import"])
        .write_stdin(import_json("new", 1000))
        .assert()
        .code(5)
        .stderr(predicate::str::contains("nothing was imported"));
    assert_eq!(std::fs::read(s.store_file()).unwrap(), garbage);
}

#[test]
fn an_import_that_fails_at_the_end_writes_nothing() {
    let s = Sandbox::new();
    s.set("before", r#"{"access_token":"x"}"#, &[]);
    let before = std::fs::read(s.store_file()).unwrap();
    // 52 entries of 1 MB: each fits, but together they seal (base64) to more than the store's
    // 64 MiB bound. Written one at a time, the first ~48 would have landed before the error.
    let big = "x".repeat(1_000_000);
    let entries: serde_json::Map<String, Value> = (0..52)
        .map(|i| {
            (
                format!("big{i:02}"),
                serde_json::json!({"access_token": big}),
            )
        })
        .collect();
    let out = s
        .cmd(&["import"])
        .write_stdin(Value::Object(entries).to_string())
        .assert()
        .code(6);
    let err = stderr_of(&out);
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(std::fs::read(s.store_file()).unwrap(), before);
    let l = s.cmd(&["list"]).assert().success();
    assert_eq!(stdout_of(&l), "before\n");
}

#[test]
fn import_into_a_memory_store_writes_each_entry() {
    let s = Sandbox::new();
    s.cmd(&["--store", "memory:", "import"])
        .write_stdin(import_json("m", 30))
        .assert()
        .success()
        .stderr(predicate::str::contains("imported 30 entries"));
}

//! A sandbox for running `oauth-store` as a new user would: a temporary HOME with its own
//! data and config directories, and no `OAUTH_STORE_*` variables from the outer environment.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// The default store file.
    pub fn store_file(&self) -> PathBuf {
        self.home().join("data/oauth-store/tokens.json")
    }

    /// The default key file.
    pub fn key_file(&self) -> PathBuf {
        self.home().join("config/oauth-store/key")
    }

    /// `oauth-store ARGS` in the sandbox, with a clean environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("oauth-store").expect("binary built");
        c.env_clear()
            .env("HOME", self.home())
            .env("XDG_DATA_HOME", self.home().join("data"))
            .env("XDG_CONFIG_HOME", self.home().join("config"))
            .current_dir(self.home())
            .args(args);
        c
    }

    /// `echo JSON | oauth-store set KEY EXTRA…`, asserting success; returns the revision.
    pub fn set(&self, key: &str, json: &str, extra: &[&str]) -> String {
        let mut args = vec!["set", key];
        args.extend_from_slice(extra);
        let out = self.cmd(&args).write_stdin(json).assert().success();
        let rev = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        rev.trim().to_owned()
    }

    /// `oauth-store get KEY --field NAME`, asserting success.
    pub fn field(&self, key: &str, name: &str) -> String {
        let out = self.cmd(&["get", key, "--field", name]).assert().success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    }
}

/// The stderr of a finished command, as text.
pub fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// The stdout of a finished command, as text.
pub fn stdout_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

/// The committed envelope test vectors of the core crate.
pub fn vector(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../oauth-store-core/tests/vectors")
        .join(name)
}

//! `cargo xtask lint`: formatting, clippy, rustdoc, cargo-deny and the dependency-tree check.

use crate::run::{output, run, run_env};

/// Crates a default build must never pull in: TLS stacks and cloud SDKs belong to the
/// backends that need them, behind their features.
const HEAVY: &[&str] = &[
    "rustls",
    "openssl",
    "native-tls",
    "aws-sdk",
    "aws-config",
    "hyper",
    "reqwest",
    "sqlx",
    "tokio-postgres",
];

pub(crate) fn run_all() -> Result<(), String> {
    run("cargo", &["fmt", "--all", "--check"])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    run_env(
        "cargo",
        &["doc", "--workspace", "--no-deps", "--all-features"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    run(
        "cargo",
        &[
            "deny",
            "--all-features",
            "check",
            "licenses",
            "bans",
            "sources",
        ],
    )?;
    lean_default_tree()
}

/// `object_store`'s check: the default feature set stays free of heavy dependencies.
fn lean_default_tree() -> Result<(), String> {
    let packages = output("cargo", &["metadata", "--no-deps", "--format-version", "1"])?;
    let target = if packages.contains("\"name\":\"oauth-store\"") {
        "oauth-store"
    } else {
        "oauth-store-core"
    };
    let tree = output(
        "cargo",
        &["tree", "-p", target, "-e", "normal", "--prefix", "none"],
    )?;
    let found: Vec<&str> = tree
        .lines()
        .filter(|l| HEAVY.iter().any(|h| l.starts_with(h)))
        .collect();
    if found.is_empty() {
        eprintln!("default dependency tree of {target} is free of TLS stacks and SDKs");
        Ok(())
    } else {
        Err(format!(
            "the default build of {target} pulls in {found:?}; put them behind a feature"
        ))
    }
}

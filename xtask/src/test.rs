//! `cargo xtask test`: every test of every crate with every feature, the facade without its
//! default features, then the independent check of the envelope test vectors.

use crate::run::{root, run};

pub(crate) fn run_all(extra: &[String]) -> Result<(), String> {
    let mut args = vec!["test", "--workspace", "--all-features", "--no-fail-fast"];
    args.extend(extra.iter().map(String::as_str));
    run("cargo", &args)?;
    // The facade's feature-off paths (a URL whose backend is compiled out) need a build
    // without default features.
    run(
        "cargo",
        &[
            "test",
            "-p",
            "oauth-store",
            "--no-default-features",
            "--lib",
        ],
    )?;
    let script = root().join("crates/oauth-store-core/tests/vectors/generate.py");
    if script.exists() {
        run("python3", &[&script.to_string_lossy(), "--check"])?;
    }
    Ok(())
}

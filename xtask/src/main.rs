//! Project automation, run as `cargo xtask <command>`.
//!
//! - `ci`: everything CI checks — `lint`, then `test`.
//! - `lint`: `cargo fmt --check`, clippy with `-D warnings`, rustdoc with `-D warnings`,
//!   `cargo deny check licenses bans sources`, and a check that the default build of the
//!   facade pulls in no TLS stack or cloud SDK.
//! - `test`: the whole test suite (every crate, every feature, doctests), then the
//!   second-implementation check of the envelope test vectors (Python).
//! - `bench`: the benchmarks (`cargo bench`).
//! - `fuzz`: a short run of each fuzz target (needs nightly and cargo-fuzz).
//!
//! It has no dependencies on purpose: it only runs other programs.

mod bench;
mod fuzz;
mod lint;
mod run;
mod test;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    let result = match cmd {
        "ci" => lint::run_all().and_then(|()| test::run_all(rest)),
        "lint" => lint::run_all(),
        "test" => test::run_all(rest),
        "bench" => bench::run_all(rest),
        "fuzz" => fuzz::run_all(rest),
        "help" | "-h" | "--help" => {
            println!("usage: cargo xtask <ci|lint|test|bench|fuzz> [args]");
            Ok(())
        }
        other => Err(format!(
            "unknown xtask command {other:?}; try `cargo xtask help`"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

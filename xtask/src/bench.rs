//! `cargo xtask bench`: the benchmarks, baseline and floor side by side.

use crate::run::run;

pub(crate) fn run_all(extra: &[String]) -> Result<(), String> {
    let mut args = vec!["bench", "--workspace"];
    args.extend(extra.iter().map(String::as_str));
    run("cargo", &args)
}

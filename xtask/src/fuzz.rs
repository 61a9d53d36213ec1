//! `cargo xtask fuzz [SECONDS]`: a short run of every fuzz target (nightly + cargo-fuzz).

use crate::run::{output, run};

pub(crate) fn run_all(extra: &[String]) -> Result<(), String> {
    let seconds = extra.first().map_or("60", String::as_str);
    let targets = output("cargo", &["+nightly", "fuzz", "list", "--fuzz-dir", "fuzz"])?;
    for target in targets.lines().filter(|t| !t.is_empty()) {
        let max_time = format!("-max_total_time={seconds}");
        run(
            "cargo",
            &[
                "+nightly",
                "fuzz",
                "run",
                "--fuzz-dir",
                "fuzz",
                target,
                "--",
                &max_time,
            ],
        )?;
    }
    Ok(())
}

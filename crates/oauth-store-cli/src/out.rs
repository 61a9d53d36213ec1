//! Writing to stdout without panicking when the reader goes away.
//!
//! `println!` panics when stdout is a closed pipe (`oauth-store list | head -1`). Everything
//! the tool prints goes through [`line`] instead; a closed pipe becomes a quiet, successful
//! exit (the reader has what it wanted), like other line-oriented tools.

use std::fmt::Display;
use std::io::Write;

use crate::error::CliError;

/// Writes `text` and a newline to stdout.
pub(crate) fn line(text: impl Display) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// Writes `text` as it is to stdout.
pub(crate) fn raw(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

fn stdout_error(e: std::io::Error) -> CliError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        CliError::broken_pipe()
    } else {
        CliError::io("cannot write to stdout", e)
    }
}

/// `println!` that returns an error instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))?
    };
}
pub(crate) use outln;

//! `oauth-store`: keep OAuth token sets in an encrypted store, from the shell and from scripts.
//!
//! ```text
//! echo '{"access_token":"gho_..."}' | oauth-store set github
//! oauth-store get github --field access_token
//! ```
//!
//! See `oauth-store --help` and the crate's README for every command, the store and key
//! sources, and the exit codes.

mod cli;
mod commands;
mod doctor;
mod error;
mod keys;
mod out;
mod output;
mod store;
mod ttl;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command};
use crate::error::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbose = cli.verbose;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.broken_pipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.render(verbose));
            e.code.into()
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "oauth-store",
            &mut std::io::stdout(),
        );
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| CliError::io("cannot start the async runtime", e))?;
    let ctx = store::Context {
        store_flag: cli.store.as_deref(),
        key_file_flag: cli.key_file.as_deref(),
        lock_timeout: cli.lock_timeout,
        env: &store::process_env,
    };
    runtime.block_on(commands::run(cli.command, &ctx))
}

//! The command line, as clap parses it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use oauth_store::{EntryKey, Revision};

use crate::error::EXIT_CODES_HELP;

const STORE_HELP: &str = "\
Examples:
  echo '{\"access_token\":\"gho_...\",\"refresh_token\":\"ghr_...\"}' | oauth-store set github
  oauth-store get github --field access_token
  oauth-store set github --if-revision 42 < refreshed.json
  oauth-store list --json

Store:
  --store URL, else $OAUTH_STORE_URL, else the encrypted file
  <data dir>/oauth-store/tokens.json ($XDG_DATA_HOME or ~/.local/share on Linux).
  URLs: memory:  file:///absolute/path.json  (a plain path is taken as a file path)

Key (first found wins; never on the command line):
  $OAUTH_STORE_KEY         a high-entropy secret (at least 16 bytes)
  $OAUTH_STORE_PASSPHRASE  a passphrase (stretched with Argon2id)
  --key-file PATH          a file holding the secret
  otherwise                <config dir>/oauth-store/key, created on first use";

/// Keep OAuth token sets in an encrypted store, from the shell and from scripts.
#[derive(Debug, Parser)]
#[command(
    name = "oauth-store",
    version,
    after_help = format!("{STORE_HELP}\n\n{EXIT_CODES_HELP}"),
    after_long_help = format!("{STORE_HELP}\n\n{EXIT_CODES_HELP}"),
)]
pub(crate) struct Cli {
    /// The store: `memory:`, `file:///path`, or a path to a store file.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) store: Option<String>,

    /// Read the store's key from this file (created with a new key if neither it nor the
    /// store exists yet).
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) key_file: Option<PathBuf>,

    /// How long to wait for another process's lock on a file store before giving up with
    /// exit code 4: `500ms`, `10s` (the default).
    #[arg(long, global = true, value_name = "DURATION", value_parser = crate::ttl::parse_ttl)]
    pub(crate) lock_timeout: Option<Duration>,

    /// Show the causes of an error.
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Store the token set read as JSON from stdin under KEY; prints the new revision.
    Set {
        /// The entry key, such as `github` or `github/alice`.
        #[arg(value_parser = parse_key)]
        key: EntryKey,
        /// Let the entry expire after this long: `90s`, `15m`, `1h`, `7days`.
        #[arg(long, value_parser = crate::ttl::parse_ttl)]
        ttl: Option<Duration>,
        /// Fail with exit code 3 if the entry exists.
        #[arg(long, conflicts_with = "if_revision")]
        if_absent: bool,
        /// Fail with exit code 3 unless the entry's revision is still R.
        #[arg(long, value_name = "R", value_parser = parse_revision)]
        if_revision: Option<Revision>,
    },
    /// Print the token set under KEY as JSON, or one field of it with --field.
    Get {
        /// The entry key.
        #[arg(value_parser = parse_key)]
        key: EntryKey,
        /// Print only this field, raw (strings without quotes): `--field access_token`.
        #[arg(long, value_name = "NAME", conflicts_with = "meta")]
        field: Option<String>,
        /// Print the entry's revision and expiry with the token set.
        #[arg(long)]
        meta: bool,
    },
    /// Remove the entry under KEY (exit code 1 if there is none, unless --force).
    Delete {
        /// The entry key.
        #[arg(value_parser = parse_key)]
        key: EntryKey,
        /// Fail with exit code 3 unless the entry's revision is still R.
        #[arg(long, value_name = "R", value_parser = parse_revision)]
        if_revision: Option<Revision>,
        /// Succeed when there is no such entry.
        #[arg(short, long, conflicts_with = "if_revision")]
        force: bool,
    },
    /// List entries (whose key starts with PREFIX): a table on a terminal, keys otherwise.
    List {
        /// Only keys starting with this.
        prefix: Option<String>,
        /// One JSON object per line: key, revision, expiry and update time.
        #[arg(long)]
        json: bool,
    },
    /// Re-encrypt the store under a new key, and make it the key.
    ///
    /// With a key file, a new random key is generated. With `OAUTH_STORE_KEY` or
    /// `OAUTH_STORE_PASSPHRASE`, the new one is read from `OAUTH_STORE_NEW_KEY` or
    /// `OAUTH_STORE_NEW_PASSPHRASE`.
    RotateKey,
    /// Import entries from a JSON export or an encrypted store file (such as a harn-vm v1
    /// token file).
    ///
    /// An encrypted file is opened with `OAUTH_STORE_IMPORT_KEY` if set (the original secret,
    /// any length), else with the store's own key.
    Import {
        /// The file to read; `-` or nothing reads stdin.
        file: Option<PathBuf>,
        /// Replace entries that exist; without it they are skipped and the exit code is 3.
        #[arg(long)]
        overwrite: bool,
    },
    /// Print every entry, decrypted, as JSON (the form `import` reads).
    Export,
    /// Check the store and key setup and explain every problem found.
    Doctor,
    /// Move a corrupt store file aside (never deleting it) so a new store can start.
    Quarantine {
        /// Also move a file that only fails to open with this key: it may be intact and
        /// simply need the right key.
        #[arg(long)]
        force: bool,
    },
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn parse_key(s: &str) -> Result<EntryKey, String> {
    EntryKey::new(s).map_err(|e| e.to_string())
}

fn parse_revision(s: &str) -> Result<Revision, String> {
    Revision::parse(s).ok_or_else(|| {
        "a revision is 1 to 256 printable ASCII characters, as printed by `set`".to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_lists_exit_codes() {
        let help = Cli::command().render_help().to_string();
        assert!(help.contains("Exit codes:"), "{help}");
        assert!(help.contains("5  wrong key"), "{help}");
    }

    #[test]
    fn bad_keys_and_ttls_are_usage_errors() {
        let e = Cli::try_parse_from(["oauth-store", "get", ""]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let e = Cli::try_parse_from(["oauth-store", "set", "k", "--ttl", "soon"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let ok = Cli::try_parse_from(["oauth-store", "set", "k", "--ttl", "90s"]).unwrap();
        assert!(matches!(ok.command, Command::Set { ttl: Some(d), .. } if d.as_secs() == 90));
    }
}

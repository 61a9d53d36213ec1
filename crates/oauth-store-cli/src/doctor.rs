//! `oauth-store doctor`: which store and key are in use, and every problem found, with how to
//! fix it. It changes nothing: it creates no key file and no store.

use std::path::Path;

use oauth_store::Capabilities;
use oauth_store::file::{FileStatus, Problem as FileProblem};

use crate::error::{CliError, Code, code_of};
use crate::keys::{self, Create, KeyChoice};
use crate::out::outln;
use crate::store::{self, Context};

/// One problem: what is wrong, how to fix it, and the exit code it stands for.
struct Problem {
    code: Code,
    what: String,
    fix: String,
}

pub(crate) async fn run(ctx: &Context<'_>) -> Result<(), CliError> {
    let mut problems = Vec::new();
    let (url, source) = store::choose(ctx.store_flag, ctx.env, store::default_store_file())?;
    outln!("store:         {url} (from {source})");
    if let Some(path) = url.file_path() {
        check_file_store(ctx, path, &mut problems).await?;
    } else {
        let backend = oauth_store::open_url(&url, None)?;
        outln!("key:           none needed");
        outln!("capabilities:  {}", capabilities(&backend.capabilities()));
        if let Err(e) = backend.list("").await {
            problems.push(Problem {
                code: code_of(&e),
                what: format!("listing the store failed: {e}"),
                fix: "check the store's configuration".to_owned(),
            });
        }
    }
    if problems.is_empty() {
        outln!("problems:      none");
        return Ok(());
    }
    outln!("problems:");
    for p in &problems {
        outln!("  - {}", p.what);
        outln!("    fix: {}", p.fix);
    }
    let worst = [Code::Key, Code::Locked, Code::Other]
        .into_iter()
        .find(|c| problems.iter().any(|p| p.code == *c))
        .unwrap_or(Code::Other);
    Err(CliError::new(
        worst,
        format!("doctor found {} problem(s)", problems.len()),
    ))
}

async fn check_file_store(
    ctx: &Context<'_>,
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<(), CliError> {
    let choice = keys::choose(ctx.env, ctx.key_file_flag, keys::default_key_file())?;
    outln!("key:           {choice}");
    if (ctx.env)(keys::ENV_KEY).is_some() && (ctx.env)(keys::ENV_PASSPHRASE).is_some() {
        problems.push(Problem {
            code: Code::Other,
            what: format!(
                "both {} and {} are set; the passphrase is ignored",
                keys::ENV_KEY,
                keys::ENV_PASSPHRASE
            ),
            fix: "unset the one you do not mean to use".to_owned(),
        });
    }
    if let KeyChoice::KeyFile { path: key_path, .. } = &choice {
        check_private(key_path, 0o600, "key file", problems);
        if let Some(dir) = key_path.parent() {
            check_private(dir, 0o700, "key directory", problems);
        }
        let next = keys::next_path(key_path);
        if next.exists() {
            problems.push(Problem {
                code: Code::Other,
                what: format!("a key rotation was interrupted ({} exists)", next.display()),
                fix: "run `oauth-store rotate-key` to finish it".to_owned(),
            });
        }
    }
    let store_exists = path.exists();
    check_private(path, 0o600, "store file", problems);
    if let Some(dir) = path.parent() {
        check_private(dir, 0o700, "store directory", problems);
    }
    let loaded = match keys::load(&choice, ctx.env, Create::No) {
        Ok(l) => l,
        Err(e) => {
            problems.push(Problem {
                code: e.code,
                what: e
                    .render(false)
                    .trim_start_matches("oauth-store: ")
                    .to_owned(),
                fix: "fix the key source named above".to_owned(),
            });
            return Ok(());
        }
    };
    let Some(loaded) = loaded else {
        if store_exists {
            problems.push(Problem {
                code: Code::Key,
                what: format!("the store exists but there is no key: {choice} is missing"),
                fix: format!(
                    "restore the key file, or set {} / {} to the key the store was written with",
                    keys::ENV_KEY,
                    keys::ENV_PASSPHRASE
                ),
            });
        } else {
            outln!("key file:      not created yet; the first write creates it");
            outln!("store file:    not created yet");
        }
        return Ok(());
    };
    let file = match store::build_file(ctx, path, loaded.ring) {
        Ok(f) => f,
        Err(e) => {
            problems.push(Problem {
                code: e.code,
                what: e
                    .render(false)
                    .trim_start_matches("oauth-store: ")
                    .to_owned(),
                fix: "check the store path".to_owned(),
            });
            return Ok(());
        }
    };
    match file.status().await {
        Ok(status) => {
            print_status(&status)?;
            problems.extend(status.problems.iter().map(file_problem));
        }
        Err(e) => problems.push(store_problem(&e)),
    }
    outln!(
        "capabilities:  {}",
        capabilities(&oauth_store::Backend::capabilities(&file))
    );
    if let Err(e) = oauth_store::Backend::list(&file, "").await {
        problems.push(store_problem(&e));
    }
    Ok(())
}

fn print_status(s: &FileStatus) -> Result<(), CliError> {
    if !s.exists {
        outln!("store file:    does not exist yet; the first write creates it");
        return Ok(());
    }
    let mut facts = Vec::new();
    if let Some(mode) = s.mode {
        facts.push(format!("mode {mode:04o}"));
    }
    if let Some(size) = s.size {
        facts.push(format!("{size} bytes"));
    }
    if let Some(v) = s.envelope_version {
        facts.push(format!("format v{v}"));
    }
    if let Some(kdf) = s.kdf {
        facts.push(format!("key derivation {kdf}"));
    }
    outln!("store file:    {}", facts.join(", "));
    if let Some(id) = &s.key_id {
        outln!("key id:        {id}");
    }
    if let Some(n) = s.entries {
        let expired = s.expired_entries.unwrap_or(0);
        outln!("entries:       {n} ({expired} expired, purged by the next write)");
    }
    outln!(
        "lock:          {} ({})",
        if s.lock_held_elsewhere {
            "held by another process"
        } else {
            "free"
        },
        s.lock_path.display()
    );
    Ok(())
}

fn file_problem(p: &FileProblem) -> Problem {
    match p {
        FileProblem::Unreadable(e) => store_problem(e),
        FileProblem::PermissiveMode { .. } => Problem {
            code: Code::Other,
            what: format!("store file: {p}"),
            fix: "run any command (it tightens the mode), or chmod 600 the file".to_owned(),
        },
        FileProblem::OpenedByOldKey => Problem {
            code: Code::Other,
            what: format!("store file: {p}"),
            fix: "run `oauth-store rotate-key` to finish the rotation".to_owned(),
        },
        FileProblem::InvalidEntries { .. } => Problem {
            code: Code::Other,
            what: format!("store file: {p}"),
            fix: "delete those entries with `oauth-store delete KEY`, or set them again".to_owned(),
        },
        _ => Problem {
            code: Code::Other,
            what: format!("store file: {p}"),
            fix: "run any write command; it cleans up".to_owned(),
        },
    }
}

fn store_problem(e: &oauth_store::Error) -> Problem {
    use oauth_store::Error;
    let fix = match e {
        Error::WrongKey { .. } => format!(
            "use the key the store was written with ({}, {} or --key-file)",
            keys::ENV_KEY,
            keys::ENV_PASSPHRASE
        ),
        Error::Corrupt { .. } => {
            "restore the file from a backup, or run `oauth-store quarantine` to move it aside and start anew"
                .to_owned()
        }
        Error::Locked { .. } | Error::Timeout { .. } => {
            "wait for the other process to finish; if none is running, the lock is stale and is released when its holder exits"
                .to_owned()
        }
        _ => "see the error above".to_owned(),
    };
    Problem {
        code: code_of(e),
        what: e.to_string(),
        fix,
    }
}

/// Flags a file or directory that others than its owner can read or write.
fn check_private(path: &Path, expected: u32, what: &str, problems: &mut Vec<Problem>) {
    let Some(mode) = keys::mode_of(path) else {
        return;
    };
    if mode & 0o077 != 0 {
        problems.push(Problem {
            code: Code::Other,
            what: format!(
                "the {what} {} has mode {mode:04o}: others can reach it",
                path.display()
            ),
            fix: format!("chmod {expected:o} {}", path.display()),
        });
    }
}

fn capabilities(c: &Capabilities) -> String {
    let mut names = Vec::new();
    for (on, name) in [
        (c.list, "list"),
        (c.conditional_writes, "conditional writes"),
        (c.native_ttl, "native TTL"),
        (c.persistent, "persistent"),
        (c.encrypted_at_rest, "encrypted at rest"),
        (c.cross_process_locking, "cross-process locking"),
    ] {
        if on {
            names.push(name.to_owned());
        }
    }
    if let Some(max) = c.max_value_size {
        names.push(format!("values up to {max} bytes"));
    }
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

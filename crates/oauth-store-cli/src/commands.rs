//! What each subcommand does.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::{Duration, SystemTime};

use oauth_store::clock::to_unix_millis;
use oauth_store::key_material::KeyRing;
use oauth_store::{
    DeleteOptions, EntryKey, ListedEntry, Precondition, PutOptions, Revision, TokenSet,
};
use serde_json::{Map, Value};

use crate::cli::Command;
use crate::error::{CliError, Code};
use crate::keys::{self, KeyChoice};
use crate::output;
use crate::store::{self, Access, Context, Session};

/// The largest input read from stdin or an import file.
const MAX_INPUT: u64 = 64 * 1024 * 1024;
/// Imports of at least this many entries show progress on a terminal: a spinner for a file
/// store's single write, a bar for stores written one entry at a time.
const PROGRESS_FROM: usize = 20;

/// Runs one subcommand.
pub(crate) async fn run(command: Command, ctx: &Context<'_>) -> Result<(), CliError> {
    match command {
        Command::Set {
            key,
            ttl,
            if_absent,
            if_revision,
        } => {
            let token = read_token_from_stdin()?;
            let session = store::open(ctx, Access::Write)?;
            let precondition = match (if_absent, if_revision) {
                (true, _) => Precondition::IfAbsent,
                (false, Some(r)) => Precondition::IfRevision(r),
                (false, None) => Precondition::None,
            };
            let mut options = PutOptions::new();
            options.precondition = precondition;
            options.ttl = ttl;
            let revision = session.backend.put(&key, &token, options).await?;
            crate::out::line(revision)?;
            Ok(())
        }
        Command::Get { key, field, meta } => {
            let session = store::open(ctx, Access::Read)?;
            get(&session, &key, field.as_deref(), meta).await
        }
        Command::Delete {
            key,
            if_revision,
            force,
        } => {
            let session = store::open(ctx, Access::Read)?;
            let options = if_revision.map_or_else(DeleteOptions::new, DeleteOptions::if_revision);
            let existed = session.backend.delete(&key, options).await?;
            if existed || force {
                Ok(())
            } else {
                Err(not_found(&key, &session))
            }
        }
        Command::List { prefix, json } => {
            let session = store::open(ctx, Access::Read)?;
            list(&session, prefix.as_deref().unwrap_or(""), json).await
        }
        Command::RotateKey => rotate_key(ctx).await,
        Command::Import { file, overwrite } => {
            let input = zeroize::Zeroizing::new(read_input(file.as_deref())?);
            let session = store::open(ctx, Access::Write)?;
            import(&session, ctx, &input, overwrite).await
        }
        Command::Export => {
            let session = store::open(ctx, Access::Read)?;
            export(&session).await
        }
        Command::Doctor => crate::doctor::run(ctx).await,
        Command::Quarantine { force } => {
            let session = match store::open(ctx, Access::Read) {
                Ok(s) => s,
                // No usable key (a lost key file): with --force the file is moved aside all
                // the same, opened with a throwaway key that is never saved.
                Err(e) if force && e.code == Code::Key => store::open_with_throwaway_key(ctx)?,
                Err(e) => return Err(e),
            };
            if session.file.is_none() && session.url.file_path().is_some() {
                eprintln!("oauth-store: nothing to quarantine: there is no store yet");
                return Ok(());
            }
            let Some(file) = &session.file else {
                return Err(CliError::usage(format!(
                    "quarantine works on file stores; {} is a {} store",
                    session.url,
                    session.url.scheme()
                )));
            };
            let status = file.status().await?;
            let wrong_key = status.problems.iter().any(|p| {
                matches!(
                    p,
                    oauth_store::file::Problem::Unreadable(oauth_store::Error::WrongKey { .. })
                )
            });
            if wrong_key && !force {
                return Err(CliError::new(
                    Code::Key,
                    format!(
                        "{} does not open with this key, which may mean a wrong key rather than a broken file; \
                         check the key (`oauth-store doctor`), or pass --force to move it aside anyway",
                        file.path().display()
                    ),
                ));
            }
            match file.quarantine().await? {
                Some(moved) => crate::out::line(moved.display())?,
                None => eprintln!("oauth-store: nothing to quarantine: the store opens fine"),
            }
            Ok(())
        }
        Command::Completions { .. } => Ok(()),
    }
}

fn not_found(key: &EntryKey, session: &Session) -> CliError {
    CliError::not_found(format!("no entry {:?} in {}", key.as_str(), session.url))
}

/// Reads all of stdin or a file, up to [`MAX_INPUT`] bytes.
fn read_input(file: Option<&Path>) -> Result<Vec<u8>, CliError> {
    let (mut reader, what): (Box<dyn Read>, String) = match file {
        None => (Box::new(std::io::stdin()), "stdin".to_owned()),
        Some(p) if p == Path::new("-") => (Box::new(std::io::stdin()), "stdin".to_owned()),
        Some(p) => (
            Box::new(
                std::fs::File::open(p)
                    .map_err(|e| CliError::io(format!("cannot open {}", p.display()), e))?,
            ),
            p.display().to_string(),
        ),
    };
    let mut buf = Vec::new();
    reader
        .by_ref()
        .take(MAX_INPUT + 1)
        .read_to_end(&mut buf)
        .map_err(|e| CliError::io(format!("cannot read {what}"), e))?;
    if buf.len() as u64 > MAX_INPUT {
        return Err(CliError::usage(format!(
            "{what} is larger than the limit of {MAX_INPUT} bytes"
        )));
    }
    Ok(buf)
}

fn read_token_from_stdin() -> Result<TokenSet, CliError> {
    if std::io::stdin().is_terminal() {
        eprintln!("oauth-store: reading the token set as JSON from stdin (end with Ctrl-D)");
    }
    let input = zeroize::Zeroizing::new(read_input(None)?);
    let value = parse_json(&input, "stdin")?;
    token_from_value(value, "stdin")
}

/// Parses JSON, with an error that says where it broke but never quotes the input: a token
/// set's values are secrets.
fn parse_json(bytes: &[u8], what: &str) -> Result<Value, CliError> {
    serde_json::from_slice(bytes).map_err(|e| json_error(&e, what))
}

fn token_from_value(value: Value, what: &str) -> Result<TokenSet, CliError> {
    if !value.is_object() {
        return Err(CliError::usage(format!(
            "{what}: a token set is a JSON object such as {{\"access_token\": \"...\"}}"
        )));
    }
    serde_json::from_value(value).map_err(|e| json_error(&e, what))
}

fn json_error(e: &serde_json::Error, what: &str) -> CliError {
    use serde_json::error::Category;
    let text = e.to_string();
    let detail = match e.classify() {
        Category::Io => "it could not be read".to_owned(),
        Category::Syntax => "it is not valid JSON".to_owned(),
        Category::Eof => "the JSON ends too early".to_owned(),
        // `missing field` messages name only our own field names; other data errors may
        // quote a value, which may be a secret.
        Category::Data if text.starts_with("missing field") => {
            text.split(" at line").next().unwrap_or_default().to_owned()
        }
        Category::Data => "a field has the wrong type or value".to_owned(),
    };
    let place = if e.line() > 0 {
        format!(" (line {}, column {})", e.line(), e.column())
    } else {
        String::new()
    };
    CliError::usage(format!("{what}: {detail}{place}"))
}

async fn get(
    session: &Session,
    key: &EntryKey,
    field: Option<&str>,
    meta: bool,
) -> Result<(), CliError> {
    let entry = session
        .backend
        .get(key)
        .await?
        .ok_or_else(|| not_found(key, session))?;
    let token = serde_json::to_value(&entry.token)
        .map_err(|e| CliError::other(format!("cannot serialize the token set: {e}")))?;
    let text = if let Some(name) = field {
        match token.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => {
                return Err(CliError::not_found(format!(
                    "entry {:?} has no field {name:?}",
                    key.as_str()
                )));
            }
            Some(other) => other.to_string(),
        }
    } else if meta {
        let mut m = entry_meta_json(
            key,
            &entry.meta.revision,
            entry.meta.expires_at,
            entry.meta.updated_at,
        );
        m.insert("token".into(), token);
        pretty_if_terminal(&Value::Object(m))
    } else {
        pretty_if_terminal(&token)
    };
    crate::out::line(text)
}

fn pretty_if_terminal(v: &Value) -> String {
    if std::io::stdout().is_terminal() {
        serde_json::to_string_pretty(v).unwrap_or_default()
    } else {
        v.to_string()
    }
}

fn entry_meta_json(
    key: &EntryKey,
    revision: &Revision,
    expires_at: Option<SystemTime>,
    updated_at: Option<SystemTime>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("key".into(), key.as_str().into());
    m.insert("revision".into(), revision.as_str().into());
    let unix = |t: Option<SystemTime>| t.map_or(Value::Null, |t| (to_unix_millis(t) / 1000).into());
    m.insert("expires_at_unix".into(), unix(expires_at));
    m.insert("updated_at_unix".into(), unix(updated_at));
    m
}

async fn list(session: &Session, prefix: &str, json: bool) -> Result<(), CliError> {
    let entries = session.backend.list(prefix).await?;
    if json {
        for e in &entries {
            let m = entry_meta_json(
                &e.key,
                &e.meta.revision,
                e.meta.expires_at,
                e.meta.updated_at,
            );
            crate::out::line(Value::Object(m))?;
        }
    } else if std::io::stdout().is_terminal() {
        if entries.is_empty() {
            eprintln!("oauth-store: no entries in {}", session.url);
            return Ok(());
        }
        let now = SystemTime::now();
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e: &ListedEntry| {
                vec![
                    e.key.to_string(),
                    e.meta.revision.to_string(),
                    e.meta
                        .updated_at
                        .map_or_else(|| "-".to_owned(), |t| output::relative(t, now)),
                    output::expiry(e.meta.expires_at, now),
                ]
            })
            .collect();
        let table = output::table(&["KEY", "REVISION", "UPDATED", "EXPIRES"], &rows);
        crate::out::raw(&table)?;
    } else {
        for e in &entries {
            crate::out::line(&e.key)?;
        }
    }
    Ok(())
}

async fn export(session: &Session) -> Result<(), CliError> {
    if std::io::stdout().is_terminal() {
        eprintln!(
            "oauth-store: warning: printing decrypted tokens to the terminal; redirect to a file you keep private"
        );
    }
    let now = SystemTime::now();
    let mut all = Map::new();
    for listed in session.backend.list("").await? {
        // An entry may expire or be deleted between the listing and the read: skip it.
        let Some(entry) = session.backend.get(&listed.key).await? else {
            continue;
        };
        let mut item = Map::new();
        let token = serde_json::to_value(&entry.token)
            .map_err(|e| CliError::other(format!("cannot serialize a token set: {e}")))?;
        item.insert("token".into(), token);
        if let Some(at) = entry.meta.expires_at {
            let left = at.duration_since(now).unwrap_or_default();
            // Round up, so an exported entry never outlives its original by less than a second.
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            item.insert("ttl_seconds".into(), secs.max(1).into());
        }
        all.insert(listed.key.into_string(), Value::Object(item));
    }
    let text = zeroize::Zeroizing::new(
        serde_json::to_string_pretty(&Value::Object(all)).unwrap_or_default(),
    );
    crate::out::line(text.as_str())
}

/// One entry to import.
struct Incoming {
    key: EntryKey,
    token: TokenSet,
    ttl: Option<Duration>,
}

async fn import(
    session: &Session,
    ctx: &Context<'_>,
    input: &[u8],
    overwrite: bool,
) -> Result<(), CliError> {
    let value = parse_json(input, "import")?;
    let plain = if is_envelope(&value) {
        let ring = import_ring(session, ctx)?;
        let plaintext = open_envelope(&ring, input)?;
        let plain = parse_json(&plaintext, "the decrypted import file")?;
        unwrap_file_schema(plain)
    } else {
        value
    };
    let incoming = parse_entries(plain)?;

    let (written, skipped) = match &session.file {
        Some(file) => import_batch(file, incoming, overwrite).await?,
        None => import_each(session, incoming, overwrite).await?,
    };
    eprintln!(
        "oauth-store: imported {written} entries into {}",
        session.url
    );
    if skipped.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(
            Code::Conflict,
            format!(
                "skipped {} existing entries ({}); pass --overwrite to replace them",
                skipped.len(),
                skipped.join(", ")
            ),
        ))
    }
}

/// The options an imported entry is written with: replace, or only if absent.
fn import_options(overwrite: bool, ttl: Option<Duration>) -> PutOptions {
    let mut options = if overwrite {
        PutOptions::new()
    } else {
        PutOptions::if_absent()
    };
    options.ttl = ttl;
    options
}

/// Imports into a file store in one atomic rewrite: every entry that is not skipped is
/// written, or (on any error) none. Returns how many were written and the skipped keys.
async fn import_batch(
    file: &oauth_store::file::FileBackend,
    incoming: Vec<Incoming>,
    overwrite: bool,
) -> Result<(usize, Vec<String>), CliError> {
    let keys: Vec<String> = incoming.iter().map(|i| i.key.to_string()).collect();
    let items = incoming
        .into_iter()
        .map(|i| (i.key, i.token, import_options(overwrite, i.ttl)))
        .collect();
    // One write, so no count to show: a spinner for large imports.
    let bar = (keys.len() >= PROGRESS_FROM)
        .then(|| spinner("importing"))
        .flatten();
    let result = file.put_many_skipping_conflicts(items).await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let outcomes = result.map_err(|e| CliError::from(e).context("nothing was imported"))?;
    let mut written = 0;
    let mut skipped = Vec::new();
    // The only per-entry error is the conflict of an entry that exists (without --overwrite).
    for (key, outcome) in keys.into_iter().zip(outcomes) {
        match outcome {
            Ok(_) => written += 1,
            Err(_) => skipped.push(key),
        }
    }
    Ok((written, skipped))
}

/// Imports into any other store one entry at a time. Returns how many were written and the
/// skipped keys; on an error, the entries before it stay written.
async fn import_each(
    session: &Session,
    incoming: Vec<Incoming>,
    overwrite: bool,
) -> Result<(usize, Vec<String>), CliError> {
    let bar = progress_bar(incoming.len());
    let (mut written, mut skipped) = (0usize, Vec::new());
    for item in incoming {
        let options = import_options(overwrite, item.ttl);
        match session.backend.put(&item.key, &item.token, options).await {
            Ok(_) => written += 1,
            Err(e) if e.is_conflict() => skipped.push(item.key.into_string()),
            Err(e) => {
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                return Err(
                    CliError::from(e).context(format!("imported {written} entries, then stopped"))
                );
            }
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok((written, skipped))
}

fn progress_bar(len: usize) -> Option<indicatif::ProgressBar> {
    if len < PROGRESS_FROM || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} entries")
    {
        bar.set_style(style);
    }
    bar.set_message("importing");
    Some(bar)
}

fn spinner(message: &'static str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(100));
    Some(bar)
}

/// Opens an encrypted import file: a file store's (bound to the file backend's context), or
/// any other envelope without context, such as a harn-vm v1 file.
fn open_envelope(ring: &KeyRing, input: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, CliError> {
    use oauth_store::envelope::{OpenOptions, open};
    let location = "the import file";
    let as_store = OpenOptions::new(location).context(oauth_store::file::FILE_CONTEXT);
    match open(ring, input, &as_store) {
        Ok(opened) => Ok(opened.plaintext),
        Err(first) => match open(ring, input, &OpenOptions::new(location)) {
            Ok(opened) => Ok(opened.plaintext),
            Err(_) => Err(first.into()),
        },
    }
}

/// A v2 file store's plaintext wraps its entries: `{"schema": "oauth-store-file/2",
/// "entries": {…}}`; v1 and exports are the entries themselves.
fn unwrap_file_schema(plain: Value) -> Value {
    let Value::Object(mut map) = plain else {
        return plain;
    };
    match map.get("schema") {
        Some(Value::String(s)) if s == "oauth-store-file/2" => map
            .remove("entries")
            .unwrap_or_else(|| Value::Object(Map::new())),
        _ => Value::Object(map),
    }
}

fn is_envelope(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.contains_key("version") && o.contains_key("ciphertext"))
}

/// The key ring that opens an encrypted import file: `OAUTH_STORE_IMPORT_KEY`, else the
/// store's own.
fn import_ring(session: &Session, ctx: &Context<'_>) -> Result<KeyRing, CliError> {
    if let Some(secret) = keys::env_secret(ctx.env, keys::ENV_IMPORT_KEY, 1)? {
        return Ok(KeyRing::new(keys::secret_material(&secret)?));
    }
    session.ring.clone().ok_or_else(|| {
        CliError::usage(format!(
            "the import file is encrypted; set {} to the secret it was written with",
            keys::ENV_IMPORT_KEY
        ))
    })
}

/// Reads `{"<key>": {"token": {…}, "ttl_seconds": n?}}` (what `export` writes, and the
/// plaintext of a harn-vm v1 file); a bare token set in place of `{"token": …}` is accepted.
/// Everything is checked before anything is written.
fn parse_entries(plain: Value) -> Result<Vec<Incoming>, CliError> {
    let Value::Object(map) = plain else {
        return Err(CliError::usage(
            "import: expected a JSON object of entries, {\"<key>\": {\"token\": {...}}}",
        ));
    };
    let now = SystemTime::now();
    let mut out = Vec::with_capacity(map.len());
    for (name, item) in map {
        let key = EntryKey::new(name.as_str())
            .map_err(|e| CliError::usage(format!("import: entry key {name:?}: {e}")))?;
        let where_ = format!("import: entry {name:?}");
        let Value::Object(mut obj) = item else {
            return Err(CliError::usage(format!("{where_}: not a JSON object")));
        };
        let (token, ttl) = if let Some(token) = obj.remove("token") {
            if let Some(at) = obj.get("expires_at_ms").and_then(Value::as_u64) {
                // A file store's entry: keep its expiry; one already expired is not imported.
                let at = oauth_store::clock::from_unix_millis(at);
                match at.duration_since(now) {
                    Ok(left) if !left.is_zero() => {
                        out.push(Incoming {
                            key,
                            token: token_from_value(token, &where_)?,
                            ttl: Some(left),
                        });
                    }
                    _ => {}
                }
                continue;
            }
            let ttl = match obj.get("ttl_seconds") {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_u64() {
                    Some(0) | None => {
                        return Err(CliError::usage(format!(
                            "{where_}: ttl_seconds must be a positive whole number"
                        )));
                    }
                    Some(n) => Some(Duration::from_secs(n)),
                },
            };
            (token_from_value(token, &where_)?, ttl)
        } else {
            (token_from_value(Value::Object(obj), &where_)?, None)
        };
        out.push(Incoming { key, token, ttl });
    }
    Ok(out)
}

async fn rotate_key(ctx: &Context<'_>) -> Result<(), CliError> {
    let session = store::open(ctx, Access::Rotate)?;
    let Some(file) = &session.file else {
        return Err(CliError::usage(format!(
            "rotate-key works on file stores; {} is a {} store",
            session.url,
            session.url.scheme()
        )));
    };
    let choice = session
        .key_choice
        .clone()
        .ok_or_else(|| CliError::other("the file store has no key source"))?;
    match &choice {
        KeyChoice::KeyFile { path, .. } => {
            let current = keys::read_key_file(path)?
                .ok_or_else(|| CliError::not_found(format!("no key file {}", path.display())))?;
            let next_path = keys::next_path(path);
            let new = match keys::read_key_file(&next_path)? {
                Some(n) => {
                    eprintln!(
                        "oauth-store: finishing the interrupted rotation to {}",
                        next_path.display()
                    );
                    n
                }
                None => keys::create_key_file(&next_path)?.0,
            };
            let ring = KeyRing::new(keys::secret_material(&new)?)
                .with_previous(keys::secret_material(&current)?);
            let count = rotate_with(file, ring).await?;
            keys::replace_file(&next_path, path).map_err(|e| {
                CliError::io(
                    format!(
                        "the store is re-encrypted, but {} could not replace {}; both keys open it, run rotate-key again",
                        next_path.display(),
                        path.display()
                    ),
                    e,
                )
            })?;
            eprintln!(
                "oauth-store: re-encrypted {count} entries; the new key is in {}",
                path.display()
            );
        }
        KeyChoice::EnvKey | KeyChoice::EnvPassphrase => {
            let (var, new_var, material) = if choice == KeyChoice::EnvKey {
                let s = keys::env_secret(ctx.env, keys::ENV_NEW_KEY, keys::MIN_SECRET_LEN)?;
                let m = s.map(|s| keys::secret_material(&s)).transpose()?;
                (keys::ENV_KEY, keys::ENV_NEW_KEY, m)
            } else {
                let s = keys::env_secret(ctx.env, keys::ENV_NEW_PASSPHRASE, 1)?;
                let m = s.map(|s| keys::passphrase_material(&s)).transpose()?;
                (keys::ENV_PASSPHRASE, keys::ENV_NEW_PASSPHRASE, m)
            };
            let material = material.ok_or_else(|| {
                CliError::usage(format!(
                    "the key comes from {var}: put the new one in {new_var} to rotate to it"
                ))
            })?;
            let ring = KeyRing::new(material).with_previous(env_material(ctx, &choice)?);
            let count = rotate_with(file, ring).await?;
            eprintln!(
                "oauth-store: re-encrypted {count} entries; from now on set {var} to the value of {new_var}"
            );
        }
    }
    Ok(())
}

fn env_material(
    ctx: &Context<'_>,
    choice: &KeyChoice,
) -> Result<oauth_store::key_material::KeyMaterial, CliError> {
    if *choice == KeyChoice::EnvKey {
        let s = keys::env_secret(ctx.env, keys::ENV_KEY, keys::MIN_SECRET_LEN)?
            .ok_or_else(|| CliError::usage(format!("{} is not set", keys::ENV_KEY)))?;
        keys::secret_material(&s)
    } else {
        let s = keys::env_secret(ctx.env, keys::ENV_PASSPHRASE, 1)?
            .ok_or_else(|| CliError::usage(format!("{} is not set", keys::ENV_PASSPHRASE)))?;
        keys::passphrase_material(&s)
    }
}

async fn rotate_with(
    file: &oauth_store::file::FileBackend,
    ring: KeyRing,
) -> Result<usize, CliError> {
    let bar = spinner("re-encrypting the store");
    let result = file.rotate(ring).await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(result?)
}

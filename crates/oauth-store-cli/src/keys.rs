//! Where the store's key comes from, and the key file the tool creates when there is none.
//!
//! The order, first match wins:
//! 1. `OAUTH_STORE_KEY`: a high-entropy secret (at least 16 bytes), used through HKDF-SHA256;
//! 2. `OAUTH_STORE_PASSPHRASE`: a passphrase, stretched with Argon2id;
//! 3. `--key-file PATH`;
//! 4. the key file under the user's config directory (`$XDG_CONFIG_HOME/oauth-store/key` or
//!    `~/.config/oauth-store/key` on Linux), created with a fresh random key on first use.
//!
//! A key file holds the secret as text: its bytes, less one trailing newline, are the secret,
//! exactly as if they were in `OAUTH_STORE_KEY`. Generated files hold 32 random bytes written
//! as 64 hex digits. Secrets are never taken from the command line, where other users can read
//! them in the process list.
//!
//! # Creating the key file
//! Two processes may start at once on a fresh machine; they must end up with the same key.
//! Each writes its candidate key to a private temporary file (`create_new`, mode 0600, in a
//! 0700 directory), fsyncs it, then hard-links it to the final name. A hard link never replaces
//! an existing file, so exactly one candidate wins; the losers delete theirs and read the
//! winner's. Where the file system has no hard links, the key file is created in place with
//! `create_new` and filled with one write; a reader that finds it still empty waits for it.
//!
//! # Rotating the key file
//! `rotate-key` must never leave a store that no key at hand opens, whenever it is
//! interrupted. It:
//! 1. writes the new key to `<key file>.next` (the same exclusive creation as above), or
//!    reuses the `.next` file an interrupted rotation left behind;
//! 2. re-encrypts the store under the key ring `[new, old]`;
//! 3. renames `<key file>.next` over the key file (atomic) and fsyncs the directory.
//!
//! Every start loads the key file *and* a `.next` file if there is one, with the `.next` key
//! as the primary: a crash anywhere before 3 leaves a store that still opens, and running
//! `rotate-key` again finishes the job. The new key must be the primary, not the old one: a
//! process that writes while a rotation runs would otherwise seal the store with the old key
//! again just before the rename retires it. A process that started before step 1 knows only
//! the old key; after step 2 it fails to open the store (exit 5) and never overwrites it.

use std::ffi::OsString;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use oauth_store::key_material::{KeyMaterial, KeyRing, Passphrase, SecretKey};
use zeroize::Zeroizing;

use crate::error::{CliError, Code};

/// The environment variable holding a high-entropy secret.
pub(crate) const ENV_KEY: &str = "OAUTH_STORE_KEY";
/// The environment variable holding a passphrase.
pub(crate) const ENV_PASSPHRASE: &str = "OAUTH_STORE_PASSPHRASE";
/// The new secret for `rotate-key` when the key comes from `OAUTH_STORE_KEY`.
pub(crate) const ENV_NEW_KEY: &str = "OAUTH_STORE_NEW_KEY";
/// The new passphrase for `rotate-key` when the key comes from `OAUTH_STORE_PASSPHRASE`.
pub(crate) const ENV_NEW_PASSPHRASE: &str = "OAUTH_STORE_NEW_PASSPHRASE";
/// The secret of an encrypted file given to `import`, when it is not the store's own key.
pub(crate) const ENV_IMPORT_KEY: &str = "OAUTH_STORE_IMPORT_KEY";
/// The shortest secret accepted in `OAUTH_STORE_KEY`; shorter ones are passphrases.
pub(crate) const MIN_SECRET_LEN: usize = 16;

/// Reads one environment variable; a function so tests can supply their own environment.
pub(crate) type EnvFn<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// Which key source is in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyChoice {
    /// `OAUTH_STORE_KEY`.
    EnvKey,
    /// `OAUTH_STORE_PASSPHRASE`.
    EnvPassphrase,
    /// A key file, given with `--key-file` (`explicit`) or the default one.
    KeyFile { path: PathBuf, explicit: bool },
}

impl fmt::Display for KeyChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EnvKey => write!(f, "the secret in {ENV_KEY}"),
            Self::EnvPassphrase => write!(f, "the passphrase in {ENV_PASSPHRASE}"),
            Self::KeyFile {
                path,
                explicit: true,
            } => write!(f, "the key file {} (--key-file)", path.display()),
            Self::KeyFile {
                path,
                explicit: false,
            } => write!(f, "the key file {}", path.display()),
        }
    }
}

/// The default key file: `<config dir>/oauth-store/key`.
pub(crate) fn default_key_file() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("oauth-store").join("key"))
}

/// Picks the key source, in the documented order. Nothing is read yet.
pub(crate) fn choose(
    env: EnvFn<'_>,
    key_file_flag: Option<&Path>,
    default_file: Option<PathBuf>,
) -> Result<KeyChoice, CliError> {
    if env(ENV_KEY).is_some() {
        return Ok(KeyChoice::EnvKey);
    }
    if env(ENV_PASSPHRASE).is_some() {
        return Ok(KeyChoice::EnvPassphrase);
    }
    if let Some(path) = key_file_flag {
        return Ok(KeyChoice::KeyFile {
            path: path.to_path_buf(),
            explicit: true,
        });
    }
    default_file
        .map(|path| KeyChoice::KeyFile {
            path,
            explicit: false,
        })
        .ok_or_else(|| {
            CliError::usage(format!(
                "no key: there is no config directory for a key file; set {ENV_KEY} or {ENV_PASSPHRASE}, or pass --key-file"
            ))
        })
}

/// A secret read from the environment or a file; zeroized on drop, never printed.
pub(crate) struct Secret(Zeroizing<Vec<u8>>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(******)")
    }
}

impl Secret {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Reads a secret from an environment variable: non-empty, and at least `min_len` bytes.
pub(crate) fn env_secret(
    env: EnvFn<'_>,
    name: &str,
    min_len: usize,
) -> Result<Option<Secret>, CliError> {
    let Some(value) = env(name) else {
        return Ok(None);
    };
    let bytes = Zeroizing::new(os_bytes(value)?);
    if bytes.is_empty() {
        return Err(CliError::usage(format!("{name} is set but empty")));
    }
    if bytes.len() < min_len {
        return Err(CliError::usage(format!(
            "{name} is {} bytes long; a secret key must be at least {min_len} bytes of random data (use {ENV_PASSPHRASE} for a passphrase)",
            bytes.len()
        )));
    }
    Ok(Some(Secret(bytes)))
}

// Infallible on Unix, where any bytes are allowed.
#[cfg_attr(unix, allow(clippy::unnecessary_wraps))]
fn os_bytes(value: OsString) -> Result<Vec<u8>, CliError> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        Ok(value.into_vec())
    }
    #[cfg(not(unix))]
    {
        value
            .into_string()
            .map(String::into_bytes)
            .map_err(|_| CliError::usage("a key in the environment must be valid Unicode"))
    }
}

/// Key material from a high-entropy secret.
pub(crate) fn secret_material(secret: &Secret) -> Result<KeyMaterial, CliError> {
    SecretKey::new(secret.bytes().to_vec())
        .map(KeyMaterial::from)
        .map_err(|e| CliError::usage(e.to_string()).with_source(e))
}

/// Key material from a passphrase.
pub(crate) fn passphrase_material(secret: &Secret) -> Result<KeyMaterial, CliError> {
    let text = std::str::from_utf8(secret.bytes())
        .map_err(|_| CliError::usage(format!("{ENV_PASSPHRASE} must be valid UTF-8")))?;
    Passphrase::new(text.to_owned())
        .map(KeyMaterial::from)
        .map_err(|e| CliError::usage(e.to_string()).with_source(e))
}

/// The key ring of a chosen source, with what a user should know about it.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) ring: KeyRing,
    /// The key file was created by this process.
    pub(crate) created: bool,
    /// A `.next` key file from an interrupted rotation was found and added to the ring.
    pub(crate) pending_rotation: bool,
}

/// Whether a missing key file may be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Create {
    /// Create it (the store file does not exist yet).
    Yes,
    /// Do not: report that there is none.
    No,
    /// Do not: the store exists, so a new key could not open it.
    StoreExists,
}

/// Loads the key ring of `choice`; `Ok(None)` when the key file is missing and may not be
/// created.
pub(crate) fn load(
    choice: &KeyChoice,
    env: EnvFn<'_>,
    create: Create,
) -> Result<Option<Loaded>, CliError> {
    let simple = |ring| {
        Ok(Some(Loaded {
            ring,
            created: false,
            pending_rotation: false,
        }))
    };
    match choice {
        KeyChoice::EnvKey => {
            let secret = env_secret(env, ENV_KEY, MIN_SECRET_LEN)?.ok_or_else(|| {
                CliError::usage(format!("{ENV_KEY} disappeared from the environment"))
            })?;
            simple(KeyRing::new(secret_material(&secret)?))
        }
        KeyChoice::EnvPassphrase => {
            let secret = env_secret(env, ENV_PASSPHRASE, 1)?.ok_or_else(|| {
                CliError::usage(format!("{ENV_PASSPHRASE} disappeared from the environment"))
            })?;
            simple(KeyRing::new(passphrase_material(&secret)?))
        }
        KeyChoice::KeyFile { path, .. } => {
            let (secret, created) = match read_key_file(path)? {
                Some(s) => (s, false),
                None => match create {
                    Create::No => return Ok(None),
                    Create::StoreExists => {
                        return Err(CliError::new(
                            Code::Key,
                            format!(
                                "the key file {} does not exist but the store does, so a new key could not open it; restore the key file, or set {ENV_KEY} or {ENV_PASSPHRASE}",
                                path.display()
                            ),
                        ));
                    }
                    Create::Yes => create_key_file(path)?,
                },
            };
            // During a rotation the new key is the primary, so that whatever this process
            // writes is sealed with the key that is about to become the key file's.
            let (ring, pending_rotation) = match read_key_file(&next_path(path))? {
                Some(next) => (
                    KeyRing::new(secret_material(&next)?).with_previous(secret_material(&secret)?),
                    true,
                ),
                None => (KeyRing::new(secret_material(&secret)?), false),
            };
            Ok(Some(Loaded {
                ring,
                created,
                pending_rotation,
            }))
        }
    }
}

/// `<key file>.next`: the new key of a rotation in progress.
pub(crate) fn next_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(".next");
    path.with_file_name(name)
}

/// Reads a key file: `None` if it does not exist. An empty file may be one another process
/// has just created in place (where there are no hard links) and is about to fill with its
/// single write: it is waited for, up to two seconds.
pub(crate) fn read_key_file(path: &Path) -> Result<Option<Secret>, CliError> {
    let mut waited = Duration::ZERO;
    loop {
        let mut bytes = Zeroizing::new(Vec::new());
        match std::fs::File::open(path) {
            Ok(mut f) => f
                .read_to_end(&mut bytes)
                .map_err(|e| CliError::io(format!("cannot read key file {}", path.display()), e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(CliError::io(
                    format!("cannot read key file {}", path.display()),
                    e,
                ));
            }
        };
        if bytes.is_empty() && waited < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(20));
            waited += Duration::from_millis(20);
            continue;
        }
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        if bytes.len() < MIN_SECRET_LEN {
            return Err(CliError::new(
                Code::Key,
                format!(
                    "the key file {} holds {} bytes; a key must be at least {MIN_SECRET_LEN}",
                    path.display(),
                    bytes.len()
                ),
            ));
        }
        return Ok(Some(Secret(bytes)));
    }
}

/// Creates the key file with a fresh random key, exclusively: when several processes race,
/// all of them return the one key that won. Returns the key and whether this call created it.
pub(crate) fn create_key_file(path: &Path) -> Result<(Secret, bool), CliError> {
    let io_err = |what: &str, e| CliError::io(format!("{what} {}", path.display()), e);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir).map_err(|e| io_err("cannot create the directory of key file", e))?;

    let mut raw = Zeroizing::new([0u8; 32]);
    getrandom::getrandom(raw.as_mut())
        .map_err(|e| CliError::other(format!("no random numbers for a new key: {e}")))?;
    let mut text = Zeroizing::new(Vec::with_capacity(65));
    for b in raw.iter() {
        text.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    text.push(b'\n');

    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name()
            .map_or_else(|| "key".into(), |n| n.to_string_lossy()),
        std::process::id(),
        unique_suffix()
    ));
    let write_tmp = || -> std::io::Result<()> {
        let mut f = private_create_new(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()
    };
    if let Err(e) = write_tmp() {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err("cannot write a new key next to", e));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(dir);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // Another process won the race: use its key.
            let theirs = read_key_file(path)?
                .ok_or_else(|| CliError::other(format!("key file {} vanished", path.display())))?;
            return Ok((theirs, false));
        }
        Err(_) => {
            // No hard links here: create in place; readers wait for the final newline.
            match private_create_new(path) {
                Ok(mut f) => {
                    f.write_all(&text)
                        .and_then(|()| f.sync_all())
                        .map_err(|e| io_err("cannot write key file", e))?;
                    sync_dir(dir);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let theirs = read_key_file(path)?.ok_or_else(|| {
                        CliError::other(format!("key file {} vanished", path.display()))
                    })?;
                    return Ok((theirs, false));
                }
                Err(e) => return Err(io_err("cannot create key file", e)),
            }
        }
    }
    text.pop();
    Ok((Secret(Zeroizing::new(text.to_vec())), true))
}

/// Renames `from` over `to` and makes the rename durable.
pub(crate) fn replace_file(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::rename(from, to)?;
    if let Some(dir) = to.parent() {
        sync_dir(dir);
    }
    Ok(())
}

fn unique_suffix() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    nanos ^ (u128::from(COUNTER.fetch_add(1, Ordering::Relaxed)) << 100)
}

/// Creates `dir` (and its parents) with mode 0700 where the platform has modes.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn private_create_new(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn sync_dir(dir: &Path) {
    // Durability of the new name; a platform that cannot open a directory has no need.
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The permission bits of a path, where the platform has them.
pub(crate) fn mode_of(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn key_sources_in_order() {
        let default = Some(PathBuf::from("/cfg/oauth-store/key"));
        let flag = Path::new("/my/key");
        let both = env_of(&[(ENV_KEY, "k"), (ENV_PASSPHRASE, "p")]);
        assert_eq!(
            choose(&both, Some(flag), default.clone()).unwrap(),
            KeyChoice::EnvKey
        );
        let pass = env_of(&[(ENV_PASSPHRASE, "p")]);
        assert_eq!(
            choose(&pass, Some(flag), default.clone()).unwrap(),
            KeyChoice::EnvPassphrase
        );
        let none = env_of(&[]);
        assert_eq!(
            choose(&none, Some(flag), default.clone()).unwrap(),
            KeyChoice::KeyFile {
                path: flag.into(),
                explicit: true
            }
        );
        assert_eq!(
            choose(&none, None, default.clone()).unwrap(),
            KeyChoice::KeyFile {
                path: "/cfg/oauth-store/key".into(),
                explicit: false
            }
        );
        assert_eq!(choose(&none, None, None).unwrap_err().code, Code::Usage);
    }

    #[test]
    fn env_secrets_are_checked_without_echoing_them() {
        let env = env_of(&[(ENV_KEY, "short-secret")]);
        let e = load(&KeyChoice::EnvKey, &env, Create::No).unwrap_err();
        assert_eq!(e.code, Code::Usage);
        assert!(!e.render(true).contains("short-secret"));
        let env = env_of(&[(ENV_PASSPHRASE, "")]);
        let e = load(&KeyChoice::EnvPassphrase, &env, Create::No).unwrap_err();
        assert!(e.render(false).contains("empty"));
        let env = env_of(&[(ENV_KEY, "0123456789abcdef-long-enough")]);
        assert!(
            load(&KeyChoice::EnvKey, &env, Create::No)
                .unwrap()
                .is_some()
        );
        let s = env_secret(&env, ENV_KEY, 1).unwrap().unwrap();
        assert_eq!(format!("{s:?}"), "Secret(******)");
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cfg/oauth-store/key");
        let choice = KeyChoice::KeyFile {
            path: path.clone(),
            explicit: false,
        };
        let env = env_of(&[]);
        assert!(load(&choice, &env, Create::No).unwrap().is_none());
        assert_eq!(
            load(&choice, &env, Create::StoreExists).unwrap_err().code,
            Code::Key
        );
        let first = load(&choice, &env, Create::Yes).unwrap().unwrap();
        assert!(first.created);
        let second = load(&choice, &env, Create::Yes).unwrap().unwrap();
        assert!(!second.created);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 65);
        assert!(text.trim_end().bytes().all(|b| b.is_ascii_hexdigit()));
        #[cfg(unix)]
        {
            assert_eq!(mode_of(&path), Some(0o600));
            assert_eq!(mode_of(path.parent().unwrap()), Some(0o700));
        }
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [OsString::from("key")]);
    }

    #[test]
    fn racing_creators_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oauth-store/key");
        let results: Vec<(Vec<u8>, bool)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    s.spawn(|| {
                        let (secret, created) = create_key_file(&path).unwrap();
                        (secret.bytes().to_vec(), created)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(results.iter().filter(|(_, c)| *c).count(), 1);
        let on_disk = std::fs::read(&path).unwrap();
        for (key, _) in &results {
            assert_eq!(key.as_slice(), &on_disk[..on_disk.len() - 1]);
        }
    }

    #[test]
    fn next_key_joins_the_ring() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "a".repeat(40) + "\n").unwrap();
        std::fs::write(next_path(&path), "b".repeat(40) + "\n").unwrap();
        assert_eq!(next_path(&path), dir.path().join("key.next"));
        let choice = KeyChoice::KeyFile {
            path,
            explicit: true,
        };
        let loaded = load(&choice, &env_of(&[]), Create::No).unwrap().unwrap();
        assert!(loaded.pending_rotation);
        assert_eq!(loaded.ring.len(), 2);
        let next_id = SecretKey::new("b".repeat(40).into_bytes())
            .unwrap()
            .key_id();
        assert_eq!(
            loaded.ring.primary().key_id(),
            Some(next_id),
            "the new key seals"
        );
    }

    #[test]
    fn short_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "abc\n").unwrap();
        assert_eq!(read_key_file(&path).unwrap_err().code, Code::Key);
    }

    #[test]
    fn hand_written_key_files_need_no_final_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "my-own-secret-of-enough-length").unwrap();
        let s = read_key_file(&path).unwrap().unwrap();
        assert_eq!(s.bytes(), b"my-own-secret-of-enough-length");
        std::fs::write(&path, "my-own-secret-of-enough-length\r\n").unwrap();
        let s = read_key_file(&path).unwrap().unwrap();
        assert_eq!(s.bytes(), b"my-own-secret-of-enough-length");
    }
}

//! Which store to use, and opening it with its key.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use oauth_store::file::FileBackend;
use oauth_store::key_material::KeyRing;
use oauth_store::{DynBackend, StoreUrl, UrlError};

use crate::error::CliError;
use crate::keys::{self, Create, EnvFn, KeyChoice};

/// The environment variable naming the store.
pub(crate) const ENV_URL: &str = "OAUTH_STORE_URL";

/// Where the store URL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreSource {
    Flag,
    Env,
    Default,
}

impl fmt::Display for StoreSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Flag => "--store",
            Self::Env => ENV_URL,
            Self::Default => "the default location",
        })
    }
}

/// The default store file: `<data dir>/oauth-store/tokens.json`.
pub(crate) fn default_store_file() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("oauth-store").join("tokens.json"))
}

/// Parses a `--store` or `OAUTH_STORE_URL` value: a store URL, or a plain path to a store file
/// (relative paths are taken from the current directory).
pub(crate) fn parse_store_arg(text: &str) -> Result<StoreUrl, CliError> {
    match StoreUrl::parse(text) {
        Err(UrlError::MissingScheme) if !text.is_empty() => {
            let path = Path::new(text);
            let path = if path.is_absolute() {
                path.to_path_buf()
            } else {
                std::env::current_dir()
                    .map_err(|e| CliError::io("cannot find the current directory", e))?
                    .join(path)
            };
            Ok(StoreUrl::from_file_path(path)?)
        }
        other => Ok(other?),
    }
}

/// Picks the store: `--store`, else `OAUTH_STORE_URL`, else the default file.
pub(crate) fn choose(
    flag: Option<&str>,
    env: EnvFn<'_>,
    default_file: Option<PathBuf>,
) -> Result<(StoreUrl, StoreSource), CliError> {
    if let Some(text) = flag {
        return Ok((parse_store_arg(text)?, StoreSource::Flag));
    }
    if let Some(value) = env(ENV_URL) {
        let text = value
            .into_string()
            .map_err(|_| CliError::usage(format!("{ENV_URL} is not valid Unicode")))?;
        return Ok((
            parse_store_arg(&text).map_err(|e| e.context(ENV_URL))?,
            StoreSource::Env,
        ));
    }
    let path = default_file.ok_or_else(|| {
        CliError::usage(format!(
            "there is no data directory for the default store; pass --store or set {ENV_URL}"
        ))
    })?;
    Ok((StoreUrl::from_file_path(path)?, StoreSource::Default))
}

/// An open store, with what it was opened from.
pub(crate) struct Session {
    pub(crate) url: StoreUrl,
    pub(crate) source: StoreSource,
    pub(crate) backend: Arc<DynBackend>,
    /// The file backend itself, for the commands only it has (`rotate-key`, `quarantine`).
    pub(crate) file: Option<Arc<FileBackend>>,
    pub(crate) key_choice: Option<KeyChoice>,
    pub(crate) ring: Option<KeyRing>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("url", &self.url)
            .field("source", &self.source)
            .field("key_choice", &self.key_choice)
            .finish_non_exhaustive()
    }
}

/// What the tool was started with: the global options and the environment.
pub(crate) struct Context<'a> {
    pub(crate) store_flag: Option<&'a str>,
    pub(crate) key_file_flag: Option<&'a Path>,
    pub(crate) lock_timeout: Option<std::time::Duration>,
    pub(crate) env: EnvFn<'a>,
}

impl fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("store_flag", &self.store_flag)
            .field("key_file_flag", &self.key_file_flag)
            .finish_non_exhaustive()
    }
}

/// What a command will do with the store it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Only read: a missing key and store read as an empty store, and nothing is created.
    Read,
    /// Write: a missing key file is created (when the store file does not exist yet), and the
    /// user is told once where it is.
    Write,
    /// `rotate-key`, which finishes an interrupted rotation itself.
    Rotate,
}

/// Opens the store for `access`.
pub(crate) fn open(ctx: &Context<'_>, access: Access) -> Result<Session, CliError> {
    let may_create = access != Access::Read;
    let (url, source) = choose(ctx.store_flag, ctx.env, default_store_file())?;
    let Some(path) = url.file_path().map(Path::to_path_buf) else {
        let backend = oauth_store::open_url(&url, None)?;
        return Ok(Session {
            url,
            source,
            backend,
            file: None,
            key_choice: None,
            ring: None,
        });
    };
    let choice = keys::choose(ctx.env, ctx.key_file_flag, keys::default_key_file())?;
    let create = match (path.exists(), may_create) {
        (true, _) => Create::StoreExists,
        (false, true) => Create::Yes,
        (false, false) => Create::No,
    };
    let Some(loaded) = keys::load(&choice, ctx.env, create)? else {
        // Neither a key nor a store yet, and this command only reads: the store is empty,
        // and there is no reason to create a key for it.
        return Ok(Session {
            url,
            source,
            backend: Arc::new(oauth_store::MemoryBackend::new()),
            file: None,
            key_choice: Some(choice),
            ring: None,
        });
    };
    if let (true, KeyChoice::KeyFile { path: key_path, .. }) = (loaded.created, &choice) {
        eprintln!(
            "oauth-store: created a new key in {}. It encrypts the store {}: a copy of the store \
             alone (a backup, a synced folder) reveals nothing, but anyone who can read both files \
             can read the tokens. Keep the key file: without it the store cannot be opened.",
            key_path.display(),
            path.display()
        );
    }
    if loaded.pending_rotation && access != Access::Rotate {
        eprintln!(
            "oauth-store: an interrupted key rotation was found; run `oauth-store rotate-key` to finish it"
        );
    }
    if let Some(dir) = path.parent().filter(|d| may_create && !d.exists()) {
        keys::create_private_dir(dir)
            .map_err(|e| CliError::io(format!("cannot create directory {}", dir.display()), e))?;
    }
    let file = Arc::new(build_file(ctx, &path, loaded.ring.clone())?);
    Ok(Session {
        url,
        source,
        backend: file.clone(),
        file: Some(file),
        key_choice: Some(choice),
        ring: Some(loaded.ring),
    })
}

/// Opens a file store with a random key that is never saved, for `quarantine --force` when
/// the real key is lost: nothing can be read with it, so the file counts as unopenable.
pub(crate) fn open_with_throwaway_key(ctx: &Context<'_>) -> Result<Session, CliError> {
    let (url, source) = choose(ctx.store_flag, ctx.env, default_store_file())?;
    let path = url
        .file_path()
        .ok_or_else(|| CliError::usage(format!("{url} is not a file store")))?
        .to_path_buf();
    let ring = KeyRing::new(oauth_store::key_material::SecretKey::generate());
    let file = Arc::new(build_file(ctx, &path, ring.clone())?);
    Ok(Session {
        url,
        source,
        backend: file.clone(),
        file: Some(file),
        key_choice: None,
        ring: Some(ring),
    })
}

/// A file backend with the command line's options.
pub(crate) fn build_file(
    ctx: &Context<'_>,
    path: &Path,
    ring: KeyRing,
) -> Result<FileBackend, CliError> {
    let mut builder = FileBackend::builder(path, ring);
    if let Some(t) = ctx.lock_timeout {
        builder = builder.lock_timeout(t);
    }
    Ok(builder.build()?)
}

/// The process environment, as an [`EnvFn`].
pub(crate) fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_sources_in_order() {
        let env_set = |name: &str| (name == ENV_URL).then(|| OsString::from("memory:"));
        let env_none = |_: &str| None;
        let default = Some(PathBuf::from("/data/oauth-store/tokens.json"));
        let (url, src) = choose(Some("file:///a/b.json"), &env_set, default.clone()).unwrap();
        assert_eq!(
            (url.to_string().as_str(), src),
            ("file:///a/b.json", StoreSource::Flag)
        );
        let (url, src) = choose(None, &env_set, default.clone()).unwrap();
        assert_eq!((url, src), (StoreUrl::Memory, StoreSource::Env));
        let (url, src) = choose(None, &env_none, default).unwrap();
        assert_eq!(
            (url.file_path(), src),
            (
                Some(Path::new("/data/oauth-store/tokens.json")),
                StoreSource::Default
            )
        );
        assert!(choose(None, &env_none, None).is_err());
    }

    #[test]
    fn plain_paths_are_file_stores() {
        let url = parse_store_arg("/abs/t.json").unwrap();
        assert_eq!(url.file_path(), Some(Path::new("/abs/t.json")));
        let url = parse_store_arg("rel/t.json").unwrap();
        let path = url.file_path().unwrap();
        assert!(path.is_absolute() && path.ends_with("rel/t.json"));
        assert!(parse_store_arg("ftp://x").is_err());
        assert!(parse_store_arg("").is_err());
    }

    #[test]
    fn bad_env_url_names_the_variable() {
        let env = |name: &str| (name == ENV_URL).then(|| OsString::from("nope://x"));
        let e = choose(None, &env, None).unwrap_err();
        assert!(e.render(false).contains(ENV_URL));
    }
}

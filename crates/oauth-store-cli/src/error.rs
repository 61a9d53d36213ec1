//! Exit codes and the one-line error a user sees.

use std::fmt;
use std::process::ExitCode;

use oauth_store::Error;

/// The exit codes of the tool, as documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// The entry (or field) does not exist.
    NotFound = 1,
    /// The command line, an argument or the input was wrong.
    Usage = 2,
    /// A conditional write lost (`--if-absent`, `--if-revision`).
    Conflict = 3,
    /// The store is locked by another process, or an operation timed out.
    Locked = 4,
    /// The key does not open the store, or the store is corrupt or tampered with.
    Key = 5,
    /// Anything else.
    Other = 6,
}

impl From<Code> for ExitCode {
    fn from(code: Code) -> Self {
        ExitCode::from(code as u8)
    }
}

/// The `after_help` text of `--help`: the exit codes.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  not found (no such entry, or no such field with --field)
  2  usage error (bad arguments, bad input, unknown store URL)
  3  conflict (a conditional write lost: --if-absent, --if-revision, import without --overwrite)
  4  locked or timed out (another process holds the store)
  5  wrong key, or the store is corrupt or tampered with
  6  any other failure";

/// An error as the tool reports it: an exit code and one line of text that never holds a
/// secret, plus the error chain that `-v` shows.
pub(crate) struct CliError {
    pub(crate) code: Code,
    /// stdout was closed by its reader: exit quietly and successfully.
    pub(crate) broken_pipe: bool,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Debug for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CliError")
            .field("code", &self.code)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl CliError {
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            broken_pipe: false,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn broken_pipe() -> Self {
        Self {
            broken_pipe: true,
            ..Self::other("stdout was closed")
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(Code::Usage, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }

    pub(crate) fn other(message: impl Into<String>) -> Self {
        Self::new(Code::Other, message)
    }

    /// An I/O error on a path the tool itself touches (stdin, a key file).
    pub(crate) fn io(what: impl fmt::Display, source: std::io::Error) -> Self {
        Self::new(Code::Other, format!("{what}: {source}")).with_source(source)
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Adds context in front of the message.
    pub(crate) fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// What the user sees: one line, then with `-v` the error's causes, one per line.
    pub(crate) fn render(&self, verbose: bool) -> String {
        let mut out = format!("oauth-store: {}", self.message);
        if verbose {
            let mut next: Option<&(dyn std::error::Error + 'static)> = self
                .source
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static));
            // The first source is the error the message was made from; show its causes.
            next = next.and_then(std::error::Error::source);
            while let Some(e) = next {
                out.push_str("\n  caused by: ");
                out.push_str(&e.to_string());
                next = e.source();
            }
        }
        out
    }
}

/// The exit code of a store error.
pub(crate) fn code_of(e: &Error) -> Code {
    match e {
        Error::Conflict { .. } => Code::Conflict,
        Error::Locked { .. } | Error::Timeout { .. } => Code::Locked,
        Error::WrongKey { .. } | Error::Corrupt { .. } => Code::Key,
        Error::InvalidKey(_) | Error::InvalidTokenSet { .. } | Error::NotConfigured { .. } => {
            Code::Usage
        }
        _ => Code::Other,
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        let code = code_of(&e);
        let mut message = e.to_string();
        match &e {
            Error::WrongKey { .. } => message.push_str(
                "; check OAUTH_STORE_KEY, OAUTH_STORE_PASSPHRASE or --key-file (see `oauth-store doctor`)",
            ),
            Error::Corrupt { .. } => message.push_str(
                "; `oauth-store quarantine` moves the file aside so a new store can start",
            ),
            Error::Locked { .. } => {
                message.push_str("; try again when the other process has finished");
            }
            _ => {}
        }
        Self {
            code,
            broken_pipe: false,
            message,
            source: Some(Box::new(e)),
        }
    }
}

impl From<oauth_store::OpenError> for CliError {
    fn from(e: oauth_store::OpenError) -> Self {
        match e {
            oauth_store::OpenError::Store(e) => e.into(),
            other => Self::usage(other.to_string()).with_source(other),
        }
    }
}

impl From<oauth_store::UrlError> for CliError {
    fn from(e: oauth_store::UrlError) -> Self {
        Self::usage(e.to_string()).with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn store_errors_map_to_documented_codes() {
        let conflict = Error::Conflict {
            key: "k".into(),
            reason: "r".into(),
        };
        assert_eq!(code_of(&conflict), Code::Conflict);
        let locked = Error::Locked {
            location: "l".into(),
            waited: Duration::from_secs(1),
        };
        assert_eq!(code_of(&locked), Code::Locked);
        let wrong = Error::WrongKey {
            location: "f".into(),
            reason: "r".into(),
        };
        assert_eq!(code_of(&wrong), Code::Key);
        assert_eq!(code_of(&Error::backend("b", false, "x")), Code::Other);
        assert_eq!(Code::Other as u8, 6);
    }

    #[test]
    fn verbose_shows_the_cause_chain() {
        let io = std::io::Error::other("disk on fire");
        let e: CliError = Error::io("/store", io).into();
        assert_eq!(e.render(false).lines().count(), 1);
        let v = e.render(true);
        assert!(v.contains("caused by: disk on fire"), "{v}");
    }
}

//! Store URLs: which backend to open, and where. See [`StoreUrl`].

use std::fmt;
use std::path::{Path, PathBuf};

/// A parsed store URL: `scheme:` followed by what that backend needs.
///
/// | URL | store |
/// |---|---|
/// | `memory:` | a new, empty in-process store |
/// | `file:///absolute/path/tokens.json` | the encrypted file backend (feature `file`) |
///
/// Schemes are case-insensitive. A file URL names an absolute path; `file://localhost/…` is
/// the same as `file:///…`, any other host is rejected, and so is a relative path: a library
/// must not quietly depend on the current directory (an application that wants relative paths
/// resolves them itself and calls [`StoreUrl::from_file_path`]). `%XX` escapes are decoded
/// (`%20` is a space), so any path can be written; `Display` writes them back. Queries and
/// fragments are refused rather than ignored.
///
/// ```
/// use oauth_store::StoreUrl;
///
/// let url: StoreUrl = "file:///var/lib/app/my%20tokens.json".parse()?;
/// assert_eq!(url.scheme(), "file");
/// assert_eq!(url.file_path().unwrap().to_str(), Some("/var/lib/app/my tokens.json"));
/// assert_eq!(url.to_string(), "file:///var/lib/app/my%20tokens.json");
/// assert!("file://relative/path".parse::<StoreUrl>().is_err());
/// # Ok::<(), oauth_store::UrlError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreUrl {
    /// `memory:`: an in-process store, empty when opened.
    Memory,
    /// `file:///path`: the encrypted file at this absolute path.
    File(PathBuf),
}

/// The schemes this crate knows, whether or not their feature is enabled.
pub const KNOWN_SCHEMES: &[&str] = &["memory", "file"];

/// What is wrong with a store URL. Messages name the part that was wrong; they never repeat a
/// whole URL, which for some backends may carry credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The text has no `scheme:` prefix.
    #[error("a store URL starts with a scheme such as `memory:` or `file:///`; found none")]
    MissingScheme,
    /// The scheme is not one of [`KNOWN_SCHEMES`].
    #[error("unknown store scheme {scheme:?}; known schemes: {}", KNOWN_SCHEMES.join(", "))]
    UnknownScheme {
        /// The scheme as written.
        scheme: String,
    },
    /// A file URL names a relative path (`file:tokens.json`) or a host (`file://server/…`).
    #[error(
        "a file store URL needs an absolute path, as in file:///home/me/tokens.json; found {found:?}"
    )]
    NotAbsolute {
        /// What followed `file:`.
        found: String,
    },
    /// A file URL names no file.
    #[error("a file store URL must name a file, not a directory; found {path:?}")]
    NoFileName {
        /// The decoded path.
        path: String,
    },
    /// A `%` not followed by two hex digits.
    #[error(
        "bad percent-escape at byte {at} of the store URL's path: `%` must be followed by two hex digits"
    )]
    BadEscape {
        /// The byte offset of the `%` within the path.
        at: usize,
    },
    /// The decoded path is not valid for this platform (not UTF-8 where paths must be, or a
    /// NUL byte).
    #[error("the store URL's path decodes to bytes that are not a valid path here")]
    InvalidPath,
    /// Something follows the scheme that this backend does not take (a query, a fragment,
    /// text after `memory:`).
    #[error("a {scheme} store URL takes no {part}")]
    UnexpectedPart {
        /// The scheme.
        scheme: &'static str,
        /// What was found: `query`, `fragment`, `path`.
        part: &'static str,
    },
}

impl StoreUrl {
    /// Parses a store URL; see [`StoreUrl`] for the forms accepted.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let (scheme, rest) = split_scheme(url).ok_or(UrlError::MissingScheme)?;
        match scheme.to_ascii_lowercase().as_str() {
            "memory" => match rest {
                "" | "//" => Ok(Self::Memory),
                _ => Err(UrlError::UnexpectedPart {
                    scheme: "memory",
                    part: "path",
                }),
            },
            "file" => parse_file(rest),
            _ => Err(UrlError::UnknownScheme {
                scheme: scheme.to_owned(),
            }),
        }
    }

    /// The URL of the file store at `path`, which must be absolute.
    pub fn from_file_path(path: impl Into<PathBuf>) -> Result<Self, UrlError> {
        let path = path.into();
        if !path.is_absolute() {
            return Err(UrlError::NotAbsolute {
                found: path.display().to_string(),
            });
        }
        if path.file_name().is_none() {
            return Err(UrlError::NoFileName {
                path: path.display().to_string(),
            });
        }
        Ok(Self::File(path))
    }

    /// The scheme: `memory` or `file`.
    #[must_use]
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::File(_) => "file",
        }
    }

    /// The file path of a `file:` URL.
    #[must_use]
    pub fn file_path(&self) -> Option<&Path> {
        match self {
            Self::File(p) => Some(p),
            Self::Memory => None,
        }
    }
}

impl std::str::FromStr for StoreUrl {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Self, UrlError> {
        Self::parse(s)
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory:"),
            Self::File(path) => {
                f.write_str("file://")?;
                let bytes = path_bytes(path);
                #[cfg(windows)]
                f.write_str("/")?;
                for &b in bytes.iter() {
                    if b.is_ascii_alphanumeric() || b"/-._~:@!$&'()*+,;=".contains(&b) {
                        write!(f, "{}", char::from(b))?;
                    } else {
                        write!(f, "%{b:02X}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Splits `scheme:rest`. A scheme is a letter followed by letters, digits, `+`, `-` or `.`, and
/// at least two characters long, so a Windows drive letter (`C:\…`) is not taken for one.
fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    (first_ok && rest_ok && scheme.len() >= 2).then_some((scheme, rest))
}

fn parse_file(rest: &str) -> Result<StoreUrl, UrlError> {
    if rest.contains('?') {
        return Err(UrlError::UnexpectedPart {
            scheme: "file",
            part: "query",
        });
    }
    if rest.contains('#') {
        return Err(UrlError::UnexpectedPart {
            scheme: "file",
            part: "fragment",
        });
    }
    let not_absolute = || UrlError::NotAbsolute {
        found: rest.to_owned(),
    };
    let encoded = if let Some(after) = rest.strip_prefix("//") {
        // An authority follows: empty or `localhost`, then the absolute path.
        let slash = after.find('/').ok_or_else(not_absolute)?;
        let host = &after[..slash];
        if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
            return Err(not_absolute());
        }
        &after[slash..]
    } else if rest.starts_with('/') {
        // `file:/path`, the short form.
        rest
    } else {
        return Err(not_absolute());
    };
    let bytes = percent_decode(encoded)?;
    let path = bytes_to_path(bytes)?;
    StoreUrl::from_file_path(path)
}

fn percent_decode(s: &str) -> Result<Vec<u8>, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: u8| char::from(b).to_digit(16);
            let hi = bytes.get(i + 1).copied().and_then(hex);
            let lo = bytes.get(i + 2).copied().and_then(hex);
            match (hi, lo) {
                (Some(hi), Some(lo)) => {
                    // Both digits are below 16, so the byte fits.
                    out.push(u8::try_from(hi * 16 + lo).unwrap_or(0));
                    i += 3;
                }
                _ => return Err(UrlError::BadEscape { at: i }),
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(unix)]
fn bytes_to_path(bytes: Vec<u8>) -> Result<PathBuf, UrlError> {
    use std::os::unix::ffi::OsStringExt;
    if bytes.contains(&0) {
        return Err(UrlError::InvalidPath);
    }
    Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

#[cfg(not(unix))]
fn bytes_to_path(bytes: Vec<u8>) -> Result<PathBuf, UrlError> {
    let s = String::from_utf8(bytes).map_err(|_| UrlError::InvalidPath)?;
    if s.contains('\0') {
        return Err(UrlError::InvalidPath);
    }
    // `file:///C:/dir/x` names `C:/dir/x`.
    let s = match s.strip_prefix('/') {
        Some(rest) if rest.as_bytes().get(1) == Some(&b':') => rest.to_owned(),
        _ => s,
    };
    Ok(PathBuf::from(s))
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    std::borrow::Cow::Borrowed(path.as_os_str().as_bytes())
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    std::borrow::Cow::Owned(path.to_string_lossy().replace('\\', "/").into_bytes())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn file(p: &str) -> StoreUrl {
        StoreUrl::File(PathBuf::from(p))
    }

    #[test]
    fn memory_forms() {
        assert_eq!(StoreUrl::parse("memory:").unwrap(), StoreUrl::Memory);
        assert_eq!(StoreUrl::parse("MEMORY://").unwrap(), StoreUrl::Memory);
        assert_eq!(
            StoreUrl::parse("memory:x"),
            Err(UrlError::UnexpectedPart {
                scheme: "memory",
                part: "path"
            })
        );
    }

    #[test]
    fn file_forms() {
        assert_eq!(
            StoreUrl::parse("file:///a/b.json").unwrap(),
            file("/a/b.json")
        );
        assert_eq!(
            StoreUrl::parse("File:/a/b.json").unwrap(),
            file("/a/b.json")
        );
        assert_eq!(
            StoreUrl::parse("file://localhost/a/b.json").unwrap(),
            file("/a/b.json")
        );
        assert_eq!(
            StoreUrl::parse("file:///a/my%20tokens%2Fx.json").unwrap(),
            file("/a/my tokens/x.json")
        );
        assert_eq!(StoreUrl::parse("file:///caf%C3%A9").unwrap(), file("/café"));
    }

    #[test]
    fn relative_and_remote_paths_are_rejected() {
        for bad in [
            "file:tokens.json",
            "file://tokens.json",
            "file://server/a.json",
            "file:",
        ] {
            assert!(
                matches!(StoreUrl::parse(bad), Err(UrlError::NotAbsolute { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            StoreUrl::parse("file:///dir/"),
            Ok(_) | Err(UrlError::NoFileName { .. })
        ));
        assert!(matches!(
            StoreUrl::parse("file:///"),
            Err(UrlError::NoFileName { .. })
        ));
        assert!(StoreUrl::from_file_path("rel/x.json").is_err());
    }

    #[test]
    fn bad_input_is_named() {
        assert_eq!(
            StoreUrl::parse("/just/a/path"),
            Err(UrlError::MissingScheme)
        );
        assert_eq!(StoreUrl::parse("c:/x"), Err(UrlError::MissingScheme));
        assert_eq!(
            StoreUrl::parse("vault://x"),
            Err(UrlError::UnknownScheme {
                scheme: "vault".into()
            })
        );
        assert_eq!(
            StoreUrl::parse("file:///a%2x"),
            Err(UrlError::BadEscape { at: 2 })
        );
        assert_eq!(
            StoreUrl::parse("file:///a%"),
            Err(UrlError::BadEscape { at: 2 })
        );
        assert_eq!(StoreUrl::parse("file:///a%00b"), Err(UrlError::InvalidPath));
        assert!(matches!(
            StoreUrl::parse("file:///a?mode=x"),
            Err(UrlError::UnexpectedPart { part: "query", .. })
        ));
        assert!(matches!(
            StoreUrl::parse("file:///a#x"),
            Err(UrlError::UnexpectedPart {
                part: "fragment",
                ..
            })
        ));
    }

    #[test]
    fn errors_do_not_repeat_credentials() {
        let e = StoreUrl::parse("postgres://user:hunter2@db/x").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn display_round_trips() {
        use std::os::unix::ffi::OsStringExt;
        let odd = PathBuf::from(std::ffi::OsString::from_vec(
            b"/d/sp ace/%/q?/h#/\xff/\xc3\xa9".to_vec(),
        ));
        for url in [StoreUrl::Memory, file("/a/b.json"), StoreUrl::File(odd)] {
            let text = url.to_string();
            assert_eq!(StoreUrl::parse(&text).unwrap(), url, "{text}");
        }
        assert_eq!(file("/a b").to_string(), "file:///a%20b");
    }
}

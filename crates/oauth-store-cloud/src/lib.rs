//! Shared and remote stores for oauth-store: the host bridge for embedders (session and org
//! scopes), and later AWS Secrets Manager and PostgreSQL, each behind its own feature.
//!
//! (Being written.)

//! Serving HTTP under an exporter-toolkit-compatible `--web.config.file`:
//! TLS (with optional client-certificate verification), basic
//! authentication with bcrypt hashes, and security headers, all re-read when
//! the files change.
//!
//! # Layout
//! - [`file`]: the YAML format, parsed and validated (pure).
//! - [`tls`]: the rustls server configuration from validated settings.
//! - [`source`]: the file, reloaded on change, last good kept.
//! - [`auth`]: the authentication and headers layer.
//! - [`listener`]: the TLS listener handed to [`serve`].
//! - [`serve`]: the HTTP/1 serve loop with header-read and idle timeouts and
//!   a connection cap.

pub mod auth;
pub mod file;
pub mod listener;
pub mod serve;
pub mod source;
pub mod tls;

pub use source::WebConfigSource;

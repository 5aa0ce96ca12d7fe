//! The HTTP layer the web config adds to every endpoint: basic
//! authentication against bcrypt hashes (401 with `WWW-Authenticate`
//! otherwise) and the configured security headers on every response.
//!
//! bcrypt is slow by design (about 70 ms at cost 10), so verifications run
//! on blocking threads, at most one per core at a time, and a success is
//! remembered by a SHA-256 digest of user, password and hash — never the
//! password itself — so a scrape every 15 s costs one verification in all.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tokio::sync::Semaphore;

use super::source::WebConfigSource;
use crate::secret::Secret;

/// Remembered successful logins before the memory is cleared.
const REMEMBERED_MAX: usize = 1024;

/// A bcrypt hash of a random string: checked for unknown users so that
/// they take as long to refuse as a wrong password.
const DUMMY_HASH: &str = "$2y$10$3LJ3SFGYkQzErSX9LkMfgO1q0q6fARKoiTQcEaUK4GUVtGosL5YIO";

/// What the layer needs: the config source, remembered logins and the
/// verification limit.
#[derive(Debug)]
pub struct Guard {
    source: Arc<WebConfigSource>,
    remembered: Mutex<HashSet<[u8; 32]>>,
    verifying: Semaphore,
}

impl Guard {
    /// A guard reading `source` on every request.
    pub fn new(source: Arc<WebConfigSource>) -> Arc<Guard> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Arc::new(Guard {
            source,
            remembered: Mutex::new(HashSet::new()),
            verifying: Semaphore::new(cores),
        })
    }

    async fn authorised(&self, headers: &HeaderMap, users: &BTreeMap<String, Secret>) -> bool {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let Some((user, password)) = authorization.and_then(basic_credentials) else {
            return false;
        };
        let known = users.get(&user);
        let hash = known.map_or(DUMMY_HASH, Secret::expose).to_string();
        let key = digest(&user, &password, &hash);
        if known.is_some() && self.remembered().contains(&key) {
            return true;
        }
        let Ok(_permit) = self.verifying.acquire().await else {
            return false;
        };
        let verified = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false);
        if verified && known.is_some() {
            let mut remembered = self.remembered();
            if remembered.len() >= REMEMBERED_MAX {
                remembered.clear();
            }
            remembered.insert(key);
            return true;
        }
        false
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The middleware: authenticate when users are configured, then add headers.
pub async fn layer(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let loaded = guard.source.current();
    let users = &loaded.config.users;
    let mut response = if users.is_empty() || guard.authorised(request.headers(), users).await {
        next.run(request).await
    } else {
        let mut refused = (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
        refused.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"genesys_exporter\""),
        );
        refused
    };
    for (name, value) in &loaded.config.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// `Basic base64(user:password)` → `(user, password)`; the password may
/// contain `:`. Also used by the simulator's token endpoint.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn digest(user: &str, password: &str, hash: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user, password, hash] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Credentials are decoded from the standard Basic form; a colon in the
    /// password is kept; other schemes and bad base64 give nothing.
    #[test]
    fn parses_basic_credentials() {
        // "prometheus:s3cr:et" in base64.
        assert_eq!(
            basic_credentials("Basic cHJvbWV0aGV1czpzM2NyOmV0"),
            Some(("prometheus".into(), "s3cr:et".into()))
        );
        assert_eq!(basic_credentials("Bearer abc"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert_eq!(basic_credentials(""), None);
    }

    /// The dummy hash is a well-formed bcrypt hash, so unknown users cost a
    /// full verification.
    #[test]
    fn dummy_hash_is_bcrypt() {
        assert_eq!(
            bcrypt::verify("not the password", DUMMY_HASH).ok(),
            Some(false)
        );
    }

    /// The memory key separates its parts unambiguously.
    #[test]
    fn digest_is_unambiguous() {
        assert_ne!(digest("ab", "c", "h"), digest("a", "bc", "h"));
        assert_eq!(digest("a", "b", "h"), digest("a", "b", "h"));
    }
}

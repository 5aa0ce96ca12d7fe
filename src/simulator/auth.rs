//! OAuth clients, bearer tokens and per-token rate limiting (API notes §1, §7, §10.2–§10.4).
//!
//! Tokens are random opaque strings (entropy from std's `RandomState`), valid
//! for the configured TTL. Each token owns its rolling 60-second request window.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine;

use super::config::{ExpiredTokenCode, SimConfig, ALL_PERMISSIONS};
use super::errors::{ApiError, OAuthError};
use super::rng::uuid;
use super::urlenc::parse_pairs;
use crate::web::auth::basic_credentials;

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Client {
    secret: String,
    permissions: Vec<String>,
}

#[derive(Debug)]
struct Token {
    client: String,
    permissions: Vec<String>,
    expires: Instant,
    revoked: bool,
    window: VecDeque<Instant>,
}

/// Outcome of the per-token rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Admitted: requests in the window (this one included) and seconds until it resets.
    Admitted { count: u32, reset_secs: u32 },
    /// Over the limit: retry after this many seconds.
    Limited { retry_after: u32 },
}

/// Clients, tokens and their request windows.
#[derive(Debug)]
pub(crate) struct Auth {
    clients: HashMap<String, Client>,
    tokens: HashMap<String, Token>,
    ttl: Duration,
    pub rate_limit: u32,
    expired_code: ExpiredTokenCode,
    error_status: u16,
}

/// A parsed token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issued {
    pub access_token: String,
    pub expires_in: u64,
}

impl Auth {
    pub fn new(config: &SimConfig) -> Auth {
        let mut auth = Auth {
            clients: HashMap::new(),
            tokens: HashMap::new(),
            ttl: config.token_ttl,
            rate_limit: config.rate_limit_per_minute.max(1),
            expired_code: config.expired_token_code,
            error_status: config.token_error_status,
        };
        auth.add_client(&config.client_id, &config.client_secret, &ALL_PERMISSIONS);
        for c in &config.extra_clients {
            let perms: Vec<&str> = c.permissions.iter().map(String::as_str).collect();
            auth.add_client(&c.id, &c.secret, &perms);
        }
        auth
    }

    pub fn add_client(&mut self, id: &str, secret: &str, permissions: &[&str]) {
        self.clients.insert(
            id.to_string(),
            Client {
                secret: secret.to_string(),
                permissions: permissions.iter().map(|p| p.to_string()).collect(),
            },
        );
    }

    pub fn expire_all(&mut self) {
        for t in self.tokens.values_mut() {
            t.revoked = true;
        }
    }

    /// Handles `POST /oauth/token`: Basic auth or form credentials.
    pub fn issue(
        &mut self,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
        now: Instant,
    ) -> Result<Issued, OAuthError> {
        if content_type.is_some_and(|c| {
            !c.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        }) {
            return Err(oauth(
                400,
                "invalid_request",
                "content type must be application/x-www-form-urlencoded",
            ));
        }
        let form = parse_pairs(&String::from_utf8_lossy(body));
        let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        match field("grant_type").as_deref() {
            Some("client_credentials") => {}
            Some(_) => {
                return Err(oauth(
                    400,
                    "unsupported_grant_type",
                    "grant type not supported",
                ))
            }
            None => return Err(oauth(400, "invalid_request", "grant_type is required")),
        }
        let (id, secret) = match authorization.and_then(basic_credentials) {
            Some(pair) => pair,
            None => match (field("client_id"), field("client_secret")) {
                (Some(i), Some(s)) => (i, s),
                _ => {
                    return Err(oauth(
                        self.error_status,
                        "invalid_client",
                        "client not found",
                    ))
                }
            },
        };
        let client = self
            .clients
            .get(&id)
            .ok_or_else(|| oauth(self.error_status, "invalid_client", "client not found"))?;
        if client.secret != secret {
            return Err(oauth(
                self.error_status,
                "invalid_client",
                "authentication failed",
            ));
        }
        let permissions = client.permissions.clone();
        if self.tokens.len() > 256 {
            let horizon = now.checked_sub(Duration::from_secs(3600)).unwrap_or(now);
            self.tokens.retain(|_, t| t.expires > horizon && !t.revoked);
        }
        let access_token = random_token();
        self.tokens.insert(
            access_token.clone(),
            Token {
                client: id.clone(),
                permissions,
                expires: now + self.ttl,
                revoked: false,
                window: VecDeque::new(),
            },
        );
        Ok(Issued {
            access_token,
            expires_in: self.ttl.as_secs().saturating_sub(1).max(1),
        })
    }

    /// Checks a bearer `Authorization` header; returns the token on success.
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
        now: Instant,
    ) -> Result<String, ApiError> {
        let token = authorization
            .and_then(|h| {
                let (scheme, rest) = h.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| rest.trim().to_string())
            })
            .filter(|t| !t.is_empty())
            .ok_or_else(ApiError::authentication_required)?;
        let t = self
            .tokens
            .get(&token)
            .ok_or_else(ApiError::bad_credentials)?;
        if t.revoked || now >= t.expires {
            return Err(match self.expired_code {
                ExpiredTokenCode::BadCredentials => ApiError::bad_credentials(),
                ExpiredTokenCode::CredentialsExpired => ApiError::credentials_expired(),
            });
        }
        Ok(token)
    }

    /// Whether the token's client holds `permission`.
    pub fn permitted(&self, token: &str, permission: &str) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|t| t.permissions.iter().any(|p| p == permission))
    }

    /// The client id the token was issued to.
    pub fn client_of(&self, token: &str) -> Option<&str> {
        self.tokens.get(token).map(|t| t.client.as_str())
    }

    /// Counts a request against the token's rolling window.
    pub fn admit(&mut self, token: &str, now: Instant) -> Admission {
        let limit = self.rate_limit;
        let Some(t) = self.tokens.get_mut(token) else {
            return Admission::Admitted {
                count: 0,
                reset_secs: 60,
            };
        };
        while t
            .window
            .front()
            .is_some_and(|&f| now.duration_since(f) >= WINDOW)
        {
            t.window.pop_front();
        }
        let until_reset = |front: Instant| {
            let left = (front + WINDOW).saturating_duration_since(now);
            (left.as_millis().div_ceil(1000) as u32).max(1)
        };
        if t.window.len() >= limit as usize {
            let front = t.window.front().copied().unwrap_or(now);
            return Admission::Limited {
                retry_after: until_reset(front),
            };
        }
        t.window.push_back(now);
        let front = t.window.front().copied().unwrap_or(now);
        Admission::Admitted {
            count: t.window.len() as u32,
            reset_secs: until_reset(front),
        }
    }
}

fn oauth(status: u16, error: &'static str, description: &'static str) -> OAuthError {
    OAuthError {
        status,
        error,
        description,
    }
}

fn entropy() -> (&'static RandomState, u64) {
    static STATE: OnceLock<RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    (
        STATE.get_or_init(RandomState::new),
        COUNTER.fetch_add(1, Ordering::Relaxed),
    )
}

fn random_u64(salt: u64) -> u64 {
    let (state, n) = entropy();
    let mut h = state.build_hasher();
    h.write_u64(n);
    h.write_u64(salt);
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// A fresh random opaque token (43 characters of URL-safe base64).
fn random_token() -> String {
    let mut bytes = Vec::with_capacity(32);
    for salt in 0..4 {
        bytes.extend_from_slice(&random_u64(salt).to_le_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh random correlation id in UUID format.
pub(crate) fn correlation_id() -> String {
    uuid(&[random_u64(0xC0), random_u64(0xC1)])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Basic and form credentials both work; wrong ones give the OAuth errors.
    #[test]
    fn issues_tokens() {
        let mut a = Auth::new(&SimConfig::default());
        let now = Instant::now();
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("demo-client:demo-secret")
        );
        let t = a
            .issue(Some(&basic), None, b"grant_type=client_credentials", now)
            .expect("basic");
        assert_eq!(t.expires_in, 86_399);
        let form = b"grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret";
        let t2 = a
            .issue(None, Some("application/x-www-form-urlencoded"), form, now)
            .expect("form");
        assert_ne!(t.access_token, t2.access_token);
        let e = a
            .issue(
                None,
                None,
                b"grant_type=client_credentials&client_id=x&client_secret=y",
                now,
            )
            .expect_err("unknown");
        assert_eq!(e.description, "client not found");
        let e = a
            .issue(None, None, b"grant_type=password", now)
            .expect_err("grant");
        assert_eq!((e.status, e.error), (400, "unsupported_grant_type"));
        assert!(a
            .authenticate(Some(&format!("bearer {}", t.access_token)), now)
            .is_ok());
    }

    /// The window admits `limit` requests, then asks to retry after the oldest ages out.
    #[test]
    fn rate_window() {
        let mut a = Auth::new(&SimConfig {
            rate_limit_per_minute: 2,
            ..SimConfig::default()
        });
        let now = Instant::now();
        let t = a
            .issue(
                None,
                None,
                b"grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret",
                now,
            )
            .expect("token")
            .access_token;
        assert!(matches!(
            a.admit(&t, now),
            Admission::Admitted { count: 1, .. }
        ));
        assert!(matches!(
            a.admit(&t, now + Duration::from_secs(10)),
            Admission::Admitted { count: 2, .. }
        ));
        assert_eq!(
            a.admit(&t, now + Duration::from_secs(20)),
            Admission::Limited { retry_after: 40 }
        );
        assert!(matches!(
            a.admit(&t, now + Duration::from_secs(61)),
            Admission::Admitted { count: 2, .. }
        ));
    }
}

//! OAuth client credentials: fetch a token from `/oauth/token` (Basic auth,
//! form body), cache it until `expires_in − margin`, and let a 401 invalidate
//! exactly the token it was answered for. Concurrent callers share one fetch.

use std::time::Duration;

use reqwest::Url;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::client::Inner;
use super::error::{clean_text, Error};
use super::model::{ErrorBody, TokenErrorBody, TokenResponse};
use super::observer::Endpoint;
use super::region;
use crate::secret::Secret;

/// Lifetime assumed when the token response has no usable `expires_in`
/// (the shortest lifetime Genesys allows).
const FALLBACK_LIFETIME: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct CachedToken {
    token: Secret,
    generation: u64,
    renew_at: Instant,
}

/// The cached bearer token.
#[derive(Debug, Default)]
pub(super) struct TokenCache {
    current: Mutex<Option<CachedToken>>,
    generations: std::sync::atomic::AtomicU64,
}

impl TokenCache {
    /// Forgets the token of `generation` (a later token stays cached).
    pub(super) async fn invalidate(&self, generation: u64) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|t| t.generation == generation) {
            *current = None;
        }
    }
}

/// How long a token is used: `lifetime − margin`, the margin being at most
/// half the lifetime so that very short-lived tokens are still reused.
pub fn usable_for(lifetime: Duration, margin: Duration) -> Duration {
    lifetime.saturating_sub(margin.min(lifetime / 2))
}

/// The one-line description of a token endpoint refusal (OAuth or Platform error body).
pub fn refusal_detail(body: &[u8]) -> String {
    if let Ok(oauth) = serde_json::from_slice::<TokenErrorBody>(body) {
        let description = oauth.error_description.or(oauth.description);
        let text = match (oauth.error, description) {
            (Some(e), Some(d)) => Some(format!("{e}: {d}")),
            (Some(e), None) => Some(e),
            (None, Some(d)) => Some(d),
            (None, None) => None,
        };
        if let Some(text) = text {
            return clean_text(&text, 200);
        }
    }
    if let Some(message) = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.message)
    {
        return clean_text(&message, 200);
    }
    String::from("no error description")
}

impl Inner {
    /// The current token and its generation, fetching a new one when none is
    /// cached or the cached one is due for renewal.
    pub(super) async fn token(
        &self,
        endpoint: Endpoint,
        deadline: Instant,
    ) -> Result<(Secret, u64), Error> {
        let mut current = tokio::time::timeout_at(deadline, self.tokens.current.lock())
            .await
            .map_err(|_| Error::Deadline {
                endpoint,
                deadline: self.config.call_deadline,
            })?;
        if let Some(t) = current.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok((t.token.clone(), t.generation));
        }
        *current = None;
        let fresh = self.fetch_token(deadline).await?;
        let result = (fresh.token.clone(), fresh.generation);
        *current = Some(fresh);
        Ok(result)
    }

    async fn fetch_token(&self, deadline: Instant) -> Result<CachedToken, Error> {
        let url = Url::parse(&format!(
            "{}/oauth/token",
            region::base_string(&self.config.login_base)
        ))
        .map_err(|e| Error::Config(format!("invalid login URL: {e}")))?;
        let build = || {
            self.http
                .post(url.clone())
                .basic_auth(
                    &self.config.client_id,
                    Some(self.config.client_secret.expose()),
                )
                .header(reqwest::header::ACCEPT, "application/json")
                .form(&[("grant_type", "client_credentials")])
        };
        let requested_at = Instant::now();
        let body = match self
            .send_with_retries(Endpoint::Token, deadline, &build)
            .await?
        {
            Ok(body) => body,
            Err(refusal) => {
                return Err(Error::Credentials {
                    status: refusal.status,
                    detail: refusal_detail(&refusal.body),
                })
            }
        };
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| Error::Decode {
            endpoint: Endpoint::Token,
            cause: format!("token response: {e}"),
        })?;
        if parsed.access_token.is_empty() {
            return Err(Error::Decode {
                endpoint: Endpoint::Token,
                cause: String::from("token response has an empty access_token"),
            });
        }
        let lifetime = parsed
            .expires_in
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| Duration::from_secs_f64(s.min(1e9)))
            .unwrap_or(FALLBACK_LIFETIME);
        let generation = self
            .tokens
            .generations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(
            lifetime_s = lifetime.as_secs(),
            "obtained a Genesys access token"
        );
        Ok(CachedToken {
            token: parsed.access_token,
            generation,
            renew_at: requested_at + usable_for(lifetime, self.config.token_expiry_margin),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokens are used until 60 s before expiry, or half their life when shorter.
    #[test]
    fn usable_lifetime() {
        let m = Duration::from_secs(60);
        assert_eq!(
            usable_for(Duration::from_secs(86_399), m),
            Duration::from_secs(86_339)
        );
        assert_eq!(
            usable_for(Duration::from_secs(300), m),
            Duration::from_secs(240)
        );
        assert_eq!(
            usable_for(Duration::from_secs(4), m),
            Duration::from_secs(2)
        );
        assert_eq!(usable_for(Duration::ZERO, m), Duration::ZERO);
    }

    /// Both documented token error bodies and a Platform body describe themselves.
    #[test]
    fn refusal_details() {
        let unknown = br#"{"error":"invalid_client","description":"client not found","error_description":"client not found"}"#;
        assert_eq!(refusal_detail(unknown), "invalid_client: client not found");
        let platform = br#"{"message":"HTTP 404 Not Found","code":"not found","status":404}"#;
        assert_eq!(refusal_detail(platform), "HTTP 404 Not Found");
        assert_eq!(refusal_detail(b"<html>"), "no error description");
    }
}

//! OAuth client credentials, without I/O: a [`TokenCache`] that hands out the
//! current bearer token, runs one fetch when none is cached or it is due for
//! renewal (`expires_in − margin`), lets concurrent callers share that fetch,
//! and lets a 401 invalidate exactly the token it was answered for; plus the
//! pure reading of `/oauth/token` answers. The client supplies the fetch.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::endpoint::Endpoint;
use super::error::{clean_text, Error};
use super::model::{ErrorBody, TokenErrorBody, TokenResponse};
use crate::secret::Secret;

/// Lifetime assumed when the token response has no usable `expires_in`
/// (the shortest lifetime Genesys allows).
const FALLBACK_LIFETIME: Duration = Duration::from_secs(300);

/// A token as fetched: the secret and the instant from which it must be renewed.
#[derive(Debug, Clone)]
pub(super) struct FreshToken {
    /// The bearer token.
    pub(super) secret: Secret,
    /// When to stop using it and fetch a new one.
    pub(super) renew_at: Instant,
}

/// A token handed out by the cache, with the generation a 401 invalidates.
#[derive(Debug, Clone)]
pub(super) struct Token {
    /// The bearer token.
    pub(super) secret: Secret,
    /// Which fetch produced it.
    pub(super) generation: u64,
}

#[derive(Debug)]
struct CachedToken {
    token: Token,
    renew_at: Instant,
}

/// The cached bearer token. Callers hold the lock while fetching, so a
/// caller that arrives during a fetch waits for it and shares its token.
#[derive(Debug, Default)]
pub(super) struct TokenCache {
    current: Mutex<Option<CachedToken>>,
    generations: AtomicU64,
}

impl TokenCache {
    /// The cached token if it is not yet due for renewal, else the one `fetch`
    /// returns (cached for later callers). Waiting for another caller's fetch
    /// ends at `deadline` with `timed_out()`; a failed fetch caches nothing.
    pub(super) async fn get_or_fetch<E, Fut>(
        &self,
        deadline: Instant,
        fetch: impl FnOnce() -> Fut,
        timed_out: impl FnOnce() -> E,
    ) -> Result<Token, E>
    where
        Fut: Future<Output = Result<FreshToken, E>>,
    {
        let mut current = tokio::time::timeout_at(deadline, self.current.lock())
            .await
            .map_err(|_| timed_out())?;
        if let Some(cached) = current.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(cached.token.clone());
        }
        *current = None;
        let fresh = fetch().await?;
        let token = Token {
            secret: fresh.secret,
            generation: self.generations.fetch_add(1, Ordering::Relaxed),
        };
        *current = Some(CachedToken {
            token: token.clone(),
            renew_at: fresh.renew_at,
        });
        Ok(token)
    }

    /// Forgets the token of `generation` (a later token stays cached).
    pub(super) async fn invalidate(&self, generation: u64) {
        let mut current = self.current.lock().await;
        if current
            .as_ref()
            .is_some_and(|t| t.token.generation == generation)
        {
            *current = None;
        }
    }
}

/// Reads a 2xx `/oauth/token` body requested at `requested_at`: the token,
/// used until `lifetime − margin` (see [`usable_for`]).
pub(super) fn token_from_response(
    body: &[u8],
    requested_at: Instant,
    margin: Duration,
) -> Result<FreshToken, Error> {
    let parsed: TokenResponse = serde_json::from_slice(body).map_err(|e| Error::Decode {
        endpoint: Endpoint::Token,
        cause: format!("token response: {e}"),
    })?;
    if parsed.access_token.is_empty() {
        return Err(Error::UnusableToken {
            cause: "access_token is empty",
        });
    }
    if reqwest::header::HeaderValue::from_str(&format!("Bearer {}", parsed.access_token.expose()))
        .is_err()
    {
        return Err(Error::UnusableToken {
            cause: "access_token holds characters not allowed in an HTTP header, such as CR or LF",
        });
    }
    let lifetime = parsed
        .expires_in
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(1e9)))
        .unwrap_or(FALLBACK_LIFETIME);
    tracing::debug!(
        lifetime_s = lifetime.as_secs(),
        "obtained a Genesys access token"
    );
    Ok(FreshToken {
        secret: parsed.access_token,
        renew_at: requested_at
            .checked_add(usable_for(lifetime, margin))
            .unwrap_or(requested_at),
    })
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    use super::*;

    /// A fetch that counts its calls and returns `token-N` after `delay`,
    /// renewable `usable` after it was asked for.
    fn counting_fetch(
        calls: &Arc<AtomicUsize>,
        delay: Duration,
        usable: Duration,
    ) -> impl FnOnce() -> std::pin::Pin<Box<dyn Future<Output = Result<FreshToken, String>> + Send>>
    {
        let calls = Arc::clone(calls);
        move || {
            Box::pin(async move {
                let asked = Instant::now();
                let n = calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                Ok(FreshToken {
                    secret: Secret::new(format!("token-{n}")),
                    renew_at: asked + usable,
                })
            })
        }
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    fn timed_out() -> String {
        String::from("timed out")
    }

    /// A cached token is reused until its renewal instant, then fetched anew.
    #[tokio::test(start_paused = true)]
    async fn token_expires() {
        let cache = TokenCache::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let usable = Duration::from_secs(100);
        let get = || {
            cache.get_or_fetch(
                far(),
                counting_fetch(&calls, Duration::ZERO, usable),
                timed_out,
            )
        };
        let first = get().await.expect("first");
        tokio::time::advance(Duration::from_secs(99)).await;
        let again = get().await.expect("cached");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(again.secret, first.secret);
        tokio::time::advance(Duration::from_secs(1)).await;
        let renewed = get().await.expect("renewed");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(renewed.secret.expose(), "token-1");
        assert_ne!(renewed.generation, first.generation);
    }

    /// A token answered with `expires_in` is renewed a margin before it
    /// expires, not when it expires.
    #[tokio::test(start_paused = true)]
    async fn renewed_before_expiry() {
        let cache = TokenCache::default();
        let margin = Duration::from_secs(60);
        let fetches = Arc::new(AtomicUsize::new(0));
        let fetch = || {
            let fetches = Arc::clone(&fetches);
            move || async move {
                fetches.fetch_add(1, Ordering::SeqCst);
                token_from_response(
                    br#"{"access_token":"abc","expires_in":300}"#,
                    Instant::now(),
                    margin,
                )
            }
        };
        let timed_out = || Error::Config(String::from("timed out"));
        cache
            .get_or_fetch(far(), fetch(), timed_out)
            .await
            .expect("first");
        tokio::time::advance(Duration::from_secs(239)).await;
        cache
            .get_or_fetch(far(), fetch(), timed_out)
            .await
            .expect("cached");
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(1)).await;
        let renewed = cache
            .get_or_fetch(far(), fetch(), timed_out)
            .await
            .expect("renewed");
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            2,
            "renewed at 240 s, not 300 s"
        );
        assert_eq!(renewed.secret.expose(), "abc");
    }

    /// Callers that arrive while a fetch is under way wait for it and share
    /// its token: one fetch for all of them.
    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_fetch() {
        let cache = Arc::new(TokenCache::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..5)
            .map(|_| {
                let cache = Arc::clone(&cache);
                let fetch =
                    counting_fetch(&calls, Duration::from_secs(2), Duration::from_secs(100));
                tokio::spawn(async move { cache.get_or_fetch(far(), fetch, timed_out).await })
            })
            .collect();
        let mut generations = Vec::new();
        for caller in callers {
            let token = caller.await.expect("joined").expect("token");
            assert_eq!(token.secret.expose(), "token-0");
            generations.push(token.generation);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(generations.windows(2).all(|w| w[0] == w[1]));
    }

    /// A 401 invalidates exactly the token it was answered for: the next
    /// caller fetches, and a late invalidation of the old token keeps the new one.
    #[tokio::test(start_paused = true)]
    async fn invalidated_after_401() {
        let cache = TokenCache::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let usable = Duration::from_secs(100);
        let get = || {
            cache.get_or_fetch(
                far(),
                counting_fetch(&calls, Duration::ZERO, usable),
                timed_out,
            )
        };
        let rejected = get().await.expect("first");
        cache.invalidate(rejected.generation).await;
        let fresh = get().await.expect("after 401");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(fresh.secret.expose(), "token-1");
        cache.invalidate(rejected.generation).await;
        let kept = get().await.expect("kept");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(kept.generation, fresh.generation);
    }

    /// A failed fetch caches nothing, and a caller waiting behind a slow
    /// fetch gives up at its own deadline.
    #[tokio::test(start_paused = true)]
    async fn failures_and_deadlines() {
        let cache = Arc::new(TokenCache::default());
        let failed = cache
            .get_or_fetch(
                far(),
                || async { Err::<FreshToken, _>(String::from("refused")) },
                timed_out,
            )
            .await;
        assert_eq!(failed.expect_err("refused"), "refused");
        let calls = Arc::new(AtomicUsize::new(0));
        let slow = {
            let cache = Arc::clone(&cache);
            let fetch = counting_fetch(&calls, Duration::from_secs(10), Duration::from_secs(100));
            tokio::spawn(async move { cache.get_or_fetch(far(), fetch, timed_out).await })
        };
        tokio::task::yield_now().await;
        let impatient = cache
            .get_or_fetch(
                Instant::now() + Duration::from_secs(1),
                counting_fetch(&calls, Duration::ZERO, Duration::from_secs(100)),
                timed_out,
            )
            .await;
        assert_eq!(impatient.expect_err("deadline"), "timed out");
        assert_eq!(
            slow.await.expect("joined").expect("token").secret.expose(),
            "token-0"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    /// A body that is not a token answer is a decode error, an empty token or
    /// one with header-breaking bytes is an unusable token (never echoed); a missing
    /// `expires_in` falls back to the shortest Genesys lifetime.
    #[test]
    fn token_bodies() {
        let now = Instant::now();
        let margin = Duration::from_secs(60);
        let err = token_from_response(b"<html>", now, margin).expect_err("bad body");
        assert!(
            matches!(
                err,
                Error::Decode {
                    endpoint: Endpoint::Token,
                    ..
                }
            ),
            "{err}"
        );
        for bad in [
            &br#"{"access_token":""}"#[..],
            br#"{"access_token":"abc\r\nX-Injected: 1"}"#,
            br#"{"access_token":"abc\u0000"}"#,
        ] {
            let err = token_from_response(bad, now, margin).expect_err("unusable token");
            assert!(matches!(err, Error::UnusableToken { .. }), "{err}");
            assert_eq!(err.kind(), "decode");
            let text = err.to_string();
            assert!(
                text.starts_with("the token endpoint returned an unusable token"),
                "{text}"
            );
            assert!(!text.contains("abc"), "the token never shows: {text}");
        }
        let fresh = token_from_response(br#"{"access_token":"t"}"#, now, margin).expect("token");
        assert_eq!(fresh.renew_at, now + Duration::from_secs(240));
    }

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

//! The [`Client`]: shared state (HTTP client, token cache, limiter, observer,
//! chunk sizes) and the request loop every call goes through: rate limit, send
//! with a timeout, read Genesys's rate-limit headers (shrinking the budget to
//! fit), retry per policy within the call deadline, re-authenticate once on 401.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

use super::config::{ClientConfig, MAX_CHUNK_SIZE};
use super::endpoint::Endpoint;
use super::error::Error;
use super::fanout::ChunkSizes;
use super::http::{self, Attempt};
use super::lenient;
use super::limiter::{self, BudgetExhausted, Limiter};
use super::oauth::{self, FreshToken, TokenCache};
use super::observer::{ApiObserver, AttemptRecord, RateLimitReport, RetryReason};
use super::region;
use super::retry::{Decision, Failure, Jitter, RetryPolicy};

/// A Genesys Cloud API client. Cheap to clone; clones share the token, the
/// rate limiter and the concurrency cap. `Debug` shows no secrets.
#[derive(Clone)]
pub struct Client {
    pub(super) inner: Arc<Inner>,
}

/// State shared by all clones.
pub(super) struct Inner {
    pub(super) config: ClientConfig,
    pub(super) api_base: String,
    http: reqwest::Client,
    pub(super) observer: Arc<dyn ApiObserver>,
    limiter: Limiter,
    /// The budget in force (≤ `config.requests_per_minute`).
    budget: AtomicU32,
    /// Whether the first budget change was logged.
    budget_logged: AtomicBool,
    /// Queue ids per query, by endpoint, as predicate limits left them.
    pub(super) chunks: ChunkSizes,
    /// Whether a refused paging link was logged.
    pub(super) paging_logged: AtomicBool,
    tokens: TokenCache,
    policy: RetryPolicy,
    jitter: Jitter,
    /// Queue ids whose repaired name was already logged.
    pub(super) repaired_names: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api_base", &self.inner.api_base)
            .field("login_base", &self.inner.config.login_base.as_str())
            .field("client_id", &self.inner.config.client_id)
            .finish_non_exhaustive()
    }
}

/// A response that ends the retry loop without being a success.
struct Refusal {
    status: u16,
    body: Vec<u8>,
    correlation_id: Option<String>,
}

impl Client {
    /// Builds a client; no request is sent until the first call.
    pub fn new(config: ClientConfig, observer: Arc<dyn ApiObserver>) -> Result<Client, Error> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("genesys_exporter/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| {
                Error::Config(format!(
                    "cannot build the HTTP client: {}",
                    http::root_cause(&e)
                ))
            })?;
        let policy = RetryPolicy {
            max_retries: config.max_retries,
            backoff_base: config.backoff_base,
            backoff_cap: config.backoff_cap,
            max_retry_after: config.max_retry_after,
        };
        observer.budget_changed(config.requests_per_minute);
        let chunks = ChunkSizes::new(config.chunk_size, MAX_CHUNK_SIZE);
        for endpoint in ChunkSizes::ENDPOINTS {
            observer.chunk_size_changed(endpoint, chunks.get(endpoint));
        }
        let inner = Inner {
            api_base: region::base_string(&config.api_base),
            limiter: Limiter::new(config.requests_per_minute, config.concurrency),
            budget: AtomicU32::new(config.requests_per_minute),
            budget_logged: AtomicBool::new(false),
            chunks,
            paging_logged: AtomicBool::new(false),
            tokens: TokenCache::default(),
            http,
            observer,
            policy,
            jitter: Jitter::default(),
            repaired_names: Default::default(),
            config,
        };
        Ok(Client {
            inner: Arc::new(inner),
        })
    }

    /// The validated configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The budget of requests per rolling minute in force: `--api.requests-per-minute`,
    /// or less when Genesys reports a lower limit.
    pub fn requests_per_minute(&self) -> u32 {
        self.inner.budget.load(Ordering::Relaxed)
    }

    /// The most queue ids one query to `endpoint` carries now: for aggregates
    /// `--api.chunk-size`, for observations 200, each halved by every 400 that
    /// named a predicate limit.
    pub fn chunk_size(&self, endpoint: Endpoint) -> usize {
        self.inner.chunks.get(endpoint)
    }
}

impl Inner {
    /// Calls an API endpoint and parses its JSON answer, with a bearer token,
    /// retries, and one re-authentication on 401, within `--api.deadline`.
    pub(super) async fn call_json<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<T, Error> {
        self.call_json_until(endpoint, method, url, body, self.deadline_from_now())
            .await
    }

    /// The deadline of a call starting now (`--api.deadline`, validated to at
    /// most an hour; saturated all the same).
    pub(super) fn deadline_from_now(&self) -> Instant {
        let now = Instant::now();
        now.checked_add(self.config.call_deadline)
            .unwrap_or_else(|| now + super::config::MAX_CALL_DEADLINE)
    }

    /// [`Inner::call_json`] with an explicit deadline (a call split into
    /// smaller requests keeps the deadline of the call).
    pub(super) async fn call_json_until<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        method: Method,
        url: Url,
        body: Option<&Value>,
        deadline: Instant,
    ) -> Result<T, Error> {
        self.call_decode_until(endpoint, method, url, body, deadline, |bytes| {
            std::future::ready(decode(endpoint, &bytes))
        })
        .await
    }

    /// [`Inner::call_json_until`] with the 2xx body handed to `decode`
    /// (which may fold it somewhere instead of returning it, or run on the
    /// blocking pool: see [`decode_blocking`]).
    pub(super) async fn call_decode_until<T, F>(
        &self,
        endpoint: Endpoint,
        method: Method,
        url: Url,
        body: Option<&Value>,
        deadline: Instant,
        decode: impl FnOnce(Vec<u8>) -> F,
    ) -> Result<T, Error>
    where
        F: std::future::Future<Output = Result<T, Error>>,
    {
        let mut reauthenticated = false;
        loop {
            let token = self
                .tokens
                .get_or_fetch(
                    deadline,
                    || self.fetch_token(deadline),
                    || Error::Deadline {
                        endpoint,
                        deadline: self.config.call_deadline,
                    },
                )
                .await?;
            let build = || {
                let request = self
                    .http
                    .request(method.clone(), url.clone())
                    .bearer_auth(token.secret.expose())
                    .header(reqwest::header::ACCEPT, "application/json");
                match body {
                    Some(b) => request.json(b),
                    None => request,
                }
            };
            let refusal = match self.send_with_retries(endpoint, deadline, &build).await? {
                Ok(bytes) => return decode(bytes).await,
                Err(refusal) => refusal,
            };
            let detail = http::api_detail(&refusal.body, refusal.correlation_id);
            match refusal.status {
                401 if !reauthenticated => {
                    reauthenticated = true;
                    self.tokens.invalidate(token.generation).await;
                    self.observer.retried(endpoint, RetryReason::Unauthorized);
                    tracing::debug!(
                        endpoint = endpoint.as_str(),
                        "401 from the API; re-authenticating once"
                    );
                }
                401 => return Err(Error::Unauthorized { endpoint, detail }),
                403 => {
                    let permission = named_permission(detail.message.as_deref())
                        .or(endpoint.permission().map(str::to_string))
                        .unwrap_or_else(|| String::from("(not named)"));
                    return Err(Error::MissingPermission {
                        endpoint,
                        permission,
                        detail,
                    });
                }
                status => {
                    return Err(Error::Rejected {
                        endpoint,
                        status,
                        detail,
                    })
                }
            }
        }
    }

    /// Requests a new token from `/oauth/token` (Basic auth, form body).
    async fn fetch_token(&self, deadline: Instant) -> Result<FreshToken, Error> {
        let url = Url::parse(&format!(
            "{}{}",
            region::base_string(&self.config.login_base),
            Endpoint::Token.path()
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
        match self
            .send_with_retries(Endpoint::Token, deadline, &build)
            .await?
        {
            Ok(body) => {
                oauth::token_from_response(&body, requested_at, self.config.token_expiry_margin)
            }
            Err(refusal) => Err(Error::Credentials {
                status: refusal.status,
                detail: oauth::refusal_detail(&refusal.body),
            }),
        }
    }

    /// Sends a request built by `build` until it succeeds (`Ok(Ok(body))`), is
    /// refused with a status that is not retried (`Ok(Err(refusal))`), or the
    /// retry policy gives up (`Err`).
    async fn send_with_retries(
        &self,
        endpoint: Endpoint,
        deadline: Instant,
        build: &(dyn Fn() -> RequestBuilder + Sync),
    ) -> Result<Result<Vec<u8>, Refusal>, Error> {
        let deadline_error = Error::Deadline {
            endpoint,
            deadline: self.config.call_deadline,
        };
        let mut retries = 0u32;
        loop {
            let slot = self
                .limiter
                .acquire(deadline)
                .await
                .map_err(|why| match why {
                    BudgetExhausted::Slots => deadline_error.clone(),
                    BudgetExhausted::Rate => Error::BudgetExhausted {
                        endpoint,
                        requests_per_minute: self.config.requests_per_minute,
                    },
                })?;
            if !slot.rate_wait.is_zero() {
                self.observer.throttled(endpoint, slot.rate_wait);
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(deadline_error);
            }
            let timeout = self.config.request_timeout.min(remaining);
            let record = AttemptRecord::start(&*self.observer, endpoint);
            let (attempt, rate_limit) =
                http::send(build(), timeout, self.config.max_body_bytes).await;
            drop(slot);
            if let Some(report) = rate_limit.filter(|_| endpoint != Endpoint::Token) {
                self.rate_limit_reported(&report);
            }
            let elapsed = record.finish(&attempt.outcome_label());
            tracing::debug!(
                endpoint = endpoint.as_str(),
                outcome = %attempt.outcome_label(),
                elapsed_ms = elapsed.as_millis() as u64,
                "Genesys request finished"
            );
            let (failure, last_error) =
                match self.verdict(endpoint, attempt, timeout, &deadline_error, build) {
                    Verdict::Final(result) => return result,
                    Verdict::Retryable(failure, error) => (failure, error),
                };
            let remaining = deadline.saturating_duration_since(Instant::now());
            match self
                .policy
                .decide(failure, retries, remaining, self.jitter.next_unit())
            {
                Decision::GiveUp => return Err(last_error),
                Decision::Retry(wait) => {
                    self.observer.retried(endpoint, failure.reason());
                    tracing::debug!(
                        endpoint = endpoint.as_str(),
                        reason = failure.reason().as_str(),
                        wait_ms = wait.as_millis() as u64,
                        "retrying Genesys request"
                    );
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
            }
        }
    }

    /// What one attempt's outcome means for the call: its end, or a failure
    /// the retry policy may retry (with the error to give if it does not).
    fn verdict(
        &self,
        endpoint: Endpoint,
        attempt: Attempt,
        timeout: std::time::Duration,
        deadline_error: &Error,
        build: &(dyn Fn() -> RequestBuilder + Sync),
    ) -> Verdict {
        match attempt {
            Attempt::Success(_, body) => Verdict::Final(Ok(Ok(body))),
            Attempt::TooLarge => Verdict::Final(Err(Error::TooLarge {
                endpoint,
                limit: self.config.max_body_bytes,
            })),
            Attempt::Status {
                status,
                retry_after,
                body,
                correlation_id,
            } => match status {
                429 => Verdict::Retryable(
                    Failure::RateLimited(retry_after),
                    Error::RateLimited {
                        endpoint,
                        retry_after,
                    },
                ),
                500..=599 => Verdict::Retryable(
                    Failure::Server(status, retry_after),
                    Error::Server {
                        endpoint,
                        status,
                        detail: http::api_detail(&body, correlation_id),
                    },
                ),
                _ => Verdict::Final(Ok(Err(Refusal {
                    status,
                    body,
                    correlation_id,
                }))),
            },
            Attempt::Timeout if timeout < self.config.request_timeout => {
                Verdict::Retryable(Failure::Timeout, deadline_error.clone())
            }
            Attempt::Timeout => Verdict::Retryable(
                Failure::Timeout,
                Error::Timeout {
                    endpoint,
                    timeout: self.config.request_timeout,
                },
            ),
            Attempt::Transport(cause) => Verdict::Retryable(
                Failure::Transport,
                Error::Unreachable {
                    endpoint,
                    host: host_of(build()),
                    cause,
                },
            ),
        }
    }
}

/// What one attempt's outcome means for the call.
enum Verdict {
    /// The call ends with this.
    Final(Result<Result<Vec<u8>, Refusal>, Error>),
    /// A failure the policy may retry, and the error if it does not.
    Retryable(Failure, Error),
}

impl Inner {
    /// Reports Genesys's rate-limit headers and fits the budget to the limit
    /// they give (logged once, at the first change).
    fn rate_limit_reported(&self, report: &RateLimitReport) {
        self.observer.rate_limit_reported(report);
        if report.allowed.is_none() {
            return;
        }
        let fitted = limiter::fitted_budget(self.config.requests_per_minute, report.allowed);
        let previous = self.budget.swap(fitted, Ordering::Relaxed);
        if previous == fitted {
            return;
        }
        self.limiter.set_per_minute(fitted);
        self.observer.budget_changed(fitted);
        if !self.budget_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                allowed = report.allowed,
                configured = self.config.requests_per_minute,
                budget = fitted,
                "Genesys allows fewer requests per minute than --api.requests-per-minute; \
                 the client now sends at most {fitted} per minute"
            );
        } else {
            tracing::debug!(budget = fitted, "client request budget changed");
        }
    }
}

/// What a chunked or folded call does with each 2xx body.
pub(super) type Decoder<T> = Arc<dyn Fn(&[u8]) -> Result<T, Error> + Send + Sync>;

/// A large answer's decode, run on the blocking pool so that the async
/// workers stay free to serve scrapes meanwhile.
pub(super) async fn decode_blocking<T: Send + 'static>(
    endpoint: Endpoint,
    decode: Decoder<T>,
    bytes: Vec<u8>,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(move || decode(&bytes))
        .await
        .map_err(|e| Error::LostTask {
            endpoint,
            cause: e.to_string(),
        })?
}

/// Parses a 2xx JSON body; an empty body counts as `{}`.
///
/// The queue listing is read leniently ([`lenient::repair_json`]): a queue
/// name with invalid UTF-8 or a lone surrogate escape does not make the
/// whole page unreadable.
pub(super) fn decode<T: DeserializeOwned>(endpoint: Endpoint, bytes: &[u8]) -> Result<T, Error> {
    let bytes: std::borrow::Cow<'_, [u8]> = if bytes.iter().all(u8::is_ascii_whitespace) {
        std::borrow::Cow::Borrowed(b"{}")
    } else if endpoint == Endpoint::Queues {
        lenient::repair_json(bytes)
    } else {
        std::borrow::Cow::Borrowed(bytes)
    };
    let bytes: &[u8] = &bytes;
    serde_json::from_slice(bytes).map_err(|e| Error::Decode {
        endpoint,
        cause: e.to_string(),
    })
}

/// The `host:port` a request goes to, for error messages.
fn host_of(request: RequestBuilder) -> String {
    request
        .build()
        .ok()
        .map(|r| {
            let url = r.url();
            match (url.host_str(), url.port_or_known_default()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_string(),
                _ => String::from("(unknown host)"),
            }
        })
        .unwrap_or_else(|| String::from("(unknown host)"))
}

/// The permission named in a 403 message ("…permissions assigned: a:b:c"):
/// the first word shaped like `domain:entity:action`.
fn named_permission(message: Option<&str>) -> Option<String> {
    message?
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '"' | '\''))
        .map(|word| word.trim_end_matches('.'))
        .find(|word| {
            let parts: Vec<&str> = word.split(':').collect();
            parts.len() >= 3 && parts.iter().all(|p| !p.is_empty())
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The permission is read from both documented 403 message templates.
    #[test]
    fn permission_from_message() {
        let any = "Unable to perform the requested action. You must have at least one of the following permissions assigned: analytics:queueObservation:view";
        assert_eq!(
            named_permission(Some(any)).as_deref(),
            Some("analytics:queueObservation:view")
        );
        let missing = "Unable to perform the requested action. You are missing the following permission(s): [routing:queue:view].";
        assert_eq!(
            named_permission(Some(missing)).as_deref(),
            Some("routing:queue:view")
        );
        assert_eq!(named_permission(Some("You are not authorized.")), None);
        assert_eq!(named_permission(None), None);
    }

    /// Empty 2xx bodies decode as `{}`; garbage is a decode error naming the endpoint.
    #[test]
    fn decode_bodies() {
        let v: Value = decode(Endpoint::Aggregates, b"  ").expect("empty");
        assert_eq!(v, serde_json::json!({}));
        let err = decode::<Value>(Endpoint::Aggregates, b"<html>").expect_err("garbage");
        assert!(
            matches!(
                err,
                Error::Decode {
                    endpoint: Endpoint::Aggregates,
                    ..
                }
            ),
            "{err}"
        );
    }
}

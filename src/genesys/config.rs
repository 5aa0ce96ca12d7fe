//! The validated client configuration ([`ClientConfig`]) and its defaults.

use std::time::Duration;

use reqwest::Url;

use super::error::Error;
use super::region;
use crate::secret::Secret;

/// Default client-side budget: requests per rolling minute (Genesys allows 300 per token).
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 120;
/// Default number of requests in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Default per-request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Shortest accepted `--api.timeout`.
pub const MIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest accepted `--api.timeout`.
pub const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest accepted `--api.deadline`.
pub const MAX_CALL_DEADLINE: Duration = Duration::from_secs(3_600);
/// Default deadline for one client call, retries included.
pub const DEFAULT_CALL_DEADLINE: Duration = Duration::from_secs(60);
/// Default queue ids per analytics query (a safe choice under the observed 200).
pub const DEFAULT_CHUNK_SIZE: usize = 100;
/// Largest accepted chunk size (the largest predicate count seen accepted).
pub const MAX_CHUNK_SIZE: usize = 200;
/// Default `pageSize` for the queue listing.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Default retries after the first attempt (429, 5xx, timeouts, transport errors).
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// Default response body cap.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Longest `Retry-After` the client will sleep through.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// A token is renewed this long before Genesys says it expires.
pub const DEFAULT_TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// Everything the client needs, validated. Build it with
/// [`ClientArgs::to_config`](super::ClientArgs::to_config) or [`ClientConfig::for_base_url`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// API base, e.g. `https://api.mypurecloud.ie` (no trailing slash).
    pub api_base: Url,
    /// Login base for `/oauth/token`, e.g. `https://login.mypurecloud.ie`.
    pub login_base: Url,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret (redacted in Debug).
    pub client_secret: Secret,
    /// Client-side limit on requests per rolling 60 s, all endpoints together.
    pub requests_per_minute: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Timeout of one HTTP request, body included.
    pub request_timeout: Duration,
    /// Deadline of one client call (all its attempts, waits and retries).
    pub call_deadline: Duration,
    /// Queue ids per aggregates query (observations use [`MAX_CHUNK_SIZE`]).
    pub chunk_size: usize,
    /// `pageSize` of the queue listing.
    pub page_size: u32,
    /// Retries after the first attempt for 429, 5xx, timeouts and transport errors.
    pub max_retries: u32,
    /// Largest response body read, in bytes.
    pub max_body_bytes: usize,
    /// Longest `Retry-After` honoured; a longer one fails the call at once.
    pub max_retry_after: Duration,
    /// A cached token is renewed this long before it expires (at most half its lifetime).
    pub token_expiry_margin: Duration,
    /// First backoff step for 5xx and network retries (doubled each retry, full jitter).
    pub backoff_base: Duration,
    /// Largest backoff step.
    pub backoff_cap: Duration,
}

impl ClientConfig {
    /// A configuration for an explicit API base URL (the simulator, a demo),
    /// with the login base derived by the `api.`→`login.` rule and every other
    /// setting at its default.
    pub fn for_base_url(base: &str, client_id: &str, secret: Secret) -> Result<Self, Error> {
        let api_base = region::parse_base_url(base, "base URL").map_err(Error::Config)?;
        let login_base = region::login_base_for_api(&api_base);
        let config = ClientConfig {
            api_base,
            login_base,
            client_id: client_id.to_string(),
            client_secret: secret,
            requests_per_minute: DEFAULT_REQUESTS_PER_MINUTE,
            concurrency: DEFAULT_CONCURRENCY,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            call_deadline: DEFAULT_CALL_DEADLINE,
            chunk_size: DEFAULT_CHUNK_SIZE,
            page_size: DEFAULT_PAGE_SIZE,
            max_retries: DEFAULT_MAX_RETRIES,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            token_expiry_margin: DEFAULT_TOKEN_EXPIRY_MARGIN,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(10),
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks every value; the error names the flag and environment variable to fix.
    pub fn validate(&self) -> Result<(), Error> {
        let fail = |msg: &str| Err(Error::Config(msg.to_string()));
        if self.client_id.trim().is_empty() {
            return fail("missing client id: set --genesys.client-id or GENESYS_CLIENT_ID");
        }
        if self.client_secret.is_empty() {
            return fail(
                "missing client secret: set GENESYS_CLIENT_SECRET or --genesys.client-secret-file",
            );
        }
        if !(1..=100_000).contains(&self.requests_per_minute) {
            return fail("--api.requests-per-minute (GENESYS_EXPORTER_API_REQUESTS_PER_MINUTE) must be between 1 and 100000");
        }
        if !(1..=64).contains(&self.concurrency) {
            return fail(
                "--api.concurrency (GENESYS_EXPORTER_API_CONCURRENCY) must be between 1 and 64",
            );
        }
        if !(MIN_REQUEST_TIMEOUT..=MAX_REQUEST_TIMEOUT).contains(&self.request_timeout) {
            return fail("--api.timeout (GENESYS_EXPORTER_API_TIMEOUT) must be between 1s and 10m");
        }
        if self.call_deadline < self.request_timeout {
            return fail(
                "--api.deadline (GENESYS_EXPORTER_API_DEADLINE) must be at least --api.timeout",
            );
        }
        if self.call_deadline > MAX_CALL_DEADLINE {
            return fail("--api.deadline (GENESYS_EXPORTER_API_DEADLINE) must be at most 1h");
        }
        if !(1..=MAX_CHUNK_SIZE).contains(&self.chunk_size) {
            return fail(
                "--api.chunk-size (GENESYS_EXPORTER_API_CHUNK_SIZE) must be between 1 and 200",
            );
        }
        if !(1..=500).contains(&self.page_size) {
            return fail(
                "--api.page-size (GENESYS_EXPORTER_API_PAGE_SIZE) must be between 1 and 500",
            );
        }
        if self.max_retries > 10 {
            return fail("--api.max-retries (GENESYS_EXPORTER_API_MAX_RETRIES) must be at most 10");
        }
        if self.max_body_bytes < 1024 {
            return fail("--api.max-response-bytes (GENESYS_EXPORTER_API_MAX_RESPONSE_BYTES) must be at least 1024");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim() -> ClientConfig {
        ClientConfig::for_base_url("http://127.0.0.1:9/", "id", Secret::new("s3cret")).expect("ok")
    }

    /// The simulator seam derives the same-host login base and keeps defaults.
    #[test]
    fn for_base_url_defaults() {
        let c = sim();
        assert_eq!(region::base_string(&c.api_base), "http://127.0.0.1:9");
        assert_eq!(c.login_base, c.api_base);
        assert_eq!(c.chunk_size, 100);
        assert_eq!(c.requests_per_minute, 120);
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    /// Out-of-range values are rejected naming the flag and its variable.
    #[test]
    fn invalid_values_name_the_flag() {
        type Mutation = Box<dyn Fn(&mut ClientConfig)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|c| c.chunk_size = 0), "--api.chunk-size"),
            (
                Box::new(|c| c.chunk_size = 201),
                "GENESYS_EXPORTER_API_CHUNK_SIZE",
            ),
            (
                Box::new(|c| c.requests_per_minute = 0),
                "--api.requests-per-minute",
            ),
            (Box::new(|c| c.concurrency = 0), "--api.concurrency"),
            (Box::new(|c| c.page_size = 0), "--api.page-size"),
            (Box::new(|c| c.max_retries = 11), "--api.max-retries"),
            (
                Box::new(|c| c.request_timeout = Duration::ZERO),
                "--api.timeout",
            ),
            (
                Box::new(|c| c.call_deadline = Duration::from_secs(1)),
                "--api.deadline",
            ),
            (
                Box::new(|c| c.request_timeout = Duration::from_secs(601)),
                "--api.timeout",
            ),
            (
                Box::new(|c| c.call_deadline = Duration::from_secs(3_601)),
                "--api.deadline",
            ),
            (Box::new(|c| c.client_id.clear()), "GENESYS_CLIENT_ID"),
            (
                Box::new(|c| c.client_secret = Secret::new("")),
                "GENESYS_CLIENT_SECRET",
            ),
        ];
        for (mutate, needle) in cases {
            let mut c = sim();
            mutate(&mut c);
            let err = c.validate().expect_err("invalid").to_string();
            assert!(err.contains(needle), "{err} should name {needle}");
        }
    }
}

//! The client's error type: one variant per kind of failure a caller treats
//! differently, each rendering as one clear line without secrets.

use std::fmt;
use std::time::Duration;

use super::endpoint::Endpoint;

/// What Genesys said about a failed request (Platform API error body and the
/// `ININ-Correlation-Id` header), already cleaned for one-line display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiDetail {
    /// The `message` field.
    pub message: Option<String>,
    /// The `code` field, e.g. `invalid.value`.
    pub code: Option<String>,
    /// The `contextId` field (or the correlation id header).
    pub context_id: Option<String>,
}

impl fmt::Display for ApiDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "Genesys says {m:?}")?,
            None => f.write_str("no error message")?,
        }
        let mut extra = Vec::new();
        if let Some(c) = &self.code {
            extra.push(format!("code {c}"));
        }
        if let Some(c) = &self.context_id {
            extra.push(format!("contextId {c}"));
        }
        if !extra.is_empty() {
            write!(f, " ({})", extra.join(", "))?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in the client.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// Invalid flags, environment variables or configuration values.
    Config(String),
    /// The token endpoint refused the client credentials (a non-2xx answer
    /// that is not a server error). Never retried.
    Credentials {
        /// HTTP status of the token endpoint.
        status: u16,
        /// OAuth `error` and `error_description`, cleaned.
        detail: String,
    },
    /// The API still answered 401 after one re-authentication.
    Unauthorized {
        /// The endpoint called.
        endpoint: Endpoint,
        /// Genesys's explanation.
        detail: ApiDetail,
    },
    /// 403: the OAuth client's role lacks a permission.
    MissingPermission {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The permission named by Genesys, or the endpoint's documented one.
        permission: String,
        /// Genesys's explanation.
        detail: ApiDetail,
    },
    /// Any other 4xx: the request itself is wrong. Never retried.
    Rejected {
        /// The endpoint called.
        endpoint: Endpoint,
        /// HTTP status.
        status: u16,
        /// Genesys's explanation.
        detail: ApiDetail,
    },
    /// 429 on the last allowed attempt, or a `Retry-After` beyond the cap or deadline.
    RateLimited {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// 5xx on the last allowed attempt.
    Server {
        /// The endpoint called.
        endpoint: Endpoint,
        /// HTTP status.
        status: u16,
        /// Genesys's explanation.
        detail: ApiDetail,
    },
    /// No HTTP response at all (connection refused, DNS, TLS, reset).
    Unreachable {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The host and port that could not be reached.
        host: String,
        /// The low-level cause.
        cause: String,
    },
    /// Every allowed attempt hit the per-request timeout.
    Timeout {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The per-request timeout.
        timeout: Duration,
    },
    /// The call's overall deadline passed before it could succeed.
    Deadline {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The call deadline.
        deadline: Duration,
    },
    /// The client's own rate budget had no room for the request before the
    /// call deadline (the request was not sent).
    BudgetExhausted {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The configured budget.
        requests_per_minute: u32,
    },
    /// A 2xx body that is not the JSON expected.
    Decode {
        /// The endpoint called.
        endpoint: Endpoint,
        /// What did not parse.
        cause: String,
    },
    /// A response body larger than the configured cap.
    TooLarge {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The cap in bytes.
        limit: usize,
    },
    /// A paging link that is not a relative path on the API host.
    UnsafeNextUri {
        /// The refused link, cleaned and shortened.
        uri: String,
    },
    /// Paging that would not end: a `nextUri` back to a page already read,
    /// or more pages than the listing may have.
    Paging {
        /// The endpoint paged.
        endpoint: Endpoint,
        /// Why paging stopped.
        cause: PagingStop,
    },
    /// A concurrent call was lost: its task panicked or was aborted before
    /// it could answer.
    LostTask {
        /// The endpoint called.
        endpoint: Endpoint,
        /// What the runtime said about the task.
        cause: String,
    },
}

/// Why a paged listing was abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagingStop {
    /// `nextUri` pointed back to a page already read.
    Loop,
    /// More than this many pages.
    TooManyPages(usize),
}

impl Error {
    /// True for rejected credentials (token endpoint, or a 401 that survived re-authentication).
    pub fn is_credentials(&self) -> bool {
        matches!(self, Error::Credentials { .. } | Error::Unauthorized { .. })
    }

    /// True for a 403 missing permission.
    pub fn is_permission(&self) -> bool {
        matches!(self, Error::MissingPermission { .. })
    }

    /// True for invalid configuration.
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Config(_))
    }

    /// True when the API could not be reached or did not answer in time.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Error::Unreachable { .. } | Error::Timeout { .. } | Error::Deadline { .. }
        )
    }

    /// True for failures that may go away by themselves (rate limits, 5xx,
    /// network, timeouts); false for those that need a human.
    pub fn is_transient(&self) -> bool {
        self.is_unreachable()
            || matches!(
                self,
                Error::RateLimited { .. } | Error::Server { .. } | Error::BudgetExhausted { .. }
            )
    }

    /// The missing permission, for a 403.
    pub fn permission(&self) -> Option<&str> {
        match self {
            Error::MissingPermission { permission, .. } => Some(permission),
            _ => None,
        }
    }

    /// The value a 400 `invalid.value` names ("Value [X] is not valid for
    /// field type [T]…"), e.g. a metric or granularity the org refuses.
    pub fn invalid_value(&self) -> Option<&str> {
        let Error::Rejected {
            status: 400,
            detail,
            ..
        } = self
        else {
            return None;
        };
        if detail.code.as_deref() != Some("invalid.value") {
            return None;
        }
        let message = detail.message.as_deref()?;
        let rest = message.strip_prefix("Value [")?;
        let end = rest.find(']')?;
        Some(&rest[..end]).filter(|v| !v.is_empty())
    }

    /// A short label for the kind of failure, for logs and the `kind` label
    /// of metrics. Always exactly one of [`Error::KINDS`]:
    ///
    /// | label | variants |
    /// |---|---|
    /// | `config` | [`Error::Config`] |
    /// | `auth` | [`Error::Credentials`], [`Error::Unauthorized`] |
    /// | `permission` | [`Error::MissingPermission`] (403) |
    /// | `refused` | [`Error::Rejected`] (any other 4xx) |
    /// | `rate_limited` | [`Error::RateLimited`] (429 from Genesys) |
    /// | `budget` | [`Error::BudgetExhausted`] (our own `--api.requests-per-minute`) |
    /// | `server` | [`Error::Server`] (5xx) |
    /// | `transport` | [`Error::Unreachable`] (no HTTP response) |
    /// | `timeout` | [`Error::Timeout`], [`Error::Deadline`] |
    /// | `decode` | [`Error::Decode`] |
    /// | `too_large` | [`Error::TooLarge`] |
    /// | `paging` | [`Error::UnsafeNextUri`], [`Error::Paging`] |
    /// | `internal` | [`Error::LostTask`] |
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Credentials { .. } | Error::Unauthorized { .. } => "auth",
            Error::MissingPermission { .. } => "permission",
            Error::Rejected { .. } => "refused",
            Error::RateLimited { .. } => "rate_limited",
            Error::BudgetExhausted { .. } => "budget",
            Error::Server { .. } => "server",
            Error::Unreachable { .. } => "transport",
            Error::Timeout { .. } | Error::Deadline { .. } => "timeout",
            Error::Decode { .. } => "decode",
            Error::TooLarge { .. } => "too_large",
            Error::UnsafeNextUri { .. } | Error::Paging { .. } => "paging",
            Error::LostTask { .. } => "internal",
        }
    }

    /// Every label [`Error::kind`] can return, for pre-initialising metric label sets.
    pub const KINDS: [&'static str; 13] = [
        "config",
        "auth",
        "permission",
        "refused",
        "rate_limited",
        "budget",
        "server",
        "transport",
        "timeout",
        "decode",
        "too_large",
        "paging",
        "internal",
    ];

    /// True when the call ran out of time: every attempt timed out, or the
    /// call deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. } | Error::Deadline { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(msg) => f.write_str(msg),
            Error::Credentials { status, detail } => write!(
                f,
                "Genesys rejected the client credentials (token endpoint HTTP {status}: {detail}); \
                 check GENESYS_CLIENT_ID, the client secret and the region"
            ),
            Error::Unauthorized { endpoint, detail } => write!(
                f,
                "Genesys rejected a fresh access token on {endpoint} (HTTP 401, {detail}); \
                 check that the region matches the OAuth client"
            ),
            Error::MissingPermission {
                endpoint,
                permission,
                detail,
            } => write!(
                f,
                "missing permission {permission}: the OAuth client's role cannot call \
                 {endpoint} (HTTP 403, {detail})"
            ),
            Error::Rejected {
                endpoint,
                status,
                detail,
            } => write!(f, "Genesys rejected the {endpoint} request (HTTP {status}, {detail})"),
            Error::RateLimited {
                endpoint,
                retry_after,
            } => match retry_after {
                Some(d) => write!(
                    f,
                    "rate limited by Genesys on {endpoint} (Retry-After {}s exceeds what the call may wait)",
                    d.as_secs()
                ),
                None => write!(f, "rate limited by Genesys on {endpoint} after all retries"),
            },
            Error::Server {
                endpoint,
                status,
                detail,
            } => write!(
                f,
                "Genesys server error on {endpoint} after all retries (HTTP {status}, {detail})"
            ),
            Error::Unreachable {
                endpoint,
                host,
                cause,
            } => write!(f, "cannot reach the Genesys API at {host} for {endpoint}: {cause}"),
            Error::Timeout { endpoint, timeout } => write!(
                f,
                "Genesys did not answer {endpoint} within the {}s request timeout (--api.timeout)",
                timeout.as_secs_f64()
            ),
            Error::Deadline { endpoint, deadline } => write!(
                f,
                "{endpoint} call did not succeed within its {}s deadline (--api.deadline)",
                deadline.as_secs_f64()
            ),
            Error::BudgetExhausted {
                endpoint,
                requests_per_minute,
            } => write!(
                f,
                "no room for {endpoint} in the budget of {requests_per_minute} requests per minute \
                 (--api.requests-per-minute) before the call deadline"
            ),
            Error::Decode { endpoint, cause } => {
                write!(f, "unexpected response body from {endpoint}: {cause}")
            }
            Error::TooLarge { endpoint, limit } => write!(
                f,
                "response from {endpoint} exceeds {limit} bytes (--api.max-response-bytes)"
            ),
            Error::UnsafeNextUri { uri } => write!(
                f,
                "refusing to follow paging link {uri:?}: nextUri must be a relative path on the API host"
            ),
            Error::Paging {
                endpoint,
                cause: PagingStop::Loop,
            } => write!(
                f,
                "stopped paging {endpoint}: nextUri points back to a page already read"
            ),
            Error::Paging {
                endpoint,
                cause: PagingStop::TooManyPages(max),
            } => write!(f, "stopped paging {endpoint}: more than {max} pages"),
            Error::LostTask { endpoint, cause } => {
                write!(f, "a {endpoint} query task was lost: {cause}")
            }
        }
    }
}

impl std::error::Error for Error {}

/// Makes untrusted text safe for a one-line message: control characters become
/// spaces and the result is cut to `max` characters.
pub fn clean_text(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each error renders as exactly one line carrying the Genesys details.
    #[test]
    fn one_line_messages() {
        let detail = ApiDetail {
            message: Some("Value [x] is not valid".into()),
            code: Some("invalid.value".into()),
            context_id: Some("ctx-1".into()),
        };
        let err = Error::Rejected {
            endpoint: Endpoint::Aggregates,
            status: 400,
            detail: detail.clone(),
        };
        let text = err.to_string();
        assert!(
            text.contains("invalid.value") && text.contains("ctx-1"),
            "{text}"
        );
        assert!(text.contains("Value [x] is not valid"));
        let perm = Error::MissingPermission {
            endpoint: Endpoint::Observations,
            permission: "analytics:queueObservation:view".into(),
            detail,
        };
        assert!(perm.is_permission());
        assert!(perm
            .to_string()
            .starts_with("missing permission analytics:queueObservation:view"));
        for e in [err, perm] {
            assert!(!e.to_string().contains('\n'));
        }
    }

    /// A 400 `invalid.value` names its value; other errors name none.
    #[test]
    fn invalid_value_names_the_value() {
        let rejected = |code: &str, message: &str| Error::Rejected {
            endpoint: Endpoint::Aggregates,
            status: 400,
            detail: ApiDetail {
                message: Some(message.into()),
                code: Some(code.into()),
                context_id: None,
            },
        };
        let e = rejected(
            "invalid.value",
            "Value [tShortAbandon] is not valid for field type [ConversationAggregateMetric]. \
             Allowable values are: nOffered",
        );
        assert_eq!(e.invalid_value(), Some("tShortAbandon"));
        assert_eq!(
            rejected("bad.request", "Value [x] is not valid").invalid_value(),
            None
        );
        assert_eq!(
            rejected("invalid.value", "Value [] is not valid").invalid_value(),
            None
        );
        assert_eq!(Error::Config("Value [x]".into()).invalid_value(), None);
    }

    /// Untrusted text loses control characters and is shortened.
    #[test]
    fn clean_text_is_one_line() {
        assert_eq!(clean_text("a\nb\r\tc", 100), "a b  c");
        assert_eq!(clean_text("abcdef", 3), "abc…");
    }

    /// The classification helpers agree with the variants.
    #[test]
    fn classification() {
        let creds = Error::Credentials {
            status: 401,
            detail: "invalid_client".into(),
        };
        assert!(creds.is_credentials() && !creds.is_transient());
        let down = Error::Unreachable {
            endpoint: Endpoint::Token,
            host: "127.0.0.1:1".into(),
            cause: "connection refused".into(),
        };
        assert!(down.is_unreachable() && down.is_transient());
        assert_eq!(down.kind(), "transport");
    }

    /// Every variant maps to one documented kind label, and lost tasks and
    /// paging loops are not reported as decode errors.
    #[test]
    fn kinds_are_documented_labels() {
        let detail = ApiDetail::default();
        let endpoint = Endpoint::Queues;
        let cases = [
            (Error::Config("x".into()), "config"),
            (
                Error::Credentials {
                    status: 401,
                    detail: String::new(),
                },
                "auth",
            ),
            (
                Error::Unauthorized {
                    endpoint,
                    detail: detail.clone(),
                },
                "auth",
            ),
            (
                Error::MissingPermission {
                    endpoint,
                    permission: "a:b:c".into(),
                    detail: detail.clone(),
                },
                "permission",
            ),
            (
                Error::Rejected {
                    endpoint,
                    status: 400,
                    detail: detail.clone(),
                },
                "refused",
            ),
            (
                Error::RateLimited {
                    endpoint,
                    retry_after: None,
                },
                "rate_limited",
            ),
            (
                Error::BudgetExhausted {
                    endpoint,
                    requests_per_minute: 10,
                },
                "budget",
            ),
            (
                Error::Server {
                    endpoint,
                    status: 503,
                    detail,
                },
                "server",
            ),
            (
                Error::Unreachable {
                    endpoint,
                    host: "h".into(),
                    cause: "c".into(),
                },
                "transport",
            ),
            (
                Error::Timeout {
                    endpoint,
                    timeout: Duration::from_secs(1),
                },
                "timeout",
            ),
            (
                Error::Deadline {
                    endpoint,
                    deadline: Duration::from_secs(1),
                },
                "timeout",
            ),
            (
                Error::Decode {
                    endpoint,
                    cause: "c".into(),
                },
                "decode",
            ),
            (Error::TooLarge { endpoint, limit: 1 }, "too_large"),
            (Error::UnsafeNextUri { uri: "u".into() }, "paging"),
            (
                Error::Paging {
                    endpoint,
                    cause: PagingStop::Loop,
                },
                "paging",
            ),
            (
                Error::Paging {
                    endpoint,
                    cause: PagingStop::TooManyPages(3),
                },
                "paging",
            ),
            (
                Error::LostTask {
                    endpoint,
                    cause: "panicked".into(),
                },
                "internal",
            ),
        ];
        for (error, kind) in &cases {
            assert_eq!(error.kind(), *kind, "{error}");
            assert!(Error::KINDS.contains(kind));
            assert!(!error.to_string().contains('\n'));
        }
        let used: std::collections::BTreeSet<_> = cases.iter().map(|(_, k)| *k).collect();
        assert_eq!(used.len(), Error::KINDS.len());
    }
}

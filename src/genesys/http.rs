//! One HTTP attempt: send with a timeout, read the body up to a size cap, and
//! classify the result, with the `inin-ratelimit-*` headers of any response;
//! plus parsing of Genesys error bodies for display.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response};
use serde_json::Value;

use super::error::{clean_text, ApiDetail};
use super::model::ErrorBody;
use super::observer::RateLimitReport;
use super::retry::parse_retry_after;

/// Error bodies are read up to this many bytes; the rest is irrelevant.
const ERROR_BODY_CAP: usize = 64 * 1024;

/// The result of one attempt.
#[derive(Debug)]
pub enum Attempt {
    /// 2xx: the status and the body.
    Success(u16, Vec<u8>),
    /// A non-2xx status.
    Status {
        /// HTTP status.
        status: u16,
        /// `Retry-After` in seconds, if sent.
        retry_after: Option<Duration>,
        /// The start of the body.
        body: Vec<u8>,
        /// `ININ-Correlation-Id`, if sent.
        correlation_id: Option<String>,
    },
    /// The per-request timeout expired.
    Timeout,
    /// No response; the low-level cause.
    Transport(String),
    /// The 2xx body exceeded the cap.
    TooLarge,
}

impl Attempt {
    /// The outcome label for the observer: the status code, `timeout` or `error`.
    pub fn outcome_label(&self) -> String {
        match self {
            Attempt::Success(status, _) => status.to_string(),
            Attempt::Status { status, .. } => status.to_string(),
            Attempt::Timeout => String::from("timeout"),
            Attempt::Transport(_) | Attempt::TooLarge => String::from("error"),
        }
    }
}

/// Sends `request`, waiting at most `timeout` for the whole exchange, body
/// included. Any response's `inin-ratelimit-*` headers come back with the
/// attempt, even when its body could not be read in time.
pub async fn send(
    request: RequestBuilder,
    timeout: Duration,
    max_body: usize,
) -> (Attempt, Option<RateLimitReport>) {
    let mut rate_limit = None;
    match tokio::time::timeout(timeout, exchange(request, max_body, &mut rate_limit)).await {
        Ok(attempt) => (attempt, rate_limit),
        Err(_) => (Attempt::Timeout, rate_limit),
    }
}

async fn exchange(
    request: RequestBuilder,
    max_body: usize,
    rate_limit: &mut Option<RateLimitReport>,
) -> Attempt {
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Attempt::Timeout,
        Err(e) => return Attempt::Transport(root_cause(&e)),
    };
    *rate_limit = rate_limit_report(response.headers());
    let status = response.status();
    if status.is_success() {
        return match read_capped(response, max_body).await {
            Ok(Some(body)) => Attempt::Success(status.as_u16(), body),
            Ok(None) => Attempt::TooLarge,
            Err(a) => a,
        };
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v));
    let correlation_id = header("inin-correlation-id").map(|v| clean_text(&v, 80));
    let body = match read_capped_prefix(response, ERROR_BODY_CAP).await {
        Ok(b) => b,
        Err(a) => return a,
    };
    Attempt::Status {
        status: status.as_u16(),
        retry_after,
        body,
        correlation_id,
    }
}

/// Reads the whole body, or `None` if it is larger than `cap`.
async fn read_capped(mut response: Response, cap: usize) -> Result<Option<Vec<u8>>, Attempt> {
    let length = response.content_length();
    if length.is_some_and(|n| n > cap as u64) {
        return Ok(None);
    }
    // Sized once when the length is announced: growing by doubling would
    // briefly hold up to three times the body.
    let mut body = Vec::with_capacity(length.map_or(0, |n| n as usize));
    while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
        if body.len() + chunk.len() > cap {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// Reads at most `cap` bytes of the body and drops the rest.
async fn read_capped_prefix(mut response: Response, cap: usize) -> Result<Vec<u8>, Attempt> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
        let room = cap.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= cap {
            break;
        }
    }
    Ok(body)
}

fn classify(e: &reqwest::Error) -> Attempt {
    if e.is_timeout() {
        Attempt::Timeout
    } else {
        Attempt::Transport(root_cause(e))
    }
}

/// The innermost cause of a transport error ("Connection refused (os error 111)"),
/// which says more than reqwest's outer "error sending request".
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = current.source() {
        current = next;
    }
    clean_text(&current.to_string(), 200)
}

/// Reads `inin-ratelimit-allowed`, `-count` and `-reset` (seconds until the
/// window resets); `None` when none of them is a non-negative whole number.
pub fn rate_limit_report(headers: &HeaderMap) -> Option<RateLimitReport> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|n| *n <= 1_000_000_000)
    };
    let report = RateLimitReport {
        allowed: number("inin-ratelimit-allowed").filter(|n| *n > 0),
        count: number("inin-ratelimit-count"),
        reset: number("inin-ratelimit-reset").map(Duration::from_secs),
    };
    (report != RateLimitReport::default()).then_some(report)
}

/// Extracts `message`, `code`, `contextId` and, for `invalid.value`, the
/// refused value from a Platform API error body; a non-JSON body contributes
/// its cleaned start as the message.
pub fn api_detail(body: &[u8], correlation_id: Option<String>) -> ApiDetail {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    match parsed {
        Some(b) => {
            let value = (b.code.as_deref() == Some("invalid.value"))
                .then(|| refused_value(body, b.message.as_deref()))
                .flatten();
            ApiDetail {
                message: b.message.map(|m| clean_text(&m, 300)),
                code: b.code.map(|c| clean_text(&c, 80)),
                context_id: b.context_id.map(|c| clean_text(&c, 80)).or(correlation_id),
                value,
            }
        }
        None => {
            let text = clean_text(&String::from_utf8_lossy(body), 200);
            ApiDetail {
                message: (!text.is_empty()).then_some(text),
                code: None,
                context_id: correlation_id,
                value: None,
            }
        }
    }
}

/// The value an `invalid.value` body refuses: `messageParams.value` when the
/// body carries it, else the first bracketed word of "Value [X] is not valid …".
fn refused_value(body: &[u8], message: Option<&str>) -> Option<String> {
    let from_params = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        v.get("messageParams")?
            .get("value")?
            .as_str()
            .map(str::to_string)
    });
    let from_message = || {
        let rest = message?.trim_start().strip_prefix("Value [")?;
        rest.split_once(']').map(|(value, _)| value.to_string())
    };
    from_params
        .or_else(from_message)
        .map(|v| clean_text(&v, 120))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented error body yields message, code and contextId.
    #[test]
    fn parses_platform_error_body() {
        let body =
            br#"{"message": "Invalid login credentials.", "code": "bad.credentials", "status": 401,
 "contextId": "c40a4237-f434-4e2a-90c2-94716ef88582", "details": [], "errors": []}"#;
        let d = api_detail(body, Some("header-id".into()));
        assert_eq!(d.message.as_deref(), Some("Invalid login credentials."));
        assert_eq!(d.code.as_deref(), Some("bad.credentials"));
        assert_eq!(
            d.context_id.as_deref(),
            Some("c40a4237-f434-4e2a-90c2-94716ef88582")
        );
    }

    /// An HTML edge error becomes a short one-line message with the header id.
    #[test]
    fn non_json_error_body() {
        let d = api_detail(
            b"<html>\n<body>502 Bad Gateway</body>\n</html>",
            Some("cid".into()),
        );
        assert_eq!(
            d.message.as_deref(),
            Some("<html> <body>502 Bad Gateway</body> </html>")
        );
        assert_eq!(d.context_id.as_deref(), Some("cid"));
        assert_eq!(api_detail(b"", None), ApiDetail::default());
    }

    /// The refused value of an `invalid.value` body comes from `messageParams`,
    /// and from the message when a recorded body has no params.
    #[test]
    fn invalid_value_bodies_name_the_value() {
        let with_params = br#"{"message":"Value [oLongestWaiting] is not valid for field type [QueueObservationMetric]. Allowable values are: oWaiting, oInteracting",
 "messageWithParams":"Value [{value}] is not valid for field type [{fieldType}]. Allowable values are: {allowableValues}",
 "messageParams":{"value":"oLongestWaiting","fieldType":"QueueObservationMetric","allowableValues":"oWaiting, oInteracting"},
 "code":"invalid.value","status":400,"contextId":"c1","details":[],"errors":[]}"#;
        let d = api_detail(with_params, None);
        assert_eq!(d.value.as_deref(), Some("oLongestWaiting"));
        assert_eq!(d.code.as_deref(), Some("invalid.value"));
        let recorded = br#"{"message": "Value [] is not valid for field type [UserAggregateDimension]. Allowable values are: userId",
 "code": "invalid.value", "status": 400, "contextId": "2bed01b9", "details": [], "errors": []}"#;
        assert_eq!(api_detail(recorded, None).value, None);
        let message_only = br#"{"message":"Value [tShortAbandon] is not valid for field type [ConversationAggregateMetric]. Allowable values are: nOffered",
 "code":"invalid.value","status":400}"#;
        assert_eq!(
            api_detail(message_only, None).value.as_deref(),
            Some("tShortAbandon")
        );
        let other = br#"{"message":"Value [x] is odd","code":"bad.request","status":400}"#;
        assert_eq!(api_detail(other, None).value, None);
    }

    /// Rate-limit headers are read as whole numbers; junk and absence give nothing.
    #[test]
    fn rate_limit_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(rate_limit_report(&h), None);
        h.insert("inin-ratelimit-allowed", "180".parse().expect("header"));
        h.insert("inin-ratelimit-count", "1".parse().expect("header"));
        h.insert("inin-ratelimit-reset", "61".parse().expect("header"));
        assert_eq!(
            rate_limit_report(&h),
            Some(RateLimitReport {
                allowed: Some(180),
                count: Some(1),
                reset: Some(Duration::from_secs(61)),
            })
        );
        let mut junk = HeaderMap::new();
        junk.insert("inin-ratelimit-allowed", "-5".parse().expect("header"));
        junk.insert("inin-ratelimit-count", "NaN".parse().expect("header"));
        junk.insert("inin-ratelimit-reset", "1e99".parse().expect("header"));
        assert_eq!(rate_limit_report(&junk), None);
        let mut zero = HeaderMap::new();
        zero.insert("inin-ratelimit-allowed", "0".parse().expect("header"));
        zero.insert("inin-ratelimit-count", "0".parse().expect("header"));
        assert_eq!(
            rate_limit_report(&zero).map(|r| (r.allowed, r.count)),
            Some((None, Some(0)))
        );
    }
}

//! The HTTP server: `/metrics` (or `--web.telemetry-path`) serves the latest
//! pre-rendered parts plus live self-metrics (streamed, see [`super::body`]), `/` a landing page, `/-/healthy`
//! and `/-/ready` the health checks. A scrape never calls the Genesys API.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http_body::{Frame, SizeHint};

use super::body::MetricsBody;
use super::landing;
use super::render::gzip_stored;
use super::selfmetrics::SelfMetrics;
use super::state::Shared;

/// Content type of text format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the handlers read.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Poll results and status.
    pub shared: Arc<Shared>,
    /// Self-metrics, rendered per scrape.
    pub metrics: Arc<SelfMetrics>,
    /// The metrics path, for the landing page.
    pub telemetry_path: Arc<str>,
}

/// The router with every endpoint.
pub fn router(state: AppState) -> Router {
    let path = state.telemetry_path.to_string();
    Router::new()
        .route(&path, get(metrics))
        .route("/", get(landing_page))
        .route("/-/healthy", get(|| async { "OK\n" }))
        .route("/-/ready", get(ready))
        .with_state(state)
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let health = state.shared.health(Instant::now());
    state.metrics.set_up(health.up);
    let parts = state.shared.fresh_parts(&health);
    let own = state.metrics.render();
    let use_gzip = accepts_gzip(&headers);
    let parts = parts.iter().map(|p| &**p);
    // gzip scrapes get the stored members; plain ones stream them decompressed.
    let body = if use_gzip {
        MetricsBody::gzip(parts, Bytes::from(gzip_stored(&own)))
    } else {
        MetricsBody::plain(parts, Bytes::from(own))
    };
    let mut response = Body::new(body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if use_gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.shared.health(Instant::now()).up {
        (StatusCode::OK, "Ready\n").into_response()
    } else {
        let reason =
            "Not ready: waiting for a first successful poll of every kind, or data is stale\n";
        (StatusCode::SERVICE_UNAVAILABLE, reason).into_response()
    }
}

async fn landing_page(State(state): State<AppState>) -> Html<String> {
    let health = state.shared.health(Instant::now());
    Html(landing::page(
        &state.telemetry_path,
        &state.shared.status(),
        &health,
        &state.metrics.realtime_view(),
    ))
}

/// True when `Accept-Encoding` allows gzip (a `q=0` refuses it).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// A response body made of shared byte chunks, sent without copying, with an
/// exact length (so `Content-Length` is set).
#[derive(Debug)]
pub struct Chunks {
    chunks: VecDeque<Bytes>,
    remaining: u64,
}

impl Chunks {
    /// Wraps the chunks.
    pub fn new(chunks: VecDeque<Bytes>) -> Chunks {
        let remaining = chunks.iter().map(|c| c.len() as u64).sum();
        Chunks { chunks, remaining }
    }
}

impl HttpBody for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.chunks.pop_front();
        if let Some(chunk) = &next {
            self.remaining -= chunk.len() as u64;
        }
        Poll::Ready(next.map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).expect("header"),
        );
        h
    }

    /// gzip is chosen when offered, and refused with q=0 or when absent.
    #[test]
    fn gzip_negotiation() {
        assert!(accepts_gzip(&headers("gzip")));
        assert!(accepts_gzip(&headers("deflate, GZIP;q=0.5")));
        assert!(accepts_gzip(&headers("*")));
        assert!(!accepts_gzip(&headers("gzip;q=0")));
        assert!(!accepts_gzip(&headers("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}

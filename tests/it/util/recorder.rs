//! A recording reverse proxy on 127.0.0.1:0 in front of the simulator: it
//! forwards every request unchanged and keeps the path and JSON body of each,
//! so a test can see exactly what the exporter asked for.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// One forwarded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The request path (without the query).
    pub path: String,
    /// The JSON body, when it had one.
    pub body: Option<Value>,
}

#[derive(Clone)]
struct Upstream {
    base: String,
    http: reqwest::Client,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

/// A running proxy.
pub struct Recorder {
    /// `http://127.0.0.1:PORT`, to use as the API and login base.
    pub base: String,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    /// Starts a proxy forwarding to `upstream` (a base URL without a trailing `/`).
    pub async fn start(upstream: &str) -> Recorder {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = Upstream {
            base: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            seen: Arc::clone(&seen),
        };
        let router = axum::Router::new().fallback(forward).with_state(state);
        let base = super::client::serve_stub(router).await;
        Recorder { base, seen }
    }

    /// The requests forwarded so far to paths ending with `suffix`.
    pub fn seen(&self, suffix: &str) -> Vec<Recorded> {
        self.seen
            .lock()
            .expect("recorder")
            .iter()
            .filter(|r| r.path.ends_with(suffix))
            .cloned()
            .collect()
    }
}

async fn forward(
    State(up): State<Upstream>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    up.seen.lock().expect("recorder").push(Recorded {
        path: uri.path().to_owned(),
        body: serde_json::from_slice(&body).ok(),
    });
    let mut request = up
        .http
        .request(method, format!("{}{path_and_query}", up.base))
        .body(body);
    for (name, value) in &headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let mut out = HeaderMap::new();
    for (name, value) in answer.headers() {
        if !matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            out.append(name, value.clone());
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    (status, out, bytes).into_response()
}

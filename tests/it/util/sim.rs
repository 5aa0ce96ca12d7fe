//! The simulator on 127.0.0.1:0 and plain HTTP calls to it: tokens, queries,
//! replies with their headers, and checks of Genesys-shaped bodies.

use std::collections::BTreeMap;
use std::time::Duration;

use genesys_exporter::simulator::{self, SimConfig, SimHandle};
use genesys_exporter::timefmt::parse_instant;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use super::truth::Stat;

/// A running simulator plus an HTTP client.
pub struct Sim {
    pub handle: SimHandle,
    pub http: reqwest::Client,
    pub base: String,
}

/// A response: status, headers, parsed JSON body (`Value::Null` if not JSON).
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// A header as text ("" when absent).
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

/// Starts a simulator with `config` on a free loopback port.
pub async fn start_sim(config: SimConfig) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    simulator::spawn(config, listener)
        .await
        .expect("simulator starts")
}

/// Epoch ms of an RFC 3339 instant.
pub fn ms(s: &str) -> i64 {
    parse_instant(s).expect("valid instant")
}

impl Sim {
    /// Starts a simulator with `config` and an HTTP client for it.
    pub async fn start(config: SimConfig) -> Sim {
        let handle = start_sim(config).await;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        let base = handle.base_url();
        Sim { handle, http, base }
    }

    /// Fetches a token for the demo client with Basic auth.
    pub async fn token(&self) -> String {
        self.token_for("demo-client", "demo-secret").await
    }

    /// Fetches a token for a client with Basic auth.
    pub async fn token_for(&self, id: &str, secret: &str) -> String {
        let r = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request");
        assert_eq!(r.status().as_u16(), 200, "token status");
        let v: Value = r.json().await.expect("token json");
        v["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// GET `path` (relative, with query) with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        reply(req.send().await.expect("GET")).await
    }

    /// POST a JSON body to `path` with an optional bearer token.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        reply(req.send().await.expect("POST")).await
    }

    /// Any method on `path` with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        reply(req.send().await.expect("request")).await
    }

    /// POST an aggregate query.
    pub async fn aggregates(&self, token: &str, body: &Value) -> Reply {
        self.post(
            "/api/v2/analytics/conversations/aggregates/query",
            Some(token),
            body,
        )
        .await
    }

    /// POST an observation query.
    pub async fn observations(&self, token: &str, body: &Value) -> Reply {
        self.post(
            "/api/v2/analytics/queues/observations/query",
            Some(token),
            body,
        )
        .await
    }
}

async fn reply(r: reqwest::Response) -> Reply {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// A queueId `or` filter.
pub fn queue_filter(ids: &[String]) -> Value {
    json!({"type": "or", "predicates": ids.iter().map(|id| json!({"dimension": "queueId", "operator": "matches", "value": id})).collect::<Vec<_>>()})
}

/// The 14 KPI metrics plus the rest the model emits.
pub const METRICS: [&str; 19] = [
    "nOffered",
    "tAnswered",
    "tAbandon",
    "tShortAbandon",
    "tFlowOut",
    "nTransferred",
    "tHandle",
    "tWait",
    "tTalkComplete",
    "tHeldComplete",
    "tAcw",
    "nOverSla",
    "oServiceLevel",
    "tTalk",
    "tHeld",
    "tAlert",
    "tAcd",
    "nConnected",
    "oServiceTarget",
];

/// Group key of an aggregate result: (dimension, value) pairs, sorted.
pub type GroupKey = Vec<(String, String)>;

/// A parsed aggregate response: group → interval → metric → stats JSON.
pub type Parsed = BTreeMap<GroupKey, BTreeMap<String, BTreeMap<String, Value>>>;

/// Parses an aggregate response into a [`Parsed`] map.
pub fn parse_results(body: &Value) -> Parsed {
    let mut out = BTreeMap::new();
    for r in body["results"].as_array().cloned().unwrap_or_default() {
        let mut group: Vec<(String, String)> = r["group"]
            .as_object()
            .expect("group object")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_string()))
            .collect();
        group.sort();
        let mut buckets = BTreeMap::new();
        for d in r["data"].as_array().expect("data array") {
            let mut metrics = BTreeMap::new();
            for m in d["metrics"].as_array().expect("metrics array") {
                metrics.insert(
                    m["metric"].as_str().expect("metric").to_string(),
                    m["stats"].clone(),
                );
            }
            buckets.insert(
                d["interval"].as_str().expect("interval").to_string(),
                metrics,
            );
        }
        assert!(out.insert(group, buckets).is_none(), "groups are unique");
    }
    out
}

/// Checks that a response's stats equal the ground truth for one metric.
pub fn assert_stat(metric: &str, got: &Value, want: &Stat, context: &str) {
    if metric == "oServiceLevel" {
        assert_eq!(
            got["numerator"].as_i64(),
            Some(want.count),
            "{context} {metric} numerator"
        );
        assert_eq!(
            got["denominator"].as_i64(),
            Some(want.sum),
            "{context} {metric} denominator"
        );
        let ratio = got["ratio"].as_f64().expect("ratio");
        assert!(
            (ratio - want.count as f64 / want.sum as f64).abs() < 1e-9,
            "{context} ratio"
        );
        assert!(got["target"].as_f64().is_some(), "{context} target");
    } else if metric.starts_with('n') {
        assert_eq!(got, &json!({"count": want.count}), "{context} {metric}");
    } else {
        assert_eq!(
            got,
            &json!({"max": want.max, "min": want.min, "count": want.count, "sum": want.sum}),
            "{context} {metric}"
        );
    }
}

/// True for a canonical 8-4-4-4-12 hexadecimal UUID.
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

/// Asserts a Platform API error: status, code, message fragment, contextId = correlation header.
pub fn assert_error(r: &Reply, status: u16, code: &str, fragment: &str) {
    assert_eq!(r.status, status, "status for {}", r.text);
    assert_eq!(r.body["code"], code, "code in {}", r.text);
    assert_eq!(r.body["status"], status);
    let msg = r.body["message"].as_str().unwrap_or("");
    assert!(msg.contains(fragment), "message {msg:?} lacks {fragment:?}");
    assert_eq!(r.body["contextId"], r.header("inin-correlation-id"));
    assert_eq!(r.body["details"], json!([]));
    assert_eq!(r.body["errors"], json!([]));
}

/// A notification WebSocket client.
pub type NotifySocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects to a channel's `connectUri` (loopback `ws://` only).
pub async fn connect_socket(connect_uri: &str) -> NotifySocket {
    assert!(connect_uri.starts_with("ws://127.0.0.1:"), "{connect_uri}");
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(connect_uri),
    )
    .await
    .expect("connect in time")
    .expect("websocket handshake");
    ws
}

/// What the socket delivered next.
#[derive(Debug)]
pub enum Received {
    /// A JSON text message.
    Json(Value),
    /// A close frame, or the end of the stream.
    Closed,
}

/// The next message of the socket, waiting at most 10 s (pings and pongs skipped).
pub async fn next_message(ws: &mut NotifySocket) -> Received {
    use futures_util::StreamExt;
    for _ in 0..100 {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s");
        match msg {
            None | Some(Err(_)) => return Received::Closed,
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => return Received::Closed,
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => {
                return Received::Json(serde_json::from_str(t.as_str()).expect("JSON message"))
            }
            Some(Ok(_)) => {}
        }
    }
    panic!("only control frames received");
}

/// Sends a JSON text message on the socket.
pub async fn send_json(ws: &mut NotifySocket, v: &Value) {
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        v.to_string().into(),
    ))
    .await
    .expect("send on the socket");
}

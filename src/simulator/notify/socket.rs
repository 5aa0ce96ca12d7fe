//! The WebSocket at a channel's `connectUri` (notifications notes §3–§4): one
//! socket per channel, `ping` → `pong`, socket-side `subscribe`, heartbeats,
//! a scheduled close with `v2.system.socket_closing` first, an abrupt drop
//! without a close frame (`Control::kill_sockets`), and queue observation
//! events at most once per second per group when something changed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::time::{sleep_until, Instant as TokioInstant};

use super::super::auth::correlation_id;
use super::super::control::Shared;
use super::super::errors::ApiError;
use super::super::observations::ObsOptions;
use super::super::rng::Rng;
use super::super::variants::MediaSettingsMode;
use super::events::{self, GroupKey, Metric};
use super::rest::{check_topics, too_many_topics};
use super::SubscribeError;

/// Queue events are published at most this often per group.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);

/// `GET /channels/{id}` with an upgrade: 404 for an unknown channel.
pub async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    if shared.notify().get(&id, Instant::now()).is_none() {
        let cid = correlation_id();
        let body = ApiError::not_found().body(&cid).to_string();
        return (axum::http::StatusCode::NOT_FOUND, body).into_response();
    }
    ws.on_upgrade(move |socket| serve(shared, id, socket))
}

/// A `channel.metadata` message (heartbeat or pong).
fn metadata(message: &str) -> Value {
    json!({"topicName": "channel.metadata", "eventBody": {"message": message}})
}

/// Why the socket loop ended.
enum End {
    /// The client went away, or a send failed.
    Gone,
    /// Close the socket from our side.
    Close,
    /// Drop the connection without a close frame.
    Killed,
}

async fn send(socket: &mut WebSocket, v: &Value) -> Result<(), End> {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .map_err(|_| End::Gone)
}

async fn serve(shared: Arc<Shared>, id: String, mut socket: WebSocket) {
    let Some(generation) = shared.notify().connect(&id, Instant::now()) else {
        return;
    };
    let end = run(&shared, &id, generation, &mut socket).await;
    shared.notify().disconnect(&id, generation);
    match end {
        End::Close => {
            let _ = socket.send(Message::Close(None)).await;
        }
        // Dropping the socket closes the TCP connection with no close frame.
        End::Killed | End::Gone => drop(socket),
    }
}

async fn run(shared: &Arc<Shared>, id: &str, generation: u64, socket: &mut WebSocket) -> End {
    let cfg = shared.config.notify.clone();
    let start = TokioInstant::now();
    let close_at = cfg.close_after.map(|d| start + d);
    let mut notice_at = close_at.filter(|_| !cfg.closing_notice.is_zero()).map(|c| {
        c.checked_sub(cfg.closing_notice)
            .unwrap_or(start)
            .max(start)
    });
    let far = start + Duration::from_secs(365 * 24 * 3600);
    let mut next_heartbeat = start + cfg.heartbeat_interval;
    let mut next_publish = start;
    let mut last: BTreeMap<GroupKey, Vec<Metric>> = BTreeMap::new();
    let mut draws: u64 = 0;
    let mut kill = shared.kill_signal();
    kill.mark_unchanged();
    loop {
        tokio::select! {
            _ = kill.changed() => return End::Killed,
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = client_message(shared, id, text.as_str()) {
                        if let Err(e) = send(socket, &reply).await { return e; }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return End::Gone,
                Some(Ok(_)) => {}
            },
            _ = sleep_until(next_heartbeat) => {
                next_heartbeat += cfg.heartbeat_interval;
                if let Err(e) = send(socket, &metadata("WebSocket Heartbeat")).await { return e; }
            }
            _ = sleep_until(notice_at.unwrap_or(far)), if notice_at.is_some() => {
                notice_at = None;
                let msg = json!({
                    "topicName": "v2.system.socket_closing",
                    "version": "2",
                    "eventBody": {"message": "The socket will close for maintenance."},
                    "metadata": {"CorrelationId": correlation_id()},
                });
                if let Err(e) = send(socket, &msg).await { return e; }
            }
            _ = sleep_until(close_at.unwrap_or(far)), if close_at.is_some() => return End::Close,
            _ = sleep_until(next_publish) => {
                next_publish += PUBLISH_EVERY;
                let channel = shared
                    .notify()
                    .get(id, Instant::now())
                    .map(|c| (c.socket == Some(generation), c.topics.clone()));
                let topics = match channel {
                    None => {
                        let gone = json!({"result": "404", "message": "The channel does not exist."});
                        let _ = send(socket, &gone).await;
                        return End::Close;
                    }
                    Some((false, _)) => return End::Close,
                    Some((true, topics)) => topics,
                };
                let outgoing = publish(shared, &topics, &mut last, generation, &mut draws).await;
                for msg in outgoing {
                    if let Err(e) = send(socket, &msg).await { return e; }
                }
            }
        }
    }
}

/// The events due now for `topics`; updates `last` (a dropped event is lost).
async fn publish(
    shared: &Arc<Shared>,
    topics: &[String],
    last: &mut BTreeMap<GroupKey, Vec<Metric>>,
    generation: u64,
    draws: &mut u64,
) -> Vec<Value> {
    let queues: Vec<String> = topics
        .iter()
        .filter_map(|t| events::queue_of_topic(t).map(str::to_string))
        .collect();
    last.retain(|(q, _), _| queues.contains(q));
    if queues.is_empty() {
        return Vec::new();
    }
    let task_shared = shared.clone();
    let snap = tokio::task::spawn_blocking(move || {
        let c = &task_shared.config;
        let now = task_shared.now_ms();
        let opts = ObsOptions {
            longest: c.longest_mode,
            detail_cap: c.observation_detail_cap.max(2),
            all_media: c.variants.media_settings == MediaSettingsMode::All,
        };
        let ids: Vec<&str> = queues.iter().map(String::as_str).collect();
        (now, events::snapshot(&task_shared.org, &ids, now, opts))
    })
    .await;
    let Ok((now, snap)) = snap else {
        return Vec::new();
    };
    let cfg = &shared.config.notify;
    let mut out = Vec::new();
    for (group, metrics) in snap {
        let Some(body) = events::diff(last.get(&group).map(Vec::as_slice), &metrics, cfg.style)
        else {
            continue;
        };
        last.insert(group.clone(), metrics);
        *draws += 1;
        if cfg.drop_rate > 0.0
            && Rng::new(&[shared.config.seed, 0xD209, generation, *draws]).chance(cfg.drop_rate)
        {
            continue;
        }
        out.push(events::message(&group, &body, now, &correlation_id()));
    }
    out
}

/// Answers a message the client sent: `ping` and `subscribe`; others are ignored.
fn client_message(shared: &Shared, id: &str, text: &str) -> Option<Value> {
    let v: Value = serde_json::from_str(text).ok()?;
    let cid = v.get("correlationId").cloned().unwrap_or(Value::Null);
    match v.get("message").and_then(Value::as_str)? {
        "ping" => Some(metadata("pong")),
        "subscribe" => {
            let topics: Vec<String> = v
                .get("topics")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let now = Instant::now();
            let (now_ms, ttl) = (shared.now_ms(), shared.config.notify.channel_ttl);
            let mut reg = shared.notify();
            let observe = reg.get(id, now).is_some_and(|c| c.observe);
            let permission = &shared.config.notify.topic_permission;
            let result = check_topics(topics, observe, permission, false).and_then(|topics| {
                reg.subscribe(id, &topics, false, now, now_ms, ttl)
                    .map(|_| ())
                    .map_err(|e| match e {
                        SubscribeError::NoChannel => ApiError::not_found(),
                        SubscribeError::TooManyTopics(n) => too_many_topics(n),
                    })
            });
            Some(match result {
                Ok(()) => json!({"result": "200", "status": "subscribed", "correlationId": cid}),
                Err(e) => json!({
                    "result": e.status.to_string(),
                    "status": "error",
                    "message": e.message,
                    "correlationId": cid,
                }),
            })
        }
        _ => None,
    }
}

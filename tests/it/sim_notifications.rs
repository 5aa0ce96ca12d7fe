//! The simulator's Notifications API over real HTTP and real WebSockets on
//! loopback: channels, subscriptions and their limits, permissions, heartbeats,
//! ping, scheduled closes, and queue observation events that equal the REST
//! observations answer at a frozen instant.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::util::sim::{
    assert_error, connect_socket, ms, next_message, queue_filter, send_json, NotifySocket,
    Received, Sim,
};
use genesys_exporter::simulator::{NotifyConfig, NotifyStyle, SimConfig, MAX_CHANNELS_PER_CLIENT};
use reqwest::Method;
use serde_json::{json, Value};

const CHANNELS: &str = "/api/v2/notifications/channels";
const NOW: &str = "2025-03-12T10:15:30.500Z";

/// The metrics the simulator publishes per queue topic.
const METRICS: [&str; 11] = [
    "oActiveUsers",
    "oAlerting",
    "oInteracting",
    "oLongestInteracting",
    "oLongestWaiting",
    "oMemberUsers",
    "oOffQueueUsers",
    "oOnQueueUsers",
    "oUserPresences",
    "oUserRoutingStatuses",
    "oWaiting",
];

fn topic(queue_id: &str) -> String {
    format!("v2.analytics.queues.{queue_id}.observations")
}

async fn frozen(notify: NotifyConfig) -> Sim {
    Sim::start(SimConfig {
        fixed_now_ms: Some(ms(NOW)),
        notify,
        ..SimConfig::default()
    })
    .await
}

/// A new channel subscribed to every queue of the org: (queue ids, channel).
async fn subscribed_to_all(sim: &Sim, token: &str) -> (Vec<String>, Value) {
    let ids: Vec<String> = sim
        .handle
        .model()
        .queues()
        .iter()
        .map(|q| q.id.clone())
        .collect();
    let ch = create_channel(sim, token).await;
    let topics: Vec<String> = ids.iter().map(|q| topic(q)).collect();
    subscribe(sim, token, ch["id"].as_str().expect("id"), &topics).await;
    (ids, ch)
}

async fn create_channel(sim: &Sim, token: &str) -> Value {
    let r = sim.call(Method::POST, CHANNELS, Some(token), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

async fn subscribe(sim: &Sim, token: &str, id: &str, topics: &[String]) -> Value {
    let body: Vec<Value> = topics.iter().map(|t| json!({"id": t})).collect();
    let path = format!("{CHANNELS}/{id}/subscriptions");
    let r = sim
        .call(Method::POST, &path, Some(token), Some(&json!(body)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn ids_of(listing: &Value) -> Vec<String> {
    listing["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_string())
        .collect()
}

/// The next JSON message that is not a heartbeat.
async fn next_non_heartbeat(ws: &mut NotifySocket) -> Received {
    for _ in 0..50 {
        match next_message(ws).await {
            Received::Json(v) if v["eventBody"]["message"] == "WebSocket Heartbeat" => {}
            other => return other,
        }
    }
    panic!("only heartbeats");
}

/// Creating a channel returns an id, a `ws://` connectUri on the simulator's
/// own host and an expiry 24 h after now; listing by token or OAuth client and
/// `HEAD` see exactly the live channels; calls without a token get 401.
#[tokio::test]
async fn channel_create_list_head() {
    let sim = frozen(NotifyConfig::default()).await;
    let (t1, t2) = (sim.token().await, sim.token().await);
    let a = create_channel(&sim, &t1).await;
    let b = create_channel(&sim, &t2).await;
    let id = a["id"].as_str().expect("id");
    let host = sim.base.trim_start_matches("http://");
    assert_eq!(a["connectUri"], format!("ws://{host}/channels/{id}"));
    assert_eq!(
        ms(a["expires"].as_str().expect("expires")),
        ms(NOW) + 86_400_000
    );
    let mine = sim.call(Method::GET, CHANNELS, Some(&t1), None).await;
    assert_eq!(ids_of(&mine.body), vec![id.to_string()]);
    let path = format!("{CHANNELS}?includechannels=oauthclient");
    let all = sim.call(Method::GET, &path, Some(&t1), None).await;
    let mut want = vec![id.to_string(), b["id"].as_str().expect("id").to_string()];
    let mut got = ids_of(&all.body);
    want.sort();
    got.sort();
    assert_eq!(got, want);
    let head = sim
        .call(Method::HEAD, &format!("{CHANNELS}/{id}"), Some(&t1), None)
        .await;
    assert_eq!(head.status, 200);
    let missing = sim
        .call(Method::HEAD, &format!("{CHANNELS}/nope"), Some(&t1), None)
        .await;
    assert_eq!(missing.status, 404);
    let anonymous = sim.call(Method::POST, CHANNELS, None, None).await;
    assert_error(&anonymous, 401, "authentication.required", "bearer");
}

/// POST adds topics, GET lists them, PUT replaces, DELETE empties; 1,001
/// topics are refused with 400; an unknown topic is 400 unless `ignoreErrors`.
#[tokio::test]
async fn subscription_verbs_and_limits() {
    let sim = frozen(NotifyConfig::default()).await;
    let token = sim.token().await;
    let id = create_channel(&sim, &token).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let path = format!("{CHANNELS}/{id}/subscriptions");
    let listed = subscribe(&sim, &token, &id, &[topic("a"), topic("b")]).await;
    assert_eq!(ids_of(&listed), vec![topic("a"), topic("b")]);
    let get = sim.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(ids_of(&get.body), vec![topic("a"), topic("b")]);
    let put = sim
        .call(
            Method::PUT,
            &path,
            Some(&token),
            Some(&json!([{"id": topic("c")}])),
        )
        .await;
    assert_eq!(ids_of(&put.body), vec![topic("c")]);
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"id": topic(&format!("q{i}"))}))
        .collect();
    let over = sim
        .call(Method::PUT, &path, Some(&token), Some(&json!(many)))
        .await;
    assert_error(&over, 400, "bad.request", "1000");
    let bad = json!([{"id": "v2.users.x.presence"}, {"id": topic("d")}]);
    let refused = sim
        .call(Method::POST, &path, Some(&token), Some(&bad))
        .await;
    assert_error(&refused, 400, "bad.request", "Invalid topic");
    let lenient = format!("{path}?ignoreErrors=true");
    let skipped = sim
        .call(Method::POST, &lenient, Some(&token), Some(&bad))
        .await;
    assert_eq!(ids_of(&skipped.body), vec![topic("c"), topic("d")]);
    let del = sim.call(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(del.status, 200);
    let empty = sim.call(Method::GET, &path, Some(&token), None).await;
    assert!(ids_of(&empty.body).is_empty());
}

/// A client without `analytics:queueObservation:view` gets a 403 naming that
/// permission for a queue topic, and an empty subscription with `ignoreErrors`.
#[tokio::test]
async fn queue_topics_need_the_observation_permission() {
    let sim = frozen(NotifyConfig::default()).await;
    sim.handle
        .control()
        .add_client("ro", "pw", &["routing:queue:view"]);
    let token = sim.token_for("ro", "pw").await;
    let id = create_channel(&sim, &token).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let path = format!("{CHANNELS}/{id}/subscriptions");
    let body = json!([{"id": topic("a")}]);
    let denied = sim
        .call(Method::POST, &path, Some(&token), Some(&body))
        .await;
    assert_error(
        &denied,
        403,
        "missing.any.permissions",
        "analytics:queueObservation:view",
    );
    let lenient = format!("{path}?ignoreErrors=true");
    let skipped = sim
        .call(Method::POST, &lenient, Some(&token), Some(&body))
        .await;
    assert_eq!(skipped.status, 200, "{}", skipped.text);
    assert!(ids_of(&skipped.body).is_empty());
}

/// The 21st channel of a client evicts its oldest one (then 404), and the
/// client keeps exactly 20.
#[tokio::test]
async fn twenty_first_channel_evicts_the_oldest() {
    let sim = frozen(NotifyConfig::default()).await;
    let token = sim.token().await;
    let mut ids = Vec::new();
    for _ in 0..=MAX_CHANNELS_PER_CLIENT {
        ids.push(
            create_channel(&sim, &token).await["id"]
                .as_str()
                .expect("id")
                .to_string(),
        );
    }
    let first = format!("{CHANNELS}/{}", ids[0]);
    assert_eq!(
        sim.call(Method::HEAD, &first, Some(&token), None)
            .await
            .status,
        404
    );
    let second = format!("{CHANNELS}/{}", ids[1]);
    assert_eq!(
        sim.call(Method::HEAD, &second, Some(&token), None)
            .await
            .status,
        200
    );
    let listed = sim.call(Method::GET, CHANNELS, Some(&token), None).await;
    assert_eq!(ids_of(&listed.body).len(), MAX_CHANNELS_PER_CLIENT);
    let sub = format!("{CHANNELS}/{}/subscriptions", ids[0]);
    let gone = sim.call(Method::GET, &sub, Some(&token), None).await;
    assert_eq!(gone.status, 404);
}

/// Collects one event per group of the subscribed queues (bounded in count).
async fn events_by_group(ws: &mut NotifySocket, groups: usize) -> BTreeMap<String, Value> {
    let mut seen = BTreeMap::new();
    for _ in 0..(groups * 3 + 10) {
        if seen.len() == groups {
            break;
        }
        match next_non_heartbeat(ws).await {
            Received::Json(v) => {
                let body = v["eventBody"].clone();
                assert_eq!(v["version"], "2");
                let q = body["group"]["queueId"].as_str().expect("queueId");
                assert_eq!(v["topicName"], topic(q));
                seen.insert(body["group"].to_string(), body);
            }
            Received::Closed => panic!("socket closed"),
        }
    }
    assert_eq!(seen.len(), groups, "an event for every group");
    seen
}

/// The REST observations answer for `ids`, by group, as (metric, qualifier) → stats.
async fn rest_truth(sim: &Sim, token: &str, ids: &[String]) -> BTreeMap<String, Value> {
    let req = json!({"filter": queue_filter(ids), "metrics": METRICS});
    let r = sim.observations(token, &req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|g| (g["group"].to_string(), keyed(&g["data"])))
        .collect()
}

fn keyed(metrics: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for m in metrics.as_array().expect("metrics") {
        let q = m["qualifier"].as_str().unwrap_or("-");
        out.insert(
            format!("{}/{q}", m["metric"].as_str().expect("metric")),
            m["stats"].clone(),
        );
    }
    Value::Object(out)
}

/// At a frozen instant, a socket subscribed to every queue receives one event
/// per queue × media group (and user group) whose metrics equal the REST
/// observations answer, with a zero-length interval at the simulator's now.
#[tokio::test]
async fn events_equal_the_rest_observations_answer() {
    let sim = frozen(NotifyConfig::default()).await;
    let token = sim.token().await;
    let (ids, ch) = subscribed_to_all(&sim, &token).await;
    let truth = rest_truth(&sim, &token, &ids).await;
    let mut ws = connect_socket(ch["connectUri"].as_str().expect("uri")).await;
    let events = events_by_group(&mut ws, truth.len()).await;
    let at = genesys_exporter::timefmt::format_instant(ms(NOW));
    let mut waiting = 0;
    for (group, want) in &truth {
        let ev = &events[group];
        let data = ev["data"].as_array().expect("data");
        assert_eq!(data.len(), 1);
        assert_eq!(data[0]["interval"], format!("{at}/{at}"));
        assert_eq!(&keyed(&data[0]["metrics"]), want, "group {group}");
        waiting += want["oWaiting/-"]["count"].as_u64().unwrap_or(0);
    }
    assert!(waiting > 0, "the frozen instant has callers waiting");
    // Independently of any simulator code path: waiting conversations of the
    // model's log (offered before now, not yet alerting) per queue × media.
    let model = sim.handle.model();
    let now = ms(NOW);
    for q in model.queues() {
        for m in &q.media {
            let want = model
                .conversations(&q.id, &m.media_type, now - 1, now)
                .iter()
                .filter(|c| c.offered_ms < now && now <= c.wait_end_ms - c.alert_ms)
                .count() as u64;
            let group = json!({"queueId": q.id, "mediaType": m.media_type}).to_string();
            let got = keyed(&events[&group]["data"][0]["metrics"]);
            assert_eq!(got["oWaiting/-"]["count"], want, "{group}");
        }
    }
    let _ = ws.close(None).await;
    sim.handle.shutdown().await;
}

/// With a changed clock, `--notify-style changed` sends only the metrics that
/// differ, and they equal the REST answer at the new instant.
#[tokio::test]
async fn changed_style_sends_only_differences() {
    let sim = frozen(NotifyConfig {
        style: NotifyStyle::Changed,
        ..NotifyConfig::default()
    })
    .await;
    let token = sim.token().await;
    let (ids, ch) = subscribed_to_all(&sim, &token).await;
    let before = rest_truth(&sim, &token, &ids).await;
    let mut ws = connect_socket(ch["connectUri"].as_str().expect("uri")).await;
    events_by_group(&mut ws, before.len()).await;
    sim.handle.control().set_fixed_now(Some(ms(NOW) + 20_000));
    let after = rest_truth(&sim, &token, &ids).await;
    let changed: Vec<&String> = before.keys().filter(|g| before[*g] != after[*g]).collect();
    assert!(!changed.is_empty(), "20 s later something changed");
    let events = events_by_group(&mut ws, changed.len()).await;
    for g in changed {
        let got = keyed(&events[g]["data"][0]["metrics"]);
        for (key, stats) in got.as_object().expect("object") {
            let want = after[g].get(key).cloned().unwrap_or(json!({"count": 0}));
            assert_eq!(stats, &want, "{g} {key}");
            assert_ne!(
                before[g].get(key),
                Some(stats),
                "{g} {key} unchanged but sent"
            );
        }
    }
    let _ = ws.close(None).await;
    sim.handle.shutdown().await;
}

/// Heartbeats arrive at the configured interval, `ping` is answered with
/// `pong`, and a socket-side `subscribe` is acknowledged and then delivers events.
#[tokio::test]
async fn heartbeat_ping_and_socket_subscribe() {
    let sim = frozen(NotifyConfig {
        heartbeat_interval: Duration::from_millis(200),
        drop_rate: 0.0,
        ..NotifyConfig::default()
    })
    .await;
    let token = sim.token().await;
    let ch = create_channel(&sim, &token).await;
    let mut ws = connect_socket(ch["connectUri"].as_str().expect("uri")).await;
    let heartbeat =
        json!({"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}});
    for _ in 0..2 {
        match next_message(&mut ws).await {
            Received::Json(v) => assert_eq!(v, heartbeat),
            Received::Closed => panic!("closed"),
        }
    }
    send_json(&mut ws, &json!({"message": "ping"})).await;
    let pong = json!({"topicName": "channel.metadata", "eventBody": {"message": "pong"}});
    assert!(matches!(next_non_heartbeat(&mut ws).await, Received::Json(v) if v == pong));
    let q = sim.handle.model().queues()[0].id.clone();
    send_json(
        &mut ws,
        &json!({"message": "subscribe", "topics": [topic(&q)], "correlationId": "c-1"}),
    )
    .await;
    match next_non_heartbeat(&mut ws).await {
        Received::Json(v) => {
            assert_eq!(v["result"], "200");
            assert_eq!(v["status"], "subscribed");
            assert_eq!(v["correlationId"], "c-1");
        }
        Received::Closed => panic!("closed"),
    }
    match next_non_heartbeat(&mut ws).await {
        Received::Json(v) => assert_eq!(v["topicName"], topic(&q)),
        Received::Closed => panic!("closed"),
    }
    let path = format!(
        "{CHANNELS}/{}/subscriptions",
        ch["id"].as_str().expect("id")
    );
    let listed = sim.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(ids_of(&listed.body), vec![topic(&q)]);
    let _ = ws.close(None).await;
    sim.handle.shutdown().await;
}

/// With a scheduled close, `v2.system.socket_closing` comes first and the
/// socket then closes; with no notice configured it closes without one.
#[tokio::test]
async fn scheduled_close_with_and_without_notice() {
    for notice in [Duration::from_millis(300), Duration::ZERO] {
        let sim = frozen(NotifyConfig {
            close_after: Some(Duration::from_millis(800)),
            closing_notice: notice,
            ..NotifyConfig::default()
        })
        .await;
        let token = sim.token().await;
        let ch = create_channel(&sim, &token).await;
        let mut ws = connect_socket(ch["connectUri"].as_str().expect("uri")).await;
        let mut closing = 0;
        let mut closed = false;
        for _ in 0..10 {
            match next_non_heartbeat(&mut ws).await {
                Received::Json(v) => {
                    assert_eq!(v["topicName"], "v2.system.socket_closing", "{v}");
                    closing += 1;
                }
                Received::Closed => {
                    closed = true;
                    break;
                }
            }
        }
        assert!(closed, "socket closed");
        assert_eq!(closing, usize::from(!notice.is_zero()), "notice {notice:?}");
        sim.handle.shutdown().await;
    }
}

/// A second socket on the same channel drops the first one.
#[tokio::test]
async fn second_socket_drops_the_first() {
    let sim = frozen(NotifyConfig::default()).await;
    let token = sim.token().await;
    let ch = create_channel(&sim, &token).await;
    let uri = ch["connectUri"].as_str().expect("uri");
    let mut first = connect_socket(uri).await;
    // The first socket is registered once it answers a ping.
    send_json(&mut first, &json!({"message": "ping"})).await;
    assert!(matches!(next_message(&mut first).await, Received::Json(_)));
    let mut second = connect_socket(uri).await;
    assert!(matches!(
        next_non_heartbeat(&mut first).await,
        Received::Closed
    ));
    send_json(&mut second, &json!({"message": "ping"})).await;
    assert!(matches!(next_message(&mut second).await, Received::Json(_)));
    let _ = second.close(None).await;
    sim.handle.shutdown().await;
}

/// With `--notify-drop-rate 1` no queue event arrives, yet heartbeats still do.
#[tokio::test]
async fn drop_rate_one_loses_every_event() {
    let sim = frozen(NotifyConfig {
        drop_rate: 1.0,
        heartbeat_interval: Duration::from_millis(300),
        ..NotifyConfig::default()
    })
    .await;
    let token = sim.token().await;
    let (_, ch) = subscribed_to_all(&sim, &token).await;
    let mut ws = connect_socket(ch["connectUri"].as_str().expect("uri")).await;
    // Several publishing rounds (1 s apart) pass during 8 heartbeats.
    for _ in 0..8 {
        match next_message(&mut ws).await {
            Received::Json(v) => assert_eq!(v["topicName"], "channel.metadata", "{v}"),
            Received::Closed => panic!("closed"),
        }
    }
    let _ = ws.close(None).await;
    sim.handle.shutdown().await;
}

/// A channel is gone (HEAD 404, subscriptions 404) once its `--channel-ttl` has passed.
#[tokio::test]
async fn channel_expires_after_its_ttl() {
    let sim = frozen(NotifyConfig {
        channel_ttl: Duration::from_secs(1),
        ..NotifyConfig::default()
    })
    .await;
    let token = sim.token().await;
    let id = create_channel(&sim, &token).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let head = format!("{CHANNELS}/{id}");
    assert_eq!(
        sim.call(Method::HEAD, &head, Some(&token), None)
            .await
            .status,
        404
    );
    let sub = format!("{head}/subscriptions");
    let body = json!([{"id": topic("a")}]);
    let r = sim
        .call(Method::POST, &sub, Some(&token), Some(&body))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let listed = sim.call(Method::GET, CHANNELS, Some(&token), None).await;
    assert!(ids_of(&listed.body).is_empty());
}

/// A connected socket whose channel expires gets a `result` "404" message and is closed.
#[tokio::test]
async fn expired_channel_closes_its_socket() {
    let sim = frozen(NotifyConfig {
        channel_ttl: Duration::from_secs(3),
        ..NotifyConfig::default()
    })
    .await;
    let token = sim.token().await;
    let ch = create_channel(&sim, &token).await;
    let mut ws = connect_socket(ch["connectUri"].as_str().expect("uri")).await;
    match next_non_heartbeat(&mut ws).await {
        Received::Json(v) => assert_eq!(v["result"], "404", "{v}"),
        Received::Closed => panic!("closed without the 404 message"),
    }
    assert!(matches!(
        next_non_heartbeat(&mut ws).await,
        Received::Closed
    ));
    sim.handle.shutdown().await;
}

/// Channel calls count against the token's rate limit like every other endpoint.
#[tokio::test]
async fn channel_calls_are_rate_limited() {
    let sim = Sim::start(SimConfig {
        rate_limit_per_minute: 2,
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    create_channel(&sim, &token).await;
    create_channel(&sim, &token).await;
    let limited = sim.call(Method::POST, CHANNELS, Some(&token), None).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert!(!limited.header("retry-after").is_empty());
}

/// With `--topic-permission` naming a permission the demo client lacks, the
/// client may still poll observations over REST but not subscribe: a REST
/// subscription gets 403 naming that permission (skipped with
/// `ignoreErrors=true`), a socket-side subscribe gets `result` "403"; a client
/// granted that permission subscribes.
#[tokio::test]
async fn topic_permission_other_than_rest_observations() {
    const TOPIC_PERMISSION: &str = "notifications:queueTopic:view";
    let sim = frozen(NotifyConfig {
        topic_permission: TOPIC_PERMISSION.to_string(),
        ..NotifyConfig::default()
    })
    .await;
    let token = sim.token().await;
    let q = sim.handle.model().queues()[0].id.clone();
    let polled = rest_truth(&sim, &token, std::slice::from_ref(&q)).await;
    assert!(!polled.is_empty(), "REST observations still answer");
    let ch = create_channel(&sim, &token).await;
    let path = format!(
        "{CHANNELS}/{}/subscriptions",
        ch["id"].as_str().expect("id")
    );
    let body = json!([{"id": topic(&q)}]);
    let denied = sim
        .call(Method::POST, &path, Some(&token), Some(&body))
        .await;
    assert_error(&denied, 403, "missing.any.permissions", TOPIC_PERMISSION);
    let lenient = format!("{path}?ignoreErrors=true");
    let skipped = sim
        .call(Method::POST, &lenient, Some(&token), Some(&body))
        .await;
    assert_eq!(skipped.status, 200, "{}", skipped.text);
    assert!(ids_of(&skipped.body).is_empty());
    let mut ws = connect_socket(ch["connectUri"].as_str().expect("uri")).await;
    send_json(
        &mut ws,
        &json!({"message": "subscribe", "topics": [topic(&q)], "correlationId": "c-2"}),
    )
    .await;
    match next_non_heartbeat(&mut ws).await {
        Received::Json(v) => {
            assert_eq!(v["result"], "403", "{v}");
            assert!(v["message"]
                .as_str()
                .unwrap_or("")
                .contains(TOPIC_PERMISSION));
        }
        Received::Closed => panic!("closed"),
    }
    let _ = ws.close(None).await;
    let granted = [
        "routing:queue:view",
        "analytics:queueObservation:view",
        TOPIC_PERMISSION,
    ];
    sim.handle.control().add_client("sub", "pw", &granted);
    let sub_token = sim.token_for("sub", "pw").await;
    let own = create_channel(&sim, &sub_token).await;
    let own_path = format!(
        "{CHANNELS}/{}/subscriptions",
        own["id"].as_str().expect("id")
    );
    let listed = subscribe(
        &sim,
        &sub_token,
        own["id"].as_str().expect("id"),
        &[topic(&q)],
    )
    .await;
    assert_eq!(ids_of(&listed), vec![topic(&q)], "{own_path}");
    sim.handle.shutdown().await;
}

/// `--topic-permission` also reads `GENESYS_SIMULATOR_TOPIC_PERMISSION`, and a
/// malformed name there is refused (exit 2) by an error naming the flag.
#[test]
fn topic_permission_variable_is_checked() {
    use std::io::Read;
    let mut child = crate::util::exporter::binary()
        .args(["simulate", "--listen", "127.0.0.1:0"])
        .env("GENESYS_SIMULATOR_TOPIC_PERMISSION", "admin")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut code = None;
    for _ in 0..200 {
        if let Some(status) = child.try_wait().expect("wait") {
            code = status.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if code.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the simulator started despite a malformed variable");
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr text");
    assert_eq!(code, Some(2), "{stderr}");
    let first = stderr.lines().next().unwrap_or("");
    assert!(
        first.contains("--topic-permission") && first.contains("\"admin\""),
        "{stderr}"
    );
}

/// `kill_sockets` drops every open socket with no close frame (the client sees
/// the stream end or an error, never a Close message); the channel lives on,
/// listed as unconnected, and a new socket on it gets the full state again.
#[tokio::test]
async fn killed_socket_ends_without_a_close_frame() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let sim = frozen(NotifyConfig::default()).await;
    let token = sim.token().await;
    let (ids, ch) = subscribed_to_all(&sim, &token).await;
    let uri = ch["connectUri"].as_str().expect("uri");
    let groups = rest_truth(&sim, &token, &ids).await.len();
    let mut ws = connect_socket(uri).await;
    events_by_group(&mut ws, groups).await;
    let control = sim.handle.control();
    let listed = control.channels_of("demo-client");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].connected);
    assert_eq!(listed[0].topics.len(), ids.len());
    assert_eq!(control.kill_sockets(), 1);
    let mut ended = false;
    for _ in 0..50 {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("the killed socket ends within 10 s");
        match next {
            None | Some(Err(_)) => {
                ended = true;
                break;
            }
            Some(Ok(Message::Close(f))) => panic!("a close frame was sent: {f:?}"),
            Some(Ok(_)) => {}
        }
    }
    assert!(ended, "the socket ended");
    let head = format!("{CHANNELS}/{}", ch["id"].as_str().expect("id"));
    assert_eq!(
        sim.call(Method::HEAD, &head, Some(&token), None)
            .await
            .status,
        200
    );
    let mut unconnected = false;
    for _ in 0..50 {
        if control
            .channels_of("demo-client")
            .iter()
            .all(|c| !c.connected)
        {
            unconnected = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(unconnected, "the channel is listed as unconnected");
    let mut again = connect_socket(uri).await;
    events_by_group(&mut again, groups).await;
    let _ = again.close(None).await;
    sim.handle.shutdown().await;
}

/// A queue removed from the org is in neither the queue list nor the
/// observations answer; restored, it is in both, and a socket subscribed to its
/// topic gets its events, equal to the REST answer.
#[tokio::test]
async fn restored_queue_is_listed_observed_and_published() {
    let sim = frozen(NotifyConfig::default()).await;
    let token = sim.token().await;
    let all: Vec<String> = sim
        .handle
        .model()
        .queues()
        .iter()
        .map(|q| q.id.clone())
        .collect();
    let q = all[0].clone();
    let control = sim.handle.control();
    control.remove_queue(&q);
    let listed = |r: &crate::util::sim::Reply| -> Vec<String> {
        r.body["entities"]
            .as_array()
            .expect("entities")
            .iter()
            .map(|e| e["id"].as_str().expect("id").to_string())
            .collect()
    };
    let page = "/api/v2/routing/queues?pageSize=500";
    assert!(!listed(&sim.get(page, Some(&token)).await).contains(&q));
    assert!(rest_truth(&sim, &token, std::slice::from_ref(&q))
        .await
        .is_empty());
    let ch = create_channel(&sim, &token).await;
    subscribe(&sim, &token, ch["id"].as_str().expect("id"), &[topic(&q)]).await;
    control.restore_queue(&q);
    assert!(listed(&sim.get(page, Some(&token)).await).contains(&q));
    let truth = rest_truth(&sim, &token, std::slice::from_ref(&q)).await;
    assert!(!truth.is_empty());
    let mut ws = connect_socket(ch["connectUri"].as_str().expect("uri")).await;
    let events = events_by_group(&mut ws, truth.len()).await;
    for (group, want) in &truth {
        assert_eq!(
            &keyed(&events[group]["data"][0]["metrics"]),
            want,
            "{group}"
        );
    }
    let _ = ws.close(None).await;
    sim.handle.shutdown().await;
}

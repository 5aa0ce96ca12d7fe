//! Socket text frames (pure): every frame becomes one [`Message`], never an
//! error. Queue observation events keep their metrics as sent
//! (`StatEventQueueTopicStatsNotification`: `{group: {queueId, mediaType?},
//! data: [{interval, metrics: [{metric, qualifier?, stats}]}]}`); the group
//! without a media type is the queue's user group (agents by status).

use serde_json::Value;

use super::topics;

/// The most bytes a frame may have before it is malformed.
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// The statistics of one metric: `count` and `calculatedMetricValue`, as sent.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// `stats.count`.
    pub count: Option<f64>,
    /// `stats.calculatedMetricValue` (oLongest*: epoch ms or a duration in ms).
    pub value: Option<f64>,
}

/// One metric of an event: (metric, qualifier, stats).
pub type EventMetric = (String, Option<String>, Stats);

/// A queue observation event.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueEvent {
    /// Queue id (from the group, which must agree with the topic).
    pub queue_id: String,
    /// Media type; `None` for the queue's user group.
    pub media_type: Option<String>,
    /// Metrics, in the order sent.
    pub metrics: Vec<EventMetric>,
}

/// What a frame says.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// `channel.metadata` "WebSocket Heartbeat".
    Heartbeat,
    /// `channel.metadata` "pong" (the answer to our ping).
    Pong,
    /// A queue observation event.
    QueueEvent(QueueEvent),
    /// `v2.system.socket_closing`: the socket closes soon.
    SocketClosing,
    /// `result` "404": the channel expired or was evicted.
    ChannelGone,
    /// The answer to a socket-side subscribe (`result` other than 404).
    SubscribeReply {
        /// `result` was "200".
        ok: bool,
    },
    /// Any other system or metadata topic (`v2.system.no_longer_subscribed.*`,
    /// `v2.system.token_revoked.*`, `v2.subscription.updated`, …).
    System(String),
    /// Not JSON, not an object, an unknown topic or a queue event in the
    /// wrong shape.
    Malformed,
}

impl Message {
    /// The `kind` label of `genesys_exporter_notification_messages_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Heartbeat | Message::Pong => "heartbeat",
            Message::QueueEvent(_) => "event",
            Message::SocketClosing
            | Message::ChannelGone
            | Message::SubscribeReply { .. }
            | Message::System(_) => "system",
            Message::Malformed => "malformed",
        }
    }
}

/// The kinds of [`Message::kind`], for zero-valued series.
pub const KINDS: [&str; 4] = ["event", "heartbeat", "system", "malformed"];

/// Parses one text frame.
pub fn parse(text: &str) -> Message {
    if text.len() > MAX_FRAME_BYTES {
        return Message::Malformed;
    }
    let Ok(Value::Object(v)) = serde_json::from_str::<Value>(text) else {
        return Message::Malformed;
    };
    let Some(topic) = v.get("topicName").and_then(Value::as_str) else {
        return match v.get("result").and_then(result_code) {
            Some(404) => Message::ChannelGone,
            Some(code) => Message::SubscribeReply { ok: code == 200 },
            None => Message::Malformed,
        };
    };
    let body = v.get("eventBody");
    if topic == "channel.metadata" {
        return match body.and_then(|b| b.get("message")).and_then(Value::as_str) {
            Some(m) if m.eq_ignore_ascii_case("WebSocket Heartbeat") => Message::Heartbeat,
            Some(m) if m.eq_ignore_ascii_case("pong") => Message::Pong,
            _ => Message::System(short(topic)),
        };
    }
    if topic == "v2.system.socket_closing" {
        return Message::SocketClosing;
    }
    if topic.starts_with("v2.system.") || topic.starts_with("v2.subscription.") {
        return Message::System(short(topic));
    }
    match topics::queue_of(topic) {
        Some(queue) => body
            .and_then(|b| queue_event(queue, b))
            .map_or(Message::Malformed, Message::QueueEvent),
        None => Message::Malformed,
    }
}

/// `result` as a number, whether sent as "404" or 404.
fn result_code(v: &Value) -> Option<u16> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        _ => None,
    }
}

/// A topic for logs: at most 120 printable characters.
fn short(topic: &str) -> String {
    topic
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect()
}

fn queue_event(topic_queue: &str, body: &Value) -> Option<QueueEvent> {
    let group = body.get("group")?.as_object()?;
    let queue_id = group.get("queueId")?.as_str()?;
    if queue_id != topic_queue {
        return None;
    }
    let media_type = match group.get("mediaType") {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) if !m.is_empty() => Some(m.clone()),
        Some(_) => return None,
    };
    let mut metrics = Vec::new();
    for interval in body.get("data")?.as_array()? {
        for m in interval.get("metrics")?.as_array()? {
            let name = m.get("metric")?.as_str()?;
            let qualifier = match m.get("qualifier") {
                None | Some(Value::Null) => None,
                Some(Value::String(q)) => Some(q.clone()),
                Some(_) => return None,
            };
            let stats = m.get("stats")?.as_object()?;
            let number = |k: &str| match stats.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_f64().map(Some).ok_or(()),
            };
            let (Ok(count), Ok(value)) = (number("count"), number("calculatedMetricValue")) else {
                return None;
            };
            metrics.push((name.to_string(), qualifier, Stats { count, value }));
        }
    }
    Some(QueueEvent {
        queue_id: queue_id.to_string(),
        media_type,
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EVENT: &str = r#"{"topicName":"v2.analytics.queues.q1.observations","version":"2",
      "eventBody":{"group":{"queueId":"q1","mediaType":"voice"},
      "data":[{"interval":"2026-01-01T00:00:00.000Z/2026-01-01T00:00:00.000Z","metrics":[
        {"metric":"oWaiting","stats":{"count":3}},
        {"metric":"oLongestWaiting","stats":{"calculatedMetricValue":1767225600000}},
        {"metric":"oOnQueueUsers","qualifier":"IDLE","stats":{"count":0}}]}]},
      "metadata":{"CorrelationId":"x"}}"#;

    /// A queue event keeps its group and metrics, a 0 count included.
    #[test]
    fn queue_event() {
        let Message::QueueEvent(e) = parse(EVENT) else {
            panic!("not an event: {:?}", parse(EVENT));
        };
        assert_eq!(
            (e.queue_id.as_str(), e.media_type.as_deref()),
            ("q1", Some("voice"))
        );
        assert_eq!(e.metrics.len(), 3);
        assert_eq!(e.metrics[0].2.count, Some(3.0));
        assert_eq!(e.metrics[1].2.value, Some(1_767_225_600_000.0));
        assert_eq!(
            e.metrics[2],
            (
                "oOnQueueUsers".into(),
                Some("IDLE".into()),
                Stats {
                    count: Some(0.0),
                    value: None
                }
            )
        );
        assert_eq!(parse(EVENT).kind(), "event");
        // The user group has no media type.
        let users = EVENT.replace(r#","mediaType":"voice""#, "");
        assert!(matches!(
            parse(&users),
            Message::QueueEvent(QueueEvent {
                media_type: None,
                ..
            })
        ));
    }

    /// Metadata, system topics and results.
    #[test]
    fn system_messages() {
        let cases = [
            (
                r#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}"#,
                Message::Heartbeat,
            ),
            (
                r#"{"topicName":"channel.metadata","eventBody":{"message":"pong"}}"#,
                Message::Pong,
            ),
            (
                r#"{"topicName":"v2.system.socket_closing","eventBody":{"message":"bye"}}"#,
                Message::SocketClosing,
            ),
            (
                r#"{"result":"404","message":"The channel does not exist."}"#,
                Message::ChannelGone,
            ),
            (r#"{"result":404}"#, Message::ChannelGone),
            (
                r#"{"result":"200","status":"subscribed"}"#,
                Message::SubscribeReply { ok: true },
            ),
            (
                r#"{"result":"400","status":"error"}"#,
                Message::SubscribeReply { ok: false },
            ),
            (
                r#"{"topicName":"v2.system.no_longer_subscribed.c1","eventBody":{}}"#,
                Message::System("v2.system.no_longer_subscribed.c1".into()),
            ),
            (
                r#"{"topicName":"v2.system.token_revoked.c1"}"#,
                Message::System("v2.system.token_revoked.c1".into()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), want, "{text}");
        }
        assert_eq!(Message::Heartbeat.kind(), "heartbeat");
        assert_eq!(Message::ChannelGone.kind(), "system");
    }

    /// Wrong shapes are malformed, never a partial event.
    #[test]
    fn malformed() {
        for text in [
            "",
            "null",
            "[]",
            "not json",
            r#"{"topicName":5}"#,
            r#"{}"#,
            r#"{"topicName":"v2.users.u1.presence","eventBody":{}}"#,
            r#"{"topicName":"v2.analytics.queues.q1.observations"}"#,
            r#"{"topicName":"v2.analytics.queues.q1.observations","eventBody":{"group":{"queueId":"q2"},"data":[]}}"#,
            r#"{"topicName":"v2.analytics.queues.q1.observations","eventBody":{"group":{"queueId":"q1"},"data":[{"metrics":[{"metric":"oWaiting","stats":{"count":"3"}}]}]}}"#,
            r#"{"topicName":"v2.analytics.queues.q1.observations","eventBody":{"group":{"queueId":"q1","mediaType":7},"data":[]}}"#,
        ] {
            assert_eq!(parse(text), Message::Malformed, "{text}");
        }
        assert_eq!(parse(&" ".repeat(MAX_FRAME_BYTES + 1)), Message::Malformed);
    }

    proptest! {
        /// Any text parses to some message without panicking.
        #[test]
        fn hostile_text(s in ".{0,300}") {
            let _ = parse(&s).kind();
        }

        /// Mutated events never panic and an event always names its topic's queue.
        #[test]
        fn mutated_events(cut in 0usize..600, junk in "[\\[\\]{}\",:0-9a-z-]{0,12}") {
            let cut = cut.min(EVENT.len());
            let text = format!("{}{junk}{}", &EVENT[..cut], &EVENT[cut..]);
            if let Message::QueueEvent(e) = parse(&text) {
                let topic = topics::topic(&e.queue_id);
                prop_assert!(text.contains(&topic));
            }
        }
    }
}

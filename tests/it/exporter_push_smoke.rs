//! Smoke test of pushed real-time gauges: the exporter binary with default
//! flags against the simulator over real HTTP and a real WebSocket on
//! loopback reports push as its real-time source, holds one live channel
//! that receives heartbeats, and serves `genesys_queue_waiting` equal to the
//! simulator's own REST observations answer at a frozen instant.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::util::exporter::{binary, get, parse, spawn_listening, value, wait_until};
use crate::util::sim::{ms, queue_filter, Sim};
use genesys_exporter::simulator::{NotifyConfig, SimConfig};
use serde_json::json;

const NOW: &str = "2025-03-12T10:15:30.500Z";

/// Default flags mean push; the pushed gauges match the REST truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_flags_push_real_time_gauges() {
    let sim = Sim::start(SimConfig {
        fixed_now_ms: Some(ms(NOW)),
        rate_limit_per_minute: 10_000,
        notify: NotifyConfig {
            heartbeat_interval: Duration::from_millis(300),
            ..NotifyConfig::default()
        },
        ..SimConfig::default()
    })
    .await;
    let d = SimConfig::default();
    let mut cmd = binary();
    cmd.args([
        "--web.listen-address",
        "127.0.0.1:0",
        "--genesys.api-url",
        &sim.base,
        "--genesys.client-id",
        &d.client_id,
    ])
    .env("GENESYS_CLIENT_SECRET", &d.client_secret);
    let (mut child, base) = spawn_listening(cmd);

    let samples = Arc::new(Mutex::new(Vec::new()));
    wait_until(
        Duration::from_secs(60),
        "push source, a live channel and heartbeats",
        || {
            let (base, samples) = (base.clone(), Arc::clone(&samples));
            async move {
                let got = parse(&get(&base, "/metrics", false).await.text);
                let push = value(
                    &got,
                    "genesys_exporter_realtime_source",
                    &[("source", "push")],
                );
                let beats = value(
                    &got,
                    "genesys_exporter_notification_messages_total",
                    &[("kind", "heartbeat")],
                );
                let ok = push == Some(1.0)
                    && value(&got, "genesys_exporter_notification_channels", &[]) == Some(1.0)
                    && beats.is_some_and(|n| n >= 1.0)
                    && value(&got, "genesys_up", &[]) == Some(1.0);
                *samples.lock().expect("lock") = got;
                ok
            }
        },
    )
    .await;
    let samples = samples.lock().expect("lock").clone();
    assert_eq!(
        value(
            &samples,
            "genesys_exporter_realtime_source",
            &[("source", "poll")]
        ),
        Some(0.0)
    );
    assert!(
        value(
            &samples,
            "genesys_exporter_notification_last_message_timestamp_seconds",
            &[]
        )
        .is_some_and(|t| t > 0.0),
        "a message was received"
    );

    // The truth: the simulator's REST observations answer at the frozen instant.
    let model = sim.handle.model();
    let ids: Vec<String> = model.queues().iter().map(|q| q.id.clone()).collect();
    let token = sim.token().await;
    let reply = sim
        .observations(
            &token,
            &json!({"filter": queue_filter(&ids), "metrics": ["oWaiting"]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mut truth: BTreeMap<(String, String), f64> = BTreeMap::new();
    for r in reply.body["results"].as_array().expect("results") {
        let (Some(queue), Some(media)) = (
            r["group"]["queueId"].as_str(),
            r["group"]["mediaType"].as_str(),
        ) else {
            continue;
        };
        for m in r["data"].as_array().into_iter().flatten() {
            if m["metric"] == "oWaiting" {
                let n = m["stats"]["count"].as_f64().expect("count");
                truth.insert((queue.to_string(), media.to_string()), n);
            }
        }
    }
    let queues = model.queues();
    let id_of: BTreeMap<&str, &str> = queues
        .iter()
        .map(|q| (q.name.as_str(), q.id.as_str()))
        .collect();
    let mut compared = 0;
    for sample in samples.iter().filter(|s| s.name == "genesys_queue_waiting") {
        let id = id_of[sample.label("queue")];
        let media = sample.label("media_type");
        let want = truth
            .get(&(id.to_string(), media.to_string()))
            .copied()
            .unwrap_or(0.0);
        assert_eq!(sample.value, want, "{} {media}", sample.label("queue"));
        compared += 1;
    }
    assert!(compared > 0);
    assert!(truth.values().any(|&n| n > 0.0), "some callers wait");
    let _ = child.kill();
    let _ = child.wait();
    sim.handle.shutdown().await;
}

//! Simulator observations and queue removal over real HTTP: real-time counts,
//! longest waiting and member statuses equal the model's state at a frozen now.

use crate::util::sim::{ms, queue_filter, Sim};
use genesys_exporter::simulator::{LongestMode, Outcome, SimConfig};
use genesys_exporter::timefmt::format_interval;
use serde_json::json;

const FROM: &str = "2025-03-12T08:00:00.000Z";
const TO: &str = "2025-03-12T12:00:00.000Z";

/// Observations equal the model's state at the frozen now, computed from conversation fields.
#[tokio::test]
async fn observations_match_the_model() {
    let now = ms("2025-03-12T10:15:30.500Z");
    let sim = Sim::start(SimConfig {
        fixed_now_ms: Some(now),
        observation_detail_cap: 4,
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let model = sim.handle.model();
    let queues = model.queues();
    let ids: Vec<String> = queues.iter().map(|q| q.id.clone()).collect();
    let req = json!({"filter": queue_filter(&ids), "metrics": ["oWaiting", "oInteracting", "oAlerting", "oLongestWaiting", "oLongestInteracting", "oMemberUsers", "oActiveUsers", "oOnQueueUsers", "oUserRoutingStatuses", "oUserPresences", "oOffQueueUsers"], "detailMetrics": ["oWaiting"]});
    let r = sim.observations(&token, &req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mappings = r.body["systemToOrganizationMappings"]
        .as_object()
        .expect("mappings");
    assert!(mappings.contains_key("ON_QUEUE") && mappings.contains_key("OFFLINE"));
    let mut seen_waiting = 0;
    for q in &queues {
        for m in &q.media {
            let (mut waiting, mut alerting, mut interacting, mut oldest) =
                (0u64, 0u64, 0u64, None::<i64>);
            let mut oldest_answer = None::<i64>;
            for c in model.conversations(&q.id, &m.media_type, now - 1, now) {
                let alert_start = c.wait_end_ms - c.alert_ms;
                if c.offered_ms < now && now <= alert_start {
                    waiting += 1;
                    oldest = Some(oldest.map_or(c.offered_ms, |o| o.min(c.offered_ms)));
                } else if c.outcome == Outcome::Answered
                    && alert_start < now
                    && now <= c.wait_end_ms
                {
                    alerting += 1;
                } else if c.outcome == Outcome::Answered
                    && c.wait_end_ms < now
                    && now <= c.talk_end_ms
                {
                    interacting += 1;
                    oldest_answer =
                        Some(oldest_answer.map_or(c.wait_end_ms, |o| o.min(c.wait_end_ms)));
                }
            }
            seen_waiting += waiting;
            let group = r.body["results"]
                .as_array()
                .expect("results")
                .iter()
                .find(|g| g["group"] == json!({"queueId": q.id, "mediaType": m.media_type}))
                .unwrap_or_else(|| panic!("no group for {} {}", q.name, m.media_type));
            let metric = |name: &str| {
                group["data"]
                    .as_array()
                    .expect("data")
                    .iter()
                    .find(|d| d["metric"] == name)
                    .cloned()
            };
            assert_eq!(
                metric("oWaiting").expect("oWaiting")["stats"]["count"],
                waiting,
                "{} {}",
                q.name,
                m.media_type
            );
            assert_eq!(
                metric("oAlerting").expect("oAlerting")["stats"]["count"],
                alerting
            );
            assert_eq!(
                metric("oInteracting").expect("oInteracting")["stats"]["count"],
                interacting
            );
            assert_eq!(
                metric("oLongestWaiting").map(|d| d["stats"]["calculatedMetricValue"].clone()),
                oldest.map(|o| json!(o))
            );
            assert_eq!(
                metric("oLongestInteracting").map(|d| d["stats"]["calculatedMetricValue"].clone()),
                oldest_answer.map(|o| json!(o))
            );
            let w = metric("oWaiting").expect("oWaiting");
            let obs = w["observations"].as_array().expect("observations");
            assert_eq!(w["truncated"], waiting > 4);
            assert_eq!(obs.len() as u64, waiting.min(4));
            let dates: Vec<&str> = obs
                .iter()
                .map(|o| o["observationDate"].as_str().expect("date"))
                .collect();
            assert!(dates.windows(2).all(|p| p[0] <= p[1]), "ascending");
            if let Some(o) = oldest {
                assert_eq!(dates[0], genesys_exporter::timefmt::format_instant(o));
            }
        }
        let users = model.users(&q.id, now);
        let ug = r.body["results"]
            .as_array()
            .expect("results")
            .iter()
            .find(|g| g["group"] == json!({"queueId": q.id}))
            .expect("user group");
        let count = |metric: &str, qual: Option<&str>| -> u64 {
            ug["data"]
                .as_array()
                .expect("data")
                .iter()
                .filter(|d| d["metric"] == metric && qual.is_none_or(|x| d["qualifier"] == x))
                .map(|d| d["stats"]["count"].as_u64().expect("count"))
                .sum()
        };
        assert_eq!(count("oMemberUsers", None), users.members);
        assert_eq!(count("oActiveUsers", None), users.active);
        assert_eq!(
            count("oUserRoutingStatuses", None),
            users.members,
            "routing statuses cover every member"
        );
        assert_eq!(
            count("oUserPresences", None),
            users.members,
            "presences cover every member"
        );
        for (status, n) in &users.on_queue {
            assert_eq!(count("oOnQueueUsers", Some(status)), *n);
        }
        let busy: u64 = q
            .media
            .iter()
            .map(|m| {
                let o = model.observe(&q.id, &m.media_type, now);
                o.interacting + o.alerting
            })
            .sum();
        assert!(
            users.on_queue["INTERACTING"] >= busy.min(users.active),
            "agents cover live interactions"
        );
    }
    assert!(seen_waiting > 0, "a busy morning has someone waiting");
    sim.handle.shutdown().await;
}

/// oLongestWaiting can be reported as a duration instead of an epoch.
#[tokio::test]
async fn longest_waiting_duration_knob() {
    let now = ms("2025-03-12T10:15:30.500Z");
    let sim = Sim::start(SimConfig {
        fixed_now_ms: Some(now),
        longest_mode: LongestMode::DurationMs,
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let model = sim.handle.model();
    let q = model
        .queues()
        .into_iter()
        .find(|q| {
            q.media
                .iter()
                .any(|m| model.observe(&q.id, &m.media_type, now).waiting > 0)
        })
        .expect("someone waits");
    let media = q
        .media
        .iter()
        .find(|m| model.observe(&q.id, &m.media_type, now).waiting > 0)
        .expect("media");
    let since = model
        .observe(&q.id, &media.media_type, now)
        .oldest_waiting_since_ms
        .expect("oldest");
    let req = json!({"filter": {"type": "and", "predicates": [{"dimension": "queueId", "value": q.id}, {"dimension": "mediaType", "value": media.media_type}]}, "metrics": ["oLongestWaiting"]});
    let r = sim.observations(&token, &req).await;
    let results = r.body["results"].as_array().expect("results");
    assert_eq!(
        results.len(),
        1,
        "only the filtered media group (no user metrics asked)"
    );
    assert_eq!(
        results[0]["data"][0]["stats"]["calculatedMetricValue"],
        json!(now - since)
    );
    sim.handle.shutdown().await;
}

/// A removed queue disappears from every endpoint and comes back when restored.
#[tokio::test]
async fn removed_queues_vanish() {
    let sim = Sim::start(SimConfig::default()).await;
    let token = sim.token().await;
    let ctl = sim.handle.control();
    let q = sim.handle.model().queues()[2].clone();
    ctl.remove_queue(&q.id);
    let list = sim
        .get("/api/v2/routing/queues?pageSize=100", Some(&token))
        .await;
    assert_eq!(list.body["total"], 11);
    assert!(!list.text.contains(&q.id));
    let agg = sim
        .aggregates(
            &token,
            &json!({
                "interval": format_interval(ms(FROM), ms(TO)),
                "groupBy": ["queueId", "mediaType"],
                "filter": queue_filter(std::slice::from_ref(&q.id)),
                "metrics": ["nOffered", "tAnswered"],
            }),
        )
        .await;
    assert_eq!(agg.body, json!({}));
    let obs = sim
        .observations(
            &token,
            &json!({"filter": queue_filter(std::slice::from_ref(&q.id)), "metrics": ["oWaiting"]}),
        )
        .await;
    assert_eq!(obs.body["results"], json!([]));
    ctl.restore_queue(&q.id);
    assert_eq!(
        sim.get("/api/v2/routing/queues", Some(&token)).await.body["total"],
        12
    );
    sim.handle.shutdown().await;
}

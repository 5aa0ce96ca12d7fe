//! Ground truth of the real-time gauges, read from the simulator's REST
//! observations answer (queried here, with a token of our own, in chunks of
//! 100 queues), and the same gauges read from a scrape, both as one map so a
//! test can compare them whole. Independent of the exporter's code: the
//! mapping is written out from the README's metric table.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use genesys_exporter::simulator::OrgModel;
use serde_json::{json, Value};

use super::exporter::Sample;

/// (family, queue label, media type or status label) → value.
pub type Realtime = BTreeMap<(String, String, String), f64>;

/// The observation metrics the REST truth asks for.
const METRICS: [&str; 5] = [
    "oWaiting",
    "oInteracting",
    "oAlerting",
    "oLongestWaiting",
    "oOnQueueUsers",
];

/// Routing statuses of `genesys_queue_agents`: (Genesys qualifier, label).
const STATUSES: [(&str, &str); 4] = [
    ("COMMUNICATING", "communicating"),
    ("IDLE", "idle"),
    ("INTERACTING", "interacting"),
    ("NOT_RESPONDING", "not_responding"),
];

/// The per-media families; `genesys_queue_agents` is per queue and status.
const MEDIA_FAMILIES: [&str; 4] = [
    "genesys_queue_waiting",
    "genesys_queue_interacting",
    "genesys_queue_alerting",
    "genesys_queue_longest_waiting_seconds",
];

/// A REST client of the simulator with its own token, counting its own
/// observations queries (so a test can tell the exporter's apart).
pub struct Truth {
    http: reqwest::Client,
    base: String,
    token: String,
    /// Observations queries this client sent.
    pub queries: u64,
}

impl Truth {
    /// A token for the simulator's demo client.
    pub async fn new(base: &str) -> Truth {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        let r = http
            .post(format!("{base}/oauth/token"))
            .basic_auth("demo-client", Some("demo-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request");
        assert_eq!(r.status().as_u16(), 200, "token status");
        let v: Value = r.json().await.expect("token json");
        let token = v["access_token"].as_str().expect("token").to_string();
        Truth {
            http,
            base: base.to_string(),
            token,
            queries: 0,
        }
    }

    /// The real-time gauges every queue of `model` should have now.
    pub async fn realtime(&mut self, model: &OrgModel) -> Realtime {
        let queues = model.queues();
        let ids: Vec<&str> = queues.iter().map(|q| q.id.as_str()).collect();
        let mut groups = Vec::new();
        for chunk in ids.chunks(100) {
            let predicates: Vec<Value> = chunk
                .iter()
                .map(|id| json!({"dimension": "queueId", "operator": "matches", "value": id}))
                .collect();
            let body = json!({
                "filter": {"type": "or", "predicates": predicates},
                "metrics": METRICS,
            });
            self.queries += 1;
            let r = self
                .http
                .post(format!(
                    "{}/api/v2/analytics/queues/observations/query",
                    self.base
                ))
                .bearer_auth(&self.token)
                .json(&body)
                .send()
                .await
                .expect("observations request");
            assert_eq!(r.status().as_u16(), 200, "observations status");
            let v: Value = r.json().await.expect("observations json");
            groups.extend(v["results"].as_array().cloned().unwrap_or_default());
        }
        let mut by_media: BTreeMap<(String, String), &Value> = BTreeMap::new();
        let mut by_queue: BTreeMap<String, &Value> = BTreeMap::new();
        for g in &groups {
            let q = g["group"]["queueId"].as_str().expect("queueId").to_string();
            match g["group"]["mediaType"].as_str() {
                Some(m) => {
                    by_media.insert((q, m.to_string()), &g["data"]);
                }
                None => {
                    by_queue.insert(q, &g["data"]);
                }
            }
        }
        let mut out = Realtime::new();
        for q in &queues {
            let mut media: BTreeSet<String> =
                q.media.iter().map(|m| m.media_type.clone()).collect();
            media.extend(
                by_media
                    .keys()
                    .filter(|(id, _)| *id == q.id)
                    .map(|(_, m)| m.clone()),
            );
            for m in media {
                let data = by_media.get(&(q.id.clone(), m.clone())).copied();
                let count = |metric: &str| {
                    find(data, metric, None)
                        .and_then(|s| s["count"].as_f64())
                        .unwrap_or(0.0)
                };
                let waiting = count("oWaiting");
                let key = |family: &str| (family.to_string(), q.name.clone(), m.clone());
                out.insert(key("genesys_queue_waiting"), waiting);
                out.insert(key("genesys_queue_interacting"), count("oInteracting"));
                out.insert(key("genesys_queue_alerting"), count("oAlerting"));
                // The simulator runs with `--longest-waiting duration`: the
                // value is the age in ms; nothing waiting is 0.
                let longest = find(data, "oLongestWaiting", None)
                    .and_then(|s| s["calculatedMetricValue"].as_f64())
                    .map(|ms| ms.max(0.0) / 1000.0)
                    .or((waiting == 0.0).then_some(0.0));
                if let Some(v) = longest {
                    out.insert(key("genesys_queue_longest_waiting_seconds"), v);
                }
            }
            let users = by_queue.get(&q.id).copied();
            for (qualifier, label) in STATUSES {
                let n = find(users, "oOnQueueUsers", Some(qualifier))
                    .and_then(|s| s["count"].as_f64())
                    .unwrap_or(0.0);
                out.insert(
                    (
                        "genesys_queue_agents".to_string(),
                        q.name.clone(),
                        label.to_string(),
                    ),
                    n,
                );
            }
        }
        out
    }
}

/// The stats of `metric` (with `qualifier`) in a group's data.
fn find<'a>(data: Option<&'a Value>, metric: &str, qualifier: Option<&str>) -> Option<&'a Value> {
    data?.as_array()?.iter().find_map(|d| {
        (d["metric"] == metric && d["qualifier"].as_str() == qualifier).then_some(&d["stats"])
    })
}

/// The real-time gauges of a scrape.
pub fn exported(samples: &[Sample]) -> Realtime {
    let mut out = Realtime::new();
    for s in samples {
        let second = if MEDIA_FAMILIES.contains(&s.name.as_str()) {
            s.label("media_type")
        } else if s.name == "genesys_queue_agents" {
            s.label("status")
        } else {
            continue;
        };
        out.insert(
            (
                s.name.clone(),
                s.label("queue").to_string(),
                second.to_string(),
            ),
            s.value,
        );
    }
    out
}

/// Differences between an exported map and the truth, at most `limit` lines
/// (empty when they agree; values within 1e-9).
pub fn differences(got: &Realtime, want: &Realtime, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    for (k, w) in want {
        match got.get(k) {
            Some(g) if (g - w).abs() <= 1e-9 => {}
            Some(g) => out.push(format!("{k:?}: exported {g}, truth {w}")),
            None => out.push(format!("{k:?}: missing, truth {w}")),
        }
    }
    for (k, g) in got {
        if !want.contains_key(k) {
            out.push(format!("{k:?}: exported {g}, not in the truth"));
        }
    }
    out.truncate(limit);
    out
}

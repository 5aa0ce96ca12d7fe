//! Simulator requests: queue paging and filters, 404s for unknown paths, and
//! every aggregate and observation validation error with its Genesys body.
//! Real HTTP on 127.0.0.1:0.

use crate::util::sim::{assert_error, queue_filter, Reply, Sim};
use genesys_exporter::simulator::SimConfig;
use serde_json::{json, Value};

const AGG: &str = "/api/v2/analytics/conversations/aggregates/query";
const QUEUES: &str = "/api/v2/routing/queues";
const DAY: &str = "2025-03-12T00:00:00.000Z/2025-03-13T00:00:00.000Z";

/// Paging with pageSize 5 reaches the last page via relative nextUri links, in name order.
#[tokio::test]
async fn queue_paging_to_the_last_page() {
    let sim = Sim::start(SimConfig {
        queues: 23,
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let mut next = Some(format!("{QUEUES}?pageSize=5"));
    let mut names = Vec::new();
    let mut pages = 0;
    while let Some(uri) = next {
        assert!(
            uri.starts_with("/api/v2/routing/queues?"),
            "relative nextUri {uri}"
        );
        let r = sim.get(&uri, Some(&token)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["total"], 23);
        assert_eq!(r.body["pageCount"], 5);
        for e in r.body["entities"].as_array().expect("entities") {
            names.push(e["name"].as_str().expect("name").to_string());
            assert!(e["mediaSettings"]
                .as_object()
                .expect("mediaSettings")
                .keys()
                .all(|k| ["call", "callback", "chat", "email", "message"].contains(&k.as_str())));
            assert!(e["division"]["name"].is_string());
        }
        next = r.body["nextUri"].as_str().map(str::to_string);
        pages += 1;
        assert!(pages <= 5, "paging must end");
        if next.is_none() {
            assert_eq!(
                r.body["pageNumber"], 5,
                "nextUri is absent only on the last page"
            );
            assert!(r.body["lastUri"].is_string());
        }
    }
    let truth: Vec<String> = sim
        .handle
        .model()
        .queues()
        .into_iter()
        .map(|q| q.name)
        .collect();
    assert_eq!(names, truth);
    let past = sim
        .get(&format!("{QUEUES}?pageSize=5&pageNumber=9"), Some(&token))
        .await;
    assert_eq!(past.body["entities"], json!([]));
    assert!(past.body.get("nextUri").is_none());
    assert_error(
        &sim.get(&format!("{QUEUES}?pageSize=501"), Some(&token))
            .await,
        400,
        "bad.request",
        "pageSize",
    );
    let desc = sim
        .get(
            &format!("{QUEUES}?pageSize=100&sortOrder=desc"),
            Some(&token),
        )
        .await;
    assert_eq!(
        desc.body["entities"][0]["name"].as_str(),
        truth.last().map(String::as_str)
    );
    sim.handle.shutdown().await;
}

/// id and divisionId filters accept repeated keys and comma-joined lists; name takes wildcards.
#[tokio::test]
async fn queue_filters() {
    // A frozen clock keeps joinedMemberCount equal between the two reads.
    let now = crate::util::sim::ms("2025-03-12T10:00:00Z");
    let sim = Sim::start(SimConfig {
        fixed_now_ms: Some(now),
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let qs = sim.handle.model().queues();
    let (a, b, c) = (&qs[0].id, &qs[3].id, &qs[7].id);
    let ids = |r: &Reply| -> Vec<String> {
        r.body["entities"]
            .as_array()
            .expect("entities")
            .iter()
            .map(|e| e["id"].as_str().expect("id").to_string())
            .collect()
    };
    let repeated = sim
        .get(&format!("{QUEUES}?id={a}&id={b}&id={c}"), Some(&token))
        .await;
    let joined = sim
        .get(&format!("{QUEUES}?id={a},{b},{c}"), Some(&token))
        .await;
    assert_eq!(ids(&repeated).len(), 3);
    assert_eq!(ids(&repeated), ids(&joined));
    let paged = sim
        .get(&format!("{QUEUES}?id={a},{b},{c}&pageSize=2"), Some(&token))
        .await;
    let next = paged.body["nextUri"]
        .as_str()
        .expect("second page")
        .to_string();
    let second = sim.get(&next, Some(&token)).await;
    assert_eq!(ids(&second).len(), 1, "nextUri keeps the id filter");
    let div = &qs[0].division_id;
    let by_div = sim
        .get(
            &format!("{QUEUES}?divisionId={div}&pageSize=100"),
            Some(&token),
        )
        .await;
    let want: Vec<&String> = qs
        .iter()
        .filter(|q| &q.division_id == div)
        .map(|q| &q.id)
        .collect();
    assert_eq!(ids(&by_div).iter().collect::<Vec<_>>(), want);
    let vip = sim.get(&format!("{QUEUES}?name=*vip*"), Some(&token)).await;
    assert_eq!(
        vip.body["entities"][0]["name"],
        "Support \"VIP\" \\ Billing"
    );
    let one = sim.get(&format!("{QUEUES}/{a}"), Some(&token)).await;
    assert_eq!(
        one.body,
        repeated.body["entities"]
            .as_array()
            .expect("entities")
            .iter()
            .find(|e| e["id"] == a.as_str())
            .cloned()
            .expect("listed")
    );
    assert_error(
        &sim.get(&format!("{QUEUES}/no-such-queue"), Some(&token))
            .await,
        404,
        "not.found",
        "not found",
    );
    let ventes = sim
        .get(
            &format!("{QUEUES}?name={}", "Ventes%20%E2%80%93*"),
            Some(&token),
        )
        .await;
    assert_eq!(ventes.body["entities"][0]["name"], "Ventes – Français");
    sim.handle.shutdown().await;
}

/// Unknown paths (including the invented summary endpoint) get a Genesys 404 body.
#[tokio::test]
async fn unknown_paths_are_404() {
    let sim = Sim::start(SimConfig::default()).await;
    let token = sim.token().await;
    for path in [
        "/api/v2/analytics/conversations/summary/query",
        "/api/v2/queues",
        "/api/v2/analytics/conversations/aggregates",
    ] {
        let r = sim.post(path, Some(&token), &json!({})).await;
        assert_error(
            &r,
            404,
            "not.found",
            "The requested resource was not found.",
        );
    }
    assert_error(
        &sim.get("/nothing", None).await,
        404,
        "not.found",
        "not found",
    );
    sim.handle.shutdown().await;
}

/// Each malformed aggregate query gets its Genesys 400.
#[tokio::test]
async fn aggregate_validation_errors() {
    let sim = Sim::start(SimConfig::default()).await;
    let token = sim.token().await;
    let ids: Vec<String> = (0..201).map(|i| format!("q{i}")).collect();
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"metrics": ["nOffered"]}), "bad.request", "interval is required"),
        (json!({"interval": "yesterday", "metrics": ["nOffered"]}), "invalid.date", "Dates must be specified as ISO-8601"),
        (json!({"interval": "2025-03-12T00:00:00Z/2025-03-11T00:00:00Z", "metrics": ["nOffered"]}), "bad.request", "start must be before the end"),
        (json!({"interval": "2025-01-01T00:00:00Z/2025-03-01T00:00:00Z", "metrics": ["nOffered"]}), "bad.request", "may not exceed 31 days"),
        (json!({"interval": DAY}), "bad.request", "metrics"),
        (json!({"interval": DAY, "metrics": []}), "bad.request", "metrics"),
        (json!({"interval": DAY, "metrics": ["tHold"]}), "invalid.value", "Value [tHold] is not valid for field type [ConversationAggregateMetric]. Allowable values are: nBlindTransferred"),
        (json!({"interval": DAY, "metrics": ["nOffered"], "groupBy": ["queue"]}), "invalid.value", "Value [queue] is not valid for field type [ConversationAggregateDimension]"),
        (json!({"interval": DAY, "metrics": ["nOffered"], "granularity": "30m"}), "bad.request", "Invalid granularity [30m]"),
        (json!({"interval": DAY, "metrics": ["nOffered"], "timeZone": "Mars/Olympus"}), "bad.request", "Invalid timeZone"),
        (json!({"interval": DAY, "metrics": ["nOffered"], "filter": {"type": "xor", "predicates": []}}), "invalid.value", "Value [xor] is not valid for field type [QueryFilterType]. Allowable values are: and, or"),
        (json!({"interval": DAY, "metrics": ["nOffered"], "filter": {"predicates": []}}), "invalid.value", "[QueryFilterType]"),
        (json!({"interval": DAY, "metrics": ["nOffered"], "filter": {"type": "or", "predicates": [{"dimension": "queue", "value": "x"}]}}), "invalid.value", "Value [queue] is not valid for field type [ConversationAggregateDimension]"),
        (json!({"interval": DAY, "metrics": ["nOffered"], "filter": {"type": "or", "predicates": [{"dimension": "queueId", "operator": "like", "value": "x"}]}}), "invalid.value", "Allowable values are: matches, exists, notExists"),
        (json!({"interval": DAY, "metrics": ["nOffered"], "filter": {"type": "or", "predicates": [{"dimension": "queueId"}]}}), "bad.request", "requires a value"),
        (json!({"interval": DAY, "metrics": ["nOffered"], "filter": {"type": "and", "clauses": [{"type": "or"}]}}), "bad.request", "at least one predicate"),
        (json!({"interval": DAY, "metrics": ["nOffered"], "filter": queue_filter(&ids)}), "bad.request", "more than the maximum of 200"),
        (json!({"interval": DAY, "metrics": ["nOffered"], "queryType": "top"}), "invalid.value", "Allowable values are: groupBy, topN, bottomN"),
        (json!({"interval": DAY, "metrics": ["nOffered", "tAnswered"], "queryType": "topN"}), "bad.request", "sortMetric is required"),
        (json!({"interval": DAY, "metrics": ["tWait"], "queryType": "topN", "sortMetric": {"name": "tWait"}}), "invalid.value", "Value [tWait]"),
        (json!({"interval": DAY, "metrics": ["tWait"], "views": [{"target": "tWait", "name": "v", "function": "rangeBound", "range": {"gte": 0, "lt": 1}}]}), "bad.request", "views"),
        (json!(["not", "an", "object"]), "bad.request", "malformed syntax"),
    ];
    for (body, code, fragment) in cases {
        let r = sim.aggregates(&token, &body).await;
        assert_error(&r, 400, code, fragment);
    }
    let r = sim
        .http
        .post(format!("{}{AGG}", sim.base))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    sim.handle.shutdown().await;
}

/// Each malformed observation query gets its Genesys 400.
#[tokio::test]
async fn observation_validation_errors() {
    let sim = Sim::start(SimConfig {
        max_predicates: 3,
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let f = json!({"type": "or", "predicates": [{"dimension": "queueId", "value": "x"}]});
    let ids: Vec<String> = (0..4).map(|i| format!("q{i}")).collect();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"filter": f, "metrics": []}),
            "invalid.value",
            "Value [] is not valid for field type [QueryFilterType]. Allowable values are: and, or",
        ),
        (
            json!({"filter": f, "metrics": ["oWaitingTime"]}),
            "invalid.value",
            "Value [oWaitingTime]",
        ),
        (
            json!({"filter": f, "metrics": ["oWaiting"], "detailMetrics": ["oLongestWaiting"]}),
            "invalid.value",
            "Value [oLongestWaiting]",
        ),
        (
            json!({"filter": {"type": "or", "predicates": [{"dimension": "userId", "value": "u"}]}, "metrics": ["oWaiting"]}),
            "invalid.value",
            "Allowable values are: queueId, mediaType",
        ),
        (
            json!({"filter": {"type": "any", "predicates": []}, "metrics": ["oWaiting"]}),
            "invalid.value",
            "[QueryFilterType]",
        ),
        (
            json!({"metrics": ["oWaiting"]}),
            "bad.request",
            "filter is required",
        ),
        (
            json!({"filter": queue_filter(&ids), "metrics": ["oWaiting"]}),
            "bad.request",
            "more than the maximum of 3",
        ),
    ];
    for (body, code, fragment) in cases {
        assert_error(&sim.observations(&token, &body).await, 400, code, fragment);
    }
    sim.handle.shutdown().await;
}

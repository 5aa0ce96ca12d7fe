//! Simulator HTTP contract: OAuth, auth errors, permissions, rate limits,
//! paging, validation errors with their Genesys bodies, 404s, faults, headers,
//! and the `simulate` command's URL line. Real HTTP on 127.0.0.1:0.

mod sim_support;

use std::time::{Duration, Instant};

use genesys_exporter::simulator::{Fault, SimConfig, SimEndpoint};
use serde_json::{json, Value};
use sim_support::{queue_filter, start, Reply};

const AGG: &str = "/api/v2/analytics/conversations/aggregates/query";
const QUEUES: &str = "/api/v2/routing/queues";
const DAY: &str = "2025-03-12T00:00:00.000Z/2025-03-13T00:00:00.000Z";

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

/// Asserts a Platform API error: status, code, message fragment, contextId = correlation header.
fn assert_error(r: &Reply, status: u16, code: &str, fragment: &str) {
    assert_eq!(r.status, status, "status for {}", r.text);
    assert_eq!(r.body["code"], code, "code in {}", r.text);
    assert_eq!(r.body["status"], status);
    let msg = r.body["message"].as_str().unwrap_or("");
    assert!(msg.contains(fragment), "message {msg:?} lacks {fragment:?}");
    assert_eq!(r.body["contextId"], r.header("inin-correlation-id"));
    assert_eq!(r.body["details"], json!([]));
    assert_eq!(r.body["errors"], json!([]));
}

/// Token requests work with Basic auth and with form fields, and fail with the OAuth bodies.
#[tokio::test]
async fn oauth_token_endpoint() {
    let sim = start(SimConfig::default()).await;
    let url = format!("{}/oauth/token", sim.base);
    let r = sim
        .http
        .post(&url)
        .basic_auth("demo-client", Some("demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 86_399);
    assert!(v["access_token"].as_str().expect("token").len() >= 32);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "demo-client"),
        ("client_secret", "demo-secret"),
    ];
    let r = sim.http.post(&url).form(&form).send().await.expect("send");
    let v2: Value = r.json().await.expect("json");
    assert_ne!(v2["access_token"], v["access_token"], "tokens are random");
    let cases = [
        (
            "nobody",
            "demo-secret",
            401,
            "invalid_client",
            "client not found",
        ),
        (
            "demo-client",
            "wrong",
            401,
            "invalid_client",
            "authentication failed",
        ),
    ];
    for (id, secret, status, error, desc) in cases {
        let r = sim
            .http
            .post(&url)
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("send");
        assert_eq!(r.status().as_u16(), status);
        let b: Value = r.json().await.expect("json");
        assert_eq!(
            b,
            json!({"error": error, "description": desc, "error_description": desc})
        );
    }
    let r = sim
        .http
        .post(&url)
        .basic_auth("demo-client", Some("demo-secret"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.expect("json");
    assert_eq!(b["error"], "unsupported_grant_type");
    sim.handle.shutdown().await;
}

/// Missing, unknown, revoked and expired tokens get the documented 401 bodies.
#[tokio::test]
async fn unauthenticated_calls_get_401() {
    let sim = start(SimConfig {
        token_ttl: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await;
    let path = format!("{QUEUES}?pageSize=1");
    assert_error(
        &sim.get(&path, None).await,
        401,
        "authentication.required",
        "No authentication bearer token",
    );
    assert_error(
        &sim.get(&path, Some("not-a-token")).await,
        401,
        "bad.credentials",
        "Invalid login credentials.",
    );
    let token = sim.token().await;
    let r = sim
        .http
        .get(format!("{}{path}", sim.base))
        .header("Authorization", format!("bearer {token}"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200, "lower-case bearer prefix is accepted");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = sim.get(&path, Some(&token)).await;
        if r.status == 401 {
            assert_error(&r, 401, "bad.credentials", "Invalid login credentials.");
            break;
        }
        assert!(Instant::now() < deadline, "token never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sim.handle.shutdown().await;
}

/// expire_all_tokens revokes live tokens; credentials.expired is selectable.
#[tokio::test]
async fn revoked_tokens_and_expired_code_knob() {
    let sim = start(SimConfig {
        expired_token_code: genesys_exporter::simulator::ExpiredTokenCode::CredentialsExpired,
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    assert_eq!(sim.get(QUEUES, Some(&token)).await.status, 200);
    sim.handle.control().expire_all_tokens();
    assert_error(
        &sim.get(QUEUES, Some(&token)).await,
        401,
        "credentials.expired",
        "expired",
    );
    let fresh = sim.token().await;
    assert_eq!(
        sim.get(QUEUES, Some(&fresh)).await.status,
        200,
        "new tokens work"
    );
    sim.handle.shutdown().await;
}

/// A client without a permission gets 403 missing.any.permissions naming it.
#[tokio::test]
async fn missing_permission_is_403() {
    let sim = start(SimConfig::default()).await;
    sim.handle.control().add_client(
        "limited",
        "s3cret",
        &["routing:queue:view", "analytics:conversationAggregate:view"],
    );
    let token = sim.token_for("limited", "s3cret").await;
    let obs = json!({"filter": {"type": "or", "predicates": [{"dimension": "queueId", "value": "x"}]}, "metrics": ["oWaiting"]});
    assert_error(
        &sim.observations(&token, &obs).await,
        403,
        "missing.any.permissions",
        "analytics:queueObservation:view",
    );
    assert_eq!(sim.get(QUEUES, Some(&token)).await.status, 200);
    sim.handle.control().add_client("none", "x", &[]);
    let token = sim.token_for("none", "x").await;
    assert_error(
        &sim.get(QUEUES, Some(&token)).await,
        403,
        "missing.any.permissions",
        "routing:queue:view",
    );
    let agg = json!({"interval": DAY, "metrics": ["nOffered"]});
    assert_error(
        &sim.aggregates(&token, &agg).await,
        403,
        "missing.any.permissions",
        "analytics:conversationAggregate:view",
    );
    sim.handle.shutdown().await;
}

/// Over the per-token limit the answer is 429 with Retry-After and the normalized body.
#[tokio::test]
async fn rate_limit_gives_429_with_retry_after() {
    let sim = start(SimConfig {
        rate_limit_per_minute: 5,
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    for n in 1..=5 {
        let r = sim.get(QUEUES, Some(&token)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("inin-ratelimit-count"), n.to_string());
        assert_eq!(r.header("inin-ratelimit-allowed"), "5");
        let reset: u32 = r
            .header("inin-ratelimit-reset")
            .parse()
            .expect("integer reset");
        assert!((1..=60).contains(&reset));
    }
    let r = sim.get(QUEUES, Some(&token)).await;
    let retry: u32 = r
        .header("retry-after")
        .parse()
        .expect("integer Retry-After");
    assert!((1..=60).contains(&retry));
    assert_error(
        &r,
        429,
        "too.many.requests.retry.after",
        &format!("Retry the request in [{retry}] seconds"),
    );
    let other = sim.token().await;
    assert_eq!(
        sim.get(QUEUES, Some(&other)).await.status,
        200,
        "the limit is per token"
    );
    sim.handle.shutdown().await;
}

/// Paging with pageSize 5 reaches the last page via relative nextUri links, in name order.
#[tokio::test]
async fn queue_paging_to_the_last_page() {
    let sim = start(SimConfig {
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
    let sim = start(SimConfig::default()).await;
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
    let sim = start(SimConfig::default()).await;
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

/// Every response is JSON with a UUID correlation id and the rate-limit headers.
#[tokio::test]
async fn every_response_has_the_headers() {
    let sim = start(SimConfig::default()).await;
    let token = sim.token().await;
    let replies = vec![
        sim.get(QUEUES, Some(&token)).await,
        sim.get(QUEUES, None).await,
        sim.get("/api/v2/nothing", Some(&token)).await,
        sim.aggregates(&token, &json!({"interval": DAY})).await,
        sim.post("/oauth/token", None, &json!({})).await,
    ];
    for r in &replies {
        assert_eq!(r.header("content-type"), "application/json");
        assert!(
            is_uuid(&r.header("inin-correlation-id")),
            "correlation id {}",
            r.header("inin-correlation-id")
        );
        for h in [
            "inin-ratelimit-count",
            "inin-ratelimit-allowed",
            "inin-ratelimit-reset",
        ] {
            r.header(h)
                .parse::<u32>()
                .unwrap_or_else(|_| panic!("{h} is an integer"));
        }
    }
    sim.handle.shutdown().await;
}

/// Each malformed aggregate query gets its Genesys 400.
#[tokio::test]
async fn aggregate_validation_errors() {
    let sim = start(SimConfig::default()).await;
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
    let sim = start(SimConfig {
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

/// Scripted faults are consumed in order per endpoint; outage and fault rate hit every call.
#[tokio::test]
async fn faults_scripted_and_random() {
    let sim = start(SimConfig::default()).await;
    let ctl = sim.handle.control();
    let token = sim.token().await;
    ctl.push_faults(
        SimEndpoint::Queues,
        [
            Fault::Status {
                status: 503,
                retry_after: Some(7),
            },
            Fault::Status {
                status: 500,
                retry_after: None,
            },
            Fault::MalformedBody,
            Fault::Delay(Duration::from_millis(300)),
            Fault::Status {
                status: 429,
                retry_after: Some(3),
            },
        ],
    );
    let r = sim.get(QUEUES, Some(&token)).await;
    assert_error(&r, 503, "service.unavailable", "Service Unavailable");
    assert_eq!(r.header("retry-after"), "7");
    let r = sim.get(QUEUES, Some(&token)).await;
    assert_error(&r, 500, "internal.server.error", "unexpected condition");
    assert!(r.header("retry-after").is_empty());
    let r = sim.get(QUEUES, Some(&token)).await;
    assert_eq!(r.status, 200);
    assert!(
        serde_json::from_str::<Value>(&r.text).is_err(),
        "malformed body does not parse"
    );
    let t0 = Instant::now();
    assert_eq!(sim.get(QUEUES, Some(&token)).await.status, 200);
    assert!(
        t0.elapsed() >= Duration::from_millis(300),
        "delay fault delays"
    );
    let r = sim.get(QUEUES, Some(&token)).await;
    assert_error(&r, 429, "too.many.requests.retry.after", "[3]");
    assert_eq!(
        sim.get(QUEUES, Some(&token)).await.status,
        200,
        "script exhausted"
    );
    ctl.push_faults(
        SimEndpoint::Token,
        [Fault::Status {
            status: 502,
            retry_after: None,
        }],
    );
    let r = sim
        .http
        .post(format!("{}/oauth/token", sim.base))
        .basic_auth("demo-client", Some("demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 502);
    ctl.set_outage(true);
    assert_error(
        &sim.get(QUEUES, Some(&token)).await,
        503,
        "service.unavailable",
        "Unavailable",
    );
    assert_error(
        &sim.post("/oauth/token", None, &json!({})).await,
        503,
        "service.unavailable",
        "Unavailable",
    );
    ctl.set_outage(false);
    ctl.reset_counts();
    ctl.set_fault_rate(1.0);
    for _ in 0..8 {
        let r = sim.get(QUEUES, Some(&token)).await;
        assert!(
            [500, 502, 503, 504].contains(&r.status),
            "status {}",
            r.status
        );
        assert!(r.body["code"].is_string());
    }
    ctl.set_fault_rate(0.0);
    assert_eq!(sim.get(QUEUES, Some(&token)).await.status, 200);
    assert_eq!(ctl.request_count(SimEndpoint::Queues), 9);
    assert_eq!(ctl.request_count(SimEndpoint::Aggregates), 0);
    sim.handle.shutdown().await;
}

/// A fault rate of 0.3 fails roughly that share of calls, deterministically per seed.
#[tokio::test]
async fn fault_rate_share() {
    let sim = start(SimConfig {
        fault_rate: 0.3,
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let mut failed = 0;
    for _ in 0..100 {
        if sim
            .get(&format!("{QUEUES}?pageSize=1"), Some(&token))
            .await
            .status
            >= 500
        {
            failed += 1;
        }
    }
    assert!((15..=45).contains(&failed), "{failed} of 100 failed");
    sim.handle.shutdown().await;
}

/// `genesys_exporter simulate --listen 127.0.0.1:0` prints its URL line and serves there.
#[tokio::test]
async fn simulate_command_prints_url() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_genesys_exporter"))
        .args(["simulate", "--listen", "127.0.0.1:0", "--queues", "30"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start binary");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(60));
    let url = line.as_ref().ok().and_then(|l| {
        l.split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .map(str::to_string)
    });
    let status = match &url {
        Some(u) => reqwest::Client::new()
            .post(format!("{u}/oauth/token"))
            .basic_auth("demo-client", Some("demo-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok(),
        None => None,
    };
    let _ = child.kill();
    let _ = child.wait();
    let url = url.unwrap_or_else(|| panic!("no URL in {line:?}"));
    assert!(
        url["http://127.0.0.1:".len()..]
            .parse::<u16>()
            .is_ok_and(|p| p > 0),
        "{url}"
    );
    assert_eq!(status, Some(200));
}

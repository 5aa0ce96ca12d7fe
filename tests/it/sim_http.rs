//! Simulator HTTP behaviour: OAuth, 401/403/429 with their bodies and headers,
//! scripted and random faults, and the `simulate` command's URL line.
//! Real HTTP on 127.0.0.1:0.

use std::time::{Duration, Instant};

use crate::util::sim::{assert_error, is_uuid, Sim};
use genesys_exporter::simulator::{Fault, SimConfig, SimEndpoint};
use serde_json::{json, Value};

const QUEUES: &str = "/api/v2/routing/queues";
const DAY: &str = "2025-03-12T00:00:00.000Z/2025-03-13T00:00:00.000Z";

/// Token requests work with Basic auth and with form fields, and fail with the OAuth bodies.
#[tokio::test]
async fn oauth_token_endpoint() {
    let sim = Sim::start(SimConfig::default()).await;
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
    let sim = Sim::start(SimConfig {
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

/// The bearer scheme is case-insensitive; expire_all_tokens revokes live tokens;
/// credentials.expired is selectable.
#[tokio::test]
async fn revoked_tokens_and_expired_code_knob() {
    let sim = Sim::start(SimConfig {
        expired_token_code: genesys_exporter::simulator::ExpiredTokenCode::CredentialsExpired,
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    assert_eq!(sim.get(QUEUES, Some(&token)).await.status, 200);
    let r = sim
        .http
        .get(format!("{}{QUEUES}", sim.base))
        .header("Authorization", format!("bearer {token}"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200, "lower-case bearer prefix is accepted");
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
    let sim = Sim::start(SimConfig::default()).await;
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
    let sim = Sim::start(SimConfig {
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

/// Every response is JSON with a UUID correlation id and the rate-limit headers.
#[tokio::test]
async fn every_response_has_the_headers() {
    let sim = Sim::start(SimConfig::default()).await;
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

/// Scripted faults are consumed in order per endpoint; outage and fault rate hit every call.
#[tokio::test]
async fn faults_scripted_and_random() {
    let sim = Sim::start(SimConfig::default()).await;
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
    let sim = Sim::start(SimConfig {
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

/// Calls made against the `simulate` binary, collected before it is killed.
async fn probe_binary(base: &str) -> (u16, u16, Value) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let token: Value = match http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "limited"),
            ("client_secret", "pw"),
        ])
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let token = token["access_token"].as_str().unwrap_or("").to_string();
    let queues = http
        .get(format!("{base}{QUEUES}"))
        .bearer_auth(&token)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    let agg = http
        .post(format!(
            "{base}/api/v2/analytics/conversations/aggregates/query"
        ))
        .bearer_auth(&token)
        .json(&json!({"interval": DAY, "metrics": ["nOffered"]}))
        .send()
        .await;
    let (status, body) = match agg {
        Ok(r) => (r.status().as_u16(), r.json().await.unwrap_or(Value::Null)),
        Err(_) => (0, Value::Null),
    };
    (queues, status, body)
}

/// `genesys_exporter simulate --listen 127.0.0.1:0` prints its URL line and serves
/// there; `--extra-client` adds a client with only the permissions it lists.
#[tokio::test]
async fn simulate_command_prints_url() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_genesys_exporter"))
        .args([
            "simulate",
            "--listen",
            "127.0.0.1:0",
            "--queues",
            "30",
            "--extra-client",
            "limited:pw:routing:queue:view",
        ])
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
    let probed = match &url {
        Some(u) => Some(probe_binary(u).await),
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
    let (queues, agg, body) = probed.expect("probed");
    assert_eq!(queues, 200);
    assert_eq!(agg, 403);
    assert_eq!(body["code"], "missing.any.permissions");
    assert!(body["message"]
        .as_str()
        .unwrap_or("")
        .contains("analytics:conversationAggregate:view"));
}

/// A malformed flag stops `simulate` with a non-zero exit and an error naming the flag.
#[test]
fn simulate_rejects_bad_flags() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_genesys_exporter"))
        .args([
            "simulate",
            "--listen",
            "127.0.0.1:0",
            "--extra-client",
            "only-an-id",
        ])
        .output()
        .expect("run binary");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--extra-client"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_genesys_exporter"))
        .args(["simulate", "--listen", "256.1.1.1:80"])
        .output()
        .expect("run binary");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--listen"), "{err}");
}

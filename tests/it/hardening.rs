//! Hostile settings, hostile API answers and hostile clients: absurd
//! durations are refused in one line naming the flag, broken queue names are
//! repaired instead of dropping the list, a token that cannot be sent back is
//! reported as such, and idle connections are closed while scrapes still get in.

use std::sync::Arc;
use std::time::Duration;

use crate::util::exporter::{
    binary, client_for, get, parse, start_roomy_sim, value, wait_until, Exporter,
};
use genesys_exporter::genesys::{ApiObserver, Client, ClientConfig, Endpoint, RetryReason};
use genesys_exporter::secret::Secret;
use genesys_exporter::simulator::SimConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Runs the binary with `args` and returns (exit code, stderr lines).
fn run_binary(args: &[&str]) -> (Option<i32>, Vec<String>) {
    let out = binary().args(args).output().expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    (out.status.code(), lines)
}

/// Durations of hundreds of billions of years are refused at start and by
/// check-config: exit 2, one line per flag naming the flag and its variable.
#[test]
fn absurd_durations_refused_naming_the_flag() {
    let absurd = [
        "--poll.interval",
        "300000000000y",
        "--max-staleness",
        "300000000000y",
    ];
    for command in [&[][..], &["check-config", "--demo"][..]] {
        let args: Vec<&str> = command.iter().chain(absurd.iter()).copied().collect();
        let (code, lines) = run_binary(&args);
        assert_eq!(code, Some(2), "{args:?}: {lines:?}");
        assert_eq!(lines.len(), 2, "one line per flag: {lines:?}");
        assert!(
            lines[0].contains("--poll.interval (GENESYS_EXPORTER_POLL_INTERVAL)")
                && lines[0].contains("between 1s and 1day"),
            "{lines:?}"
        );
        assert!(
            lines[1].contains("--max-staleness (GENESYS_EXPORTER_MAX_STALENESS)")
                && lines[1].contains("between 1s and 7days"),
            "{lines:?}"
        );
    }
}

/// A negative duration written with a space or with `=` gives the same one
/// line naming the flag, for the exporter, check-config, report and simulate.
#[test]
fn negative_durations_name_the_flag() {
    for (prefix, flag, env) in [
        (&[][..], "--poll.interval", "GENESYS_EXPORTER_POLL_INTERVAL"),
        (
            &[][..],
            "--web.idle-timeout",
            "GENESYS_EXPORTER_WEB_IDLE_TIMEOUT",
        ),
        (&[][..], "--api.timeout", "GENESYS_EXPORTER_API_TIMEOUT"),
        (
            &["check-config", "--demo"][..],
            "--window.delay",
            "GENESYS_EXPORTER_WINDOW_DELAY",
        ),
        (
            &["report"][..],
            "--max-interval",
            "GENESYS_EXPORTER_REPORT_MAX_INTERVAL",
        ),
        (&["simulate"][..], "--latency", "GENESYS_SIMULATOR_LATENCY"),
    ] {
        let joined = format!("{flag}=-10s");
        let spaced: Vec<&str> = prefix.iter().copied().chain([flag, "-10s"]).collect();
        let equals: Vec<&str> = prefix.iter().copied().chain([joined.as_str()]).collect();
        let (code_spaced, spaced_lines) = run_binary(&spaced);
        let (code_equals, equals_lines) = run_binary(&equals);
        assert_eq!(code_spaced, Some(2), "{spaced:?}: {spaced_lines:?}");
        assert_eq!(code_equals, Some(2), "{equals:?}: {equals_lines:?}");
        assert_eq!(spaced_lines.len(), 1, "{spaced:?}: {spaced_lines:?}");
        assert_eq!(spaced_lines, equals_lines, "{flag}");
        let line = &spaced_lines[0];
        assert!(
            line.contains(&format!("{flag} ({env}): \"-10s\" is not a duration")),
            "{line}"
        );
    }
}

/// The longest accepted settings (a day between polls, a week of staleness)
/// run: /metrics answers 200 and /-/ready becomes 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_in_range_durations_serve() {
    let sim = start_roomy_sim(SimConfig::default()).await;
    let exporter = Exporter::start(
        &[
            "--poll.interval",
            "1d",
            "--poll.queues-interval",
            "1d",
            "--poll.observations-interval",
            "1d",
            "--max-staleness",
            "1w",
            "--window.align",
            "1d",
            "--window.delay",
            "1d",
            "--window",
            "31d,today",
            "--web.idle-timeout",
            "1h",
            "--web.read-header-timeout",
            "1h",
        ],
        client_for(&sim),
    )
    .await;
    let base = exporter.base.clone();
    wait_until(Duration::from_secs(60), "/-/ready answers 200", || {
        let base = base.clone();
        async move { get(&base, "/-/ready", false).await.status == 200 }
    })
    .await;
    let scrape = get(&exporter.base, "/metrics", false).await;
    assert_eq!(scrape.status, 200);
    assert_eq!(value(&parse(&scrape.text), "genesys_up", &[]), Some(1.0));
    exporter.stop().await;
    sim.shutdown().await;
}

/// What the hostile API answers.
#[derive(Clone)]
struct Hostile {
    token_body: &'static [u8],
    queues_body: Vec<u8>,
}

/// A tiny HTTP/1.1 server on 127.0.0.1:0 answering the token request, the
/// queue listing and (with an empty result) anything else; one request per
/// connection. The task is aborted when the returned handle is dropped.
async fn hostile_api(answers: Hostile) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let answers = answers.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head (and a small body) with a bounded number of reads.
                for _ in 0..64 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                    let text = String::from_utf8_lossy(&request);
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let head = String::from_utf8_lossy(&request);
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let body: Vec<u8> = if path.starts_with("/oauth/token") {
                    answers.token_body.to_vec()
                } else if path.starts_with("/api/v2/routing/queues") {
                    answers.queues_body.clone()
                } else {
                    b"{}".to_vec()
                };
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (base, task)
}

/// Counts nothing: the client tests only look at results.
struct NoObserver;

impl ApiObserver for NoObserver {
    fn request_finished(&self, _: Endpoint, _: &str, _: Duration) {}
    fn retried(&self, _: Endpoint, _: RetryReason) {}
    fn throttled(&self, _: Endpoint, _: Duration) {}
}

fn hostile_client(base: &str) -> Client {
    let mut config: ClientConfig =
        ClientConfig::for_base_url(base, "id", Secret::new("secret")).expect("config");
    config.max_retries = 0;
    Client::new(config, Arc::new(NoObserver)).expect("client")
}

/// A queue list holding a lone surrogate escape, invalid UTF-8 bytes and
/// control characters in names.
fn hostile_queue_page() -> Vec<u8> {
    let mut body = br#"{"entities":[
        {"id":"q-surrogate","name":"Lone \ud800 surrogate","mediaSettings":{"call":{}}},
        {"id":"q-bytes","name":"Bad "#
        .to_vec();
    body.extend_from_slice(b"\xff\xfe");
    body.extend_from_slice(
        br#" bytes","mediaSettings":{"call":{}}},
        {"id":"q-control","name":"Nul\u0000Esc\u001b[31mDel\u007fC1\u0085","mediaSettings":{"call":{}}},
        {"id":"q-fine","name":"Fine","mediaSettings":{"call":{}}}
    ],"pageNumber":1,"pageCount":1}"#,
    );
    body
}

/// One queue name with a lone surrogate or invalid UTF-8 no longer makes the
/// list unreadable: every queue is listed, broken and control characters
/// replaced by U+FFFD, and the exporter serves those names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_queue_names_are_repaired() {
    let (base, server) = hostile_api(Hostile {
        token_body: br#"{"access_token":"t","expires_in":3600}"#,
        queues_body: hostile_queue_page(),
    })
    .await;
    let mut queues = hostile_client(&base)
        .queues(&[])
        .await
        .expect("the list is readable");
    queues.sort_by(|a, b| a.id.cmp(&b.id));
    let names: Vec<(&str, &str)> = queues
        .iter()
        .map(|q| (q.id.as_str(), q.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("q-bytes", "Bad \u{FFFD}\u{FFFD} bytes"),
            (
                "q-control",
                "Nul\u{FFFD}Esc\u{FFFD}[31mDel\u{FFFD}C1\u{FFFD}"
            ),
            ("q-fine", "Fine"),
            ("q-surrogate", "Lone \u{FFFD} surrogate"),
        ]
    );

    let config = ClientConfig::for_base_url(&base, "id", Secret::new("secret")).expect("config");
    let exporter = Exporter::start(&["--poll.observations-interval", "0"], config).await;
    let exporter_base = exporter.base.clone();
    let repaired = ["Lone \u{FFFD} surrogate", "Bad \u{FFFD}\u{FFFD} bytes"];
    wait_until(
        Duration::from_secs(60),
        "the repaired queue names are exported",
        || {
            let base = exporter_base.clone();
            async move {
                let samples = parse(&get(&base, "/metrics", false).await.text);
                repaired.iter().all(|name| {
                    samples
                        .iter()
                        .any(|s| s.name == "genesys_queue_info" && s.label("queue") == *name)
                })
            }
        },
    )
    .await;
    let text = get(&exporter.base, "/metrics", false).await.text;
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "no control character reaches /metrics"
    );
    let samples = parse(&text);
    assert_eq!(value(&samples, "genesys_exporter_queues", &[]), Some(4.0));
    exporter.stop().await;
    server.abort();
}

/// A token holding CR/LF is reported as an unusable token from the token
/// endpoint (kind decode), not as an unreachable API, and is never echoed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_with_crlf_is_unusable() {
    let (base, server) = hostile_api(Hostile {
        token_body: br#"{"access_token":"abc\r\nX-Evil: 1","expires_in":3600}"#,
        queues_body: hostile_queue_page(),
    })
    .await;
    let err = hostile_client(&base)
        .queues(&[])
        .await
        .expect_err("unusable token");
    let text = err.to_string();
    assert!(
        text.starts_with("the token endpoint returned an unusable token"),
        "{text}"
    );
    assert_eq!(err.kind(), "decode");
    assert!(!text.contains("X-Evil"), "{text}");
    server.abort();
}

/// Reads from `stream` until the server closes it; true when it did within
/// `limit` (a bound, not a timed assertion: the timeouts are a few seconds).
async fn closed_by_server(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        for _ in 0..1_000 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => continue,
            }
        }
        false
    })
    .await
    .unwrap_or(false)
}

/// Hundreds of idle connections do not keep a scrape out, and the server
/// closes them (header-read timeout, connection cap), counting each closure;
/// a keep-alive connection is closed after its response too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed() {
    let sim = start_roomy_sim(SimConfig::default()).await;
    let exporter = Exporter::start(
        &[
            "--web.read-header-timeout",
            "2s",
            "--web.idle-timeout",
            "3s",
            "--web.max-connections",
            "100",
        ],
        client_for(&sim),
    )
    .await;
    let addr = exporter.base.trim_start_matches("http://").to_owned();
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    let scrape = get(&exporter.base, "/metrics", false).await;
    assert_eq!(scrape.status, 200, "a scrape gets in past 300 idle sockets");

    let mut keep_alive = TcpStream::connect(&addr).await.expect("connect");
    keep_alive
        .write_all(b"GET /-/healthy HTTP/1.1\r\nHost: exporter\r\n\r\n")
        .await
        .expect("send");
    let mut head = [0u8; 12];
    keep_alive.read_exact(&mut head).await.expect("response");
    assert_eq!(&head, b"HTTP/1.1 200");

    for (i, stream) in idle.iter_mut().enumerate() {
        assert!(
            closed_by_server(stream, Duration::from_secs(60)).await,
            "idle connection {i} was closed"
        );
    }
    assert!(
        closed_by_server(&mut keep_alive, Duration::from_secs(60)).await,
        "the keep-alive connection was closed after its response"
    );
    let samples = parse(&get(&exporter.base, "/metrics", false).await.text);
    let closed = |reason: &str| {
        value(
            &samples,
            "genesys_exporter_http_connections_closed_total",
            &[("reason", reason)],
        )
        .unwrap_or(0.0)
    };
    assert!(
        closed("max_connections") >= 200.0,
        "{}",
        closed("max_connections")
    );
    assert!(
        closed("header_timeout") >= 1.0,
        "{}",
        closed("header_timeout")
    );
    exporter.stop().await;
    sim.shutdown().await;
}

/// Over TLS too, connections that complete the handshake and then send
/// nothing are closed by the header-read timeout, while an HTTPS scrape is
/// served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_tls_connections_are_closed() {
    let dir = std::env::temp_dir().join(format!("genesys-hardening-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let certified = rcgen::generate_simple_self_signed(vec![String::from("localhost")])
        .expect("self-signed certificate");
    std::fs::write(dir.join("server.crt"), certified.cert.pem()).expect("write cert");
    std::fs::write(
        dir.join("server.key"),
        certified.signing_key.serialize_pem(),
    )
    .expect("write key");
    let web_config = dir.join("web.yml");
    std::fs::write(
        &web_config,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    )
    .expect("write web config");

    let sim = start_roomy_sim(SimConfig::default()).await;
    let web_config_flag = web_config.to_str().expect("utf-8 path").to_owned();
    let exporter = Exporter::start(
        &[
            "--web.config.file",
            &web_config_flag,
            "--web.read-header-timeout",
            "2s",
        ],
        client_for(&sim),
    )
    .await;
    let addr = exporter.base.trim_start_matches("http://").to_owned();

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(certified.cert.der().clone())
        .expect("trust the certificate");
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("server name");
    let mut idle = Vec::new();
    for _ in 0..20 {
        let tcp = TcpStream::connect(&addr).await.expect("connect");
        let stream = connector
            .connect(name.clone(), tcp)
            .await
            .expect("TLS handshake");
        idle.push(stream);
    }

    let https = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).expect("pem"),
        )
        .timeout(Duration::from_secs(30))
        .build()
        .expect("https client");
    let port = addr.rsplit(':').next().expect("port");
    let scrape = https
        .get(format!("https://localhost:{port}/metrics"))
        .send()
        .await
        .expect("HTTPS scrape");
    assert_eq!(scrape.status(), 200);

    for (i, stream) in idle.iter_mut().enumerate() {
        let mut buf = [0u8; 256];
        let closed = tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buf))
            .await
            .map(|r| matches!(r, Ok(0) | Err(_)))
            .unwrap_or(false);
        assert!(closed, "idle TLS connection {i} was closed by the server");
    }
    exporter.stop().await;
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

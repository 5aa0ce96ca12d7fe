//! Helpers for the exporter's end-to-end tests: start the simulator and the
//! exporter on 127.0.0.1:0, scrape, parse the text format independently of the
//! exporter's code, and poll for conditions with deadlines.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use genesys_exporter::exporter::{self, Config, ExporterArgs};
use genesys_exporter::genesys::ClientConfig;
use genesys_exporter::secret::Secret;
use genesys_exporter::simulator::{SimConfig, SimHandle};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Exporter flags parsed the way the binary parses them.
#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    args: ExporterArgs,
}

/// A simulator with a generous rate limit (unless the test sets its own), so
/// pacing never shapes an exporter test by accident.
pub async fn start_roomy_sim(mut config: SimConfig) -> SimHandle {
    if config.rate_limit_per_minute == SimConfig::default().rate_limit_per_minute {
        config.rate_limit_per_minute = 10_000;
    }
    super::sim::start_sim(config).await
}

/// A client configuration for the simulator's demo client, tuned for tests
/// (large budget, short backoff).
pub fn client_for(sim: &SimHandle) -> ClientConfig {
    let d = SimConfig::default();
    let mut c =
        ClientConfig::for_base_url(&sim.base_url(), &d.client_id, Secret::new(d.client_secret))
            .expect("client config");
    c.requests_per_minute = 6_000;
    c.backoff_base = Duration::from_millis(50);
    c.backoff_cap = Duration::from_millis(500);
    c.request_timeout = Duration::from_secs(10);
    c.call_deadline = Duration::from_secs(20);
    c
}

/// The real binary, without any `GENESYS_*` or `RUST_LOG` variable of the
/// test environment.
pub fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_genesys_exporter"));
    for (key, _) in std::env::vars() {
        if key.starts_with("GENESYS_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Spawns `cmd` (stderr discarded) and returns the child with the base URL
/// from its `listening on …` line, waiting at most 60 s for it.
pub fn spawn_listening(cmd: Command) -> (Child, String) {
    let (child, mut bases) = spawn_listening_n(cmd, 1);
    (child, bases.remove(0))
}

/// Spawns `cmd` (stderr discarded) and returns the child with the base URLs
/// of its first `count` `listening on …` lines, waiting at most 60 s for them.
pub fn spawn_listening_n(mut cmd: Command, count: usize) -> (Child, Vec<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on ").nth(1) {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut bases = Vec::with_capacity(count);
    while bases.len() < count {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(base) => bases.push(base),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("only {bases:?} printed of {count} addresses: {e}");
            }
        }
    }
    (child, bases)
}

/// A running exporter.
pub struct Exporter {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), String>>,
}

impl Exporter {
    /// Starts the exporter with the given flags against `client`.
    pub async fn start(flags: &[&str], client: ClientConfig) -> Exporter {
        let parsed =
            Flags::try_parse_from(std::iter::once("genesys_exporter").chain(flags.iter().copied()))
                .expect("flags parse");
        let config = Config::from_args(&parsed.args).expect("valid flags");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind exporter");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(exporter::run(config, client, listener, async move {
            let _ = rx.await;
        }));
        Exporter {
            base,
            stop: Some(tx),
            task,
        }
    }

    /// Stops the exporter and waits (bounded) for it to return.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let r = tokio::time::timeout(Duration::from_secs(15), &mut self.task)
            .await
            .expect("exporter stops within 15s");
        r.expect("task joins").expect("run returns Ok");
    }
}

/// A scrape answer.
pub struct Scrape {
    /// HTTP status.
    pub status: u16,
    /// Content-Type header.
    pub content_type: String,
    /// Body, decompressed if it was gzip.
    pub text: String,
    /// Whether the body came gzip-encoded.
    pub gzipped: bool,
}

/// GETs a path of the exporter, optionally asking for gzip.
pub async fn get(base: &str, path: &str, gzip: bool) -> Scrape {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client");
    let mut req = client.get(format!("{base}{path}"));
    if gzip {
        req = req.header("Accept-Encoding", "gzip");
    }
    let resp = req.send().await.expect("exporter answers");
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let content_type = header("content-type");
    let gzipped = header("content-encoding") == "gzip";
    let bytes = resp.bytes().await.expect("body");
    let text = if gzipped {
        let mut out = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_string(&mut out)
            .expect("valid gzip");
        out
    } else {
        String::from_utf8(bytes.to_vec()).expect("utf-8 body")
    };
    Scrape {
        status,
        content_type,
        text,
        gzipped,
    }
}

/// One parsed sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name.
    pub name: String,
    /// Labels (unescaped).
    pub labels: BTreeMap<String, String>,
    /// Value.
    pub value: f64,
}

impl Sample {
    /// A label's value, or "".
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Parses text format 0.0.4 samples (comments skipped), unescaping label values.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| parse_line(line).unwrap_or_else(|| panic!("unparseable line {line:?}")))
        .collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_owned();
    let mut labels = BTreeMap::new();
    let mut chars = line[name_end..].chars().peekable();
    if chars.peek() == Some(&'{') {
        chars.next();
        loop {
            match chars.peek()? {
                '}' => {
                    chars.next();
                    break;
                }
                ',' => {
                    chars.next();
                    continue;
                }
                _ => {}
            }
            let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
            if chars.next()? != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                match chars.next()? {
                    '\\' => match chars.next()? {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => break,
                    other => value.push(other),
                }
            }
            labels.insert(key, value);
        }
    }
    let rest: String = chars.collect();
    let mut fields = rest.split_whitespace();
    let value = match fields.next()? {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    assert!(fields.next().is_none(), "no timestamps allowed: {line:?}");
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// The samples of one metric.
pub fn named<'a>(samples: &'a [Sample], name: &str) -> Vec<&'a Sample> {
    samples.iter().filter(|s| s.name == name).collect()
}

/// The single value of an unlabelled (or uniquely matching) metric.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == *v))
        .map(|s| s.value)
}

/// Polls `check` every 200 ms until it returns true or `timeout` passes.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Scrapes until `genesys_up` is `want` (as seen on /metrics), returning that scrape.
pub async fn wait_for_up(base: &str, want: f64, timeout: Duration) -> Vec<Sample> {
    let deadline = Instant::now() + timeout;
    loop {
        let s = get(base, "/metrics", false).await;
        let samples = parse(&s.text);
        if value(&samples, "genesys_up", &[]) == Some(want) {
            return samples;
        }
        assert!(
            Instant::now() < deadline,
            "genesys_up never became {want} within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

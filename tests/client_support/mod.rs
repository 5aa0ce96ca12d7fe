//! Helpers shared by the client and report integration tests: a simulator on
//! 127.0.0.1:0, client configurations for it, a recording observer, tiny stub
//! servers, captured tracing output, and running the real binary with a bound.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use genesys_exporter::genesys::{ApiObserver, ClientConfig, Endpoint, RetryReason};
use genesys_exporter::secret::Secret;
use genesys_exporter::simulator::{self, SimConfig, SimHandle};

/// The simulator's demo credentials (its defaults).
pub const DEMO_ID: &str = "demo-client";
/// The simulator's demo secret.
pub const DEMO_SECRET: &str = "demo-secret";

/// Starts a simulator with `config` on a free loopback port.
pub async fn start_sim(config: SimConfig) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    simulator::spawn(config, listener)
        .await
        .expect("simulator starts")
}

/// A client configuration for `base` with fast backoff, so retry tests stay quick.
pub fn fast_config(base: &str, id: &str, secret: &str) -> ClientConfig {
    let mut c = ClientConfig::for_base_url(base, id, Secret::new(secret)).expect("valid config");
    c.backoff_base = Duration::from_millis(20);
    c.backoff_cap = Duration::from_millis(200);
    c.requests_per_minute = 100_000;
    c
}

/// One observer callback.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// `request_finished(endpoint, outcome)`.
    Finished(Endpoint, String),
    /// `retried(endpoint, reason)`.
    Retried(Endpoint, RetryReason),
    /// `throttled(endpoint)`.
    Throttled(Endpoint),
}

/// An observer that records every callback.
#[derive(Debug, Default)]
pub struct Recorder(Mutex<Vec<Seen>>);

impl Recorder {
    /// Everything seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.0.lock().expect("recorder").clone()
    }

    /// Retries seen for `reason`.
    pub fn retries(&self, reason: RetryReason) -> usize {
        self.seen()
            .iter()
            .filter(|s| matches!(s, Seen::Retried(_, r) if *r == reason))
            .count()
    }

    /// Outcomes of finished requests to `endpoint`, in order.
    pub fn outcomes(&self, endpoint: Endpoint) -> Vec<String> {
        self.seen()
            .iter()
            .filter_map(|s| match s {
                Seen::Finished(e, o) if *e == endpoint => Some(o.clone()),
                _ => None,
            })
            .collect()
    }
}

impl ApiObserver for Recorder {
    fn request_finished(&self, endpoint: Endpoint, outcome: &str, _elapsed: Duration) {
        self.0
            .lock()
            .expect("recorder")
            .push(Seen::Finished(endpoint, outcome.to_string()));
    }
    fn retried(&self, endpoint: Endpoint, reason: RetryReason) {
        self.0
            .lock()
            .expect("recorder")
            .push(Seen::Retried(endpoint, reason));
    }
    fn throttled(&self, endpoint: Endpoint, _wait: Duration) {
        self.0
            .lock()
            .expect("recorder")
            .push(Seen::Throttled(endpoint));
    }
}

/// Serves `router` on a free loopback port; returns its base URL.
pub async fn serve_stub(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// A free loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

/// A `MakeWriter` collecting tracing output in memory.
#[derive(Debug, Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Runs the real binary with `args` and extra `env` (every inherited
/// `GENESYS_*` variable removed), killing it after `limit`.
pub fn run_binary(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_genesys_exporter"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("GENESYS_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("binary starts");
    // Drain both pipes on their own threads so a large report cannot block the child.
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err.join().unwrap_or_default();
            panic!(
                "binary did not finish within {limit:?}; stderr: {}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// Runs the binary on a blocking thread so the simulator keeps serving.
pub async fn run_binary_async(args: Vec<String>, env: Vec<(String, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_binary(&args, &env, Duration::from_secs(120))
    })
    .await
    .expect("binary thread")
}

/// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) into rows.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Independent ground truth for one queue × media type over `[from, to)`,
/// computed from the simulator's conversation events (API notes §3).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Truth {
    /// Count of events per metric name.
    pub counts: BTreeMap<&'static str, u64>,
    /// Sum of durations per metric name, ms.
    pub sums: BTreeMap<&'static str, i64>,
}

impl Truth {
    /// Folds every event emitted in `[from, to)` of the model's conversations.
    pub fn compute(
        model: &genesys_exporter::simulator::OrgModel,
        queue_id: &str,
        media: &str,
        from: i64,
        to: i64,
    ) -> Truth {
        let mut t = Truth::default();
        for conv in model.conversations(queue_id, media, from, to) {
            for e in conv.events() {
                if e.at_ms >= from && e.at_ms < to {
                    *t.counts.entry(e.metric).or_default() += 1;
                    *t.sums.entry(e.metric).or_default() += e.value_ms.unwrap_or(0);
                }
            }
        }
        t
    }

    /// Events of `metric`.
    pub fn count(&self, metric: &str) -> u64 {
        self.counts.get(metric).copied().unwrap_or(0)
    }

    /// Mean of `metric` in seconds, `None` without events.
    pub fn mean_seconds(&self, metric: &str) -> Option<f64> {
        let n = self.count(metric);
        let sum = self.sums.get(metric).copied().unwrap_or(0);
        (n > 0).then(|| (sum as f64 / 1000.0) / n as f64)
    }

    /// Service level per §3.2 with the org's options.
    pub fn service_level(&self, o: &genesys_exporter::simulator::SlOptions) -> Option<f64> {
        let answered = self.count("tAnswered") as f64;
        let num = answered - self.count("nOverSla") as f64;
        let mut den = answered;
        if o.include_abandons {
            den += self.count("tAbandon") as f64;
            if !o.include_short_abandons {
                den -= self.count("tShortAbandon") as f64;
            }
        }
        if o.include_flowouts {
            den += self.count("tFlowOut") as f64;
        }
        (den > 0.0).then(|| num / den)
    }

    /// True when nothing at all was emitted.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

/// A scalar of a report JSON row, with numbers parsed exactly (Rust's
/// correctly rounded parser; serde_json's default one may be 1 ulp off).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A string.
    Str(String),
    /// A number.
    Num(f64),
    /// `null`.
    Null,
}

impl Scalar {
    /// The number, if this is one.
    pub fn num(&self) -> Option<f64> {
        match self {
            Scalar::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn str(&self) -> &str {
        match self {
            Scalar::Str(s) => s,
            _ => "",
        }
    }
}

/// Parses a JSON array of flat objects (the report's JSON format) into rows,
/// keeping every number exact. Panics on anything else.
pub fn parse_json_rows(text: &str) -> Vec<BTreeMap<String, Scalar>> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < bytes.len() && bytes[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    let expect = |i: &mut usize, c: u8| {
        skip_ws(i);
        assert_eq!(
            bytes.get(*i),
            Some(&c),
            "expected {:?} at {}",
            c as char,
            *i
        );
        *i += 1;
    };
    let string = |i: &mut usize| -> String {
        skip_ws(i);
        let start = *i;
        assert_eq!(bytes[*i], b'"');
        *i += 1;
        while bytes[*i] != b'"' {
            *i += if bytes[*i] == b'\\' { 2 } else { 1 };
        }
        *i += 1;
        serde_json::from_str(&text[start..*i]).expect("JSON string")
    };
    let mut rows = Vec::new();
    expect(&mut i, b'[');
    skip_ws(&mut i);
    if bytes[i] == b']' {
        return rows;
    }
    loop {
        expect(&mut i, b'{');
        let mut row = BTreeMap::new();
        loop {
            let key = string(&mut i);
            expect(&mut i, b':');
            skip_ws(&mut i);
            let value = match bytes[i] {
                b'"' => Scalar::Str(string(&mut i)),
                b'n' => {
                    assert_eq!(&text[i..i + 4], "null");
                    i += 4;
                    Scalar::Null
                }
                _ => {
                    let start = i;
                    while i < bytes.len()
                        && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                    {
                        i += 1;
                    }
                    Scalar::Num(text[start..i].parse().expect("number"))
                }
            };
            assert!(row.insert(key, value).is_none(), "duplicate key");
            skip_ws(&mut i);
            match bytes[i] {
                b',' => i += 1,
                b'}' => {
                    i += 1;
                    break;
                }
                other => panic!("unexpected {:?}", other as char),
            }
        }
        rows.push(row);
        skip_ws(&mut i);
        match bytes[i] {
            b',' => i += 1,
            b']' => return rows,
            other => panic!("unexpected {:?}", other as char),
        }
    }
}

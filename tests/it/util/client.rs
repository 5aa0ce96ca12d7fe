//! Helpers for the client and report tests: client configurations for the
//! simulator, a recording observer, tiny stub servers, captured tracing
//! output, and running the real binary with a bound.

use std::io::{Read, Write};
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use std::time::{Duration, Instant};
use tracing_subscriber::layer::SubscriberExt as _;

use genesys_exporter::genesys::{ApiObserver, ClientConfig, Endpoint, RetryReason};
use genesys_exporter::secret::Secret;

/// The simulator's demo credentials (its defaults).
pub const DEMO_ID: &str = "demo-client";
/// The simulator's demo secret.
pub const DEMO_SECRET: &str = "demo-secret";

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

/// Whether the global subscriber of [`global_trace_logs`] records events now.
static RECORDING: AtomicBool = AtomicBool::new(false);

/// Trace-level log capture; recording stops when it is dropped, so the other
/// tests of the binary run without it.
#[derive(Debug)]
pub struct TraceCapture(LogBuffer);

impl TraceCapture {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        self.0.text()
    }
}

impl Drop for TraceCapture {
    fn drop(&mut self) {
        RECORDING.store(false, Ordering::SeqCst);
    }
}

/// Installs (once per test binary) a global subscriber that records every
/// event of the client, reqwest and hyper at trace level while the returned
/// capture lives. Global rather than per-test, so that no thread's cached
/// callsite interest can hide an event.
pub fn global_trace_logs() -> TraceCapture {
    static LOGS: std::sync::OnceLock<LogBuffer> = std::sync::OnceLock::new();
    let logs = LOGS
        .get_or_init(|| {
            let logs = LogBuffer::default();
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    "trace,genesys_exporter::simulator=off",
                ))
                .with_writer(logs.clone())
                .with_ansi(false)
                .finish()
                .with(tracing_subscriber::filter::filter_fn(|_| {
                    RECORDING.load(Ordering::SeqCst)
                }));
            tracing::subscriber::set_global_default(subscriber).expect("first global subscriber");
            logs
        })
        .clone();
    RECORDING.store(true, Ordering::SeqCst);
    TraceCapture(logs)
}

/// Runs the real binary with `args` and extra `env` (every inherited
/// `GENESYS_*` variable removed), killing it after `limit`.
pub fn run_binary(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut cmd = super::exporter::binary();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
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

//! The real binary: SIGTERM handling, `check-config` exit codes (offline and
//! online against the simulator), `--version` and several listen addresses.

use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use crate::util::exporter::*;
use genesys_exporter::simulator::{SimConfig, SimEndpoint};

const UP_TIMEOUT: Duration = Duration::from_secs(90);

fn check_config(args: &[&str], secret: Option<&str>) -> Output {
    let mut cmd = binary();
    cmd.arg("check-config").args(args);
    if let Some(s) = secret {
        cmd.env("GENESYS_CLIENT_SECRET", s);
    }
    cmd.output().expect("binary runs")
}

/// The real binary in --demo mode serves data, then exits 0 soon after SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_exits_cleanly_on_sigterm() {
    let mut cmd = binary();
    cmd.args([
        "--demo",
        "--web.listen-address",
        "127.0.0.1:0",
        "--poll.interval",
        "5s",
    ]);
    let (mut child, base) = spawn_listening(cmd);
    wait_for_up(&base, 1.0, UP_TIMEOUT).await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("did not exit within 20s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exit.success(), "exit status {exit:?}");
}

/// Bad flags exit 2 with one line per problem naming the flag; good flags exit 0.
#[test]
fn check_config_offline() {
    let out = check_config(
        &[
            "--window",
            "5x",
            "--poll.interval",
            "0.5s",
            "--time-zone",
            "Nowhere/Land",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    for flag in [
        "--window",
        "--poll.interval",
        "--time-zone",
        "--genesys.client-id",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(flag)),
            "{flag} not named in {stderr}"
        );
    }
    let ok = check_config(&["--genesys.client-id", "abc"], Some("s3cret-value"));
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(!all.contains("s3cret-value"), "secret printed");
}

/// --online requests exactly one token and one page of queues, and reports
/// refused credentials as one line with exit code 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_online() {
    let sim = start_roomy_sim(SimConfig {
        queues: 250,
        ..SimConfig::default()
    })
    .await;
    let control = sim.control();
    let base = sim.base_url();
    let d = SimConfig::default();
    let flags = [
        "--online",
        "--genesys.api-url",
        &base,
        "--genesys.client-id",
        &d.client_id,
        "--api.page-size",
        "100",
    ];
    let (flags2, secret) = (flags.map(String::from), d.client_secret.clone());
    let out = tokio::task::spawn_blocking(move || {
        let flags: Vec<&str> = flags2.iter().map(String::as_str).collect();
        check_config(&flags, Some(&secret))
    })
    .await
    .expect("join");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(control.request_count(SimEndpoint::Token), 1);
    assert_eq!(
        control.request_count(SimEndpoint::Queues),
        1,
        "one page of three"
    );

    let flags2 = flags.map(String::from);
    let bad = tokio::task::spawn_blocking(move || {
        let flags: Vec<&str> = flags2.iter().map(String::as_str).collect();
        check_config(&flags, Some("wrong-secret"))
    })
    .await
    .expect("join");
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("wrong-secret"));
    sim.shutdown().await;
}

/// `--version` prints the Prometheus exporters' layout: name, package version,
/// branch and revision, then build user, build date, rustc and platform, each
/// matching what the build machine reports independently.
#[test]
fn version_in_prometheus_layout() {
    let out = binary().arg("--version").output().expect("binary runs");
    assert!(out.status.success(), "exit {:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");

    let head = format!(
        "genesys_exporter, version {} (branch: ",
        env!("CARGO_PKG_VERSION")
    );
    let rest = lines[0]
        .strip_prefix(&head)
        .unwrap_or_else(|| panic!("{text}"));
    let (branch, revision) = rest
        .strip_suffix(')')
        .and_then(|r| r.split_once(", revision: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(!branch.is_empty() && !revision.is_empty(), "{text}");
    if std::env::var_os("GENESYS_EXPORTER_REVISION").is_none() {
        let git = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output();
        match git {
            Ok(g) if g.status.success() => {
                let full = String::from_utf8_lossy(&g.stdout);
                assert!(
                    full.trim().starts_with(revision),
                    "revision {revision} is not HEAD {full}"
                );
            }
            _ => assert_eq!(revision, "unknown", "no git, so no revision"),
        }
    }

    let field = |line: &str, name: &str| -> String {
        line.strip_prefix(&format!("  {name}:"))
            .unwrap_or_else(|| panic!("{name:?} missing in {line:?}"))
            .trim()
            .to_owned()
    };
    assert!(field(lines[1], "build user").contains('@'), "{text}");
    let date = field(lines[2], "build date");
    let digits = date.replace(['-', ':'], "");
    assert!(
        date == "unknown"
            || (date.len() == 17
                && digits.len() == 14
                && digits.bytes().all(|b| b.is_ascii_digit())
                && &date[8..9] == "-"),
        "build date {date:?} is not YYYYMMDD-HH:MM:SS"
    );
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .expect("rustc runs");
    let rustc = String::from_utf8_lossy(&rustc.stdout);
    let rustc_release = rustc.split_whitespace().nth(1).expect("rustc version");
    assert_eq!(
        field(lines[3], "rustc version"),
        format!("rustc {rustc_release}")
    );
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    assert_eq!(
        field(lines[4], "platform"),
        format!("{}/{arch}", std::env::consts::OS)
    );
}

/// A started binary, killed and reaped if a test fails before stopping it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Running {
    /// Sends SIGTERM and waits (at most 20 s) for a successful exit.
    async fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let exit = loop {
            if let Some(exit) = self.0.try_wait().expect("wait") {
                break exit;
            }
            assert!(Instant::now() < deadline, "no exit within 20s of SIGTERM");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(exit.success(), "exit status {exit:?}");
    }
}

/// Spawns `cmd` and collects the base URLs of its first `count` `listening
/// on …` lines (at most 60 s).
fn spawn_listening_on(cmd: Command, count: usize) -> (Running, Vec<String>) {
    let (child, bases) = spawn_listening_n(cmd, count);
    (Running(child), bases)
}

/// Scrapes every base until each shows genesys_up 1, and checks they all
/// export the same, non-empty queue set (one process behind every address).
async fn all_serve_metrics(bases: &[String]) {
    let mut queue_sets = Vec::new();
    for base in bases {
        let samples = wait_for_up(base, 1.0, UP_TIMEOUT).await;
        let mut queues: Vec<String> = named(&samples, "genesys_queue_info")
            .iter()
            .map(|s| s.label("queue_id").to_owned())
            .collect();
        queues.sort();
        assert!(!queues.is_empty(), "no queues on {base}");
        queue_sets.push(queues);
    }
    assert!(
        queue_sets.windows(2).all(|w| w[0] == w[1]),
        "addresses export different queues"
    );
}

/// `--web.listen-address` given twice, and its variable holding two
/// comma-separated addresses, each make the binary listen on both addresses,
/// print both, and serve /metrics on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_listen_addresses_all_serve_metrics() {
    let mut flags = binary();
    flags.args([
        "--demo",
        "--web.listen-address",
        "127.0.0.1:0",
        "--web.listen-address",
        "127.0.0.1:0",
    ]);
    let (running, bases) = spawn_listening_on(flags, 2);
    assert_ne!(bases[0], bases[1], "two distinct sockets");
    all_serve_metrics(&bases).await;
    running.stop().await;

    let mut env = binary();
    env.arg("--demo").env(
        "GENESYS_EXPORTER_WEB_LISTEN_ADDRESS",
        "127.0.0.1:0,127.0.0.1:0",
    );
    let (running, bases) = spawn_listening_on(env, 2);
    assert_ne!(bases[0], bases[1], "two distinct sockets");
    all_serve_metrics(&bases).await;
    running.stop().await;
}

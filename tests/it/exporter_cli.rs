//! The real binary: SIGTERM handling and `check-config` exit codes, offline
//! and online against the simulator.

use std::process::{Command, Output};
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

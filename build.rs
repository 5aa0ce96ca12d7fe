//! Build script: records what `--version` and `genesys_exporter_build_info`
//! print: the source revision and branch, the build user and date, the
//! compiler version and the target platform.
//!
//! Each value has an override variable (`GENESYS_EXPORTER_REVISION`,
//! `GENESYS_EXPORTER_BRANCH`, `GENESYS_EXPORTER_BUILD_USER`,
//! `GENESYS_EXPORTER_BUILD_DATE`; `SOURCE_DATE_EPOCH` for reproducible dates)
//! for builds without a git checkout, e.g. container images or source
//! tarballs. A value that cannot be found is `unknown`; the build never fails
//! for want of one.

use std::env;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for var in [
        "GENESYS_EXPORTER_REVISION",
        "GENESYS_EXPORTER_BRANCH",
        "GENESYS_EXPORTER_BUILD_USER",
        "GENESYS_EXPORTER_BUILD_DATE",
        "SOURCE_DATE_EPOCH",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let (Some(common), Some(head)) = (
            git(&["rev-parse", "--git-common-dir"]),
            git(&["symbolic-ref", "-q", "HEAD"]),
        ) {
            // A packed ref has no file of its own; a missing path would
            // rerun this script (and rebuild the crate) on every build.
            let loose = format!("{common}/{head}");
            if std::path::Path::new(&loose).exists() {
                println!("cargo:rerun-if-changed={loose}");
            } else {
                println!("cargo:rerun-if-changed={common}/packed-refs");
            }
        }
    }
    let revision = overridden("GENESYS_EXPORTER_REVISION")
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(unknown);
    let branch = overridden("GENESYS_EXPORTER_BRANCH")
        .or_else(|| git(&["symbolic-ref", "-q", "--short", "HEAD"]))
        .unwrap_or_else(unknown);
    let user = overridden("GENESYS_EXPORTER_BUILD_USER").unwrap_or_else(build_user);
    let date = overridden("GENESYS_EXPORTER_BUILD_DATE").unwrap_or_else(build_date);
    let rustc = env::var("RUSTC").unwrap_or_else(|_| String::from("rustc"));
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(unknown);
    let platform = format!(
        "{}/{}",
        env::var("CARGO_CFG_TARGET_OS").unwrap_or_else(|_| unknown()),
        go_arch(&env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| unknown())),
    );
    for (name, value) in [
        ("GENESYS_EXPORTER_REVISION", revision),
        ("GENESYS_EXPORTER_BRANCH", branch),
        ("GENESYS_EXPORTER_BUILD_USER", user),
        ("GENESYS_EXPORTER_BUILD_DATE", date),
        ("GENESYS_EXPORTER_RUSTC", rustc_version),
        ("GENESYS_EXPORTER_PLATFORM", platform),
    ] {
        println!("cargo:rustc-env={name}={}", one_line(&value));
    }
}

fn unknown() -> String {
    String::from("unknown")
}

/// A non-empty override from the environment.
fn overridden(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `user@host`, as Prometheus's own builds print it.
fn build_user() -> String {
    let user = overridden("USER")
        .or_else(|| overridden("LOGNAME"))
        .or_else(|| command("id", &["-un"]))
        .unwrap_or_else(unknown);
    let host = overridden("HOSTNAME")
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(unknown);
    format!("{user}@{host}")
}

/// The build time in UTC as `YYYYMMDD-HH:MM:SS` (Prometheus's format), from
/// `SOURCE_DATE_EPOCH` when set.
fn build_date() -> String {
    let secs = match overridden("SOURCE_DATE_EPOCH") {
        Some(epoch) => match epoch.trim().parse::<u64>() {
            Ok(s) => s,
            Err(_) => return unknown(),
        },
        None => match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs(),
            Err(_) => return unknown(),
        },
    };
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}-{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Rust's architecture names in the Go spelling Prometheus users know.
fn go_arch(arch: &str) -> String {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64",
        other => other,
    }
    .to_owned()
}

/// Keeps a value on one line so it cannot break the `cargo:` protocol.
fn one_line(value: &str) -> String {
    let line = value.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        unknown()
    } else {
        line.to_owned()
    }
}

fn git(args: &[&str]) -> Option<String> {
    command("git", args)
}

/// The trimmed standard output of a successful command, if not empty.
fn command(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

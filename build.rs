//! Build script: records the source revision and the compiler version for
//! `genesys_exporter_build_info`. `GENESYS_EXPORTER_REVISION` overrides the
//! revision (for builds without a git checkout, e.g. container images).

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GENESYS_EXPORTER_REVISION");
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let (Some(common), Some(head)) = (
            git(&["rev-parse", "--git-common-dir"]),
            git(&["symbolic-ref", "-q", "HEAD"]),
        ) {
            println!("cargo:rerun-if-changed={common}/{head}");
        }
    }
    let revision = env::var("GENESYS_EXPORTER_REVISION")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| String::from("unknown"));
    let rustc = env::var("RUSTC").unwrap_or_else(|_| String::from("rustc"));
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| String::from("unknown"));
    println!(
        "cargo:rustc-env=GENESYS_EXPORTER_REVISION={}",
        revision.trim()
    );
    println!("cargo:rustc-env=GENESYS_EXPORTER_RUSTC={rustc_version}");
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what a fresh Debian machine with
# only Rust lacks (Prometheus + promtool, Python tools), then runs formatting,
# lints, every Rust test, the rule tests and the live Prometheus checks.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi

step "installing system packages (prometheus, promtool, openssl)"
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq prometheus >/dev/null
fi
promtool --version | head -1
if ! command -v openssl >/dev/null 2>&1; then
  # Makes the test certificates of the TLS check.
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openssl >/dev/null
fi

if ! command -v python3 >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
fi

step "installing Python tools into .venv"
VENV=".venv"
if [ ! -x "$VENV/bin/python" ]; then
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    # Debian's system Python ships venv separately.
    rm -rf "$VENV"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv python3-pip >/dev/null
    python3 -m venv "$VENV"
  fi
fi
"$VENV/bin/pip" install -q --disable-pip-version-check -r scripts/requirements.txt
export PATH="$PWD/$VENV/bin:$PATH"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

step "cargo build (debug binary for script tests)"
cargo build --locked --bins

step "cargo test"
cargo test --locked --all-targets --no-fail-fast

for extra in scripts/test.d/*.sh; do
  [ -e "$extra" ] || continue
  step "$(basename "$extra")"
  bash "$extra"
done

step "all checks passed"

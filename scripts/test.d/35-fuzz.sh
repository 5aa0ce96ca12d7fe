#!/usr/bin/env bash
# A longer run of the property test over the API decoders and rendering
# (tests/it/hostile_values/fuzz.rs; `cargo test` runs 256 cases): FUZZ_CASES
# cases (default 10000), bounded by FUZZ_TIMEOUT seconds (default 600). Prints
# the executions, executions per second and how many bodies decoded.
set -euo pipefail
cd "$(dirname "$0")/../.."

cases="${FUZZ_CASES:-10000}"
limit="${FUZZ_TIMEOUT:-600}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

status=0
PROPTEST_CASES="$cases" timeout "$limit" \
  cargo test --locked --test it fuzz_ -- --nocapture >"$log" 2>&1 || status=$?
grep -E '^fuzz: |test result' "$log" || true
if [ "$status" = 124 ]; then
  echo "35-fuzz: $cases cases did not finish within ${limit}s" >&2
  exit 1
elif [ "$status" != 0 ]; then
  cat "$log" >&2
  exit "$status"
fi

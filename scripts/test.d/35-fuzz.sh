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

# The hostile-API scrapes (colliding names, negative and overflowing values)
# must also satisfy promtool's own text-format check.
scrapes="$(mktemp -d)"
trap 'rm -f "$log"; rm -rf "$scrapes"' EXIT
GENESYS_TEST_SCRAPES_DIR="$scrapes" cargo test --locked --test it hostile_values::api >"$log" 2>&1 || {
  cat "$log" >&2
  exit 1
}
count=0
for f in "$scrapes"/*.prom; do
  [ -e "$f" ] || continue
  count=$((count + 1))
  if ! report="$(promtool check metrics <"$f" 2>&1)" || [ -n "$report" ]; then
    echo "35-fuzz: promtool check metrics found problems in $(basename "$f"):" >&2
    echo "$report" >&2
    exit 1
  fi
done
if [ "$count" -lt 3 ]; then
  echo "35-fuzz: expected at least 3 hostile scrapes, got $count" >&2
  exit 1
fi
echo "promtool check metrics: all $count hostile-API scrapes have no problems"

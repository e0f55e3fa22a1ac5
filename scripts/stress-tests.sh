#!/usr/bin/env bash
# Runs the whole test suite RUNS times in a row while the machine is kept busy, to catch
# tests that pass only when they have the CPU to themselves (issue 15). The load is
# `stress-ng --cpu` when it is installed, else one busy shell loop per core. Stops at the first
# failing run and keeps its log.
# Usage: scripts/stress-tests.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cores=$(nproc)
logs=$(mktemp -d)

cargo test --workspace --no-run --quiet

load=()
if command -v stress-ng >/dev/null; then
  stress-ng --cpu "$cores" --quiet &
  load+=($!)
else
  for _ in $(seq "$cores"); do
    (while :; do :; done) &
    load+=($!)
  done
fi
trap 'kill "${load[@]}" 2>/dev/null || true' EXIT

for run in $(seq "$runs"); do
  start=$(date +%s)
  if cargo test --workspace --quiet >"$logs/run-$run.log" 2>&1; then
    echo "run $run/$runs: passed in $(($(date +%s) - start)) s under load of $cores busy cores"
  else
    echo "run $run/$runs: FAILED; log: $logs/run-$run.log" >&2
    grep -E "panicked|FAILED|failed" "$logs/run-$run.log" | head -20 >&2
    exit 1
  fi
done
echo "all $runs runs passed"

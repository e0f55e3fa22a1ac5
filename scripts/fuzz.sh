#!/usr/bin/env bash
# Builds the fuzz targets of fuzz/ with cargo-fuzz and runs each for SECONDS (issue 15).
# Fails when any target crashes, times out on an input, runs out of memory or a property
# fails; the input is kept in fuzz/artifacts/<target>/ and libFuzzer prints how to replay it.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (default 30 seconds, every target)
#
# cargo-fuzz needs nightly flags (-Z, sanitizer coverage passes): the machine has only stable
# Rust, so RUSTC_BOOTSTRAP=1 lets stable accept them. The targets are built without a
# sanitizer (`-s none`): the analyzer is safe Rust, the sanitizers' runtime needs a nightly
# std, and uninstrumented builds run several times as many inputs per second. Debug
# assertions (and so overflow checks) are on.
#
# The corpora are seeded at run time from the repository's own fixtures (never committed):
# fuzz/corpus/<target>/ keeps what libFuzzer adds across runs on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(check fix document project)

export RUSTC_BOOTSTRAP=1
# The instrumented build has flags of its own: keep it in fuzz/target, away from the
# workspace's build (which another CARGO_TARGET_DIR would mix it into).
unset CARGO_TARGET_DIR
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2

# The Python files and notebooks the tests use, as seeds for every target.
seed() {
  local corpus=fuzz/corpus/$1
  mkdir -p "$corpus"
  find analyzer/resources tests/fixtures examples \( -name '*.py' -o -name '*.ipynb' \) -type f |
    while read -r file; do
      cp "$file" "$corpus/seed-$(printf '%s' "$file" | cksum | cut -d' ' -f1)"
    done
}

mkdir -p target
(cd fuzz && cargo fuzz build -s none)

failed=()
for target in "${targets[@]}"; do
  seed "$target"
  echo "fuzzing $target for $seconds s"
  # -timeout: one input taking longer is a hang; -rss_limit_mb: memory that runs away.
  if ! (cd fuzz && cargo fuzz run -s none "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 2>"../target/fuzz-$target.log"); then
    failed+=("$target")
    # The panic (a property's message) and how to replay the input; not the input's bytes.
    grep -E -A2 'panicked at|^SUMMARY|deadly signal|out-of-memory|timeout' "target/fuzz-$target.log" |
      cut -c1-2000 >&2 || true
    grep -E -A2 '^Reproduce with|^Minimize test case' "target/fuzz-$target.log" >&2 || true
  fi
  grep -E '^stat::number_of_executed_units|^Done' "target/fuzz-$target.log" || true
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzzing: ${targets[*]} ran $seconds s each without a failure"

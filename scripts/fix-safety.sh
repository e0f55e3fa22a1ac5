#!/usr/bin/env bash
# Fix safety on real code: runs `aiolint check --fix --unsafe-fixes` on a copy of each project
# and verifies that changed files still compile, a second run changes nothing, unchanged files
# are byte-identical, permission bits are kept, and two runs at once corrupt nothing (see
# scripts/fix_safety.py for the checks).
#
#   scripts/fix-safety.sh [PROJECT_DIR...]     (default: every project under .corpus/src,
#                                               downloaded by bench/corpus.sh)
#
# The binary is $AIOLINT if set, else target/debug/aiolint (built here if needed; set
# AIOLINT=target/release/aiolint for the whole corpus, which is much faster). Exits with 1 on
# any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${AIOLINT:-}" ]; then
  cargo build --quiet --bin aiolint
  target=${CARGO_TARGET_DIR:-target}
  AIOLINT=$target/debug/aiolint
fi
if [ $# -eq 0 ]; then
  [ -d .corpus/src ] || { echo "fix-safety: no .corpus/src; run bench/corpus.sh or name the projects" >&2; exit 2; }
  set -- .corpus/src/*/
fi
exec python3 scripts/fix_safety.py --aiolint "$AIOLINT" "$@"

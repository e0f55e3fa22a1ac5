#!/usr/bin/env bash
# Per-rule, per-project finding counts of an aiolint binary over the real-project corpus.
#
#   scripts/real-world.sh BINARY [CORPUS_DIR] [OUT_DIR]
#
# CORPUS_DIR defaults to .corpus/src (one directory per project, see bench/fetch.py). With
# OUT_DIR, each project's JSON findings are kept there as PROJECT.json (to compare two runs).
# Prints a Markdown table: one row per rule, one column per project, and a total.
set -euo pipefail
binary=${1:?usage: scripts/real-world.sh BINARY [CORPUS_DIR] [OUT_DIR]}
corpus=${2:-.corpus/src}
out=${3:-$(mktemp -d)}
mkdir -p "$out"
for project in "$corpus"/*/; do
    name=$(basename "$project")
    # Exit code 1 means findings; only 2 is an error.
    "$binary" check --no-cache --exit-zero --output-format json "$project" >"$out/$name.json"
done
python3 - "$out" <<'PY'
import collections, json, pathlib, sys
counts = collections.defaultdict(collections.Counter)
projects = sorted(p.stem for p in pathlib.Path(sys.argv[1]).glob("*.json"))
for name in projects:
    for finding in json.loads((pathlib.Path(sys.argv[1]) / f"{name}.json").read_text()):
        counts[finding["code"]][name] += 1
print("| rule | " + " | ".join(projects) + " | total |")
print("|---" * (len(projects) + 2) + "|")
for code in sorted(counts):
    row = [str(counts[code][p] or "") for p in projects]
    print(f"| {code} | " + " | ".join(row) + f" | {sum(counts[code].values())} |")
PY

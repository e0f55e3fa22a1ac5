#!/usr/bin/env bash
# Regenerates docs/comparison.md: installs pinned Ruff, flake8 + flake8-async and mypy (PyPI)
# and pyright (npm) under $CARGO_TARGET_DIR/compare-tools (default target/), then runs
# scripts/compare_tools.py over aiolint's rule fixtures. Needs python3 (3.11+) and node.
# Not part of .ci/run: the tools' findings change with their releases, so the page says which
# versions it measured.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
tools=$target/compare-tools
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [ ! -x "$tools/venv/bin/mypy" ]; then
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet ruff==0.17.5 flake8==7.5.0 flake8-async==26.8.1 mypy==2.4.1
fi
if [ ! -f "$tools/npm/node_modules/pyright/index.js" ]; then
  mkdir -p "$tools/npm"
  (cd "$tools/npm" && npm install --no-audit --no-fund --loglevel=error pyright@1.1.414)
fi
"$tools/venv/bin/python" scripts/compare_tools.py "$tools/venv/bin/ruff" "$tools/venv/bin/flake8" \
  "$tools/venv/bin/mypy" "$tools/npm/node_modules/pyright/index.js" > docs/comparison.md
echo "wrote docs/comparison.md"

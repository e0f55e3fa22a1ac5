#!/usr/bin/env bash
# Builds the sdist and, from it, the wheel into $CARGO_TARGET_DIR/wheels (default
# target/wheels) with a pinned maturin from PyPI, installed into a virtual environment of its
# own (kept between runs). `maturin build --sdist` compiles the wheel from the unpacked sdist,
# so a file missing from the sdist fails here.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac
export CARGO_TARGET_DIR=$target
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
maturin_version=1.16.0

tools=$target/packaging-tools
if [ "$("$tools/bin/maturin" --version 2>/dev/null)" != "maturin $maturin_version" ]; then
  rm -rf "$tools"
  python3 -m venv "$tools"
  timeout 600 "$tools/bin/pip" install --quiet "maturin==$maturin_version"
fi
"$tools/bin/maturin" --version
rm -rf "$target/wheels"
timeout 2400 "$tools/bin/maturin" build --release --sdist --out "$target/wheels"
ls -l "$target/wheels"

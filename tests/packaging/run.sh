#!/usr/bin/env bash
# The Python package's tests, run by .ci/run after `cargo test --workspace`:
#   1-2. builds the sdist and, from it, the wheel with a pinned maturin (tests/packaging/build.sh),
#   3. installs the wheel into a fresh virtual environment (no index: only that file) and runs
#      `aiolint --version`, `python -m aiolint --version` and `aiolint check examples/` from there,
#   4. installs the sdist with pip into another fresh virtual environment (a PEP 517 build:
#      pip fetches the build backend, maturin compiles with cargo) and runs `aiolint --version`,
#   5. runs the `language: python` pre-commit hooks of pre-commit-mirror/ with a pinned
#      pre-commit and no cargo on PATH (tests/packaging/pre_commit_test.sh).
# The wheel and the sdist are left in $target/wheels/ (the editor tests install the wheel).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac
export CARGO_TARGET_DIR=$target
wheels=$target/wheels
work=$target/packaging-test
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

step() { printf '\n== packaging: %s (%ss)\n' "$1" "$SECONDS"; }
fail() { echo "packaging: FAILED: $*" >&2; exit 1; }

# The version, from the one place it is set: [workspace.package] in Cargo.toml.
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$version" ] || fail "no version in [workspace.package] of Cargo.toml"
echo "workspace version: $version"

step "build the sdist and the wheel"
tests/packaging/build.sh
rm -rf "$work"
mkdir -p "$work"
shopt -s nullglob
wheel=("$wheels"/aiolint-"$version"-*.whl)
sdist=("$wheels"/aiolint-"$version".tar.gz)
shopt -u nullglob
[ ${#wheel[@]} = 1 ] || fail "expected one aiolint-$version wheel in $wheels: $(ls "$wheels")"
[ ${#sdist[@]} = 1 ] || fail "expected the sdist aiolint-$version.tar.gz in $wheels: $(ls "$wheels")"

# Checks an environment's aiolint: on its PATH, the workspace version, `python -m aiolint`,
# and the example app's findings.
check_env() {
  local env=$1
  (
    export PATH="$env/bin:/usr/bin:/bin"
    found=$(command -v aiolint) || fail "aiolint is not on PATH in $env"
    [ "$found" = "$env/bin/aiolint" ] || fail "aiolint on PATH is $found, not $env/bin/aiolint"
    printf '%s: ' "$found"
    out=$(aiolint --version)
    echo "$out"
    [ "$out" = "aiolint $version" ] || fail "aiolint --version printed '$out', expected 'aiolint $version'"
    out=$(python -m aiolint --version)
    [ "$out" = "aiolint $version" ] || fail "python -m aiolint --version printed '$out'"
    rc=0
    (cd "$root" && aiolint check --output-format concise examples/) >"$work/check.txt" || rc=$?
    cat "$work/check.txt"
    [ "$rc" = 1 ] || fail "aiolint check examples/ exited $rc, expected 1 (findings)"
    for expected in "examples/weather/client.py:29:17: AIO200" "examples/weather/main.py:15:5: AIO300" \
      "examples/weather/service.py:24:9: AIO202"; do
      grep -qF "$expected" "$work/check.txt" || fail "aiolint check examples/ did not report $expected"
    done
  )
}

step "install the wheel into a fresh virtual environment"
python3 -m venv "$work/wheel-env"
timeout 300 "$work/wheel-env/bin/pip" install --quiet --no-index "${wheel[0]}"
check_env "$work/wheel-env"

step "pip install the sdist (builds with cargo)"
python3 -m venv "$work/sdist-env"
timeout 2400 "$work/sdist-env/bin/pip" install --quiet "${sdist[0]}"
check_env "$work/sdist-env"

step "pre-commit hooks (language: python)"
timeout 1200 tests/packaging/pre_commit_test.sh "${wheel[0]}"

step "done"
echo "packaging: the wheel and the sdist install and run, the pre-commit hooks pass"

#!/usr/bin/env bash
# Runs the `language: python` hooks of pre-commit-mirror/ with a pinned pre-commit, as a user's
# repository would, with no cargo on PATH and pip limited to the given aiolint wheel (and the
# setuptools that builds the hook repository): the hooks must install that wheel, find the
# asyncio pitfall in a staged file, and `aiolint-fix` must fix it.
#   tests/packaging/pre_commit_test.sh target/wheels/aiolint-VERSION-....whl
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
wheel=$(realpath "$1")
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac
pre_commit_version=4.7.0
setuptools_version=84.2.1
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
fail() { echo "pre-commit test: FAILED: $*" >&2; exit 1; }

tools=$target/pre-commit-tools
if [ "$("$tools/bin/pre-commit" --version 2>/dev/null)" != "pre-commit $pre_commit_version" ]; then
  rm -rf "$tools"
  python3 -m venv "$tools"
  timeout 600 "$tools/bin/pip" install --quiet "pre-commit==$pre_commit_version"
fi
"$tools/bin/pre-commit" --version

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/wheelhouse"
cp "$wheel" "$work/wheelhouse/"
timeout 300 "$tools/bin/pip" download --quiet --no-deps -d "$work/wheelhouse" "setuptools==$setuptools_version"

git_commit() {
  git -C "$1" -c user.name=test -c user.email=test@example.invalid -c commit.gpgsign=false \
    commit --quiet -m "$2"
}

# The hook repository: the mirror template, as its own git repository.
cp -r pre-commit-mirror "$work/hooks"
git -C "$work/hooks" init --quiet
git -C "$work/hooks" add -A
git_commit "$work/hooks" "hooks"
rev=$(git -C "$work/hooks" rev-parse HEAD)

# A user's repository with one staged file that blocks the event loop.
project=$work/project
mkdir "$project"
git -C "$project" init --quiet
cat > "$project/.pre-commit-config.yaml" <<YAML
repos:
  - repo: $work/hooks
    rev: $rev
    hooks:
      - id: aiolint
      - id: aiolint-fix
        stages: [manual]
YAML
cat > "$project/app.py" <<'PY'
import time


async def poll():
    time.sleep(1)
PY
git -C "$project" add -A

# No cargo (nor rustc) on PATH; pip sees only the wheelhouse.
run() {
  (
    cd "$project"
    env -u CARGO_HOME -u RUSTUP_HOME PATH="$tools/bin:/usr/bin:/bin" PIP_NO_INDEX=1 \
      PIP_FIND_LINKS="$work/wheelhouse" PRE_COMMIT_HOME="$work/cache" \
      "$tools/bin/pre-commit" "$@"
  )
}
if env PATH=/usr/bin:/bin sh -c 'command -v cargo || command -v rustc' >/dev/null; then
  fail "cargo or rustc is in /usr/bin or /bin: the test could not tell that the hooks need no Rust"
fi

rc=0
run run aiolint --all-files >"$work/out.txt" 2>&1 || rc=$?
cat "$work/out.txt"
[ "$rc" = 1 ] || fail "the aiolint hook exited $rc, expected 1 (a finding)"
grep -q "app.py:5:5: AIO200" "$work/out.txt" || fail "the aiolint hook did not report AIO200 in app.py"
installed=$(find "$work/cache" -path '*/bin/aiolint' -type f | head -n 1)
[ -n "$installed" ] || fail "no aiolint executable in pre-commit's environments"
"$installed" --version

rc=0
run run aiolint-fix --hook-stage manual --all-files >"$work/out.txt" 2>&1 || rc=$?
cat "$work/out.txt"
[ "$rc" = 1 ] || fail "the aiolint-fix hook exited $rc, expected 1 (files were modified)"
grep -q "await asyncio.sleep(1)" "$project/app.py" || fail "aiolint-fix did not fix app.py: $(cat "$project/app.py")"

git -C "$project" add -A
run run aiolint --all-files || fail "the aiolint hook still fails after the fix"
echo "pre-commit test: the language: python hooks installed the wheel without cargo, reported and fixed AIO200"

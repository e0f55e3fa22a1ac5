#!/usr/bin/env bash
# The editor tests, run by .ci/run after `cargo test --workspace`:
#   1. installs what they need (Debian: neovim, chromium, ripgrep and the headers code-server's
#      native modules build against; npm: the extension's and the test's locked dependencies),
#   2. builds aiolint and the VS Code extension, and packages the extension to a .vsix; takes
#      the aiolint wheel from $AIOLINT_WHEEL (.ci/run sets it to the one tests/packaging/run.sh
#      built), else builds one with tests/packaging/build.sh,
#   3. runs tests/editors/neovim_test.lua in headless Neovim,
#   4. installs the .vsix into code-server and runs tests/editors/vscode/vscode_test.mjs.
# Artifacts (the .vsix, screenshots) go to target/editor-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac
artifacts=$target/editor-artifacts
mkdir -p "$artifacts"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
# Native modules (keytar, node-pty, spdlog, ...) build against the installed Node's headers;
# node-gyp would otherwise try to download them, which cannot work here.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
  export npm_config_nodedir=/usr
fi

step() { printf '\n== editors: %s (%ss)\n' "$1" "$SECONDS"; }

step "system packages"
packages=(neovim chromium ripgrep libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev g++ make python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  timeout 600 $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 1200 $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
node --version
nvim --version | head -1
chromium --version

step "build aiolint"
timeout 1800 cargo build --quiet
aiolint=$target/debug/aiolint
"$aiolint" --version

step "the aiolint wheel"
wheel=${AIOLINT_WHEEL:-}
if [ -z "$wheel" ]; then
  tests/packaging/build.sh
  wheel=$(ls "$target"/wheels/aiolint-*.whl | head -n 1)
fi
[ -f "$wheel" ] || { echo "no aiolint wheel at '$wheel'" >&2; exit 1; }
echo "$wheel"

step "build and package the VS Code extension"
(
  cd editors/vscode
  timeout 600 npm ci --no-audit --no-fund --loglevel=error
  timeout 300 npm run build --silent
  rm -f aiolint.vsix
  timeout 300 npm run package --silent
)
cp editors/vscode/aiolint.vsix "$artifacts/aiolint.vsix"

passed=0
failed=0
record() {
  if [ "$2" = 0 ]; then
    passed=$((passed + 1)); echo "editor test $1: ok"
  else
    failed=$((failed + 1)); echo "editor test $1: FAILED (exit $2)"
  fi
}

step "Neovim test"
rc=0
AIOLINT_BIN=$aiolint timeout 300 nvim --headless --clean -c "luafile tests/editors/neovim_test.lua" </dev/null || rc=$?
record neovim "$rc"

step "VS Code test: set up code-server"
rc=0
timeout 2400 tests/editors/vscode/setup-code-server.sh || rc=$?
if [ "$rc" = 0 ]; then
  step "VS Code test"
  timeout 900 node tests/editors/vscode/vscode_test.mjs --vsix "$artifacts/aiolint.vsix" \
    --aiolint "$aiolint" --wheel "$wheel" --artifacts "$artifacts" </dev/null || rc=$?
fi
record vscode "$rc"

step "done"
echo "editors: $passed passed, $failed failed"
[ "$failed" = 0 ]

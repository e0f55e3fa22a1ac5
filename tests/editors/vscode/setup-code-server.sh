#!/usr/bin/env bash
# Installs code-server (a real VS Code, from the npm registry) and playwright-core into
# tests/editors/vscode/node_modules, without any download outside the npm registry.
#
# code-server's own postinstall runs `npm install` in lib/vscode, where @vscode/ripgrep's
# postinstall downloads a ripgrep binary from GitHub, which cannot work here. So the install
# runs with --ignore-scripts and this script does what the postinstall would, with Debian's
# /usr/bin/rg in place of the download: native modules are rebuilt from source (node-gyp,
# headers from nodedir), and @vscode/ripgrep finds its bin/ folder already there and skips.
#
# Needs: node 20, npm, a C++ toolchain, python3, Debian's libkrb5-dev libx11-dev
# libxkbfile-dev libsecret-1-dev ripgrep. Idempotent: a finished install is kept.
set -euo pipefail
self=$(realpath "$0")
cd "$(dirname "$self")"

export npm_config_yes=true         # node-pty's post-install runs `npx node-gyp`
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
# Native modules (keytar, node-pty, spdlog, ...) build against the installed Node's headers;
# node-gyp would otherwise try to download them, which cannot work here.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
  export npm_config_nodedir=/usr
fi

major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" = 20 ] || { echo "code-server 4.100 needs node 20, found $(node --version)" >&2; exit 1; }
command -v rg >/dev/null || { echo "ripgrep (rg) is required" >&2; exit 1; }

stamp=node_modules/.aiolint-setup-done
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(sha256sum package-lock.json "$self" | sha256sum)" ]; then
  echo "code-server already set up"
  exit 0
fi
rm -f "$stamp"

timeout 900 npm ci --ignore-scripts
# code-server's own native dependency (password hashing; loaded at start-up).
timeout 900 npm rebuild argon2

vscode=node_modules/code-server/lib/vscode
(
  cd "$vscode"
  timeout 900 npm install --omit=dev --ignore-scripts
  mkdir -p node_modules/@vscode/ripgrep/bin
  ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
  timeout 1200 npm rebuild
  # The rest of code-server's postinstall.sh.
  rm -rf node_modules.asar && ln -s node_modules node_modules.asar
  (cd bin/remote-cli && ln -sf code-linux.sh code-server)
  (cd bin/helpers && ln -sf browser-linux.sh browser.sh)
  cd extensions
  timeout 900 npm install --omit=dev
)
test -f "$vscode/node_modules/@vscode/spdlog/build/Release/spdlog.node" || { echo "spdlog was not built" >&2; exit 1; }
timeout 60 node_modules/.bin/code-server --version
sha256sum package-lock.json "$self" | sha256sum > "$stamp"

#!/usr/bin/env bash
# Downloads the pinned corpus of real async projects (sdists from PyPI, `.py` files only) into
# `.corpus/` (ignored by git) and a pinned Ruff into `.corpus/venv`. Idempotent: what is
# already there is kept. Then builds aiolint (release) and prints the side-by-side table of
# bench/compare.py: cold, warm, one file changed, against Ruff and the parser's floor.
# Usage: bench/corpus.sh [RUNS]   (default 5 paired runs per scenario)
set -euo pipefail
cd "$(dirname "$0")/.."
root=.corpus
mkdir -p "$root/sdists" "$root/src"

# name==version, one per line: the 16 projects of the speed benchmark (issue 12).
projects=(
  homeassistant==2026.11.0 aiohttp==3.14.5 httpx==0.28.1 starlette==1.10.0
  fastapi==0.163.2 uvicorn==0.54.0 asyncpg==0.32.0 anyio==4.16.0 aiofiles==25.1.0
  redis==8.1.0 aiogram==3.31.0 discord.py==2.7.1 motor==3.7.1 websockets==17.4
  aiokafka==0.14.0 telethon==1.45.0
)
ruff_version=0.17.5

for spec in "${projects[@]}"; do
  name=${spec%%==*}
  dest="$root/src/$name"
  [ -d "$dest" ] && continue
  tmp=$(mktemp -d)
  # The sdist straight from PyPI's simple index (JSON form): `pip download --no-binary` would
  # build metadata (and Cython, for asyncpg) first.
  python3 - "$spec" "$tmp" <<'PY' || { echo "cannot download $spec" >&2; exit 1; }
import json, re, sys, urllib.request
name, version = sys.argv[1].split("==")
normalized = re.sub(r"[-_.]+", "-", name).lower()
request = urllib.request.Request(
    f"https://pypi.org/simple/{normalized}/",
    headers={"Accept": "application/vnd.pypi.simple.v1+json"},
)
with urllib.request.urlopen(request) as response:
    files = json.load(response)["files"]
stem = re.compile(rf"^{re.sub(r'[-_.]+', '[-_.]', name)}-{re.escape(version)}\.(tar\.gz|zip)$", re.I)
sdist = next(f for f in files if stem.match(f["filename"]))
urllib.request.urlretrieve(sdist["url"], f"{sys.argv[2]}/{sdist['filename']}")
PY
  archive=$(ls "$tmp"/* | head -n 1)
  # Keep only the Python sources.
  python3 - "$archive" "$dest.partial" <<'PY'
import os, sys, tarfile, zipfile
archive, dest = sys.argv[1], sys.argv[2]
def keep(name):
    return name.endswith(".py") and not name.startswith("/") and ".." not in name.split("/")
if archive.endswith(".zip"):
    with zipfile.ZipFile(archive) as z:
        for name in z.namelist():
            if keep(name):
                z.extract(name, dest)
else:
    with tarfile.open(archive) as t:
        members = [m for m in t.getmembers() if m.isfile() and keep(m.name)]
        t.extractall(dest, members=members, filter="data")
PY
  mv "$dest.partial" "$dest"
  rm -rf "$tmp"
  echo "fetched $spec"
done

if [ ! -x "$root/venv/bin/ruff" ]; then
  python3 -m venv "$root/venv"
  "$root/venv/bin/pip" install --quiet "ruff==$ruff_version"
fi
echo "corpus: $(find "$root/src" -type f -name '*.py' | wc -l) files, $(find "$root/src" -type f -name '*.py' -print0 | xargs -0 cat | wc -l) lines; $("$root/venv/bin/ruff" --version)"

runs=${1:-5}
cargo build --release --quiet
python3 bench/compare.py --root "$root/src" --aiolint target/release/aiolint \
  --ruff "$root/venv/bin/ruff" --runs "$runs" \
  --touch homeassistant/homeassistant-2026.11.0/homeassistant/helpers/entity.py

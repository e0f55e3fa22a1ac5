#!/usr/bin/env bash
# Downloads the pinned corpus of real async projects (sdists from PyPI, `.py` files only) into
# `.corpus/` (ignored by git) and a pinned Ruff into `.corpus/venv`. Idempotent: what is
# already there is kept. Then builds aiolint (release) and prints the side-by-side table of
# bench/compare.py: cold, warm, one file changed, against Ruff and the parser's floor.
# Usage: bench/corpus.sh [RUNS]   (default 5 paired runs per scenario)
set -euo pipefail
cd "$(dirname "$0")/.."
root=.corpus
mkdir -p "$root/src"

# name==version, one per line: the 16 projects of the speed benchmark (issue 12).
projects=(
  homeassistant==2026.11.0 aiohttp==3.14.5 httpx==0.28.1 starlette==1.10.0
  fastapi==0.163.2 uvicorn==0.54.0 asyncpg==0.32.0 anyio==4.16.0 aiofiles==25.1.0
  redis==8.1.0 aiogram==3.31.0 discord.py==2.7.1 motor==3.7.1 websockets==17.4
  aiokafka==0.14.0 telethon==1.45.0
)
ruff_version=0.17.5

for spec in "${projects[@]}"; do
  python3 bench/fetch.py "$spec" "$root/src/${spec%%==*}"
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

#!/usr/bin/env python3
"""Downloads the sdist of NAME==VERSION from PyPI's simple index (its JSON form) and keeps its
`.py` files under DEST (made only when complete). `pip download --no-binary` would build
metadata first (and Cython, for asyncpg). Usage: bench/fetch.py NAME==VERSION DEST"""

import io
import json
import os
import re
import shutil
import sys
import tarfile
import urllib.request
import zipfile


def main():
    spec, dest = sys.argv[1], sys.argv[2]
    if os.path.isdir(dest):
        return
    name, version = spec.split("==")
    normalized = re.sub(r"[-_.]+", "-", name).lower()
    request = urllib.request.Request(
        f"https://pypi.org/simple/{normalized}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(request) as response:
        files = json.load(response)["files"]
    stem = re.compile(rf"^{re.sub(r'[-_.]+', '[-_.]', name)}-{re.escape(version)}\.(tar\.gz|zip)$", re.I)
    sdist = next(f for f in files if stem.match(f["filename"]))
    with urllib.request.urlopen(sdist["url"]) as response:
        archive = io.BytesIO(response.read())

    def keep(member):
        return member.endswith(".py") and not member.startswith("/") and ".." not in member.split("/")

    partial = dest + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    if sdist["filename"].endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                if keep(member):
                    z.extract(member, partial)
    else:
        with tarfile.open(fileobj=archive) as t:
            members = [m for m in t.getmembers() if m.isfile() and keep(m.name)]
            t.extractall(partial, members=members, filter="data")
    os.rename(partial, dest)
    print(f"fetched {spec}")


if __name__ == "__main__":
    main()

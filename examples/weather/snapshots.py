"""Keeps a copy of the cache on disk so a restart starts warm."""

import json


def _write(path: str, payload: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(payload)


def save_snapshot(entries: dict, path: str = "forecasts.json") -> None:
    _write(path, json.dumps(entries))

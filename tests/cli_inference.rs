//! End-to-end tests of the inference of issue 13 through the built binary: missing awaits and
//! blocking calls found through collections, attributes, annotations and decorators defined in
//! other modules, and the cache invalidated when what another module says changes.

mod common;

use common::{aiolint, code, findings, project, stderr, stdout};

const PEERS: &str = "import asyncio
from pathlib import Path


class Peer:
    async def ping(self):
        return True


class Actor:
    inbox: \"asyncio.Queue[str]\"
    peers: list[Peer]

    def __init__(self, root: Path):
        self.state = root / \"state.json\"
";

const ASYNC_RETRY: &str = "import functools


def retry(times):
    def decorator(fn):
        @functools.wraps(fn)
        async def wrapper(*args, **kwargs):
            return await fn(*args, **kwargs)

        return wrapper

    return decorator
";

const APP: &str = "from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from mesh.util import retry

if TYPE_CHECKING:
    from mesh.peers import Actor, Peer


@retry(times=3)
async def flaky():
    return 1


class Mesh:
    peers: list[Peer]

    async def run(self, actor: Actor):
        for peer in self.peers:
            peer.ping()
        actor.inbox.put(\"x\")
        actor.state.read_text()
        flaky()
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect((\"example.org\", 80))
        for member in actor.peers:
            member.ping()
";

fn mesh() -> tempfile::TempDir {
    project(&[
        ("pyproject.toml", b"[project]\nname = \"mesh\"\n"),
        ("src/mesh/__init__.py", b""),
        ("src/mesh/peers.py", PEERS.as_bytes()),
        ("src/mesh/util.py", ASYNC_RETRY.as_bytes()),
        ("src/mesh/app.py", APP.as_bytes()),
    ])
}

fn finding(line: u64, code: &str) -> (String, u64, String) {
    ("./src/mesh/app.py".to_string(), line, code.to_string())
}

#[test]
fn values_are_followed_through_other_modules() {
    let dir = mesh();
    let output = aiolint(
        dir.path(),
        &["check", "--no-cache", "--output-format", "json", "."],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(
        findings(&output),
        [
            finding(22, "AIO100"),
            finding(23, "AIO100"),
            finding(24, "AIO201"),
            finding(25, "AIO100"),
            finding(30, "AIO100"),
        ],
        "the non-blocking socket's connect is not reported"
    );
}

#[test]
fn the_cache_sees_a_decorator_or_an_attribute_change_in_another_module() {
    let dir = mesh();
    let args = ["check", "--output-format", "json", "."];
    let first = aiolint(dir.path(), &args);
    assert_eq!(findings(&first).len(), 5, "{}", stderr(&first));
    // The decorator's wrapper becomes a plain function: `flaky()` is no longer known to be a
    // coroutine, although app.py itself did not change.
    let sync_retry = ASYNC_RETRY
        .replace("async def wrapper", "def wrapper")
        .replace(
            "return await fn(*args, **kwargs)",
            "return fn(*args, **kwargs)",
        );
    std::fs::write(dir.path().join("src/mesh/util.py"), sync_retry).expect("write util.py");
    // The inbox is now a thread queue, whose `put` blocks instead of being a coroutine.
    let thread_queue = PEERS
        .replace("import asyncio", "import queue")
        .replace("asyncio.Queue[str]", "queue.Queue[str]");
    std::fs::write(dir.path().join("src/mesh/peers.py"), thread_queue).expect("write peers.py");
    let second = aiolint(dir.path(), &args);
    assert_eq!(
        findings(&second),
        [
            finding(22, "AIO100"),
            finding(23, "AIO201"),
            finding(24, "AIO201"),
            finding(30, "AIO100"),
        ],
        "{}",
        stderr(&second)
    );
}

/// A plain function of another module that returns a coroutine (`def start(): return
/// fetch()`) makes a dropped call of it a missing await; when it stops returning one, the
/// cached check of the caller (which did not change) is checked again.
#[test]
fn a_plain_function_returning_a_coroutine_is_seen_from_other_modules() {
    let dir = project(&[
        ("pyproject.toml", b"[project]\nname = \"jobs\"\n"),
        ("src/jobs/__init__.py", b""),
        (
            "src/jobs/tasks.py",
            b"async def fetch():\n    return 1\n\n\ndef start():\n    return fetch()\n",
        ),
        (
            "src/jobs/main.py",
            b"from jobs import tasks\nfrom jobs.tasks import start\n\n\nasync def main():\n    start()\n    tasks.start()\n    job = start()\n    await job\n",
        ),
    ]);
    let cache = tempfile::tempdir().expect("cache directory");
    let args = [
        "check",
        "--cache-dir",
        cache.path().to_str().expect("a UTF-8 path"),
        "--output-format",
        "json",
        ".",
    ];
    let first = aiolint(dir.path(), &args);
    let main = |line: u64| ("./src/jobs/main.py".to_string(), line, "AIO100".to_string());
    assert_eq!(findings(&first), [main(6), main(7)], "{}", stderr(&first));
    std::fs::write(
        dir.path().join("src/jobs/tasks.py"),
        "async def fetch():\n    return 1\n\n\ndef start():\n    return None\n",
    )
    .expect("write tasks.py");
    let second = aiolint(dir.path(), &args);
    assert_eq!(code(&second), 0, "{}", stdout(&second));
}

/// A function of another module annotated to return a collection (`-> list[Peer]`,
/// `-> dict[str, Peer]`) gives its elements' class to a loop over its result or a subscript.
#[test]
fn collections_returned_by_another_module_are_followed() {
    let dir = project(&[
        ("pyproject.toml", b"[project]\nname = \"mesh\"\n"),
        ("src/mesh/__init__.py", b""),
        (
            "src/mesh/peers.py",
            b"class Peer:\n    async def ping(self):\n        return 1\n\n\ndef roster() -> list[Peer]:\n    return []\n\n\ndef labels() -> list[str]:\n    return []\n",
        ),
        (
            "src/mesh/app.py",
            b"from mesh.peers import labels, roster\n\n\nasync def main():\n    for peer in roster():\n        peer.ping()\n    roster()[0].ping()\n    for label in labels():\n        label.upper()\n",
        ),
    ]);
    let output = aiolint(
        dir.path(),
        &["check", "--no-cache", "--output-format", "json", "."],
    );
    let app = |line: u64| ("./src/mesh/app.py".to_string(), line, "AIO100".to_string());
    assert_eq!(findings(&output), [app(6), app(7)], "{}", stderr(&output));
}

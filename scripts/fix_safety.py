"""Fix safety on real code: runs `aiolint check --fix --unsafe-fixes` on copies of projects and
checks that nothing was damaged. Run through scripts/fix-safety.sh, which picks the binary and
the default projects.

    python3 scripts/fix_safety.py --aiolint BINARY PROJECT_DIR...

For each project, on a fresh copy in a temporary directory (whose files are first given a mix
of permission bits, so that keeping them is checked on real files):

1. one `--fix --unsafe-fixes` run: every file it changed still compiles (`compile()` of this
   Python) where the original did, keeps its permission bits, and no file appeared or
   disappeared (no temporary file left behind); the files it did not change are
   byte-identical;
2. a second run on the result changes nothing;
3. on another fresh copy, two runs started at the same time: afterwards every file is either
   the original or a fixed version that compiles (the first run's result, or, if the two runs
   saw each other's writes, another one that a further run leaves as it is), with its
   permission bits, and no file appeared or disappeared.

Prints a line per project and a summary; exits with 1 on any failure (each one is described),
2 on a usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

# Permission bits given to the copies' files, chosen per file from a hash of its path: the
# run must keep whichever each file has.
MODES = (0o644, 0o600, 0o755, 0o640, 0o664)

FIXED = re.compile(r"^Fixed (\d+) findings?", re.MULTILINE)


@dataclasses.dataclass
class Snapshot:
    """Every file under a directory: its bytes and permission bits, by relative path."""

    files: dict[str, tuple[bytes, int]]

    @classmethod
    def of(cls, root: Path) -> Snapshot:
        files = {}
        for directory, _, names in os.walk(root):
            for name in names:
                path = Path(directory, name)
                if path.is_symlink() or not path.is_file():
                    continue
                mode = stat.S_IMODE(path.stat().st_mode)
                files[str(path.relative_to(root))] = (path.read_bytes(), mode)
        return cls(files)


@dataclasses.dataclass
class Report:
    name: str
    files: int = 0
    changed: int = 0
    fixes: int = 0
    concurrent_other: int = 0
    failures: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0


def compiles(source: bytes, path: str) -> str | None:
    """`None` when `source` compiles, else the error."""
    try:
        compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def fresh_copy(project: Path, destination: Path) -> None:
    shutil.copytree(project, destination, symlinks=True)
    for directory, _, names in os.walk(destination):
        for name in names:
            path = Path(directory, name)
            if path.is_symlink():
                continue
            relative = str(path.relative_to(destination))
            path.chmod(MODES[zlib.crc32(relative.encode()) % len(MODES)])


def run_fix(aiolint: str, tree: Path, cwd: Path) -> subprocess.Popen[str]:
    """Starts one `--fix --unsafe-fixes` run over `tree` (without the cache)."""
    return subprocess.Popen(
        [aiolint, "check", "--fix", "--unsafe-fixes", "--no-cache", "--exit-zero",
         "--output-format", "concise", str(tree)],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], what: str, report: Report) -> int:
    """Waits for a run; returns the number of findings it fixed (a failure on an error)."""
    _, stderr = process.communicate()
    if process.returncode != 0:
        report.failures.append(
            f"{what}: exit status {process.returncode}\n{indent(stderr.strip())}"
        )
    fixed = FIXED.search(stderr)
    return int(fixed.group(1)) if fixed else 0


def indent(text: str, limit: int = 40) -> str:
    lines = text.splitlines()
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more lines)"]
    return "\n".join("    " + line for line in lines)


def same_files(before: Snapshot, after: Snapshot, what: str, report: Report) -> bool:
    appeared = sorted(after.files.keys() - before.files.keys())
    vanished = sorted(before.files.keys() - after.files.keys())
    if appeared:
        report.failures.append(f"{what}: files appeared: {', '.join(appeared[:10])}")
    if vanished:
        report.failures.append(f"{what}: files vanished: {', '.join(vanished[:10])}")
    return not appeared and not vanished


def check_changed(
    original: Snapshot, fixed: Snapshot, tree: Path, what: str, report: Report,
    compiled: dict[str, bool],
) -> list[str]:
    """Checks the files `fixed` changed (compiling, permission bits); returns their names."""
    changed = []
    for name, (data, mode) in sorted(fixed.files.items()):
        before = original.files.get(name)
        if before is None:
            continue
        if mode != before[1]:
            report.failures.append(
                f"{what}: {name}: permissions {oct(before[1])} became {oct(mode)}"
            )
        if data == before[0]:
            continue
        changed.append(name)
        if not name.endswith(".py"):
            report.failures.append(f"{what}: {name}: not a Python file, but changed")
            continue
        if name not in compiled:
            compiled[name] = compiles(before[0], str(tree / name)) is None
        if not compiled[name]:
            continue  # It did not compile before: nothing to keep.
        error = compiles(data, str(tree / name))
        if error is not None:
            report.failures.append(
                f"{what}: {name}: no longer compiles: {error}\n"
                + indent(unified_diff(before[0], data, name))
            )
    return changed


def unified_diff(before: bytes, after: bytes, name: str) -> str:
    import difflib

    return "".join(
        difflib.unified_diff(
            before.decode("utf-8", "replace").splitlines(keepends=True),
            after.decode("utf-8", "replace").splitlines(keepends=True),
            f"a/{name}", f"b/{name}", n=2,
        )
    )


def check_project(aiolint: str, project: Path, scratch: Path) -> Report:
    report = Report(project.name)
    started = time.monotonic()
    sequential = scratch / "sequential" / project.name
    fresh_copy(project, sequential)
    original = Snapshot.of(sequential)
    report.files = sum(name.endswith(".py") for name in original.files)
    compiled: dict[str, bool] = {}

    # 1. One run.
    report.fixes = finish(run_fix(aiolint, sequential, scratch), "first run", report)
    fixed = Snapshot.of(sequential)
    same_files(original, fixed, "first run", report)
    report.changed = len(check_changed(original, fixed, sequential, "first run", report, compiled))

    # 2. Again: nothing left to change.
    again = finish(run_fix(aiolint, sequential, scratch), "second run", report)
    second = Snapshot.of(sequential)
    same_files(fixed, second, "second run", report)
    for name in check_changed(fixed, second, sequential, "second run", report, {}):
        report.failures.append(
            f"second run: {name}: changed again\n"
            + indent(unified_diff(fixed.files[name][0], second.files[name][0], name))
        )
    if again:
        report.failures.append(f"second run: fixed {again} more findings")

    # 3. Two runs at once on a fresh copy.
    concurrent = scratch / "concurrent" / project.name
    fresh_copy(project, concurrent)
    runs = [run_fix(aiolint, concurrent, scratch) for _ in range(2)]
    for i, run in enumerate(runs):
        finish(run, f"concurrent run {i + 1}", report)
    both = Snapshot.of(concurrent)
    same_files(original, both, "concurrent runs", report)
    others = [
        name
        for name in check_changed(original, both, concurrent, "concurrent runs", report, compiled)
        if both.files[name][0] != fixed.files.get(name, (b"",))[0]
    ]
    report.concurrent_other = len(others)
    if others:
        # A version other than the first run's (the runs saw each other's writes) must still
        # be fully fixed: one more run leaves it as it is.
        finish(run_fix(aiolint, concurrent, scratch), "run after the concurrent runs", report)
        after = Snapshot.of(concurrent)
        for name in others:
            if after.files.get(name, (b"",))[0] != both.files[name][0]:
                report.failures.append(
                    f"concurrent runs: {name}: not fully fixed\n"
                    + indent(unified_diff(both.files[name][0], after.files[name][0], name))
                )
    report.seconds = time.monotonic() - started
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aiolint", required=True, help="the aiolint binary")
    parser.add_argument("projects", nargs="+", type=Path, help="project directories")
    args = parser.parse_args()
    aiolint = str(Path(args.aiolint).resolve())
    missing = [str(p) for p in args.projects if not p.is_dir()]
    if missing:
        print(f"fix-safety: not a directory: {', '.join(missing)}", file=sys.stderr)
        return 2

    reports = []
    for project in args.projects:
        with tempfile.TemporaryDirectory(prefix="aiolint-fix-safety-") as scratch:
            report = check_project(aiolint, project.resolve(), Path(scratch))
        reports.append(report)
        status = "ok" if not report.failures else f"{len(report.failures)} FAILURES"
        other = (
            f", {report.concurrent_other} files differ from the first run after the concurrent runs"
            if report.concurrent_other else ""
        )
        print(
            f"{report.name}: {report.files} files, {report.changed} changed, "
            f"{report.fixes} fixes{other} ({report.seconds:.1f} s): {status}",
            flush=True,
        )
        for failure in report.failures:
            print("  " + failure.replace("\n", "\n  "), flush=True)

    failures = sum(len(r.failures) for r in reports)
    print(
        f"fix-safety: {len(reports)} projects, {sum(r.files for r in reports)} files, "
        f"{sum(r.changed for r in reports)} changed, {sum(r.fixes for r in reports)} fixes "
        f"applied, {failures} failures"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

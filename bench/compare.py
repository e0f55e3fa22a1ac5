#!/usr/bin/env python3
"""Paired timing of aiolint against Ruff on the same files, in the same run.

Each scenario runs its two commands in turn (A B A B ...) after a warm-up, and reports the
medians of wall time, CPU time (user + system) and peak RSS of each, the ratio A/B of each
pair's wall and CPU (median over pairs), and lines per second. The CPU and memory figures are
the kernel's accounting of the finished child (os.wait4). Usage:

    bench/compare.py --root DIR --aiolint PATH --ruff PATH [--runs N] [--touch FILE]

`--touch FILE` (relative to the root) is the file the "one file changed" scenarios edit before
each of aiolint's runs: a comment appended (its module summary stays the same, so only it is
analysed again), and a comment inserted as its first line (every position in it moves, so its
summary changes and every file is checked against the new index); the file is restored
afterwards. `--cached-only` skips the cold scenarios.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

RUFF_RULES = ["--select", "ASYNC,RUF006,RUF029,PLE1142", "--preview"]


def measure(command, cwd, before=None):
    """Wall seconds, CPU seconds and peak RSS (MiB) of one run of `command`."""
    if before:
        before()
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{' '.join(command)} exited with {code}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def paired(a, b, cwd, runs, before_a=None, before_b=None, warmup=1):
    """Runs A and B alternately: the medians of each and of the pair-by-pair ratios."""
    for _ in range(warmup):
        measure(a, cwd, before_a)
        measure(b, cwd, before_b)
    results_a, results_b = [], []
    for _ in range(runs):
        results_a.append(measure(a, cwd, before_a))
        results_b.append(measure(b, cwd, before_b))
    median = lambda rows, i: statistics.median(r[i] for r in rows)
    ratio = lambda i: statistics.median(x[i] / y[i] for x, y in zip(results_a, results_b) if y[i])
    return {
        "a": [median(results_a, i) for i in range(3)],
        "b": [median(results_b, i) for i in range(3)],
        "wall_ratio": ratio(0),
        "cpu_ratio": ratio(1),
    }


def count_lines(root):
    lines = 0
    for directory, _, names in os.walk(root):
        if ".aiolint_cache" in directory or ".ruff_cache" in directory:
            continue
        for name in names:
            if name.endswith(".py"):
                with open(os.path.join(directory, name), "rb") as handle:
                    lines += handle.read().count(b"\n")
    return lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--aiolint", required=True)
    parser.add_argument("--ruff", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--touch")
    parser.add_argument("--cached-only", action="store_true")
    args = parser.parse_args()
    root, aiolint, ruff = args.root, os.path.abspath(args.aiolint), os.path.abspath(args.ruff)
    lines = count_lines(root)
    aio = [aiolint, "check", "--exit-zero", "--output-format", "concise", "."]
    rf = [ruff, "check", "--isolated", "--exit-zero", "-q", *RUFF_RULES, "."]
    rows = []

    cold = aio[:2] + ["--no-cache"] + aio[2:]
    floor = [aiolint, "debug", "--parse-only", "."]
    if not args.cached_only:
        rows.append(("cold: aiolint --no-cache vs parsing alone (the parser's floor)",
                     paired(cold, floor, root, args.runs)))
        rows.append(("cold: aiolint --no-cache vs ruff --no-cache",
                     paired(cold, rf[:2] + ["--no-cache"] + rf[2:], root, args.runs)))
    rows.append(("warm, nothing changed: aiolint vs ruff, both cached", paired(aio, rf, root, args.runs)))
    if args.touch:
        path = os.path.join(root, args.touch)
        with open(path, "rb") as handle:
            original = handle.read()
        counter = [0]

        def append():
            counter[0] += 1
            with open(path, "ab") as handle:
                handle.write(f"\n# benchmark edit {counter[0]}\n".encode())

        def prepend():
            counter[0] += 1
            with open(path, "rb") as handle:
                text = handle.read()
            with open(path, "wb") as handle:
                handle.write(f"# benchmark edit {counter[0]}\n".encode() + text)

        try:
            rows.append((f"one file changed ({args.touch}, a comment appended): aiolint vs ruff, both cached",
                         paired(aio, rf, root, args.runs, before_a=append)))
            rows.append((f"one file changed ({args.touch}, a line inserted at the top): aiolint vs ruff, both cached",
                         paired(aio, rf, root, args.runs, before_a=prepend)))
        finally:
            with open(path, "wb") as handle:
                handle.write(original)

    print(f"{lines:,} lines; medians of {args.runs} paired runs after a warm-up\n")
    print("| scenario | A wall s | A cpu s | A peak MiB | B wall s | B cpu s | B peak MiB | A/B wall | A/B cpu | A lines/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in rows:
        a, b = r["a"], r["b"]
        print(f"| {name} | {a[0]:.2f} | {a[1]:.2f} | {a[2]:.0f} | {b[0]:.2f} | {b[1]:.2f} | {b[2]:.0f} | "
              f"{r['wall_ratio']:.2f} | {r['cpu_ratio']:.2f} | {lines / a[0]:,.0f} |")


if __name__ == "__main__":
    main()

"""Batch-grading benchmark: submissions per second, per-submission p50/p95, peak memory.

    python bench/grade_bench.py --sizes 100,300,1000 --jobs 1,2 [--exercise sdpa ...]

For each size N it writes a class of N submissions cycled from the demo class in
examples/submissions (correct in two styles, wrong, unfinished, forbidden built-in, broken import,
several mistakes; the hostile one only with --hostile), each copy made unique by a comment so that
nothing is deduplicated, and grades it with ``grader grade 01`` (full isolation, a fresh output
folder) once per --jobs value. Reported per run: wall seconds, submissions per second, p50/p95 of
the per-submission grading time (from results.json), peak memory of the whole process tree
(proportional set size, so pages shared by forked workers count once), and the wall time of one
``import torch`` measured in the same run, as a ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "submissions"
STYLES = ("ada", "ben", "cleo", "dev", "eve", "finn", "hana")


def import_torch_seconds() -> float:
    """Best of three cold-process ``import torch`` wall times."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def make_class(folder: Path, size: int, hostile: bool) -> None:
    styles = STYLES + (("gus",) if hostile else ())
    for number in range(size):
        style = styles[number % len(styles)]
        student = folder / f"s{number:04d}-{style}"
        shutil.copytree(DEMO / style, student)
        for module in sorted(student.glob("*.py"))[:1]:
            module.write_text(module.read_text() + f"\n# submission {number}\n")


def pss_bytes(root_pid: int) -> int:
    """Proportional set size of ``root_pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def grade(submissions: Path, out: Path, jobs: int, exercises: list[str]) -> dict:
    command = [sys.executable, "-m", "grader", "grade", "01", str(submissions), "--out", str(out),
               "--jobs", str(jobs), *[x for e in exercises for x in ("--exercise", e)]]
    peak, start = 0, time.perf_counter()
    with open(out.parent / f"{out.name}.log", "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log)
        done = threading.Event()

        def watch():
            nonlocal peak
            while not done.wait(0.5):
                peak = max(peak, pss_bytes(process.pid))

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        code = process.wait()
        done.set()
        watcher.join()
    wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"grading failed ({code}); see {out.parent / (out.name + '.log')}")
    times = sorted(json.loads(p.read_text())["execution_time"] for p in out.glob("*/results.json"))
    return {"wall_s": wall, "per_s": len(times) / wall, "p50_s": statistics.median(times),
            "p95_s": times[min(len(times) - 1, int(0.95 * len(times)))], "peak_gb": peak / 2**30}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,300,1000")
    parser.add_argument("--jobs", default="1,2")
    parser.add_argument("--exercise", action="append", default=[], help="only these exercises")
    parser.add_argument("--hostile", action="store_true", help="include the hostile demo student")
    parser.add_argument("--keep", type=Path, help="keep the classes and outputs here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="grade-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    torch_s = import_torch_seconds()
    print(f"import torch: {torch_s:.2f} s (best of 3, cold process); {os.cpu_count()} CPUs")
    print(f"{'N':>6} {'jobs':>4} {'wall s':>8} {'subs/s':>7} {'p50 s':>7} {'p95 s':>7} "
          f"{'peak GB':>8} {'s/sub per import torch':>23}")
    for size in map(int, args.sizes.split(",")):
        submissions = work / f"class-{size}"
        if not submissions.exists():
            make_class(submissions, size, args.hostile)
        for jobs in map(int, args.jobs.split(",")):
            out = work / f"out-{size}-j{jobs}"
            shutil.rmtree(out, ignore_errors=True)
            r = grade(submissions, out, jobs, args.exercise)
            print(f"{size:>6} {jobs:>4} {r['wall_s']:>8.1f} {r['per_s']:>7.2f} {r['p50_s']:>7.2f} "
                  f"{r['p95_s']:>7.2f} {r['peak_gb']:>8.2f} {r['wall_s'] / size / torch_s:>23.2f}",
                  flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Side by side with the baselines: the grader on ../shared/bench/anchors' three-check exercise.

    python bench/anchor_bench.py [--n 20] [--baselines]

Builds a temporary project root holding the exercise as an assignment (bench/anchor/ plus the
baselines' own checks.py), writes the baselines' N generated submissions (make_class.py) as one
folder per student, and grades them with ``grader grade anchor`` (full isolation) with --jobs 1
and --jobs 2, printing seconds per submission and score accuracy in the baselines' format. With
--baselines it then runs ../shared/bench/anchors/run_baselines.sh N with this Python (which needs
nbgrader and otter-grader installed) on the same machine, so the figures compare in one session.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANCHORS = ROOT.parent / "shared" / "bench" / "anchors"


def build(work: Path, n: int) -> dict:
    reference = work / "reference" / "anchor"
    shutil.copytree(Path(__file__).parent / "anchor", reference)
    shutil.copy(ANCHORS / "checks.py", reference / "checks.py")
    run([sys.executable, "-m", "grader", "generate", "anchor", "--root", str(work)])
    files = work / "files"
    run([sys.executable, str(ANCHORS / "make_class.py"), "--n", str(n), "--out", str(files)])
    for source in files.glob("student*.py"):
        (work / "submissions" / source.stem).mkdir(parents=True)
        shutil.copy(source, work / "submissions" / source.stem / "attention.py")
    return json.loads((files / "manifest.json").read_text())


def run(command: list[str], **kwargs) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)


def grade(work: Path, jobs: int, manifest: dict) -> tuple[float, float]:
    out = work / f"out-j{jobs}"
    start = time.perf_counter()
    run([sys.executable, "-m", "grader", "grade", "anchor", str(work / "submissions"), "--root",
         str(work), "--out", str(out), "--jobs", str(jobs)], cwd=ROOT)
    seconds = time.perf_counter() - start
    with open(out / "grades.csv") as handle:
        totals = {row["student"]: float(row["total"]) for row in csv.DictReader(handle)}
    right = sum((totals[s] == 5) == manifest[s]["correct"] for s in manifest)
    return seconds, right / len(manifest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--baselines", action="store_true", help="also run run_baselines.sh")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="anchor-bench-"))
    try:
        manifest = build(work, args.n)
        print(f"{'system':<22}{'N':>5}{'total s':>10}{'s/sub':>9}{'accuracy':>10}")
        for jobs in (1, 2):
            seconds, accuracy = grade(work, jobs, manifest)
            print(f"{f'grader --jobs {jobs}':<22}{args.n:>5}{seconds:>10.2f}{seconds / args.n:>9.3f}"
                  f"{accuracy:>10.3f}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.baselines:
        subprocess.run(["bash", str(ANCHORS / "run_baselines.sh"), str(args.n)], check=True,
                       env={**os.environ, "PY": sys.executable})


if __name__ == "__main__":
    main()

"""Grading benchmark on a class of distinct submissions, as multiples of one ``import torch``.

    python bench/grade_bench.py [--size 200] [--jobs 2] [--compare REV] [--skip batch,cold,...]

The class is distinct code (no two submissions alike, nothing a cache could share): the reference;
every variant of reference/01/variants (correct solutions written in other styles, a mistake of
every exercise, the cheats; see grader.authoring.variants); the demo class of examples/submissions
(the hostile student only with --hostile); then mutants of the reference (one small change each,
grader.authoring.mutants), taken evenly over all of them, until --size submissions. Measured:

    batch      ``grader grade 01 CLASS --jobs J`` (full isolation, a fresh output folder): wall
               seconds per submission, p50/p95 of a submission's grading time (results.json),
               peak memory of the process tree (proportional set size: pages that forked workers
               share count once)
    cold       the same command on a class of one correct submission (a copy of the reference)
    student    ``pytest assignments/01 --submission reference/01``: a student's run of the public tests
    exercises  where a correct submission's time goes: per exercise, the CPU seconds its tests take
               graded in one process (tests, replays and submission together, replays warm, no
               transcript shortcut; ``grader grade`` adds the worker's channel and isolation)

each in this tree and, with ``--compare REV``, in the assignment files (reference/, assignments/)
of the git revision REV as well, run by the same engine (so the difference is the suite), one
after the other in the same run. Every time is also printed as a multiple of one ``import torch``
(best of 3 cold processes) measured just before it, so that a machine shared with other work is
compared with itself at the time. Where one process does all the work (a student's run, the
per-exercise split) CPU seconds are given too: they vary less than wall seconds on a busy
machine. (A batch's sandboxed workers are not all reaped by the process tree measured, so its CPU
time would be undercounted: wall time only.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
DEMO_STUDENTS = ("ada", "ben", "cleo", "dev", "eve", "finn", "hana")
HOSTILE = "gus"
MEASURES = ("batch", "cold", "student", "exercises")


def import_torch_seconds() -> tuple[float, float]:
    """(wall, CPU) seconds of a cold-process ``import torch``, each the best of three."""
    runs = [timed([sys.executable, "-c", "import torch"]) for _ in range(3)]
    return min(w for w, _ in runs), min(c for _, c in runs)


def timed(command: list[str], cwd: Path = ROOT) -> tuple[float, float]:
    """(wall, CPU) seconds of ``command``, its CPU that of every process it started and waited for."""
    start, cpu = time.perf_counter(), children_cpu()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, children_cpu() - cpu


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def show(what: str, wall: float, cpu: float | None, torch: tuple[float, float], per: int = 1) -> str:
    """``wall`` and ``cpu`` seconds (divided by ``per``) and as multiples of ``torch``'s."""
    text = f"{what}: {wall / per:.2f} s wall ({wall / per / torch[0]:.2f})"
    if cpu is not None:
        text += f", {cpu / per:.2f} s CPU ({cpu / per / torch[1]:.2f})"
    return text + f"; import torch {torch[0]:.2f} s wall, {torch[1]:.2f} s CPU"


def make_class(folder: Path, size: int, hostile: bool) -> dict[str, int]:
    """Write ``size`` distinct submissions into ``folder``; returns how many of each kind."""
    from grader import assignment
    from grader.authoring import mutants, variants

    definition = assignment.load(assignment.locate("01", ROOT)[0])
    made: dict[str, int] = {}

    def room(kind: str) -> bool:
        if sum(made.values()) >= size:
            return False
        made[kind] = made.get(kind, 0) + 1
        return True

    if room("reference"):
        copy_reference(definition, folder / "reference")
    for variant in variants.load_all(definition):
        if room(f"variant ({variant.expect})"):
            variants.build(variant, definition, folder / f"variant-{variant.name}")
    for student in DEMO_STUDENTS + ((HOSTILE,) if hostile else ()):
        if room("demo"):
            shutil.copytree(DEMO / student, folder / f"demo-{student}")
    left = size - sum(made.values())
    if left > 0:
        generated = mutants.generate(definition)
        step = len(generated) / left
        for mutant in (generated[int(i * step)] for i in range(min(left, len(generated)))):
            room("mutant")
            out = copy_reference(definition, folder / f"mutant-{mutant.id.replace('.', '-').replace('#', '-')}")
            (out / f"{mutant.module}.py").write_text(mutant.source)
    return made


def copy_reference(definition, out: Path) -> Path:
    out.mkdir(parents=True)
    for name in (*(f"{m}.py" for m in definition.student_modules), *definition.given_files):
        shutil.copy(definition.folder / name, out / name)
    return out


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


def grade(root: Path, submissions: Path, out: Path, jobs: int) -> dict:
    """``grader grade 01`` on ``submissions`` with the assignment files of ``root``."""
    command = [sys.executable, "-m", "grader", "grade", "01", str(submissions), "--out", str(out),
               "--jobs", str(jobs), "--root", str(root)]
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
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"grading failed ({code}); see {out.parent / (out.name + '.log')}")
    times = sorted(json.loads(p.read_text())["execution_time"] for p in out.glob("*/results.json"))
    return {"wall_s": seconds, "n": len(times), "p50_s": statistics.median(times),
            "p95_s": times[min(len(times) - 1, int(0.95 * len(times)))], "peak_gb": peak / 2**30}


def student_run(root: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of a student's ``pytest assignments/01`` on a correct solution."""
    return timed([sys.executable, "-m", "pytest", "assignments/01", "--submission", "reference/01", "-q",
                 "-p", "no:cacheprovider"], cwd=root)


def exercise_seconds(root: Path) -> dict[str, float]:
    """Per exercise, the in-process CPU seconds of a correct submission's tests (see the docstring);
    run in a fresh process per tree (two trees' test modules share names)."""
    output = subprocess.run([sys.executable, __file__, "--test-seconds-of", str(root)], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    seconds: dict[str, float] = {}
    for exercise, spent in json.loads(output.splitlines()[-1]).values():
        seconds[exercise] = seconds.get(exercise, 0.0) + spent
    return seconds


def measure_tests(root: Path) -> dict[str, tuple[str, float]]:
    """Per test id, its exercise and the in-process CPU seconds it takes on a correct submission
    (replays warm, no transcript shortcut)."""
    import torch

    from grader import assignment
    from grader.authoring.in_process import frozen_heap, quiet
    from grader.frontends.local import local_exchange
    from grader.grading.proxy import Submission
    from grader.grading.replay import Replays
    from grader.grading.suite import collect, load_reference
    from grader.grading.transcripts import LocalLink, Transcripts
    from grader.testing import hypothesis_profile

    torch.set_num_threads(1)
    reference, published = assignment.locate("01", root)
    definition = assignment.load(reference)
    seconds: dict[str, tuple[str, float]] = {}
    rounds = 3  # the first warms the replays (hypothesis draws); the others are timed
    with hypothesis_profile(shrink=False), tempfile.TemporaryDirectory() as scratch:
        folder = copy_reference(definition, Path(scratch) / "submission")
        suite = collect(reference, published)
        suite.set_shrinking(False)
        modules, replays = load_reference(definition), Replays()
        for number in range(rounds):
            with quiet(), frozen_heap():
                run = Transcripts().run(LocalLink(local_exchange(folder, definition)))  # nothing recorded
                student = Submission(run.transport, tuple(definition.siblings()))
                last = time.process_time()

                def on_test(outcome, number=number):
                    nonlocal last
                    now = time.process_time()
                    if number:
                        spent = seconds.get(outcome.test.id, ("", 0.0))[1] + (now - last) / (rounds - 1)
                        seconds[outcome.test.id] = (outcome.test.exercise, spent)
                    last = now

                outcomes = suite.run(student, modules, replays, on_test=on_test, around=run)
            assert all(o.passed for o in outcomes), "the reference fails its own tests"
    return seconds


def revision_tree(revision: str, work: Path) -> Path:
    """The assignment files of git ``revision`` (reference/, assignments/, pyproject.toml) in ``work``."""
    tree = work / f"rev-{revision.replace('/', '-')}"
    if not tree.exists():
        tree.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", revision, "reference", "assignments", "pyproject.toml"],
                                 cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200, help="submissions in the class")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--compare", metavar="REV", help="also measure the suite of this git revision")
    parser.add_argument("--skip", default="", help=f"measures to skip, comma-separated ({', '.join(MEASURES)})")
    parser.add_argument("--repeat", type=int, default=1, help="measure each tree this many times, alternately")
    parser.add_argument("--hostile", action="store_true", help="include the hostile demo student")
    parser.add_argument("--keep", type=Path, help="keep the classes and outputs here")
    parser.add_argument("--test-seconds-of", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.test_seconds_of:
        print(json.dumps(measure_tests(args.test_seconds_of)))
        return
    skip = {s for s in args.skip.split(",") if s}
    work = args.keep or Path(tempfile.mkdtemp(prefix="grade-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    trees = {"this tree": ROOT} | ({args.compare: revision_tree(args.compare, work)} if args.compare else {})
    rounds = list(trees.items()) * args.repeat
    print(f"{os.cpu_count()} CPUs; times in seconds and (as multiples of one import torch measured just before)",
          flush=True)
    if "batch" not in skip:
        submissions = work / f"class-{args.size}"
        if not submissions.exists():
            made = make_class(submissions, args.size, args.hostile)
            print("class: " + ", ".join(f"{n} {kind}" for kind, n in made.items()), flush=True)
        for name, tree in rounds:
            out = work / f"out-{args.size}-{name.replace(' ', '-')}"
            shutil.rmtree(out, ignore_errors=True)
            torch = import_torch_seconds()
            r = grade(tree, submissions, out, args.jobs)
            print(show(f"batch     {name:<10} {r['n']} submissions, --jobs {args.jobs}, per submission", r["wall_s"],
                       None, torch, r["n"]) + f"; p50 {r['p50_s']:.2f} s, p95 {r['p95_s']:.2f} s, "
                  f"peak {r['peak_gb']:.2f} GB", flush=True)
    if "cold" not in skip:
        one = work / "class-1"
        if not one.exists():
            from grader import assignment

            copy_reference(assignment.load(assignment.locate("01", ROOT)[0]), one / "reference")
        for name, tree in rounds:
            out = work / f"out-1-{name.replace(' ', '-')}"
            shutil.rmtree(out, ignore_errors=True)
            torch = import_torch_seconds()
            r = grade(tree, one, out, args.jobs)
            print(show(f"cold      {name:<10} one submission, --jobs {args.jobs}", r["wall_s"], None, torch),
                  flush=True)
    if "student" not in skip:
        for name, tree in rounds:
            torch = import_torch_seconds()
            print(show(f"student   {name:<10} pytest assignments/01 --submission reference/01", *student_run(tree),
                       torch), flush=True)
    if "exercises" not in skip:
        for name, tree in rounds:
            torch = import_torch_seconds()
            seconds = exercise_seconds(tree)
            total = sum(seconds.values())
            parts = ", ".join(f"{e} {s:.2f}" for e, s in seconds.items())
            print(f"exercises {name:<10} in process {total:.2f} s CPU ({total / torch[1]:.2f}): {parts}", flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

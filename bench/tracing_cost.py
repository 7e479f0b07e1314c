"""What watching for forbidden functions costs a correct submission, layer by layer.

    python bench/tracing_cost.py [--submission reference/01 examples/submissions/ada] [--repeats 7] [--batch]

Local runs: records every request of ``pytest assignments/01 --submission S`` (the student's
command), then replays them on fresh in-process executors, watched by no layer, by the function
mode alone, and by each further layer of grader/worker/tracer.py (python trampolines, kernels,
graph). Prints the least CPU seconds (over the repeats) of the replayed requests per
configuration, the ratio to no watching, and what the difference is as a share of the CPU time
of the whole pytest run (measured in a fresh process).

``--batch``: grades a class of correct submissions (the reference twice, the demo class's ada and
ben) with ``grader grade 01 --jobs 1``, once with the assignment as it is and once with a copy
whose forbidden lists are empty (nothing watched), alternately ``--repeats`` times; prints the CPU
seconds of the whole process tree and the wall seconds of each, and one ``import torch`` measured
in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def record(submission: str) -> list[bytes]:
    """The requests of a local pytest run on ``submission``, encoded."""
    import pytest

    from grader.worker import executor, wire

    frames, handle = [], executor.Executor.handle

    def recording(self, request):
        frames.append(wire.encode(request))
        return handle(self, request)

    executor.Executor.handle = recording
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            pytest.main(["assignments/01", "--submission", submission, "-q", "-p", "no:cacheprovider"])
        return frames
    finally:
        executor.Executor.handle = handle


def run_cpu(submission: str) -> float:
    """CPU seconds of the student's command ``pytest assignments/01`` on ``submission``, in a fresh
    process (the least of three)."""
    spent = []
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-m", "pytest", "assignments/01", "--submission", submission, "-q",
                        "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return min(spent)


def replay(frames: list[bytes], submission: str, names: tuple[str, ...], layers: set[str]) -> float:
    """CPU seconds of answering ``frames`` on a fresh executor watched by ``layers`` only."""
    from grader.worker import executor, tracer, wire

    originals = {name: getattr(tracer.Watch, name) for name in ("_end_profiling", "graph", "_check_trampolines")}
    if "kernels" not in layers:
        tracer.Watch._end_profiling = lambda self: None
    if "graph" not in layers:
        tracer.Watch.graph = lambda self, value: None
    if "python" not in layers:
        tracer.Watch._check_trampolines = lambda self: None
    try:
        runner = executor.Executor(submission, names)
        if names and "kernels" not in layers:
            runner._tracer._enable = lambda config: None
            runner._tracer._mark = (lambda name: None, lambda handle: None)
        for frame in frames[:5]:  # the imports
            runner.handle(wire.decode(frame))
        start = time.thread_time()
        for frame in frames:
            runner.encode_reply(runner.handle(wire.decode(frame)))
        return time.thread_time() - start
    finally:
        for name, value in originals.items():
            setattr(tracer.Watch, name, value)


def local(submissions: list[str], repeats: int) -> None:
    from grader.assignment import load

    names = load(ROOT / "reference" / "01").traced_calls
    configurations = {"none": ((), set()), "functions": (names, {"functions"}),
                      "+python": (names, {"functions", "python"}),
                      "+kernels": (names, {"functions", "python", "kernels"}),
                      "+graph (all)": (names, {"functions", "python", "kernels", "graph"})}
    for submission in submissions:
        frames, whole = record(submission), run_cpu(submission)
        watched = sum(b'"watch"' not in frame for frame in frames)
        spent = {key: [] for key in configurations}
        with contextlib.redirect_stdout(io.StringIO()):
            for _ in range(repeats):
                for key, (traced, layers) in configurations.items():
                    spent[key].append(replay(frames, submission, traced, layers))
        base = min(spent["none"])
        print(f"{submission}: {len(frames)} requests, {watched} watched; the pytest run takes {whole:.2f} s CPU")
        for key, values in spent.items():
            least = min(values)  # the least disturbed by other work on the machine
            print(f"  {key:14} {least:6.3f} s  x{least / base:4.2f}  {100 * (least - base) / whole:+5.1f}% of the run")


def batch(repeats: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="tracing-cost-"))
    try:
        classroom, bare = work / "class", work / "bare"
        for name in ("ada", "ben"):
            shutil.copytree(ROOT / "examples" / "submissions" / name, classroom / name)
        for name in ("ref1", "ref2"):
            shutil.copytree(ROOT / "reference" / "01", classroom / name,
                            ignore=shutil.ignore_patterns("test_*", "__pycache__", "*.toml"))
        for part in ("reference", "assignments"):
            shutil.copytree(ROOT / part / "01", bare / part / "01", ignore=shutil.ignore_patterns("__pycache__"))
            config = bare / part / "01" / "assignment.toml"
            config.write_text(re.sub(r"^forbidden_calls = .*$", "forbidden_calls = []", config.read_text(), flags=re.M))
        for run in range(repeats):  # alternately: the machine's other work disturbs both alike
            for label, root in (("watched", ROOT), ("nothing", bare)):
                before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
                out = work / f"out-{label}-{run}"
                subprocess.run([sys.executable, "-m", "grader", "grade", "01", str(classroom), "--out", str(out),
                                "--jobs", "1", "--root", str(root)], cwd=ROOT, check=True, capture_output=True)
                wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                scores = {json.loads(p.read_text())["score"] for p in out.glob("*/results.json")}
                print(f"{label:8} CPU {cpu:6.2f} s  wall {wall:6.2f} s  scores {sorted(scores)}")
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import torch"], check=True)
            print(f"import torch: {time.perf_counter() - start:.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submission", nargs="+", default=["reference/01", "examples/submissions/ada"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", action="store_true", help="also compare batch grading with and without the lists")
    args = parser.parse_args()
    local(args.submission, args.repeats)
    if args.batch:
        batch(max(1, args.repeats // 2))


if __name__ == "__main__":
    main()

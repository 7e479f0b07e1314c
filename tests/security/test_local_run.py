"""A student's own ``pytest``: limits that never cost a correct submission points, and loops that
cost one test, not every test.

- a correct submission that prints 20 MiB at import and prints on every call passes every test;
  what reaches the terminal is cut after the run's first ``output_bytes`` characters, with a line
  saying how much was dropped;
- a function that ran out of time is not called again in the run: the next tests that need it
  fail at once with "not called again: it exceeded its time limit earlier".
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.frontends.local import local_transport
from grader.grading.proxy import LimitExceeded, Submission
from grader.worker.executor import Executor
from tests.security import copy_reference

ROOT = Path(__file__).resolve().parents[2]

FLOODING = '''
import sys

print("x" * (20 << 20))  # 20 MiB at import


def sinusoidal_positional_encoding(seq_len, d_model):
    print(f"encoding {seq_len} x {d_model}:", "y" * 50_000)
    sys.stderr.write("z" * 50_000)
    return _reference_encoding(seq_len, d_model)
'''

LOOPING = '''

def causal_mask(seq_len, *, device=None):
    while True:
        seq_len += 1
'''


def broken_submission(folder: Path) -> Path:
    """The reference's student modules, with a correct positional encoding that floods the output
    and a causal mask that never returns."""
    copy_reference(folder)
    positional, attention = folder / "positional.py", folder / "attention.py"
    positional.write_text(positional.read_text() + "\n_reference_encoding = sinusoidal_positional_encoding\n"
                          + FLOODING)
    attention.write_text(attention.read_text() + LOOPING)
    return folder


@pytest.fixture(scope="module")
def student_run(tmp_path_factory) -> subprocess.CompletedProcess:
    """The published assignment with a short limit (0.25 s: 1 s locally), run by a student on the
    positional and causal-mask tests with pytest's capture off (``-s``): what the code prints
    reaches the terminal."""
    base = tmp_path_factory.mktemp("local")
    assignment = base / "assignment"
    shutil.copytree(ROOT / "assignments" / "01", assignment, ignore=shutil.ignore_patterns("__pycache__"))
    config = assignment / "assignment.toml"
    config.write_text(re.sub(r"^call_seconds = .*$", "call_seconds = 0.25", config.read_text(), flags=re.M))
    folder = broken_submission(base / "submission")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run([sys.executable, "-m", "pytest", str(assignment / "test_positional.py"),
                           str(assignment / "test_masks.py"), "-k", "posenc or causal", "--submission",
                           str(folder), "-s", "-p", "no:cacheprovider"],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)


def test_printing_never_costs_points_and_is_cut_after_the_limit(student_run):
    out = student_run.stdout
    assert re.search(r"^posenc\s+(\d+)/\1\s+5\.0 / 5", out, re.MULTILINE), out[-2000:]
    assert len(out + student_run.stderr) < 1_200_000  # the first 1,000,000 characters, notes, the report
    assert out.count("x" * 1000) >= 900 and "y" * 1000 not in out
    assert re.search(r"\[output truncated: this call printed [\d,]+ more characters than the run keeps "
                     r"\(the first 1,000,000\); they were dropped\]", out)


def test_a_function_that_timed_out_is_not_called_again(tmp_path):
    (tmp_path / "loops.py").write_text("def spin(n):\n    while True:\n        n += 1\n\n"
                                       "def quick(n):\n    return n + 1\n")
    student = Submission(local_transport(Executor(tmp_path), call_seconds=0.3), ("loops",))
    with pytest.raises(LimitExceeded, match=r"time limit exceeded in loops\.spin \(more than 0\.3 s\)"):
        student.loops.spin(0)
    with pytest.raises(LimitExceeded, match=r"loops\.spin was not called again: it exceeded its time limit "
                                            r"earlier \(more than 0\.3 s\)"):
        student.loops.spin(1)
    assert student.loops.quick(1) == 2  # other functions still run


def test_in_pytest_an_endless_loop_costs_one_time_limit_not_one_per_test(student_run):
    # the failures section only: in CI (``CI`` set) pytest's short summary repeats messages untruncated
    out = student_run.stdout.split("short test summary info")[0]
    assert student_run.returncode == 1
    assert out.count("time limit exceeded in attention.causal_mask (more than 1 s)") == 1, out[-3000:]
    assert out.count("attention.causal_mask was not called again: it exceeded its time limit earlier") >= 2

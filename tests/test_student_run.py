"""What a student sees: `pytest assignments/01` on the stubs, on the reference, on a mistake."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.variants import build, load

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ("sdpa", "masks", "topk", "mha", "posenc", "tokenizer", "params", "complexity", "plot")


def student_pytest(*args: str, folder: str = "assignments/01") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run([sys.executable, "-m", "pytest", folder, "-p", "no:cacheprovider",
                           *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def stubs_run():
    return student_pytest()


@pytest.fixture(scope="module")
def reference_run():
    return student_pytest("--submission", "reference/01")


def test_untouched_stubs_fail_every_exercise_with_one_line_each(stubs_run):
    out = stubs_run.stdout
    assert stubs_run.returncode == 1, out[-2000:]
    for exercise in EXERCISES:
        assert f"[{exercise}] not implemented yet" in out
        assert re.search(rf"^{exercise}\s.*0\.0 / \d+\s+not implemented yet", out, re.MULTILINE), exercise
    assert "Traceback" not in out and "NotImplementedError" not in out
    assert "points estimated from the public tests" in out and "0.0 / 100" in out


def test_reference_passes_every_public_test(reference_run):
    out = reference_run.stdout
    assert reference_run.returncode == 0, out[-3000:]
    assert " failed" not in out.splitlines()[-1]
    assert re.search(r"^total\s+100\.0 / 100", out, re.MULTILINE)


def test_a_mistake_names_exercise_property_and_smallest_input(tmp_path):
    variant = load(ROOT / "tests" / "variants" / "sdpa_missing_scale.py")
    folder = build(variant, tmp_path / "submission")
    run = student_pytest("--submission", str(folder), "-k", "sdpa")
    out = run.stdout
    assert run.returncode == 1
    assert "[sdpa] " in out and "Smallest failing input:" in out and "Reproduce: pytest" in out
    assert "grader/" not in out  # no harness frames
    assert re.search(r"^sdpa\s+\d+/\d+\s+\d+\.\d / 20", out, re.MULTILINE)


def test_a_missing_submission_folder_is_a_clear_error():
    run = student_pytest("--submission", "no/such/folder", "-k", "masks")
    assert run.returncode != 0
    assert "--submission no/such/folder: no such folder" in run.stdout + run.stderr


def test_an_endless_loop_is_stopped_in_a_local_run(tmp_path):
    from grader.frontends.local import local_transport
    from grader.grading.proxy import LimitExceeded, Submission
    from grader.worker.executor import Executor

    (tmp_path / "loops.py").write_text(
        "def spin(n):\n    while True:\n        n += 1\n\n"
        "def swallow():\n    try:\n        spin(0)\n    except Exception:\n        return 'caught'\n\n"
        "def quick(n):\n    return n + 1\n")
    student = Submission(local_transport(Executor(tmp_path), call_seconds=0.3), ("loops",))
    for call in (lambda: student.loops.spin(0), student.loops.swallow):
        with pytest.raises(LimitExceeded, match=r"time limit exceeded in loops\.(spin|swallow)"):
            call()
    assert student.loops.quick(1) == 2  # the alarm is off between calls

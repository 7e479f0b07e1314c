"""What a student sees: `pytest assignments/01` on the stubs, on the reference, on a mistake."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.assignment import load
from grader.authoring import variants
from grader.testing import PROFILE

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ("sdpa", "masks", "topk", "mha", "posenc", "tokenizer", "params", "complexity", "plot")


def student_pytest(*args: str, cwd: Path = ROOT, tests: str = "assignments/01") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run([sys.executable, "-m", "pytest", *([tests] if tests else []), "-p", "no:cacheprovider",
                           *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


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


def test_a_mistake_is_named_once_with_its_input_and_how_to_rerun_the_failure(tmp_path):
    """One mistake (a missing 1/√d): its cause once, named by the public catalogue, with the probe
    that shows it argument by argument and the results by name; the exercise's other failures one
    line each (about 300 lines before, a quarter now). Run from inside the assignment's folder: the
    printed command works when pasted there."""
    assignment = load(ROOT / "reference" / "01")
    variant = {v.name: v for v in variants.load_all(assignment)}["sdpa_missing_scale"]
    folder = variants.build(variant, assignment, tmp_path / "submission")
    here = ROOT / "assignments" / "01"
    run = student_pytest("--submission", str(folder), "-k", "sdpa", cwd=here, tests="")
    out = run.stdout
    assert run.returncode == 1
    failures = out.split("= FAILURES =")[1].split("points estimated")[0]
    named = "Likely mistake (sdpa.missing_scale): your scores are not multiplied by 1/√d_k"
    assert failures.count(named) == 1
    assert "    query = float64 (2, 4):" in failures and "    output = float64 (2, 2):" in failures
    assert "case=" not in out and "[0] " not in out and "tensor(" not in out
    failed = re.findall(r"^FAILED \S*test_attention\.py::(\w+)", out, re.MULTILINE)
    assert len(failed) >= 5 and failures.count(": same cause\n") == len(failed) - 1
    assert len(out.splitlines()) < 100
    assert "grader/" not in out  # no harness frames
    assert re.search(r"^sdpa\s+\d+/\d+\s+\d+\.\d / 20", out, re.MULTILINE)
    command = re.search(r'Reproduce: pytest "([^"]+)"', out).group(1)
    assert command.startswith("test_attention.py::test_sdpa")
    again = student_pytest(command, "--submission", str(folder), cwd=here, tests="")
    assert again.returncode == 1 and re.search(r"^1 failed", again.stdout.splitlines()[-1].strip("= "))


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


PROBE = '''import os

from hypothesis import settings


def test_probe():
    with open(os.environ["GRADER_PROFILE_PROBE"], "a") as out:
        out.write(f"{settings._current_profile}\\n")
'''


def test_the_grader_profile_is_loaded_for_assignment_tests_only(tmp_path, monkeypatch):
    """Another test suite of the same environment keeps hypothesis' own settings (its "ci" profile
    where the CI variable is set); tests in an assignment folder, or run with --submission, get the
    grader's profile, and the settings of the process come back when the session ends."""
    from hypothesis import settings

    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "test_plain.py").write_text(PROBE)
    (tmp_path / "reference" / "77").mkdir(parents=True)
    (tmp_path / "reference" / "77" / "assignment.toml").write_text("id = '77'\n")
    (tmp_path / "reference" / "77" / "test_hidden_probe.py").write_text(PROBE)
    seen = tmp_path / "seen.txt"
    monkeypatch.setenv("GRADER_PROFILE_PROBE", str(seen))
    ours = settings._current_profile  # what this session of our own tests runs with ("ci" under CI)
    assert ours != PROFILE
    for args in ([tmp_path / "plain"], [tmp_path / "reference" / "77"],
                 [tmp_path / "plain", "--submission", tmp_path]):
        assert pytest.main([*map(str, args), "-q", "-p", "no:cacheprovider", "-o", "addopts="]) == 0
        assert settings._current_profile == ours
    assert seen.read_text().split() == [str(ours), PROFILE, PROFILE]

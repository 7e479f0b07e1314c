"""The Gradescope bundle: what it holds, and run_autograder grading a notebook submission in a
temporary root standing in for /autograder (with this Python, without setup.sh; masks only)."""

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.frontends.cli import app
from grader.frontends.gradescope import submission_folder
from tests.test_notebook import ASSIGNMENT, notebook_text, reference_modules

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_run_autograder_grades_a_notebook_and_writes_gradescope_results(tmp_path):
    bundle = tmp_path / "autograder.zip"
    result = CliRunner().invoke(app, ["gradescope", "01", str(bundle), "--root", str(ROOT)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        modes = {n: archive.getinfo(n).external_attr >> 16 for n in ("setup.sh", "run_autograder")}
        setup = archive.read("setup.sh").decode()
        archive.extractall(tmp_path / "autograder" / "source")
    assert {"engine/pyproject.toml", "engine/grader/grading/batch.py", "reference/01/test_hidden_masks.py",
            "reference/01/attention.py", "assignments/01/test_masks.py"} <= names
    assert not any("__pycache__" in n for n in names)
    assert all(mode & stat.S_IXUSR for mode in modes.values())
    assert "torch==2.13.0" in setup and "bubblewrap" in setup

    root = tmp_path / "autograder"
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope does
    (root / "submission").mkdir()
    (root / "submission" / "llm_basics.ipynb").write_text(notebook_text(reference_modules()))
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADER_PYTHON": sys.executable,
           "GRADER_EXERCISES": "masks"}
    run = subprocess.run(["bash", str(root / "run_autograder")], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 10
    tests = results["tests"]
    assert tests and all(t["status"] == "passed" and t["tags"][0] == "masks" for t in tests)
    visibility = {t["extra_data"]["id"].split("::")[0]: t["visibility"] for t in tests}
    assert visibility == {"test_masks.py": "visible", "test_hidden_masks.py": "after_published"}


def test_the_submission_is_found_at_the_top_or_in_the_shallowest_folder_holding_it(tmp_path):
    modules = ASSIGNMENT.student_modules
    assert submission_folder(tmp_path, modules) == tmp_path  # nothing anywhere: the top
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "work-checkpoint.ipynb").write_text("{}")
    (tmp_path / "repo" / "assignments" / "01").mkdir(parents=True)
    (tmp_path / "repo" / "assignments" / "01" / "attention.py").write_text("X = 1\n")
    (tmp_path / "repo" / "assignments" / "01" / "deeper").mkdir()
    (tmp_path / "repo" / "assignments" / "01" / "deeper" / "tokenizer.py").write_text("X = 1\n")
    assert submission_folder(tmp_path, modules) == tmp_path / "repo" / "assignments" / "01"
    (tmp_path / "work.ipynb").write_text("{}")
    assert submission_folder(tmp_path, modules) == tmp_path

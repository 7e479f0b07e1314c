"""`grader export-student-repo`: a repository that installs offline from its own engine wheel, runs
its public tests, and holds nothing hidden: no hidden test, no line of a solution region."""

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader import assignment
from grader.frontends.cli import app
from tests.assignments import assignment_ids
from tests.test_generate import solution_lines

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """An export with --force into a clone of an earlier export: .git kept, the rest replaced."""
    out = tmp_path_factory.mktemp("student-repo")
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (out / "stale.py").write_text("left over\n")
    result = CliRunner().invoke(app, ["export-student-repo", str(out), "--root", str(ROOT), "--force"])
    assert result.exit_code == 0, result.output
    assert (out / ".git" / "HEAD").is_file() and not (out / "stale.py").exists()
    return out


def test_a_non_empty_folder_is_refused_without_force(tmp_path):
    (tmp_path / "notes.txt").write_text("mine\n")
    result = CliRunner().invoke(app, ["export-student-repo", str(tmp_path), "--root", str(ROOT)])
    assert result.exit_code == 2 and "is not empty" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_repository_holds_template_assignment_and_engine_wheel(exported):
    for name in ("README.md", "requirements.txt", ".gitignore", "pytest.ini",
                 ".github/workflows/feedback.yml",
                 "assignments/01/README.md", "assignments/01/assignment.toml", "assignments/01/attention.py",
                 "assignments/01/model.py", "assignments/01/test_masks.py"):
        assert (exported / name).is_file(), name
    [wheel] = (exported / "vendor").glob("*.whl")
    assert f"./vendor/{wheel.name}" in (exported / "requirements.txt").read_text().splitlines()
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert tops == {"grader", wheel.name.split("-py3")[0] + ".dist-info"}


def shipped_texts(out: Path):
    """(where, text) of every file under ``out`` and of every member of its wheels."""
    for path in sorted(p for p in out.rglob("*") if p.is_file() and ".git" not in p.parts):
        where = path.relative_to(out).as_posix()
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    yield f"{where}/{member}", archive.read(member).decode("utf-8", "replace")
        else:
            yield where, path.read_text(errors="replace")


def significant(text: str) -> set[str]:
    return {s for s in (line.strip() for line in text.splitlines()) if len(s) >= 28 and not s.startswith("#")}


def test_no_hidden_test_and_no_solution_line_is_shipped(exported):
    """Searched as substrings, so that lines inside a notebook's JSON or the wheel's files count."""
    ids = assignment_ids()
    public = "\n".join(p.read_text() for p in [
        *(p for a in ids for p in (ROOT / "assignments" / a).iterdir() if p.is_file()),
        *(ROOT / "grader").rglob("*.py"), ROOT / "README.md"])
    # a line public anyway (in a given file of any assignment) is no secret: 01's given model.py
    # builds the layers 02's students write
    secret = {line for a in ids for line in solution_lines(assignment.load(ROOT / "reference" / a))
              if line not in public}
    hidden = {line for a in ids for p in (ROOT / "reference" / a).glob("test_hidden_*.py")
              for line in significant(p.read_text()) if line not in public}
    assert len(secret) > 50 and len(hidden) > 50
    shipped = list(shipped_texts(exported))
    assert any(where.startswith("vendor/") and where.endswith("pytest_plugin.py") for where, _ in shipped)
    for where, text in shipped:
        assert "test_hidden_" not in Path(where).name, where
        leaked = sorted(line for line in secret | hidden if line in text)
        assert not leaked, f"{where} holds lines of solutions or hidden tests: {leaked[:3]}"


@pytest.mark.slow
def test_public_tests_run_in_a_fresh_environment_from_the_wheel(exported, tmp_path):
    """A new virtual environment gets the engine from vendor/ (pip, no index); torch and the other
    dependencies come from this environment's site-packages, listed as plain paths so that their
    .pth files (an editable install of this project among them) stay unread."""
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    Path(purelib, "running_environment.pth").write_text("\n".join(ours) + "\n")
    [wheel] = (exported / "vendor").glob("*.whl")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index",
                              "--no-deps", "--quiet", str(wheel)],
                             check=False, capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PYTHON"))}
    run = subprocess.run([python, "-m", "pytest", "assignments/01/test_masks.py", "-p", "no:cacheprovider"],
                         cwd=exported, env=env, check=False, capture_output=True, text=True, timeout=600)
    out = run.stdout
    assert run.returncode == 1, out[-3000:] + run.stderr[-2000:]
    assert "[masks] not implemented yet" in out and "Traceback" not in out
    assert re.search(r"^masks\s+0/\d+\s+0\.0 / 10\s+not implemented yet", out, re.MULTILINE), out[-2000:]
    assert "points estimated from the public tests" in out
    where = subprocess.run([python, "-c", "import grader.frontends.pytest_plugin as p; print(p.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(env_dir), where

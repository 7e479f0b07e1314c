"""``grader export-student-repo OUT``: a standalone repository to give students.

OUT receives

- ``student_template/`` as it is: the students' README, ``requirements.txt``, ``.gitignore``,
  ``pytest.ini`` and ``.github/workflows/feedback.yml`` (pull-request feedback);
- ``assignments/NN/`` for every published assignment (stubs, given files, handout, public tests),
  each checked first: identical to what ``grader generate NN`` writes from ``reference/NN``, and
  without any hidden test (``test_hidden_*``);
- ``vendor/<engine wheel>``: the ``grader`` package, built offline from its source checkout (only
  ``grader/`` and its metadata; nothing else of the project). ``requirements.txt`` must name it.

Everything is checked and built before OUT is touched. A non-empty OUT is refused unless
``force``, which replaces its content but keeps a ``.git`` folder (export into a clone of the
course's template repository, then commit).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader import assignment as assignment_mod
from grader.authoring import generate

TEMPLATE = "student_template"
VENDOR = "vendor"
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis", ".ipynb_checkpoints")
ENGINE_SOURCE = Path(__file__).resolve().parents[2]  # the checkout holding grader/ and pyproject.toml


class ExportError(ValueError):
    """The repository cannot be exported, with what to do about it."""


@dataclass(frozen=True)
class Export:
    out: Path
    assignments: tuple[str, ...]  # ids exported
    wheel: str  # file name of the engine wheel under vendor/


def export_student_repo(root: Path, out: Path, force: bool = False) -> Export:
    """Write the student repository of the project at ``root`` into ``out``."""
    root, out = Path(root).resolve(), Path(out).resolve()
    _check_target(root, out, force)
    template = root / TEMPLATE
    if not template.is_dir():
        raise ExportError(f"no {TEMPLATE}/ in {root} (run this from the project root, or pass --root)")
    published = _published_assignments(root)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_engine_wheel(Path(tmp))
        requirements = template / "requirements.txt"
        if not requirements.is_file() or f"{VENDOR}/{wheel.name}" not in requirements.read_text():
            raise ExportError(f"{requirements} must install ./{VENDOR}/{wheel.name}, the engine wheel "
                              "this export ships")
        _clear(out)
        shutil.copytree(template, out, ignore=JUNK, dirs_exist_ok=True)
        for folder in published:
            shutil.copytree(folder, out / "assignments" / folder.name, ignore=JUNK)
        (out / VENDOR).mkdir(exist_ok=True)
        shutil.copy2(wheel, out / VENDOR / wheel.name)
    return Export(out, tuple(f.name for f in published), wheel.name)


def build_engine_wheel(target: Path) -> Path:
    """Build the ``grader`` wheel into ``target`` without network (pip, no build isolation), from a
    clean copy of its sources so that no stale build folder can add anything."""
    if not (ENGINE_SOURCE / "pyproject.toml").is_file():
        raise ExportError(f"the engine wheel is built from the grader's source checkout, and "
                          f"{ENGINE_SOURCE} has no pyproject.toml")
    source = target / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ENGINE_SOURCE / name, source / name)
    shutil.copytree(ENGINE_SOURCE / "grader", source / "grader", ignore=JUNK)
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                          "--no-index", "--quiet", "--wheel-dir", str(target / "dist"), str(source)],
                         check=False, capture_output=True, text=True)
    wheels = sorted((target / "dist").glob("*.whl"))
    if run.returncode or len(wheels) != 1:
        last = (run.stderr.strip().splitlines() or ["no wheel written"])[-1]
        raise ExportError(f"building the engine wheel failed (offline builds need setuptools>=70.1 "
                          f"installed): {last}")
    with zipfile.ZipFile(wheels[0]) as archive:
        stray = [n for n in archive.namelist() if not n.startswith(("grader/", _dist_info(wheels[0])))]
    if stray:
        raise ExportError(f"the engine wheel holds files outside grader/: {', '.join(stray[:5])}")
    return wheels[0]


def _dist_info(wheel: Path) -> str:
    """``name-version.dist-info/`` of a wheel file ``name-version-tags.whl``."""
    name, version = wheel.name.split("-")[:2]
    return f"{name}-{version}.dist-info/"


def _published_assignments(root: Path) -> list[Path]:
    """Every ``assignments/NN``, checked to be current with its reference and free of hidden tests."""
    folders = sorted(p for p in (root / "assignments").glob("*")
                     if (p / assignment_mod.CONFIG_NAME).is_file())
    if not folders:
        raise ExportError(f"no published assignment in {root / 'assignments'}")
    for folder in folders:
        hidden = sorted(p.name for p in folder.rglob("test_hidden_*"))
        if hidden:
            raise ExportError(f"{folder} holds hidden tests ({', '.join(hidden)}): remove them")
        reference, _ = assignment_mod.locate(folder.name, root)
        stale = generate.drift(assignment_mod.load(reference), folder)
        if stale:
            raise ExportError(f"{folder} is out of date with {reference} ({', '.join(stale)}): "
                              f"run `grader generate {folder.name}`")
    return folders


def _check_target(root: Path, out: Path, force: bool) -> None:
    for project in (root, ENGINE_SOURCE):
        if project == out or out in project.parents:
            raise ExportError(f"refusing to export into {out}: it holds the project {project}")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ExportError(f"{out} is not empty (--force replaces its content, keeping .git)")


def _clear(out: Path) -> None:
    """Empty ``out`` (created if missing), except its ``.git``."""
    out.mkdir(parents=True, exist_ok=True)
    for child in out.iterdir():
        if child.name == ".git":
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()

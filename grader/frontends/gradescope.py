"""Gradescope: an autograder bundle that grades one submission with the same engine.

    grader gradescope 01 autograder.zip

The zip (Gradescope unpacks it into ``/autograder/source``) holds

    setup.sh         run once when Gradescope builds the image: a venv with the CPU build of
                     torch and the engine, and bubblewrap where apt-get is available
    run_autograder   run for every submission: ``python -I -m grader.frontends.gradescope ROOT ID``
    engine/          the engine's source (pyproject.toml, README.md, grader/)
    reference/ID/    the hidden side (solution, hidden tests): on Gradescope's machine only
    assignments/ID/  the published side (stubs, public tests)

Grading (:func:`grade_submission`) reads ``ROOT/submission``: the student's modules or one
notebook, at its top or in the shallowest sub-folder holding one (an uploaded repository's
``assignments/01/``). It writes ``ROOT/results/results.json`` in Gradescope's schema, public
tests ``visible`` and hidden tests ``after_published``. The worker sees the submission folder
only, never ``ROOT/source``.

Environment: ``AUTOGRADER_ROOT`` replaces ``/autograder``, ``GRADER_PYTHON`` the venv's Python,
``GRADER_EXERCISES`` (comma-separated ids) grades only those exercises.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path

from grader.assignment import Assignment

TORCH = "torch==2.13.0"  # the version CI tests
VENV = "/opt/llm-grader"

SETUP = f"""#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (see grader/frontends/gradescope.py).
set -euo pipefail
cd "$(dirname "$0")"
if command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq python3 python3-venv >/dev/null
  apt-get install -y -qq bubblewrap >/dev/null || echo "no bubblewrap: the other isolation layers apply"
fi
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else
  "the grader needs Python >= 3.11: choose a newer base image (Ubuntu 24.04)")'
python3 -m venv {VENV}
{VENV}/bin/pip install -q {TORCH} --index-url https://download.pytorch.org/whl/cpu
{VENV}/bin/pip install -q ./engine
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission (see grader/frontends/gradescope.py).
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
cd "$ROOT/source"
exec "${{GRADER_PYTHON:-{venv}/bin/python}}" -I -m grader.frontends.gradescope "$ROOT" {assignment_id}
"""


class BundleError(ValueError):
    """The bundle cannot be built, with why."""


def build_bundle(assignment: Assignment, reference: Path, published: Path, bundle: Path) -> None:
    """Write the autograder zip for ``assignment`` to ``bundle``."""
    import grader

    engine = Path(grader.__file__).resolve().parent.parent
    project_files = [engine / "pyproject.toml", engine / "README.md"]
    for path in project_files:
        if not path.is_file():
            raise BundleError(f"the engine's source is needed to bundle it and {path} does not "
                              "exist (run from a checkout of the project, installed with pip -e)")
    files = {f"engine/{p.name}": p for p in project_files}
    files |= {f"engine/{p.relative_to(engine).as_posix()}": p for p in grader.source_files()}
    for folder in (reference, published):
        files |= {f"{folder.parent.name}/{folder.name}/{p.relative_to(folder).as_posix()}": p
                  for p in sorted(folder.rglob("*"))
                  if p.is_file() and "__pycache__" not in p.parts}
    bundle.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP),
                           ("run_autograder", RUN.format(venv=VENV, assignment_id=assignment.id))):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = 0o100755 << 16
            archive.writestr(info, text)
        for name, path in files.items():
            archive.write(path, name)


def submission_folder(root: Path, student_modules: tuple[str, ...]) -> Path:
    """Where under ``root`` the student's work is: ``root`` itself or the shallowest folder (not
    hidden, not a link) holding a student module or a notebook; ``root`` when none does."""
    def holds_work(folder: Path) -> bool:
        return (any((folder / f"{m}.py").is_file() for m in student_modules)
                or any(folder.glob("*.ipynb")))

    below = [p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()
             and not any(part.startswith(".") for part in p.relative_to(root).parts)]
    for folder in [root, *sorted(below, key=lambda p: (len(p.parts), p))]:
        if holds_work(folder):
            return folder
    return root


def grade_submission(root: Path, assignment_id: str, exercises: tuple[str, ...] = ()) -> Path:
    """Grade ``root/submission`` with the bundle in ``root/source``; returns the results.json."""
    from grader import assignment
    from grader.grading.context import GradeRequest, GradingContext, default_jobs
    from grader.reports.results_json import to_gradescope

    reference, published = assignment.locate(assignment_id, root / "source")
    definition = assignment.load(reference)
    folder = submission_folder(root / "submission", definition.student_modules)
    request = GradeRequest(reference=reference, published=published, submissions=folder,
                           out=root / "results", exercises=exercises)
    context = GradingContext(request, shards=default_jobs())  # one submission: split it over the cores
    try:
        result = context.grade("submission", folder)
    finally:
        context.close()
    path = root / "results" / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_gradescope(result), indent=2))
    return path


def main(argv: list[str]) -> int:
    """``python -m grader.frontends.gradescope ROOT ASSIGNMENT_ID`` (what run_autograder runs)."""
    from grader.assignment import AssignmentError

    if len(argv) != 2:
        print("usage: python -m grader.frontends.gradescope ROOT ASSIGNMENT_ID", file=sys.stderr)
        return 2
    exercises = tuple(x for x in os.environ.get("GRADER_EXERCISES", "").split(",") if x)
    try:
        path = grade_submission(Path(argv[0]), argv[1], exercises)
    except AssignmentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

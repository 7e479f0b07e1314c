"""A submission's modules import each other (and the given files) by plain names, each folder its own."""

import sys
import textwrap

import pytest

from grader.assignment import load
from grader.frontends.local import local_transport
from grader.grading.proxy import Submission, SubmissionError
from grader.grading.suite import load_reference
from grader.worker.executor import Executor

GIVEN = "SCALE = 10\n"


def folder(tmp_path, name: str, files: dict[str, str]):
    path = tmp_path / name
    path.mkdir()
    for stem, text in files.items():
        (path / f"{stem}.py").write_text(textwrap.dedent(text))
    return path


def submission(path, siblings=None) -> Submission:
    siblings = {"base": None, "top": None, "probe": None, "settings": GIVEN} if siblings is None else siblings
    return Submission(local_transport(Executor(path, (), siblings)), tuple(siblings))


def two_modules(tmp_path, name: str, value: int):
    return folder(tmp_path, name, {
        "base": f"VALUE = {value}\n",
        "top": """
            from base import VALUE
            from settings import SCALE

            def scaled():
                return VALUE * SCALE

            def lazily():
                import base
                return base.VALUE
            """,
        "probe": "from settings import SCALE\n\ndef scale():\n    return SCALE\n",
        "settings": "SCALE = -1  # the submission's own copy of a given file: not used\n"})


def test_each_folder_imports_its_own_modules_by_plain_name(tmp_path):
    before = {name: sys.modules.get(name) for name in ("base", "top", "settings")}
    ada, ben = submission(two_modules(tmp_path, "ada", 1)), submission(two_modules(tmp_path, "ben", 2))
    assert ada.top.scaled() == 10 and ben.top.scaled() == 20  # the given module is the grader's copy
    assert ada.top.lazily() == 1 and ben.top.lazily() == 2  # an import inside a function too
    assert ada.probe.scale() == 10
    assert {name: sys.modules.get(name) for name in before} == before


def test_a_missing_or_broken_sibling_fails_the_modules_that_import_it(tmp_path):
    top = "from base import VALUE\n\ndef value():\n    return VALUE\n"
    student = submission(folder(tmp_path, "cleo", {"top": top}))
    with pytest.raises(SubmissionError, match="ImportFailed.*base.py is missing"):
        student.top.value()
    broken = submission(folder(tmp_path, "dev", {"base": "VALUE = (\n", "top": top}))
    with pytest.raises(SubmissionError, match="ImportFailed.*base.py could not be imported"):
        broken.top.value()


def test_names_that_are_not_siblings_are_imported_as_usual(tmp_path):
    path = folder(tmp_path, "gus", {
        "top": "import torch\nfrom base import VALUE\n\ndef value():\n    return torch.tensor(VALUE)\n",
        "base": "VALUE = 3\n", "torch": "raise SystemExit('shadowed')\n"})
    student = submission(path, {"top": None, "base": None})
    assert student.top.value().item() == 3


def test_the_reference_modules_import_each_other_and_the_given_files(tmp_path):
    path = two_modules(tmp_path, "reference", 4)
    (path / "settings.py").write_text(GIVEN)
    (path / "assignment.toml").write_text(textwrap.dedent("""
        id = "99"
        title = "t"
        student_modules = ["base", "top"]
        given_files = ["settings.py", "notes.md"]
        [[exercises]]
        id = "x"
        title = "x"
        points = 1
        names = ["top.scaled"]
        """))
    assignment = load(path)
    assert assignment.given_modules == ("settings",)
    assert assignment.siblings() == {"base": None, "top": None, "settings": GIVEN}
    reference = load_reference(assignment)
    assert reference.top.scaled() == 40 and reference.settings.SCALE == 10
    assert reference.top.VALUE is reference.base.VALUE

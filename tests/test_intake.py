"""Submissions as they arrive, read on the trusted side (no grading here): who is in SUBMISSIONS,
and for each student the folder the worker reads, with notes saying how it was found."""

import json
import stat
import zipfile
from pathlib import Path

import pytest

from grader.grading.roster import RosterError, read_roster
from grader.grading.submissions import (
    ENCODING,
    IGNORED,
    NESTED,
    NO_MODULES,
    NOTEBOOK,
    UNPACKED,
    UNUSABLE,
    Intake,
    source_problem,
)
from tests.test_notebook import notebook_text

MODULES = ("attention", "tokenizer")


@pytest.fixture
def intake():
    made = Intake(MODULES)
    yield made
    made.close()
    assert not made.root.exists()


def modules(folder: Path, text: str = "X = 1\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for m in MODULES:
        (folder / f"{m}.py").write_text(text)
    return folder


def zipped(path: Path, members: dict[str, str | bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def kinds(prepared) -> dict[str, str]:
    return {n.kind: n.text for n in prepared.notes}


def test_a_folder_of_modules_is_graded_as_it_is(intake, tmp_path):
    folder = modules(tmp_path / "ada")
    prepared = intake.prepare(folder)
    assert prepared.folder == folder and prepared.notes == () and prepared.problem == ""


def test_a_single_nested_folder_is_looked_through_and_system_files_named(intake, tmp_path):
    work = modules(tmp_path / "cleo" / "a01-main" / "src")
    (tmp_path / "cleo" / "a01-main" / "README.md").write_text("# mine")
    (tmp_path / "cleo" / "__MACOSX").mkdir()
    (tmp_path / "cleo" / ".DS_Store").write_text("")
    prepared = intake.prepare(tmp_path / "cleo")
    assert prepared.folder == work
    assert kinds(prepared) == {NESTED: "a01-main/src/", IGNORED: ".DS_Store, __MACOSX/"}


def test_a_zip_is_unpacked_privately_and_readable_by_the_worker(intake, tmp_path):
    archive = zipped(tmp_path / "ben.zip", {"ben/attention.py": "X = 1\n", "ben/tokenizer.py": "Y = 2\n",
                                           "__MACOSX/ben/._attention.py": "apple"})
    prepared = intake.prepare(archive)
    assert prepared.folder.is_relative_to(intake.root) and prepared.folder.name == "ben"
    assert (prepared.folder / "tokenizer.py").read_text() == "Y = 2\n"
    assert kinds(prepared) == {UNPACKED: "ben.zip", NESTED: "ben/", IGNORED: "__MACOSX/"}
    assert stat.S_IMODE(intake.root.stat().st_mode) == 0o711  # not listable by the worker
    unpacked = prepared.created[0]
    assert stat.S_IMODE(unpacked.stat().st_mode) == 0o755
    intake.discard(prepared)
    assert not unpacked.exists()


def test_a_folder_holding_only_a_zip_is_unpacked_and_a_zip_in_a_zip_too_but_no_deeper(intake, tmp_path):
    inner = zipped(tmp_path / "build" / "inner.zip", {"attention.py": "X = 1\n"})
    zipped(tmp_path / "fay" / "submission.zip", {"inner.zip": inner.read_bytes(), "readme.txt": "hi"})
    prepared = intake.prepare(tmp_path / "fay")
    assert (prepared.folder / "attention.py").is_file()
    assert [n.text for n in prepared.notes if n.kind == UNPACKED] == ["submission.zip", "inner.zip"]
    innermost = zipped(tmp_path / "build" / "deeper.zip", {"attention.py": "X = 1\n"})
    middle = zipped(tmp_path / "build" / "middle.zip", {"deeper.zip": innermost.read_bytes()})
    outer = zipped(tmp_path / "russian.zip", {"middle.zip": middle.read_bytes()})
    prepared = intake.prepare(outer)
    assert prepared.folder is None and kinds(prepared)[NO_MODULES] == "found deeper.zip"


def test_a_malicious_zip_is_refused_with_the_reason_and_nothing_else_is_touched(intake, tmp_path):
    archive = zipped(tmp_path / "mallory.zip", {"attention.py": "X = 1\n", "../../escaped.py": "X = 1\n"})
    prepared = intake.prepare(archive)
    assert prepared.folder is None and "zip-slip" in prepared.problem
    assert prepared.problem.startswith("your mallory.zip could not be unpacked: mallory.zip: ")
    assert kinds(prepared)[UNUSABLE].startswith("mallory.zip: '../../escaped.py' would be written outside")
    assert not list(tmp_path.parent.rglob("escaped.py")) and not list(intake.root.parent.glob("escaped.py"))


@pytest.mark.parametrize("files, found", [
    ({}, "found nothing"),
    ({".DS_Store": ""}, "found only system files"),
    ({"main.py": "", "Attention.PY": "", "notes/": None}, "found Attention.PY, main.py"),
    ({f"f{i}.txt": "" for i in range(10)}, "found f0.txt, f1.txt, f2.txt, f3.txt, f4.txt, f5.txt, "
                                           "f6.txt, f7.txt, and 2 more"),
])
def test_a_folder_without_the_modules_says_what_it_holds_instead(intake, tmp_path, files, found):
    folder = tmp_path / "gus"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).mkdir() if text is None else (folder / name).write_text(text)
    prepared = intake.prepare(folder)
    assert prepared.folder is None and kinds(prepared)[NO_MODULES] == found
    assert prepared.problem == ("your submission holds none of the assignment's modules (attention.py, "
                                f"tokenizer.py) and no notebook; {found}")


def test_two_folders_holding_the_work_at_one_depth_are_ambiguous(intake, tmp_path):
    modules(tmp_path / "eve" / "v1")
    modules(tmp_path / "eve" / "v2")
    prepared = intake.prepare(tmp_path / "eve")
    assert prepared.folder is None
    assert kinds(prepared)[UNUSABLE] == "the assignment's files are in 2 folders (v1/, v2/)"
    modules(tmp_path / "eve")  # the shallowest wins
    assert intake.prepare(tmp_path / "eve").folder == tmp_path / "eve"


def test_a_link_is_never_followed_nor_read(intake, tmp_path):
    modules(tmp_path / "elsewhere")
    (tmp_path / "elsewhere" / "secret.ipynb").write_text(notebook_text({"attention": "SECRET = 1\n"}))
    (tmp_path / "elsewhere" / "secret.py").write_bytes("SECRET = 1\n".encode("utf-16"))
    (tmp_path / "finn").mkdir()
    (tmp_path / "finn" / "work").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "finn" / "work.ipynb").symlink_to(tmp_path / "elsewhere" / "secret.ipynb")
    prepared = intake.prepare(tmp_path / "finn")
    assert prepared.folder is None and kinds(prepared)[NO_MODULES] == "found work, work.ipynb"
    (tmp_path / "finn" / "attention.py").symlink_to(tmp_path / "elsewhere" / "secret.py")
    prepared = intake.prepare(tmp_path / "finn")  # graded by the worker, which sees only its sandbox
    assert prepared.folder == tmp_path / "finn" and prepared.notes == ()


def test_a_notebook_anywhere_is_turned_into_modules(intake, tmp_path):
    folder = tmp_path / "hana" / "week1"
    folder.mkdir(parents=True)
    (folder / "work.ipynb").write_text(notebook_text({"attention": "X = 1\n"}))
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "work-checkpoint.ipynb").write_text("{")
    prepared = intake.prepare(tmp_path / "hana")
    assert prepared.folder.parent == intake.root
    assert (prepared.folder / "attention.py").read_text() == "# module: attention.py\nX = 1\n"
    assert kinds(prepared) == {NESTED: "week1/", NOTEBOOK: "work.ipynb", IGNORED: "week1/.ipynb_checkpoints/"}
    (folder / "work.ipynb").write_text(json.dumps({"cells": []}))
    broken = intake.prepare(tmp_path / "hana")
    assert broken.folder is None and "work.ipynb" in broken.problem


@pytest.mark.parametrize("data, expected", [
    ("X = 'é'\n".encode("utf-16"), "attention.py is UTF-16 text; Python reads source files as UTF-8: save it as UTF-8"),
    ("X = 'é'\n".encode("utf-16-le"), "attention.py is UTF-16 text; Python reads source files as UTF-8"),
    ("X = 1\n".encode("utf-32"), "attention.py is UTF-32 text"),
    ("# comment\nX = 'café'\n".encode("cp1252"), "attention.py is not UTF-8 text (byte 0xe9 on line 2)"),
    (b"X = 1\n\0\n" + b"Y = 2\n" * 20, "attention.py holds NUL bytes"),
    (b"# -*- coding: nonsense -*-\nX = 1\n", "attention.py: unknown encoding"),
])
def test_source_python_cannot_decode_names_the_file_and_the_encoding_expected(tmp_path, data, expected):
    (tmp_path / "attention.py").write_bytes(data)
    assert source_problem(tmp_path / "attention.py").startswith(expected)


@pytest.mark.parametrize("data", ["X = 'é'\n".encode(), "\ufeffX = 'é'\n".encode(),
                                  "# -*- coding: latin-1 -*-\nX = 'é'\n".encode("latin-1")])
def test_source_python_reads_is_no_problem(tmp_path, data):
    (tmp_path / "attention.py").write_bytes(data)
    assert source_problem(tmp_path / "attention.py") == ""


def test_an_undecodable_module_is_noted_and_its_import_failures_explained(intake, tmp_path):
    from grader import results

    folder = modules(tmp_path / "ivy")
    (folder / "attention.py").write_bytes("X = 1\n".encode("utf-16"))
    prepared = intake.prepare(folder)
    assert prepared.folder == folder and kinds(prepared)[ENCODING].startswith("attention.py is UTF-16")
    test = results.TestDefinition("t::a", "sdpa", "a")
    failed = results.TestOutcome(test, results.FAILED, "[sdpa] a\nImportFailed in attention.f: attention.py "
                                 "could not be imported: SyntaxError: null bytes\nReproduce: pytest t")
    other = results.TestOutcome(test, results.FAILED, "[sdpa] a\nAssertionError")
    result = prepared.explained(results.StudentResult("ivy", None, (failed, other), 0.0, "process"))
    assert result.outcomes[0].message.splitlines()[2].startswith("attention.py is UTF-16 text")
    assert result.outcomes[1] == other and result.notes == prepared.notes


# --- the class: who is in SUBMISSIONS ------------------------------------------------------------

def test_the_roster_names_students_by_folder_or_zip_and_lists_what_it_left_out(tmp_path):
    subs = tmp_path / "subs"
    modules(subs / "ada")
    zipped(subs / "ben.zip", {"attention.py": ""})
    zipped(subs / "ada.zip", {"attention.py": ""})  # ada has a folder: it wins
    (subs / "__MACOSX").mkdir()
    (subs / "notes.txt").write_text("")
    (subs / "grades.csv").mkdir()
    (subs / "out").mkdir()
    roster = read_roster(subs, subs / "out", MODULES, reserved=("grades.csv",))
    assert roster.entries == {"ada": subs / "ada", "ben": subs / "ben.zip"}
    assert roster.skipped == ("__MACOSX/ (system files)", "ada.zip (the folder ada/ is graded instead)",
                              "grades.csv (a name OUT uses for its own files)", "notes.txt (not a folder or a zip)",
                              "out/ (the --out folder)")


def test_one_students_folder_or_no_submission_at_all_is_an_error(tmp_path):
    one = modules(tmp_path / "subs" / "ada")
    with pytest.raises(RosterError, match=r"looks like one student's submission \(it holds attention.py, "
                                          r"tokenizer.py\).*--student ada"):
        read_roster(one, tmp_path / "out", MODULES)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RosterError, match="holds no submission: .*; it is empty"):
        read_roster(tmp_path / "empty", tmp_path / "out", MODULES)
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "work.ipynb").write_text("{}")
    with pytest.raises(RosterError, match=r"found only work.ipynb \(not a folder or a zip\)"):
        read_roster(tmp_path / "loose", tmp_path / "out", MODULES)


def test_nbgrader_students_need_the_assignment_folder(tmp_path):
    submitted = tmp_path / "submitted"
    modules(submitted / "ada" / "a01")
    (submitted / "ben" / "a02").mkdir(parents=True)
    roster = read_roster(submitted, tmp_path / "out", MODULES, inner="a01")
    assert roster.entries == {"ada": submitted / "ada" / "a01"} and roster.skipped == ("ben/ (no a01/ inside)",)

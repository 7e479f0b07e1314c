"""One student's submission as it arrived, turned into the folder of modules the worker reads.

    intake = Intake(assignment.student_modules)     # a private root: one of the template's visible folders
    prepared = intake.prepare(Path("subs/alice.zip"))
    prepared.folder    # what the worker reads; None when the submission cannot be graded
    prepared.notes     # what was done or found: (Note("unpacked", "alice.zip"), Note("nested", "a01-main/"))
    prepared.problem   # why it cannot be graded ("" when it can): every test fails with it
    intake.discard(prepared)                        # remove what was written for it

A student's entry (a folder or a zip in SUBMISSIONS) is read as data on the trusted side: nothing
in it is executed or imported. In order:

1. A zip is unpacked into a fresh folder under the private root (:mod:`grader.grading.unzip`:
   zip-slip, links, absolute paths, size and file-count bombs are refused with a reason).
2. The submission is the shallowest folder (the entry itself, or up to :data:`MAX_DEPTH` levels
   down: ``alice/a01-main/``) holding one of the assignment's modules (``layers.py``) or a
   notebook. System files and folders (:func:`grader.grading.unzip.is_junk`: ``__MACOSX/``,
   ``.DS_Store``, ``.git/``...) are ignored and named. Two such folders at the same depth are
   ambiguous: the submission is not graded, and says so.
3. A folder holding no module and no notebook, but exactly one zip (``alice/submission.zip``),
   is unpacked and looked through the same way (a zip in a zip, at most).
4. A folder with no module but one ``.ipynb`` is a notebook submission: its module cells
   (:mod:`grader.authoring.notebook`) are written as ``NAME.py`` into a fresh private folder.
5. Each module the folder holds is checked to be source Python can read (UTF-8, or the
   encoding its coding line declares): a UTF-16 file is named, with the encoding expected.

Nothing found is that student's problem alone: a submission with no module of the assignment, a
refused zip or an unreadable notebook gets every test failed with one message saying what was
found instead (:func:`unusable`), and the batch goes on. The private root is readable by the
worker's user but not listable; each student's folder there has an unguessable name.
"""

from __future__ import annotations

import codecs
import io
import os
import shutil
import tempfile
import tokenize
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader import results
from grader.authoring.notebook import NotebookError, read_modules
from grader.grading.unzip import ArchiveError, ZipLimits, is_junk, unpack
from grader.results import Note

MAX_DEPTH = 4  # folder levels below a student's entry searched for the submission
MAX_ARCHIVES = 2  # a zip, and one zip inside it
MAX_SCANNED = 20_000  # files and folders looked at per submission (a node_modules/ stops here)
MAX_LISTED = 8  # names shown of what a submission holds instead of the modules
MAX_SOURCE_BYTES = 16 << 20  # larger modules are not checked for their encoding (the worker decides)

# Kinds of notes, problems first (the order of the batch summary).
NO_MODULES, UNUSABLE, ENCODING = "no_modules", "unusable", "encoding"
UNPACKED, NESTED, NOTEBOOK, IGNORED = "unpacked", "nested", "notebook", "ignored"
NOTE_KINDS = (NO_MODULES, UNUSABLE, ENCODING, UNPACKED, NESTED, NOTEBOOK, IGNORED)
PROBLEMS = (NO_MODULES, UNUSABLE, ENCODING)


@dataclass(frozen=True)
class Prepared:
    folder: Path | None  # the folder of modules to grade; None when there is none
    notes: tuple[Note, ...] = ()
    problem: str = ""  # why there is no folder: the message of every test
    created: tuple[Path, ...] = ()  # private folders written for it
    undecodable: tuple[tuple[str, str], ...] = ()  # (module file, why Python cannot decode it)

    def explained(self, result: results.StudentResult) -> results.StudentResult:
        """``result`` with these notes, and each failure to import an undecodable module
        followed by why it cannot be decoded (where the student reads the failure)."""
        outcomes = tuple(_explained(o, self.undecodable) for o in result.outcomes)
        return replace(result, outcomes=outcomes, notes=self.notes)


class _Unusable(Exception):
    def __init__(self, kind: str, message: str, note: str):
        super().__init__(message)
        self.kind, self.message, self.note = kind, message, note


@dataclass
class _Found:
    notes: list[Note] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    created: list[Path] = field(default_factory=list)
    undecodable: list[tuple[str, str]] = field(default_factory=list)


class Intake:
    """Submissions prepared for the worker, written under :attr:`root` until :meth:`close`."""

    def __init__(self, student_modules: tuple[str, ...], limits: ZipLimits = ZipLimits()):
        self.student_modules = student_modules
        self.limits = limits
        self.root = Path(tempfile.mkdtemp(prefix="grader-submissions-"))
        os.chmod(self.root, 0o711)

    def prepare(self, entry: Path) -> Prepared:
        """The folder to grade for ``entry`` (a student's folder or zip), with notes saying how
        it was found; or no folder and the problem, for a submission that cannot be graded."""
        found = _Found()
        try:
            folder, problem = self._modules_folder(self._locate(entry, found, 0), found), ""
        except _Unusable as exc:
            folder, problem = None, exc.message
            found.notes.append(Note(exc.kind, exc.note))
        if found.ignored:
            found.notes.append(Note(IGNORED, ", ".join(dict.fromkeys(found.ignored))))
        return Prepared(folder, tuple(found.notes), problem, tuple(found.created), tuple(found.undecodable))

    def discard(self, prepared: Prepared) -> None:
        for folder in prepared.created:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def _private_folder(self, found: _Found) -> Path:
        folder = Path(tempfile.mkdtemp(dir=self.root))
        os.chmod(folder, 0o755)
        found.created.append(folder)
        return folder

    def _locate(self, entry: Path, found: _Found, archives: int) -> Path:
        """The folder under ``entry`` that holds the submission (steps 1 to 3)."""
        folder = entry
        if entry.is_file():
            folder = self._private_folder(found)
            try:
                found.ignored += unpack(entry, folder, self.limits)
            except (ArchiveError, OSError) as exc:
                text = str(exc) if isinstance(exc, ArchiveError) else f"{entry.name} cannot be read ({exc})"
                raise _Unusable(UNUSABLE, f"your {entry.name} could not be unpacked: {text}", text) from None
            found.notes.append(Note(UNPACKED, entry.name))
            archives += 1
        try:
            survey = _survey(folder, self.student_modules)
        except OSError as exc:
            raise _Unusable(UNUSABLE, f"your submission cannot be read ({exc.strerror})",
                            f"cannot be read ({exc.strerror})") from None
        found.ignored += survey.ignored
        if len(survey.holders) > 1:
            names = ", ".join(_relative(h, folder) for h in survey.holders)
            where = f"{len(survey.holders)} folders ({names})"
            raise _Unusable(UNUSABLE, f"your submission holds the assignment's files in {where}; "
                            "submit exactly one", f"the assignment's files are in {where}")
        if survey.holders:
            if survey.holders[0] != folder:
                found.notes.append(Note(NESTED, _relative(survey.holders[0], folder)))
            return survey.holders[0]
        if len(survey.zips) == 1 and archives < MAX_ARCHIVES:
            return self._locate(survey.zips[0], found, archives)
        listed = survey.files[:MAX_LISTED] + ([f"and {len(survey.files) - MAX_LISTED} more"]
                                               if len(survey.files) > MAX_LISTED else [])
        what = (f"found {', '.join(listed)}" if listed else
                "found only system files" if survey.ignored else "found nothing")
        modules = ", ".join(f"{m}.py" for m in self.student_modules)
        raise _Unusable(NO_MODULES, f"your submission holds none of the assignment's modules ({modules}) "
                        f"and no notebook; {what}", what)

    def _modules_folder(self, folder: Path, found: _Found) -> Path:
        """``folder`` itself (its modules checked to be readable source), or for a notebook
        submission a private folder of the modules written from it (step 4)."""
        try:
            notebook = notebook_in(folder, self.student_modules)
            if notebook is None:
                for module in self.student_modules:
                    problem = source_problem(folder / f"{module}.py")
                    if problem:
                        found.notes.append(Note(ENCODING, problem))
                        found.undecodable.append((f"{module}.py", problem))
                return folder
            modules = read_modules(notebook)
        except NotebookError as exc:
            raise _Unusable(UNUSABLE, str(exc), str(exc)) from None
        target = self._private_folder(found)
        for name, text in modules.items():
            path = target / f"{name}.py"
            path.write_text(text, encoding="utf-8")
            os.chmod(path, 0o644)
        found.notes.append(Note(NOTEBOOK, notebook.name))
        return target


@dataclass
class _Survey:
    holders: list[Path]  # the shallowest folders holding a module or a notebook
    zips: list[Path]  # zips seen on the way
    files: list[str]  # other files seen on the way, relative
    ignored: list[str]  # system files and folders seen on the way, relative


def _survey(root: Path, student_modules: tuple[str, ...]) -> _Survey:
    """Breadth first from ``root`` (links never followed), down to the first level where a folder
    holds a module or a notebook."""
    survey, level, scanned = _Survey([], [], [], []), [root], 0
    for _ in range(MAX_DEPTH + 1):
        below = []
        for folder in level:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
            scanned += len(entries)
            for entry in entries:
                name = _relative(Path(entry.path), root)
                if is_junk(entry.name):
                    survey.ignored.append(name)
                elif entry.is_dir(follow_symlinks=False):
                    below.append(Path(entry.path))
                else:
                    survey.files.append(name)
                    if entry.name.lower().endswith(".zip") and entry.is_file(follow_symlinks=False):
                        survey.zips.append(Path(entry.path))
            if _holds_work(folder, student_modules):
                survey.holders.append(folder)
        if survey.holders or not below or scanned > MAX_SCANNED:
            break
        level = below
    return survey


def _holds_work(folder: Path, student_modules: tuple[str, ...]) -> bool:
    return (any((folder / f"{m}.py").is_file() for m in student_modules)
            or bool(_notebooks(folder)))


def _notebooks(folder: Path) -> list[Path]:
    """The notebooks of ``folder``; a link is none (the trusted side reads a notebook: it must
    be the student's, not a file of the grader's machine it points to)."""
    return sorted(p for p in folder.glob("*.ipynb")
                  if not is_junk(p.name) and p.is_file() and not p.is_symlink())


def _relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` as people write it: folders end with ``/``."""
    name = path.relative_to(root).as_posix()
    return name + "/" if path.is_dir() and not path.is_symlink() else name


def notebook_in(folder: Path, student_modules: tuple[str, ...]) -> Path | None:
    """The notebook ``folder`` was submitted as, or None for a folder of modules (one that holds
    any student module, or no notebook at all)."""
    if any((folder / f"{module}.py").exists() for module in student_modules):
        return None
    notebooks = _notebooks(folder)
    if len(notebooks) > 1:
        raise NotebookError(f"your submission holds {len(notebooks)} notebooks "
                            f"({', '.join(p.name for p in notebooks)}); submit exactly one")
    return notebooks[0] if notebooks else None


_BYTE_ORDER_MARKS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                     (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))
_SAVE_AS = "Python reads source files as UTF-8: save it as UTF-8"


def source_problem(path: Path) -> str:
    """Why Python cannot decode ``path`` as source, naming the file and the encoding expected
    ("" when it can, or when there is no such file, or it is a link): UTF-16 or UTF-32 text, NUL
    bytes, bytes that are not UTF-8 (or not the encoding its ``# -*- coding: ... -*-`` declares)."""
    if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_SOURCE_BYTES:
        return ""  # a link is left to the worker, which sees only what its sandbox shows
    data = path.read_bytes()
    for mark, encoding in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return f"{path.name} is {encoding} text; {_SAVE_AS}"
    if b"\0" in data:
        if data[1::2].count(0) > len(data) // 4 or data[0::2].count(0) > len(data) // 4:
            return f"{path.name} is UTF-16 text; {_SAVE_AS}"
        return f"{path.name} holds NUL bytes (is it a text file?); {_SAVE_AS}"
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # a bad coding line, or bytes that are not UTF-8 in the first two lines
        if not exc.msg.startswith("invalid or missing encoding declaration"):
            return f"{path.name}: {exc.msg}; {_SAVE_AS}"
        encoding = "utf-8"
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        expected = "UTF-8" if encoding.startswith("utf-8") else encoding
        return (f"{path.name} is not {expected} text (byte 0x{data[exc.start]:02x} on line {line}); "
                f"{_SAVE_AS}")
    return ""


def _explained(outcome: results.TestOutcome, undecodable: tuple[tuple[str, str], ...]) -> results.TestOutcome:
    """``outcome`` with the line saying a module could not be imported followed by why, for
    each module of ``undecodable`` (file, why) it names."""
    lines = outcome.message.splitlines()
    for name, problem in undecodable:
        at = next((i for i, line in enumerate(lines) if f"{name} could not be imported" in line), None)
        if at is not None:
            lines.insert(at + 1, problem)
    message = "\n".join(lines)
    return outcome if message == outcome.message else replace(outcome, message=message)


def unusable(student: str, suite, message: str, isolation: str) -> results.StudentResult:
    """The result of a submission that cannot be graded: every test of ``suite`` fails with
    ``message``, one identical message per exercise."""
    outcomes = tuple(results.TestOutcome(t.definition, results.FAILED, f"[{t.definition.exercise}] {message}")
                     for t in suite.tests)
    return results.StudentResult(student, suite.assignment, outcomes, 0.0, isolation)

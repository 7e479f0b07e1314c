"""A student's folder as the worker sees it: the modules themselves, or modules from a notebook.

A folder that holds none of the assignment's student modules and one ``.ipynb`` is a notebook
submission. Its module cells (see :mod:`grader.notebook`) are written as ``NAME.py`` into a fresh
folder under a private root, and that folder is what the worker reads: the trusted side parses
the notebook as data and never runs it. The root must be among the worker template's visible
folders; it is readable by the worker's user but not listable, and each student's folder has an
unguessable name.

A notebook that cannot be read is that student's error alone: every test of the suite fails
with one message saying why (:func:`unreadable`), and the batch goes on.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from grader import results
from grader.authoring.notebook import NotebookError, read_modules


class NotebookFolders:
    """Module folders written from notebook submissions, under :attr:`root` until :meth:`close`."""

    def __init__(self, student_modules: tuple[str, ...]):
        self.student_modules = student_modules
        self.root = Path(tempfile.mkdtemp(prefix="grader-notebooks-"))
        os.chmod(self.root, 0o711)

    def modules_folder(self, folder: Path) -> Path:
        """``folder`` itself, or for a notebook submission a folder of the modules written from
        it; raises :class:`NotebookError` for a notebook that cannot be used."""
        notebook = notebook_in(folder, self.student_modules)
        if notebook is None:
            return folder
        modules = read_modules(notebook)
        target = Path(tempfile.mkdtemp(dir=self.root))
        os.chmod(target, 0o755)
        for name, text in modules.items():
            path = target / f"{name}.py"
            path.write_text(text)
            os.chmod(path, 0o644)
        return target

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def notebook_in(folder: Path, student_modules: tuple[str, ...]) -> Path | None:
    """The notebook ``folder`` was submitted as, or None for a folder of modules (one that holds
    any student module, or no notebook at all)."""
    if any((folder / f"{module}.py").exists() for module in student_modules):
        return None
    notebooks = sorted(p for p in folder.glob("*.ipynb"))
    if len(notebooks) > 1:
        raise NotebookError(f"your submission holds {len(notebooks)} notebooks "
                            f"({', '.join(p.name for p in notebooks)}); submit exactly one")
    return notebooks[0] if notebooks else None


def unreadable(student: str, suite, error: NotebookError, isolation: str) -> results.StudentResult:
    """The result of a submission whose notebook could not be used: every test of ``suite``
    fails with ``error``, one identical message per exercise."""
    outcomes = tuple(results.TestOutcome(t.definition, results.FAILED, f"[{t.definition.exercise}] {error}")
                     for t in suite.tests)
    return results.StudentResult(student, suite.assignment, outcomes, 0.0, isolation)

"""Who is in SUBMISSIONS: one folder or one ``.zip`` per student, and what was left out, and why.

    roster = read_roster(Path("subs"), out=Path("results"), student_modules=("layers", ...))
    roster.entries    # {"ada": Path("subs/ada"), "ben": Path("subs/ben.zip"), ...}
    roster.skipped    # ("results/ (the --out folder)", "notes.txt (not a folder or a zip)")

A student is named by their folder, or by their zip without ``.zip``. Left out, and listed in
``skipped``: the ``--out`` folder, system files (``__MACOSX/``, ``.DS_Store``), other files, a zip
whose student also has a folder (the folder is graded), and with ``inner`` (nbgrader's
``submitted/<student>/<assignment>/``) a folder without that sub-folder, and a student named as
one of OUT's own files (``grades.csv``).

A folder that holds the assignment's modules itself (one student's folder given by mistake) or
that holds no submission at all is a :class:`RosterError`: nothing would be graded as meant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.grading.unzip import is_junk


class RosterError(ValueError):
    """SUBMISSIONS cannot be graded as a class; the message says why and what to give instead."""


@dataclass(frozen=True)
class Roster:
    folder: Path  # SUBMISSIONS
    entries: dict[str, Path]  # student -> their folder (or its ``inner`` sub-folder) or zip, by name
    skipped: tuple[str, ...]  # what SUBMISSIONS holds that is no submission, each with the reason


def read_roster(submissions: Path, out: Path, student_modules: tuple[str, ...], inner: str = "",
                reserved: tuple[str, ...] = ()) -> Roster:
    """The submissions in the folder ``submissions``; raises :class:`RosterError` when it looks
    like one student's folder or holds none. A student may not be named as one of ``reserved``
    (the files OUT holds beside the students' folders)."""
    own = sorted(f"{m}.py" for m in student_modules if (submissions / f"{m}.py").is_file())
    if own:
        raise RosterError(f"{submissions} looks like one student's submission (it holds {', '.join(own)}): "
                          "give the folder that holds one folder or zip per student (for one student, "
                          f"its parent with --student {submissions.resolve().name})")
    out = out.resolve()
    children = sorted(submissions.iterdir(), key=lambda p: p.name)
    folders = {p.name for p in children if p.is_dir()}
    entries, skipped = {}, []
    for path in children:
        if path.resolve() == out:
            skipped.append(f"{path.name}/ (the --out folder)")
        elif is_junk(path.name):
            skipped.append(f"{path.name}{'/' if path.is_dir() else ''} (system files)")
        elif path.name in reserved or path.stem in reserved:
            skipped.append(f"{path.name} (a name OUT uses for its own files)")
        elif path.is_dir() and inner and not (path / inner).is_dir():
            skipped.append(f"{path.name}/ (no {inner}/ inside)")
        elif path.is_dir():
            entries[path.name] = path / inner
        elif path.suffix.lower() == ".zip" and not inner and path.is_file():
            if path.stem in folders:
                skipped.append(f"{path.name} (the folder {path.stem}/ is graded instead)")
            else:
                entries[path.stem] = path
        else:
            skipped.append(f"{path.name} (not a folder{'' if inner else ' or a zip'})")
    if not entries:
        expected = f"a folder per student with a {inner}/ inside" if inner else "a folder or .zip per student"
        found = f"found only {', '.join(skipped)}" if skipped else "it is empty"
        raise RosterError(f"{submissions} holds no submission: expected {expected}; {found}")
    return Roster(submissions, entries, tuple(skipped))

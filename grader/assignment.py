"""An assignment as data: what ``assignment.toml`` declares, loaded into frozen values.

The engine knows nothing about any particular assignment. A folder with an ``assignment.toml``
(the reference, ``reference/NN``, or its published copy, ``assignments/NN``) declares the student
modules, the exercises with their points and the names each exercise covers, the given files
copied to students, the torch functions a from-scratch exercise may not reach, and what the
grading worker loads before any submission (``preload``, ``warm_up``).

Forbidden functions: ``forbidden_calls = [...]`` at the top of ``assignment.toml`` is the default
list of every ``from_scratch`` exercise; an exercise's own ``forbidden_calls`` in its
``[[exercises]]`` table replaces it for that exercise. Entries are substrings of the names a
submission reaches (torch functions, ATen operators such as ``aten::native_layer_norm``, torch's
own Python functions such as ``torch.nn.modules.activation.MultiheadAttention.forward``); a list
is checked only while its exercise's tests run (:meth:`Assignment.forbidden_for`).
"""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

CONFIG_NAME = "assignment.toml"


class AssignmentError(ValueError):
    """An assignment folder that cannot be used, with what is wrong in it."""


@dataclass(frozen=True)
class Exercise:
    id: str  # stable id used in tags, CSV columns and test markers, e.g. "scale"
    title: str  # one line for people
    points: float  # what the exercise is worth out of the assignment's total
    names: tuple[str, ...]  # "module.name" of every function / class the exercise covers
    from_scratch: bool = False  # reaching a forbidden torch function scores 0 for the exercise
    forbidden_calls: tuple[str, ...] | None = None  # its own list; None: the assignment's default
    builds_on: tuple[str, ...] = ()  # earlier exercises whose (student's) code this exercise's code runs


@dataclass(frozen=True)
class Assignment:
    id: str  # "01"
    title: str
    folder: Path  # the folder holding assignment.toml
    student_modules: tuple[str, ...]  # file stems of the modules a submission consists of
    given_files: tuple[str, ...]  # files shipped to students unchanged
    exercises: tuple[Exercise, ...]
    forbidden_calls: tuple[str, ...] = ()  # the default list of every from_scratch exercise
    public_tests: str = "."  # folder of the shipped tests, relative to the published copy
    hidden_tests: str = "."  # folder of the hidden tests (test_hidden_*.py), relative to the reference
    limits: dict = field(default_factory=dict)  # worker limits ([limits]; see grader.worker.confine.Limits)
    misconceptions: str = ""  # module of the reference folder cataloguing mistakes (grader.grading.diagnose)
    public_misconceptions: str = ""  # the catalogue's public part, shipped to students with the stubs
    preload: tuple[str, ...] = ()  # modules the worker template imports once, before any submission
    warm_up: str = ""  # code the worker template runs once after them (what submissions load lazily)

    @property
    def given_modules(self) -> tuple[str, ...]:
        """The given Python files as module names (``config.py`` -> ``config``)."""
        return tuple(name[:-3] for name in self.given_files if name.endswith(".py"))

    def siblings(self) -> dict[str, str | None]:
        """The modules a submission's code imports by plain name (``from layers import RMSNorm``):
        each student module -> None (the submission's own file), each given module -> its text
        (this folder's copy, the same for every submission, whatever the submission holds)."""
        return {**{m: None for m in self.student_modules},
                **{m: (self.folder / f"{m}.py").read_text() for m in self.given_modules}}

    @property
    def total_points(self) -> float:
        return sum(e.points for e in self.exercises)

    def exercise(self, exercise_id: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.id == exercise_id:
                return exercise
        known = ", ".join(e.id for e in self.exercises)
        raise AssignmentError(f"assignment {self.id} has no exercise {exercise_id!r} (known: {known})")

    def forbidden_for(self, exercise_id: str) -> tuple[str, ...]:
        """The names exercise ``exercise_id`` may not reach while its tests run: its own list,
        else the assignment's default when it is ``from_scratch``, else none."""
        exercise = self.exercise(exercise_id)
        if not exercise.from_scratch:
            return ()
        return self.forbidden_calls if exercise.forbidden_calls is None else exercise.forbidden_calls

    @property
    def traced_calls(self) -> tuple[str, ...]:
        """Every name some exercise may not reach: what a worker watches for (the grading side
        keeps, per test, the hits of that test's exercise)."""
        return tuple(sorted({name for e in self.exercises for name in self.forbidden_for(e.id)}))

    def exercise_of(self, module: str, name: str) -> Exercise:
        """The exercise covering ``module.name`` (a function or a class)."""
        for exercise in self.exercises:
            if f"{module}.{name}" in exercise.names:
                return exercise
        raise AssignmentError(f"{module}.{name} belongs to no exercise of assignment {self.id}; "
                              f"list it under `names` in {self.folder / CONFIG_NAME}")


def load(folder: str | Path) -> Assignment:
    """Read ``folder/assignment.toml``; raises :class:`AssignmentError` naming what is wrong."""
    folder = Path(folder).resolve()
    path = folder / CONFIG_NAME
    try:
        data = tomllib.loads(path.read_text())
        exercises = tuple(_exercise(e) for e in data["exercises"])
        assignment = Assignment(
            id=str(data["id"]), title=data["title"], folder=folder,
            student_modules=tuple(data["student_modules"]),
            given_files=tuple(data.get("given_files", ())), exercises=exercises,
            forbidden_calls=tuple(data.get("forbidden_calls", ())),
            public_tests=data.get("public_tests", "."), hidden_tests=data.get("hidden_tests", "."),
            limits=dict(data.get("limits", {})), misconceptions=str(data.get("misconceptions", "")),
            public_misconceptions=str(data.get("public_misconceptions", "")),
            preload=tuple(data.get("preload", ())), warm_up=str(data.get("warm_up", "")))
    except FileNotFoundError:
        raise AssignmentError(f"no {CONFIG_NAME} in {folder}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise AssignmentError(f"{path} is not a valid assignment definition: {exc!r}") from None
    ids = [e.id for e in exercises]
    if len(set(ids)) != len(ids):
        raise AssignmentError(f"{path}: exercise ids repeat: {ids}")
    for exercise in exercises:
        if exercise.forbidden_calls is not None and not exercise.from_scratch:
            raise AssignmentError(f"{path}: exercise {exercise.id} lists forbidden_calls but is not "
                                  "from_scratch: add `from_scratch = true` to its table, or remove the list")
        earlier = ids[:ids.index(exercise.id)]
        if any(e not in earlier for e in exercise.builds_on):
            raise AssignmentError(f"{path}: exercise {exercise.id} builds_on {list(exercise.builds_on)}: each must "
                                  f"be an exercise listed before it ({', '.join(earlier) or 'none'})")
    return assignment


def _exercise(table: dict) -> Exercise:
    own, builds_on = table.get("forbidden_calls"), table.get("builds_on", [])
    for key, value in (("forbidden_calls", own), ("builds_on", builds_on)):
        if value is not None and not (isinstance(value, list) and all(isinstance(x, str) and x for x in value)):
            raise ValueError(f"exercise {table.get('id')!r}: {key} must be a list of names")
    return Exercise(id=table["id"], title=table["title"], points=float(table["points"]),
                    names=tuple(table["names"]), from_scratch=bool(table.get("from_scratch", False)),
                    forbidden_calls=None if own is None else tuple(own), builds_on=tuple(builds_on))


def find_folder(start: str | Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds an ``assignment.toml``."""
    start = Path(start).resolve()
    for folder in (start, *start.parents) if start.is_dir() else start.parents:
        if (folder / CONFIG_NAME).is_file():
            return folder
    return None


def locate(assignment_id: str, root: str | Path = ".") -> tuple[Path, Path]:
    """``(reference folder, published folder)`` of assignment ``assignment_id`` under ``root``."""
    root = Path(root).resolve()
    reference, published = root / "reference" / assignment_id, root / "assignments" / assignment_id
    if not (reference / CONFIG_NAME).is_file():
        raise AssignmentError(f"no assignment {assignment_id!r}: {reference / CONFIG_NAME} does not "
                              f"exist (run this from the project root, or pass --root)")
    return reference, published


def import_file(path: Path, name: str) -> ModuleType:
    """Execute one of the assignment's own Python files (the reference, its catalogue of
    misconceptions) in this process as module ``name``: trusted code only. A submission's code
    is never imported this way; it runs in a worker (:mod:`grader.worker.executor`)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

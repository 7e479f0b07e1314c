"""Naming the mistake behind lost points, from an assignment's catalogue of misconceptions.

The catalogue is assignment data, in up to two modules that each define ``MISCONCEPTIONS`` (a
sequence of :class:`Misconception`):

- ``misconceptions = "misconceptions.py"`` in ``assignment.toml``: a module of the reference
  folder, never shipped, which may also define ``FIGURES`` (a sequence of :class:`Figure`);
- ``public_misconceptions = "public_misconceptions.py"``: the mistakes public data can show,
  shipped to students (``grader generate`` copies it), so that their own run names them too. Its
  entries never see the reference: the module defines ``EXPECTED``, what they get in its place
  (the reference's functions as far as the entries use them, computed from public code: what the
  public tests compare with). Grading checks them the same way, so a student's run and grading
  name the same mistakes (``grader check`` verifies ``EXPECTED`` against the reference on every
  probe).

A misconception is checked in one of two ways:

- by comparison: ``run(modules, *args, **kwargs)`` computes a value from a probe input with either
  the student's modules (a :class:`grader.proxy.Submission`) or the reference's, and
  ``mistaken(reference, *args, **kwargs)`` is the same value computed *with the mistake*. The
  mistake is named only when the student's value equals the mistaken one on every probe (tight
  tolerance) and differs from the reference's on at least one;
- by a predicate, for mistakes no output shows (no gradient, a forbidden call, NaN):
  ``detect(student, reference)`` returns :class:`Evidence` when the mistake is certain, else None.

After a submission's tests ran, :func:`diagnose` checks the entries of every exercise that lost
points (only those: a few probes each), tags that exercise's failed outcomes
``misconception:<id>`` and adds the explanation with the smallest probe that shows it to their
messages. A student call that is unfinished, forbidden or over a limit makes the entry
inconclusive: nothing is named. A figure entry records, for a lost exercise, the expected and the
student's values of a matrix on the smallest probe where they differ (:class:`FigurePair`, drawn
side by side on the feedback page).

A ``run`` that returns several results names them with :func:`grader.testing.named`
(``Attention.of(m.attention.f(...))``), so that expected and got read ``output = ...``,
``weights = ...``; a probe's arguments are named after ``run``'s parameters.
"""

from __future__ import annotations

import functools
import hashlib
import math
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable

from grader import results
from grader.assignment import Assignment, AssignmentError, import_file
from grader.grading import feedback
from grader.grading.proxy import ForbiddenCall, LimitExceeded, NotImplementedYet, SubmissionError

_STOPS = (NotImplementedYet, ForbiddenCall, LimitExceeded)  # the student's call cannot tell

TOLERANCE = {"rtol": 1e-4, "atol": 1e-6}  # "equal" for compared tensors (float32 rounding, no more)


@dataclass(frozen=True)
class Probe:
    """One input: the positional and keyword arguments of ``run`` / ``mistaken``."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def describe(self, run: Callable | None = None) -> str:
        """The input as text, arguments named after ``run``'s parameters (after ``modules``)."""
        import inspect

        names = list(inspect.signature(run).parameters)[1:] if run is not None else []
        named = [(names[i] if i < len(names) and not names[i].startswith("*") else f"argument {i + 1}", a)
                 for i, a in enumerate(self.args)]
        return "\n".join(f"{k} = {feedback.show(v)}" for k, v in [*named, *self.kwargs.items()])

    @property
    def size(self) -> int:
        """How big the input is (tensor elements, string and list lengths): smallest shown first."""
        return sum(_size(v) for v in (*self.args, *self.kwargs.values()))


def probe(*args, **kwargs) -> Probe:
    return Probe(tuple(args), dict(kwargs))


@dataclass(frozen=True)
class Evidence:
    """What shows the mistake: the input, the expected value and the student's, as text."""

    probe: str
    expected: str
    got: str


def reaches_forbidden(call: Callable, p: Probe, expected: str) -> Callable:
    """A :class:`Misconception`'s ``detect``: the mistake is shown when ``call(student, *p.args,
    **p.kwargs)`` reaches a built-in of the exercise's forbidden list (the student's call runs
    with that list checked); ``expected`` says what was expected instead. Any other failure shows
    nothing."""
    def detect(student, reference):
        try:
            call(student, *p.args, **p.kwargs)
        except ForbiddenCall as err:
            return Evidence(p.describe(call), expected, str(err))
        except Exception:  # noqa: BLE001 - any other failure says nothing about built-ins
            return None
        return None
    return detect


@dataclass(frozen=True)
class Misconception:
    id: str  # "<exercise>.<name>", e.g. "scale.adds"
    function: str  # "module.name" of the student function it concerns, as in the exercise's names
    explanation: str  # plain words: what the code does and what it should do
    run: Callable[..., Any] | None = None  # run(modules, *args, **kwargs) -> value to compare
    mistaken: Callable[..., Any] | None = None  # mistaken(reference, *args, **kwargs) -> that value
    probes: tuple[Probe, ...] = ()
    detect: Callable[[Any, Any], Evidence | None] | None = None  # detect(student, reference)

    def __post_init__(self):
        comparison = self.run is not None and self.mistaken is not None and bool(self.probes)
        if comparison == (self.detect is not None):
            raise AssignmentError(f"misconception {self.id}: give either run, mistaken and probes, "
                                  "or detect")


@dataclass(frozen=True)
class Figure:
    """A picture for an exercise that lost points: ``run(modules, *args, **kwargs)`` returns a
    tensor (..., rows, columns), drawn as expected vs the student's on the smallest probe where
    they differ. ``title`` names the values ("Weights"), ``rows`` and ``columns`` what a row and a
    column stand for ("input", "output"): the page says "Weights of f", "input 2, output 0"."""

    function: str
    run: Callable[..., Any]
    probes: tuple[Probe, ...]
    title: str = "Values"
    rows: str = "row"
    columns: str = "column"


@dataclass(frozen=True)
class Diagnosis:
    """A named mistake of one submission (plain data: stored with the result)."""

    id: str
    exercise: str
    function: str
    explanation: str
    probe: str
    expected: str
    got: str

    def text(self) -> str:
        return (f"{feedback.DIAGNOSIS_MARK} ({self.id}): {self.explanation}\n"
                f"Smallest input that shows it:\n{_indent(self.probe)}\n"
                f"Expected:\n{_indent(self.expected)}\nYour code gave:\n{_indent(self.got)}")


@dataclass(frozen=True)
class FigurePair:
    """What a :class:`Figure` entry found for one submission (plain data: stored with the
    result): the expected and the student's matrix (2-D, nested lists) on one probe."""

    exercise: str
    function: str
    title: str
    rows: str
    columns: str
    probe: str
    expected: list
    got: list


@dataclass(frozen=True)
class Catalogue:
    misconceptions: tuple[Misconception, ...] = ()  # the public entries first, then the private ones
    figures: tuple[Figure, ...] = ()
    public: frozenset = frozenset()  # the ids of the public catalogue's entries
    expected: Any = None  # what the public entries get in place of the reference (its EXPECTED)

    def reference_for(self, entry: Misconception, reference: Any) -> Any:
        """What ``entry`` compares with: ``EXPECTED`` for a public entry, else ``reference``."""
        return self.expected if entry.id in self.public else reference


class Raised:
    """The value of a call that raised: equal to any other raised call, whatever the type."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"raised {self.type_name}"


class _Inconclusive(Exception):
    """A call of the student's that cannot tell (one of _STOPS)."""


def load(assignment: Assignment) -> Catalogue:
    """The assignment's whole catalogue, public and private entries (empty when it declares
    none); raises AssignmentError when a file is missing, an id repeats, or an entry names a
    function no exercise covers."""
    public = load_public(assignment)
    if not assignment.misconceptions:
        return public
    module = _module(assignment, assignment.misconceptions)
    private = Catalogue(tuple(getattr(module, "MISCONCEPTIONS", ())), tuple(getattr(module, "FIGURES", ())))
    return _checked(assignment, replace(public, misconceptions=public.misconceptions + private.misconceptions,
                                        figures=private.figures), assignment.misconceptions)


def load_public(assignment: Assignment) -> Catalogue:
    """The public part of the catalogue alone (a student's own run: no reference there)."""
    if not assignment.public_misconceptions:
        return Catalogue()
    module = _module(assignment, assignment.public_misconceptions)
    entries = tuple(getattr(module, "MISCONCEPTIONS", ()))
    catalogue = Catalogue(entries, (), frozenset(m.id for m in entries), getattr(module, "EXPECTED", None))
    return _checked(assignment, catalogue, assignment.public_misconceptions)


def catalogue_module(path: Path) -> ModuleType:
    """The catalogue module at ``path``, imported once per process (a private catalogue imports
    the public one through this to share its helpers and probes)."""
    return _import(str(Path(path).resolve()))


def _module(assignment: Assignment, name: str) -> ModuleType:
    path = assignment.folder / name
    if not path.is_file():
        raise AssignmentError(f"{assignment.folder / 'assignment.toml'} names the misconceptions "
                              f"file {name}, which does not exist")
    return catalogue_module(path)


@functools.cache
def _import(path: str) -> ModuleType:
    return import_file(Path(path), f"_catalogue_{hashlib.sha256(path.encode()).hexdigest()[:12]}")


def _checked(assignment: Assignment, catalogue: Catalogue, name: str) -> Catalogue:
    path = assignment.folder / name
    ids = [m.id for m in catalogue.misconceptions]
    if len(set(ids)) != len(ids):
        raise AssignmentError(f"{path}: misconception ids repeat (in it, or between it and the public "
                              "catalogue)")
    for entry in (*catalogue.misconceptions, *catalogue.figures):
        exercise = exercise_of(assignment, entry)
        if isinstance(entry, Misconception) and not entry.id.startswith(exercise + "."):
            raise AssignmentError(f"{path}: {entry.id} concerns {entry.function}, which belongs to "
                                  f"exercise {exercise}: name it {exercise}.<name>")
    return catalogue


def exercise_of(assignment: Assignment, entry: Misconception | Figure) -> str:
    return assignment.exercise_of(*entry.function.split(".")).id


# --- diagnosing ---------------------------------------------------------------------------------

def find(catalogue: Catalogue, assignment: Assignment, student, reference,
         exercises: Iterable[str]) -> list[Diagnosis]:
    """The misconceptions of ``exercises`` that ``student`` certainly has."""
    exercises = set(exercises)
    found = []
    for entry in catalogue.misconceptions:
        exercise = exercise_of(assignment, entry)
        if exercise not in exercises:
            continue
        expected = catalogue.reference_for(entry, reference)
        checked = student.checking(assignment.forbidden_for(exercise))  # as the exercise's tests do
        try:
            evidence = entry.detect(checked, expected) if entry.detect else _compare(entry, checked, expected)
        except Exception:  # noqa: BLE001 - unfinished, forbidden, over a limit, or odd values: no name
            evidence = None
        if evidence is not None:
            found.append(Diagnosis(entry.id, exercise, entry.function, entry.explanation,
                                   evidence.probe, evidence.expected, evidence.got))
    return found


def public_disagreements(catalogue: Catalogue, reference) -> list[str]:
    """Where the public entries' stand-in (``EXPECTED``) and the reference give different values
    on a probe, one line each: with none, a student's run names exactly what grading names."""
    found = []
    for entry in catalogue.misconceptions:
        if entry.id not in catalogue.public or entry.run is None:
            continue
        for p in entry.probes:
            try:
                if not same(_call(entry.run, catalogue.expected, p), _call(entry.run, reference, p)):
                    found.append(f"{entry.id}: on the probe {' '.join(p.describe(entry.run).split())[:120]}")
            except _Inconclusive:
                found.append(f"{entry.id}: the reference cannot answer a probe (unfinished, forbidden, slow)")
    return found


def figure_pairs(catalogue: Catalogue, assignment: Assignment, student, reference,
                 exercises: Iterable[str]) -> list[FigurePair]:
    """For each figure entry of ``exercises``: expected vs student values on the smallest probe
    where they differ (the 2-D slice holding the largest difference)."""
    import torch

    exercises, pairs = set(exercises), []
    for entry in catalogue.figures:
        exercise = exercise_of(assignment, entry)
        if exercise not in exercises:
            continue
        for p in sorted(entry.probes, key=lambda p: p.size):
            expected = _call(entry.run, reference, p)
            try:
                got = _call(entry.run, student.checking(assignment.forbidden_for(exercise)), p)
            except _Inconclusive:
                break
            if not (isinstance(got, torch.Tensor) and isinstance(expected, torch.Tensor)
                    and got.shape == expected.shape and got.dim() >= 2) or same(got, expected):
                continue
            e, g = _worst_slice(expected.double(), got.double())
            pairs.append(FigurePair(exercise, entry.function, entry.title, entry.rows, entry.columns,
                                    p.describe(entry.run), e.tolist(), g.tolist()))
            break
    return pairs


@dataclass(frozen=True)
class Findings:
    outcomes: list  # the outcomes, failed ones of diagnosed exercises tagged and explained
    diagnoses: list  # list[Diagnosis]
    figures: list  # list[FigurePair]


def diagnose(catalogue: Catalogue, assignment: Assignment, student, reference,
             outcomes: list[results.TestOutcome]) -> Findings:
    """Look at the exercises that lost points (only those): name their certain misconceptions on
    their failed outcomes (tag ``misconception:<id>`` and an explanation in the message), and
    collect expected vs student values for the figure entries."""
    lost = {o.test.exercise for o in outcomes if not o.passed}
    found = find(catalogue, assignment, student, reference, lost)
    by_exercise: dict[str, list[Diagnosis]] = {}
    for d in found:
        by_exercise.setdefault(d.exercise, []).append(d)
    tagged = []
    for outcome in outcomes:
        mine = by_exercise.get(outcome.test.exercise, []) if not outcome.passed else []
        if mine:
            text = "\n".join(d.text() for d in mine)
            outcome = replace(outcome, tags=(*outcome.tags, *(f"misconception:{d.id}" for d in mine)),
                              message=feedback.with_diagnosis(outcome.message, text))
        tagged.append(outcome)
    return Findings(tagged, found, figure_pairs(catalogue, assignment, student, reference, lost))


def _compare(entry: Misconception, student, reference) -> Evidence | None:
    shown, differs = None, False
    for p in sorted(entry.probes, key=lambda p: p.size):
        got = _call(entry.run, student, p)
        mistaken = _call(entry.mistaken, reference, p)
        if not same(got, mistaken):
            return None
        expected = _call(entry.run, reference, p)
        if not same(got, expected):
            differs = True
            shown = shown or Evidence(p.describe(entry.run), *_side_by_side(expected, got))
    return shown if differs else None


def _call(function, modules, p: Probe) -> Any:
    try:
        with warnings.catch_warnings():  # a modelled mistake may warn (plotting libraries do): not news
            warnings.simplefilter("ignore")
            return function(modules, *p.args, **p.kwargs)
    except _STOPS:
        raise _Inconclusive from None
    except SubmissionError as exc:
        return Raised(exc.type_name)
    except Exception as exc:  # noqa: BLE001 - a raising call is a value to compare
        return Raised(type(exc).__name__)


def same(a: Any, b: Any) -> bool:
    """Equal values: tensors of one shape and dtype within :data:`TOLERANCE` (NaN equal to NaN,
    bools and integers exactly), sequences item by item (a list equals a tuple), floats within
    the same relative tolerance, raised calls to raised calls."""
    import torch

    if isinstance(a, Raised) or isinstance(b, Raised):
        return isinstance(a, Raised) and isinstance(b, Raised)
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if not a.is_floating_point():
            return bool((a == b).all())
        return bool(torch.allclose(a.double(), b.double(), equal_nan=True, **TOLERANCE))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or type(a) is not type(b):
            return False
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=TOLERANCE["rtol"],
                                                                 abs_tol=TOLERANCE["atol"])
    return type(a) is type(b) and a == b


def _worst_slice(expected, got):
    """The 2-D (L, S) slice of two (..., L, S) tensors that holds their largest difference."""
    index = _worst_block(expected, got)
    return (expected.reshape(-1, *expected.shape[-2:])[index],
            got.reshape(-1, *got.shape[-2:])[index])


def _worst_block(expected, got) -> int:
    """Which 2-D block of two (..., L, S) tensors of one shape holds their largest difference
    (blocks numbered in row-major order of the leading dimensions)."""
    diff = (expected.double() - got.double()).abs().nan_to_num(float("inf"))
    return int(diff.reshape(-1, *expected.shape[-2:]).amax(dim=(-2, -1)).argmax())


def _side_by_side(expected: Any, got: Any) -> tuple[str, str]:
    """Expected and got as text, small: named results (or a dict's entries) field by field, only
    those that differ (the others named in a note); a tensor of several 2-D blocks only the block
    where the two differ most (both sides the same block)."""
    import torch

    fields, got_fields = _parts(expected), _parts(got)
    if fields is not None and got_fields is not None and [n for n, _ in fields] == [n for n, _ in got_fields]:
        differ = [(name, *_side_by_side(e, g)) for (name, e), (_, g) in zip(fields, got_fields) if not same(e, g)]
        alike = [name for (name, e), (_, g) in zip(fields, got_fields) if same(e, g)]
        if differ:
            note = [f"(the same in yours: {', '.join(alike)})"] if alike else []
            return ("\n".join([*(f"{name} = {e}" for name, e, _ in differ), *note]),
                    "\n".join(f"{name} = {g}" for name, _, g in differ))
    if not (isinstance(expected, torch.Tensor) and isinstance(got, torch.Tensor)
            and expected.shape == got.shape and expected.dim() > 2 and expected[..., 0, 0].numel() > 1):
        return feedback.show(expected), feedback.show(got)
    index = _worst_block(expected, got)
    lead = [int(i) for i in torch.unravel_index(torch.tensor(index), expected.shape[:-2])]
    where = f"[{', '.join(map(str, lead))}, :, :]"

    def block(t) -> str:
        grid = feedback.show_tensor(t[tuple(lead)]).split("\n", 1)
        head = f"{str(t.dtype).removeprefix('torch.')} {tuple(t.shape)}, the block {where} where they differ"
        return f"{head} most:\n{grid[1]}" if len(grid) > 1 else f"{head} most: {grid[0].split(': ', 1)[-1]}"
    return block(expected), block(got)


def _parts(value: Any) -> list[tuple[str, Any]] | None:
    """A named tuple's or a dataclass's fields, or a dict's entries by key, else None."""
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return list(value.items())
    return feedback.named_fields(value)


def _size(value: Any) -> int:
    import torch

    if isinstance(value, torch.Tensor):
        return value.numel()
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(_size(v) for v in value) + len(value)
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    return 1


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())

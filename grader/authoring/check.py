"""``grader check NN``: an assignment's own test, for its authors and for CI.

    report = check(reference_folder, published_folder)    # a Report; report.ok
    for line in report.lines(): print(line)

Each check is one line of the report, ``ok`` with what was verified or ``FAIL`` with what is
wrong and what to fix:

- structure: ``assignment.toml``, the tests (every one marked with its exercise, every exercise
  with public and hidden tests), points adding up to 100, the variants and the catalogue load;
- ``assignments/NN`` and its notebook are exactly what ``grader generate`` / ``grader notebook`` write;
- the reference scores full marks on every exercise, and no misconception is named on it;
- the stubs score 0, every exercise "not implemented yet";
- every variant (:mod:`grader.authoring.variants`) gets exactly its expected effect;
- every misconception of the catalogue is the one a variant expects to be named;
- the public part of the catalogue (shipped to students, named in their own runs) gives on every
  probe what the reference gives, so that a student's run and grading name the same mistakes;
- with ``isolated``: the reference, graded as students are (a worker process with the
  assignment's limits), scores full marks.

The reference, the stubs and the variants are the author's own code: they are graded in this
process, on one collected suite and one imported reference (fast: a variant is a few tests of
the exercises its patch changes), through the same proxy, wire encoding, tests, replays and
diagnosis as batch grading. What only the worker adds (its limits, its isolation) is the
``isolated`` check.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from grader import results
from grader.assignment import Assignment, AssignmentError, load
from grader.authoring import generate, notebook
from grader.authoring import variants as variants_mod
from grader.authoring.in_process import InProcess, frozen_heap

TOTAL_POINTS = 100.0


@dataclass(frozen=True)
class Finding:
    """One check's result: ``text`` says what holds, or what is wrong and how to fix it."""

    name: str
    ok: bool
    text: str
    details: tuple[str, ...] = ()  # one line each, under a failed check


@dataclass(frozen=True)
class VariantResult:
    """What one variant got: points of the exercises graded, misconceptions named, and
    ``problems`` (empty when it had exactly its expected effect)."""

    variant: variants_mod.Variant
    points: dict[str, float]
    named: tuple[str, ...]
    problems: tuple[str, ...]


@dataclass
class Report:
    assignment_id: str
    findings: list[Finding] = field(default_factory=list)
    variants: list[VariantResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.findings) and all(f.ok for f in self.findings)

    def add(self, name: str, ok: bool, text: str, details=()) -> None:
        self.findings.append(Finding(name, ok, text, tuple(details)))

    def settle(self, name: str, problems: list[str], failed: str, passed: str) -> None:
        """One check: ``failed`` with ``problems`` under it when there are any, else ``passed``."""
        self.add(name, not problems, failed if problems else passed, problems)

    def lines(self) -> list[str]:
        out = []
        for finding in self.findings:
            out.append(f"{'ok  ' if finding.ok else 'FAIL'}  {finding.text}")
            out += [f"      {line}" for line in finding.details]
        failed = [f for f in self.findings if not f.ok]
        out.append(f"assignment {self.assignment_id}: all {len(self.findings)} checks passed" if not failed
                   else f"assignment {self.assignment_id}: {len(failed)} of {len(self.findings)} checks "
                   "failed; fix what the FAIL lines say, then run grader check again")
        return out


Progress = Callable[[str, int, int], None]  # (what, done, total)


def check(reference: Path, published: Path, isolated: bool = False,
          progress: Progress | None = None, only_variants: Collection[str] | None = None) -> Report:
    """Check the assignment of ``reference`` (its published copy in ``published``); raises
    :class:`AssignmentError` only when ``assignment.toml`` itself cannot be loaded. With
    ``only_variants`` (names), only those variants are graded (the catalogue's coverage is
    still checked against every variant)."""
    from grader.testing import hypothesis_profile

    assignment = load(reference)
    report = Report(assignment.id)
    progress = progress or (lambda what, done, total: None)
    progress("collecting the tests", 0, 1)
    suite, variants, catalogue = _structure(assignment, reference, published, report)
    _published(assignment, published, report)
    if suite is None:
        return report
    with hypothesis_profile(shrink=False), tempfile.TemporaryDirectory(prefix="grader-check-") as scratch, \
            frozen_heap():
        suite.set_shrinking(False)
        grader = InProcess(suite, catalogue)
        progress("grading the reference", 0, 2)
        _reference(grader, reference, report)
        progress("grading the stubs", 1, 2)
        _stubs(grader, published, report)
        if variants is not None:
            graded = [v for v in variants if only_variants is None or v.name in only_variants]
            _variants(grader, graded, len(variants), Path(scratch), report, progress)
            _catalogue_coverage(catalogue, variants, report)
        _public_catalogue(grader, report)
        if isolated:
            progress("grading the reference in an isolated worker", 0, 1)
            _isolated(reference, published, report)
    return report


# --- structure --------------------------------------------------------------------------------

def _structure(assignment: Assignment, reference: Path, published: Path, report: Report):
    """Points, tests, variants and catalogue; returns (suite, variants, catalogue), None for
    what could not be loaded (its FAIL line is in the report)."""
    from grader.grading import diagnose
    from grader.grading.suite import CollectionError, collect

    problems = []
    bad = [e.id for e in assignment.exercises if e.points <= 0]
    if bad:
        problems.append(f"exercises {', '.join(bad)} are worth no points: give each `points` > 0")
    if abs(assignment.total_points - TOTAL_POINTS) > 1e-9:
        problems.append(f"the exercises' points add up to {assignment.total_points:g}, not {TOTAL_POINTS:g}: "
                        "change their `points` in assignment.toml")
    try:
        suite = collect(reference, published)
    except (CollectionError, AssignmentError) as exc:
        suite = None
        problems.append(f"the tests cannot be collected: {exc}")
    if suite is not None:
        for exercise in assignment.exercises:
            kinds = {t.definition.hidden for t in suite.tests if t.definition.exercise == exercise.id}
            for hidden, where in ((False, f"a public test in {_label(published)}test_*.py"),
                                  (True, f"a hidden test in {_label(reference)}test_hidden_*.py")):
                if hidden not in kinds:
                    problems.append(f"exercise {exercise.id} has no {'hidden' if hidden else 'public'} "
                                    f"test: add {where} marked @pytest.mark.exercise({exercise.id!r})")
    try:
        variants = variants_mod.load_all(assignment)
    except AssignmentError as exc:
        variants = None
        problems.append(str(exc))
    try:
        catalogue = diagnose.load(assignment)
    except AssignmentError as exc:
        catalogue, suite = None, None
        problems.append(f"the catalogue of misconceptions cannot be used: {exc}")
    if problems:
        report.settle("structure", problems, "structure: fix these first (what depends on them was not "
                      "checked)", "")
        return suite, variants, catalogue
    public = sum(not t.definition.hidden for t in suite.tests)
    report.settle("structure", [], "", f"structure: {_count(len(assignment.exercises), 'exercise')}, "
                  f"{assignment.total_points:g} points; {_count(len(suite.tests), 'test')} ({public} public, "
                  f"{len(suite.tests) - public} hidden), each marked with its exercise and each exercise "
                  f"with both kinds; {_count(len(variants), 'variant')}; "
                  f"{_count(len(catalogue.misconceptions), 'misconception')} in the catalogue")
    return suite, variants, catalogue


def _published(assignment: Assignment, published: Path, report: Report) -> None:
    where = _label(published)
    for command, writer, what in (("generate", generate, "the stubs and given files are"),
                                  ("notebook", notebook, "the notebook is")):
        written_by = f"`grader {command} {assignment.id}`"
        try:
            stale = writer.drift(assignment, published)
        except (generate.RegionError, AssignmentError, OSError) as exc:
            report.add(command, False, f"{where}: {written_by} fails: {exc}")
            continue
        if stale:
            verb = "differs" if len(stale) == 1 else "differ"
            report.add(command, False, f"{where}: {', '.join(stale)} {verb} from what {written_by} writes; "
                       f"run {written_by} and commit what it writes")
        else:
            report.add(command, True, f"{where}: {what} what {written_by} writes")


def _label(folder: Path) -> str:
    """``assignments/NN/``: how the report names a folder."""
    return f"{folder.parent.name}/{folder.name}/"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _reference(grader: InProcess, reference: Path, report: Report) -> None:
    assignment = grader.assignment
    graded = grader.grade(reference, look_in=tuple(e.id for e in assignment.exercises), record=True)
    scores = results.score(assignment, graded.outcomes)
    problems = [_lost_line(e.id, scores[e.id], graded.outcomes) for e in assignment.exercises
                if scores[e.id].points < e.points]
    if graded.also_named:
        problems.append(f"misconceptions {', '.join(graded.also_named)} are named on the reference: their "
                        "`mistaken` computes what the reference does on every probe; add probes that tell "
                        "them apart")
    score = f"reference: {results.total(scores):g}/{assignment.total_points:g}"
    report.settle("reference", problems, f"{score}; it must score full marks: fix the reference or the tests",
                  f"{score}, full marks on every exercise, no misconception named")


def _lost_line(exercise: str, score: results.ExerciseScore, outcomes) -> str:
    failed = [o for o in outcomes if o.test.exercise == exercise and not o.passed]
    fail = "fails" if len(failed) == 1 else "fail"
    return (f"{exercise}: {score.points:g}/{score.max_points:g} ({_count(len(failed), 'test')} {fail}"
            f"{_first_failure(failed, '; first: ')})")


def _first_failure(failed: list, lead: str) -> str:
    """``lead`` and the first failed outcome's test and first line of message ("" when none)."""
    if not failed:
        return ""
    lines = failed[0].message.strip().splitlines() or [""]
    return f"{lead}{failed[0].test.id}: {lines[1] if len(lines) > 1 else lines[0]}"


def _stubs(grader: InProcess, published: Path, report: Report) -> None:
    assignment = grader.assignment
    outcomes = grader.grade(published).outcomes
    scores = results.score(assignment, outcomes)
    problems = []
    for exercise in assignment.exercises:
        loose = [o.test.id for o in outcomes
                 if o.test.exercise == exercise.id and o.status != results.NOT_IMPLEMENTED]
        if loose:
            verb = "does" if len(loose) == 1 else "do"
            problems.append(f"{exercise.id}: {scores[exercise.id].points:g} points; "
                            f"{_count(len(loose), 'test')} {verb} not say 'not implemented' on the stub "
                            f"(first: {loose[0]}): a stub must raise NotImplementedError before anything "
                            "else, so put the whole body in a solution region")
    where = f"stubs ({_label(published)})"
    report.settle("stubs", problems, f"{where}: every exercise must score 0 as not implemented",
                  f"{where}: 0/{assignment.total_points:g}, one 'not implemented yet' per exercise")


# --- variants -----------------------------------------------------------------------------------

def _variants(grader: InProcess, variants, total: int, scratch: Path, report: Report,
              progress: Progress) -> None:
    problems = []
    for done, variant in enumerate(variants):
        progress("variants", done, len(variants))
        result = grade_variant(grader, variant, scratch)
        report.variants.append(result)
        problems += [f"{variant.name} ({variant.file.name}): {p}" for p in result.problems]
    progress("variants", len(variants), len(variants))
    counts = {e: sum(v.expect == e for v in variants) for e in variants_mod.EXPECTS}
    wrong = sum(bool(r.problems) for r in report.variants)
    report.settle("variants", problems, f"variants: {wrong} of {len(variants)} without their expected effect "
                  "(fix the variant's patch or its expectation, or the tests that should catch it)",
                  f"variants: all {len(variants)}{f' graded (of {total})' if total > len(variants) else ''} "
                  f"have their expected effect ({counts['full']} correct with "
                  f"full marks, {counts['loses']} losing points, {counts['zero']} scoring 0, each only in "
                  "its own exercises and named by its misconception)")


def grade_variant(grader: InProcess, variant: variants_mod.Variant, scratch: Path) -> VariantResult:
    """Grade ``variant`` on the exercises its patch can change, and compare with its expectation."""
    assignment = grader.assignment
    touched = variants_mod.touched_exercises(variant, assignment)
    folder = variants_mod.build(variant, assignment, scratch / variant.name)
    look_in = touched if variant.expect == "full" else ()
    graded = grader.grade(folder, touched, look_in)
    points = graded.points(assignment, touched)
    named = tuple(sorted({*graded.named, *graded.also_named}))
    problems = []
    for exercise in touched:
        full = assignment.exercise(exercise).points
        if exercise not in variant.exercises and points[exercise] < full:
            failed = [o for o in graded.outcomes if o.test.exercise == exercise and not o.passed]
            problems.append(f"lost points in {exercise} ({points[exercise]:g}/{full:g}), where it should "
                            f"keep full marks{_first_failure(failed, '; first failure ')}")
        elif variant.expect == "loses" and exercise in variant.exercises and points[exercise] >= full:
            problems.append(f"kept full marks in {exercise}: no test catches this mistake; add one")
        elif variant.expect == "zero" and exercise in variant.exercises and points[exercise] > 0:
            problems.append(f"scored {points[exercise]:g}/{full:g} in {exercise}, not 0")
    wanted = (variant.misconception,) if variant.misconception else ()
    if named != wanted:
        problems.append(f"named {', '.join(named) or 'no misconception'}, expected "
                        f"{', '.join(wanted) or 'none'}")
    return VariantResult(variant, points, named, tuple(problems))


def _catalogue_coverage(catalogue, variants, report: Report) -> None:
    expected = {v.misconception for v in variants if v.misconception}
    ids = [m.id for m in catalogue.misconceptions]
    problems = [f"{i} is named by no variant: add a variant with exactly this mistake and "
                f"misconception = {i!r}" for i in ids if i not in expected]
    problems += [f"variants expect {i}, which the catalogue does not define"
                 for i in sorted(expected - set(ids))]
    report.settle("misconceptions", problems, "misconceptions: the catalogue and the variants disagree",
                  f"misconceptions: every one of the catalogue ({len(ids)}) is named on a variant with "
                  "exactly that mistake")


def _public_catalogue(grader: InProcess, report: Report) -> None:
    from grader.grading import diagnose

    catalogue, name = grader.catalogue, grader.assignment.public_misconceptions
    count = sum(m.id in catalogue.public for m in catalogue.misconceptions)
    if not count:
        report.add("public", True, "public catalogue: none (every mistake is named in grading only)")
        return
    problems = diagnose.public_disagreements(catalogue, grader.reference)
    report.settle("public", problems, f"public catalogue ({name}): its EXPECTED differs from the reference, "
                  "so students' own runs would name other mistakes than grading: make EXPECTED compute "
                  "what the reference does", f"public catalogue ({name}): {_count(count, 'misconception')} "
                  "named in students' own runs too; its EXPECTED agrees with the reference on every probe")


# --- the isolated path --------------------------------------------------------------------------

def _isolated(reference: Path, published: Path, report: Report) -> None:
    from grader.grading.context import GradeRequest, GradingContext
    from grader.isolation.pool import TemplateError

    with tempfile.TemporaryDirectory(prefix="grader-check-") as out:
        request = GradeRequest(reference=reference, published=published, submissions=reference.parent,
                               out=Path(out))
        try:
            context = GradingContext(request)
        except TemplateError as exc:
            report.add("isolated", False, f"reference in an isolated worker: not graded: {exc}")
            return
        try:
            result = context.grade("reference", reference)
        finally:
            context.close()
    scores = result.scores
    lost = [_lost_line(e.id, scores[e.id], result.outcomes) for e in result.assignment.exercises
            if scores[e.id].points < e.points]
    score = (f"reference in an isolated worker ({result.isolation}): "
             f"{result.total:g}/{result.assignment.total_points:g}")
    report.settle("isolated", [*lost, *result.events] if lost else [], f"{score}; it passes in-process, so "
                  "the worker's limits or isolation stop it (see [limits] in assignment.toml)", score)

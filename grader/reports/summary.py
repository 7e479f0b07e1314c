"""Views of a student's result that every report format shares: points per test, notes per
exercise, each exercise's failures as one cause and a line per other failure (:class:`Failures`:
the terminal, the pull request's summary, ``feedback.md`` and ``feedback.html`` all show them so),
named mistakes, notes on the submission's form, numbers as people read them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from grader import results
from grader.grading import feedback
from grader.grading import submissions as found
from grader.grading.proxy import LIMIT_ERRORS
from grader.results import Note, StudentResult

MAX_PRINTED_OUTPUT = 10_000
MAX_PRINTED_LINES = 20  # feedback.md shows each distinct line of what the code printed once, this many


def test_points(result: StudentResult) -> list[tuple[results.TestOutcome, float, float]]:
    """Each outcome with its (earned, possible) share of its exercise's points."""
    scores = result.scores
    rows = []
    for outcome in result.outcomes:
        s = scores[outcome.test.exercise]
        possible = s.max_points * outcome.test.weight / s.total_weight if s.total_weight else 0.0
        earned = possible if outcome.passed and not s.forbidden else 0.0
        rows.append((outcome, earned, possible))
    return rows


def exercise_note(outcomes: list[results.TestOutcome], score: results.ExerciseScore) -> str:
    if not outcomes:
        return "not graded in this run"
    if score.forbidden:
        return "0: uses a forbidden built-in (must be written from scratch)"
    if outcomes and all(o.status == results.NOT_IMPLEMENTED for o in outcomes):
        return "not implemented yet"
    return ""


@dataclass(frozen=True)
class Failures:
    """One exercise's failures as feedback shows them: one cause, shown once, then a line per test.

    ``mistakes`` are the named-mistake blocks of the exercise (shown in full, first); ``lead`` is
    the most informative failure (the smallest message; a public test before a hidden one at equal
    size), shown in full; ``others`` every other failed test with a one-line note: "same cause"
    where the diagnosis tags it or its error is the lead's, else the first line of its error;
    ``not_run`` counts the tests skipped once the exercise reached a forbidden built-in;
    ``upstream`` are the exercises it builds on (``builds_on``) that failed tests too (none when
    the lead's error is its own: a forbidden built-in, its module's import, a limit): without a
    named mistake of its own, its cause is then theirs, said in one sentence
    (:func:`upstream_text`), and the lead is one line of the listing like the others.
    An exercise whose every failure is "not implemented yet" has no lead and no others."""

    exercise: str
    mistakes: tuple[str, ...]
    lead: results.TestOutcome | None
    others: tuple[tuple[results.TestOutcome, str], ...]
    not_run: int = 0
    tests: int = 0  # how many tests of the exercise ran
    upstream: tuple[str, ...] = ()

    @property
    def not_implemented(self) -> bool:
        return self.lead is None

    @property
    def from_upstream(self) -> bool:
        """Its cause is an exercise it builds on (it has no named mistake of its own)."""
        return bool(self.upstream) and not self.mistakes


SAME_CAUSE = "same cause"
MAX_NOTE_CHARS = 110


def exercise_failures(exercise: str, outcomes: list[results.TestOutcome],
                      builds_on: tuple[str, ...] = ()) -> Failures | None:
    """The failures of ``exercise`` among ``outcomes`` (None when none of its tests failed);
    ``builds_on``: the exercises its code runs (:attr:`grader.assignment.Exercise.builds_on`)."""
    mine = [o for o in outcomes if o.test.exercise == exercise]
    failed = [o for o in mine if not o.passed and not _not_run(o)]
    ran = [o for o in failed if o.status != results.NOT_IMPLEMENTED]
    if not ran:
        return Failures(exercise, (), None, (), tests=len(mine)) if failed else None
    lead = min(ran, key=lambda o: (_size(o.message), o.test.hidden))
    others = tuple((o, _note(o, lead)) for o in failed if o is not lead)
    own = lead.status == results.FORBIDDEN or _SHARED.search(feedback.split_diagnosis(lead.message)[0])
    upstream = () if own else tuple(e for e in builds_on if any(o.test.exercise == e and not o.passed
                                                                 for o in outcomes))
    return Failures(exercise, tuple(diagnoses(failed)), lead, others, sum(map(_not_run, mine)), len(mine),
                    upstream)


def upstream_text(failures: Failures) -> str:
    """The sentence that stands for the cause of an exercise whose cause is upstream."""
    names = failures.upstream
    one = len(names) == 1
    listed = names[0] if one else f"{', '.join(names[:-1])} and {names[-1]}"
    them = "it" if one else "them"
    return (f"{failures.exercise}'s code runs your {listed}, which {'fails' if one else 'fail'} tests too: "
            f"fix {them} first, as these failures may come from {them}.")


def _size(message: str) -> int:
    """How much a failure's message holds: its lines (the reproduce command aside)."""
    lines = feedback.split_diagnosis(message)[0].splitlines()
    return sum(not line.startswith("Reproduce:") for line in lines)


def _note(outcome: results.TestOutcome, lead: results.TestOutcome) -> str:
    """One line on a failure that is not the lead: "same cause" (with its own words when they
    differ from the lead's: "same cause: f was not called again: ..."), or what went wrong."""
    message, lead_message = feedback.split_diagnosis(outcome.message)[0], feedback.split_diagnosis(lead.message)[0]
    if outcome.status == results.NOT_IMPLEMENTED:
        return "not implemented yet"
    if any(t.startswith(MISCONCEPTION) for t in outcome.tags):
        return SAME_CAUSE
    if _cause(message) == _cause(lead_message):
        detail = _detail(message)
        return SAME_CAUSE if detail == _detail(lead_message) else _one_line(f"{SAME_CAUSE}: {detail}")
    return _first_line(outcome)


def _first_line(outcome: results.TestOutcome) -> str:
    """The first line of a failure's error (its title line's property when it has none), short."""
    lines = feedback.split_diagnosis(outcome.message)[0].splitlines()
    return _one_line((lines[1] if len(lines) > 1 else lines[0].split("] ", 1)[-1]).strip())


def _one_line(line: str) -> str:
    """A note at most :data:`MAX_NOTE_CHARS` long."""
    if len(line) > MAX_NOTE_CHARS:  # its first clause: "weights: values differ at 3 of 8 positions"
        line = line.split("; ")[0]
    return line if len(line) <= MAX_NOTE_CHARS else line[:MAX_NOTE_CHARS - 3] + "..."


def _cause(message: str) -> str:
    """What a failure shares with every failure of the same cause: a module that is missing or
    does not import (whichever of its functions a test called), a limit the code hit, else the
    whole error (without the title line, which names the test)."""
    error = "\n".join(line for line in message.splitlines()[1:] if not line.startswith("Reproduce:"))
    shared = _SHARED.search(error.split("\n", 1)[0])
    if shared is None:
        return error
    return shared.group(1) + (": " + shared.group(2) if shared.group(1) in _MODULE_CAUSES else "")


def _detail(message: str) -> str | None:
    """The words of a shared cause (a limit: which function, how long), None for another error."""
    shared = _SHARED.search("\n".join(message.splitlines()[1:2]))
    return None if shared is None else shared.group(2)


def _not_run(outcome: results.TestOutcome) -> bool:
    """A test skipped because its exercise already reached a forbidden built-in."""
    not_run = f"[{outcome.test.exercise}] not run"  # grader.grading.suite's message for them
    return outcome.status == results.FORBIDDEN and outcome.message.startswith(not_run)


NOT_RUN = "not run: the exercise already reached a forbidden built-in (it scores 0 whatever they say)"


def lead_text(failures: Failures) -> str:
    """The lead failure as one text, cause first: its title line, the named mistakes (if any),
    then its own error, input and reproduce command."""
    title, _, error = feedback.split_diagnosis(failures.lead.message)[0].partition("\n")
    upstream = (upstream_text(failures),) if failures.from_upstream else ()
    return "\n".join(part for part in (title, *upstream, *failures.mistakes, error) if part)


def listing(failures: Failures) -> tuple[str, list[tuple[results.TestOutcome, str]]]:
    """The one-line list under an exercise's cause: a heading and (failed test, note) pairs, the
    lead among them when a named mistake or an exercise it builds on stands above as the cause
    ("" and [] when there is nothing more to list). When every test of the
    exercise fails for the lead's reason and that reason is the module's (it does not import, it
    is missing, it hits a limit), the heading says so and the list is empty: each line would only
    repeat it (``feedback.html`` still lists every test)."""
    lead = (failures.lead, SAME_CAUSE if failures.mistakes else _first_line(failures.lead))
    listed = [*([lead] if failures.mistakes or failures.from_upstream else []), *failures.others]
    failed = len(failures.others) + 1
    shared = _SHARED.search(feedback.split_diagnosis(failures.lead.message)[0])
    if shared and failed == failures.tests and all(note == SAME_CAUSE for _, note in failures.others):
        return f"All {failed} tests of {failures.exercise} fail this way.", []
    if not listed:
        return "", []
    head = (f"Failing tests ({failed} of {failures.tests}):" if failures.mistakes or failures.from_upstream
            else f"Other failing tests ({failed} of {failures.tests} fail in all):")
    return head, listed


def test_kind(outcome: results.TestOutcome) -> str:
    """"public test", "hidden test", with a parametrized test's case: "public test, float32"."""
    case = outcome.test.id.partition("[")[2].rstrip("]")
    return ("hidden test" if outcome.test.hidden else "public test") + (f", {case}" if case else "")


def diagnoses(outcomes: list[results.TestOutcome]) -> list[str]:
    """The distinct named-mistake blocks in the outcomes' messages, in order."""
    found = [feedback.split_diagnosis(o.message)[1] for o in outcomes]
    return list(dict.fromkeys(d for d in found if d))


# Errors every test reaching a module shares (its tests fail for one reason, whichever function
# they call): shown as one cause.
_MODULE_CAUSES = ("MissingModule", "ImportFailed")
_SHARED = re.compile(rf"\b({'|'.join((*_MODULE_CAUSES, 'MissingName', *LIMIT_ERRORS))})(?: in [\w.]+)?: (.*)")
MISCONCEPTION = "misconception:"


def printed_excerpt(printed: str) -> str:
    """What a submission printed, short: each distinct line once (warnings repeat on every call),
    at most :data:`MAX_PRINTED_LINES`, with how many lines were left out."""
    lines = printed[:MAX_PRINTED_OUTPUT].rstrip().splitlines()
    distinct = list(dict.fromkeys(lines))
    left = [f"{n} {what}" for n, what in ((len(lines) - len(distinct), "repeated lines"),
                                          (len(distinct) - MAX_PRINTED_LINES, "more lines")) if n > 0]
    return "\n".join(distinct[:MAX_PRINTED_LINES]) + (f"\n... ({' and '.join(left)} left out)" if left else "")


def summary_line(result: StudentResult) -> str:
    passed = sum(o.passed for o in result.outcomes)
    return (f"{number(result.total)} / {number(result.assignment.total_points)} points; "
            f"{passed} of {len(result.outcomes)} tests passed.")


def number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


# --- notes on a submission's form (grader.grading.submissions), and students gone from SUBMISSIONS

ABSENT = "absent"  # a class-level note: the student's submission was not in SUBMISSIONS at the last run
NOTE_KINDS = (*found.PROBLEMS, ABSENT, found.UNPACKED, found.NESTED, found.NOTEBOOK, found.IGNORED)

# How a note reads in a sentence (feedback, grades.csv): this, then its text.
NOTE_LABELS = {found.NO_MODULES: "no module of the assignment: ", found.UNUSABLE: "not graded: ",
               found.ENCODING: "", ABSENT: "", found.UNPACKED: "unpacked ",
               found.NESTED: "graded the folder ", found.NOTEBOOK: "graded the notebook ",
               found.IGNORED: "ignored system files: "}

# A problem note in a word or three (a cell of the class page's matrix).
NOTE_BRIEF = {found.NO_MODULES: "no module found", found.UNUSABLE: "not graded",
              found.ENCODING: "module not UTF-8", ABSENT: "not in SUBMISSIONS"}

# How the class summary introduces the students a kind of note concerns: (one, several).
NOTE_HEADLINES = {
    found.NO_MODULES: ("submission contains no module of assignment {id}",
                       "submissions contain no module of assignment {id}"),
    found.UNUSABLE: ("submission could not be graded", "submissions could not be graded"),
    found.ENCODING: ("submission has a module Python cannot decode",
                     "submissions have a module Python cannot decode"),
    ABSENT: ("student is not in SUBMISSIONS any more (kept in the class files; --prune drops it)",
             "students are not in SUBMISSIONS any more (kept in the class files; --prune drops them)"),
    found.UNPACKED: ("submission was unpacked from a zip", "submissions were unpacked from a zip"),
    found.NESTED: ("submission was found in a folder below the student's",
                   "submissions were found in a folder below the student's"),
    found.NOTEBOOK: ("submission was graded from a notebook", "submissions were graded from a notebook"),
    found.IGNORED: ("submission held system files, ignored", "submissions held system files, ignored"),
}


def class_notes(result: StudentResult, absent: dict[str, str]) -> tuple[Note, ...]:
    """The result's notes, and for a student in ``absent`` (student -> SUBMISSIONS folder) that
    their submission was not there at the last run."""
    if result.student not in absent:
        return result.notes
    return (*result.notes, Note(ABSENT, f"not in {absent[result.student]} at the last run (graded before)"))


def describe(note: Note) -> str:
    """A note as a phrase: "unpacked alice.zip", "graded the folder a01-main/"."""
    return NOTE_LABELS.get(note.kind, "") + note.text


def note_sentences(result: StudentResult) -> list[str]:
    """The result's notes as the student reads them, e.g. "Unpacked alice.zip"."""
    return [_sentence(n) for n in result.notes]


def _sentence(note: Note) -> str:
    label = NOTE_LABELS.get(note.kind, "")  # a note without one starts with a file name: as it is
    text = label[:1].upper() + label[1:] + note.text
    return text if text.endswith((".", "!", "?")) else text + "."


def is_problem(note: Note) -> bool:
    return note.kind in (*found.PROBLEMS, ABSENT)


def was_run(result: StudentResult) -> bool:
    """Whether the submission's code was run (not when none of it was found or it was refused)."""
    return not any(n.kind in (found.NO_MODULES, found.UNUSABLE) for n in result.notes)


def headline(kind: str, count: int, assignment_id: str) -> str:
    """"3 submissions contain no module of assignment 01"."""
    one, several = NOTE_HEADLINES[kind]
    return f"{count} {(one if count == 1 else several).format(id=assignment_id)}"

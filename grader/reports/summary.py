"""Views of a student's result that every report format shares: points per test, notes per
exercise, failures grouped by cause, named mistakes, notes on the submission's form, numbers as
people read them."""

from __future__ import annotations

from grader import results
from grader.grading import feedback
from grader.grading import submissions as found
from grader.grading.proxy import LIMIT_ERRORS
from grader.results import Note, StudentResult

MAX_PRINTED_OUTPUT = 10_000


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


def failure_groups(outcomes: list[results.TestOutcome]) -> list[list[results.TestOutcome]]:
    """The failed outcomes (not the unimplemented ones) grouped by identical error."""
    groups: dict[str, list[results.TestOutcome]] = {}
    for outcome in outcomes:
        if not outcome.passed and outcome.status != results.NOT_IMPLEMENTED:
            groups.setdefault(_error_body(feedback.split_diagnosis(outcome.message)[0]), []).append(outcome)
    return list(groups.values())


def diagnoses(outcomes: list[results.TestOutcome]) -> list[str]:
    """The distinct named-mistake blocks in the outcomes' messages, in order."""
    found = [feedback.split_diagnosis(o.message)[1] for o in outcomes]
    return list(dict.fromkeys(d for d in found if d))


def _error_body(message: str) -> str:
    """A failure message without its test-specific lines (title, example, reproduce command)."""
    lines = message.splitlines()[1:]
    if lines and lines[0].split(":")[0] in _SHARED_CAUSES:
        return lines[0]
    return message


# Failures whose first line says all there is to say, whatever the test: shown once per exercise.
_SHARED_CAUSES = ("MissingModule", "ImportFailed", "MissingName", *LIMIT_ERRORS)


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

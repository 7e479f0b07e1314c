"""Grading the author's own code in this process: the reference, the stubs, variants, mutants.

    grader = InProcess(suite, catalogue)        # one collected suite, one imported reference
    graded = grader.grade(folder, exercises)    # outcomes (tagged by the diagnosis) and names

Trusted code only: these are the assignment's own files, so they are imported here instead of in
an isolated worker (a worker's start and its channel would cost more than the tests). Requests
still go through the proxy and the wire encoding, the tests, the replays and the diagnosis that
batch grading uses, so a verdict here is a verdict there.
"""

from __future__ import annotations

import contextlib
import gc
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from grader import results
from grader.assignment import Assignment


@dataclass(frozen=True)
class Graded:
    outcomes: list  # tagged outcomes (grader.grading.diagnose.diagnose)
    named: tuple[str, ...]  # misconceptions named on the exercises that lost points
    also_named: tuple[str, ...]  # named when looking at ``look_in`` whatever the points
    alike: tuple[str, ...]  # tests answered exactly as the reference answered them

    def points(self, assignment: Assignment, exercises) -> dict[str, float]:
        scores = results.score(assignment, self.outcomes)
        return {e: scores[e].points for e in exercises}


class InProcess:
    """One collected suite and one imported reference, shared by every submission graded here.

    Grade the reference first with ``record=True``: the transcripts of the tests it passes
    (:mod:`grader.grading.transcripts`) let every later submission pass a test at once when it
    answers that test exactly as the reference does.
    """

    def __init__(self, suite, catalogue):
        from grader.grading.replay import Replays
        from grader.grading.suite import load_reference
        from grader.grading.transcripts import Transcripts

        self.suite, self.assignment, self.catalogue = suite, suite.assignment, catalogue
        self.reference = load_reference(self.assignment)
        self.replays = Replays(first_failure=True)  # no shrinking here: the first failing example, at once
        self.transcripts = Transcripts()

    def grade(self, folder: Path, exercises: tuple[str, ...] = (), look_in: tuple[str, ...] = (),
              record: bool = False, call_seconds: float | None = None) -> Graded:
        """Grade ``folder`` on ``exercises`` (all when empty); ``call_seconds`` replaces the local
        time limit of a call."""
        from grader.frontends.local import local_exchange
        from grader.grading import diagnose
        from grader.grading.proxy import Submission
        from grader.grading.transcripts import LocalLink

        with quiet():
            run = self.transcripts.run(LocalLink(local_exchange(folder, self.assignment, call_seconds)), record)
            student = Submission(run.transport, tuple(self.assignment.siblings()))
            outcomes = self.suite.select(exercises).run(student, self.reference, self.replays, around=run)
            found = diagnose.diagnose(self.catalogue, self.assignment, student, self.reference, outcomes)
            also = diagnose.find(self.catalogue, self.assignment, student, self.reference, look_in)
        return Graded(found.outcomes, tuple(d.id for d in found.diagnoses), tuple(d.id for d in also),
                      tuple(run.alike))


@contextlib.contextmanager
def frozen_heap():
    """Keep what is loaded now (torch, the tests, the reference) out of garbage collections while
    the check runs, as a grading process does: with them in view, collections cost seconds."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def quiet():
    """What the code under test prints or warns is not the report's business."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield

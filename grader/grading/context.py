"""What one grading process holds for a whole run, and what it is asked to do.

    request = GradeRequest(reference, published, submissions, out, jobs=2)
    context = GradingContext(request)           # suite collected, reference loaded, worker template
    transcripts = context.record_transcripts()  # optional: the reference's answers, once per batch
    result = context.grade("ada", folder)       # a StudentResult
    context.close()

A :class:`GradingContext` is made once per grading process (here, in each of a process pool's
processes, on each Dask worker, in a Gradescope run) and grades submissions one after another.
With transcripts (recorded here, or given: :mod:`grader.grading.transcripts`), a test that a
submission answers as the reference did passes in one round trip to its worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import results
from grader.assignment import load
from grader.grading import diagnose, shards
from grader.grading import store as store_mod
from grader.grading.submissions import Intake, unusable
from grader.grading.transcripts import SessionLink, Transcripts
from grader.worker.confine import Limits


def default_jobs() -> int:
    """One grading process per CPU core this process may run on."""
    return len(os.sched_getaffinity(0))


@dataclass(frozen=True)
class GradeRequest:
    reference: Path  # reference/NN: solution, hidden tests, assignment.toml
    published: Path  # assignments/NN: stubs and public tests
    submissions: Path  # one folder or zip per student
    out: Path
    jobs: int = 1
    force: bool = False  # regrade unchanged submissions too
    prune: bool = False  # drop the stored results of students no longer in SUBMISSIONS
    students: tuple[str, ...] = ()  # only these (all when empty)
    exercises: tuple[str, ...] = ()  # only these exercises' tests (all when empty)
    shrink: bool = False  # shrink failing examples to the smallest (slower)
    limit_overrides: dict = field(default_factory=dict)  # on top of the assignment's [limits]
    inner: str = ""  # each student's submission is this sub-folder of theirs (nbgrader: the assignment)
    dask: str = ""  # a Dask scheduler's address: grade on that cluster instead of local processes


class GradingContext:
    """What one grading process holds: the suite, the reference, a worker template, and the
    tests' transcripts when given (or recorded: :meth:`record_transcripts`; with none, every
    test runs, each from a reset). With ``shards`` > 1,
    each submission's exercises are split between that many forked copies of the process
    (:mod:`grader.grading.shards`), for when there are more cores than submissions."""

    def __init__(self, request: GradeRequest, transcripts: Transcripts | None = None, shards: int = 1):
        from grader.grading.replay import Replays
        from grader.grading.suite import collect, load_reference
        from grader.isolation.pool import Template
        from grader.testing import hypothesis_profile

        assignment = load(request.reference)
        limits = Limits.from_mapping({**assignment.limits, **request.limit_overrides})
        self.intake = Intake(assignment.student_modules)
        # the template imports torch in the background while the tests are collected
        self.template = Template(limits, visible=(str(request.submissions.resolve()), str(self.intake.root)),
                                 preload=assignment.preload, warm_up=assignment.warm_up)
        if shards > 1:
            import torch

            torch.set_num_threads(1)  # before any tensor work: no thread pool to carry over a fork
        try:
            self.suite = collect(request.reference, request.published).select(request.exercises)
        except BaseException:
            self.template.close()
            self.intake.close()
            raise
        # after collect (pytest's plugin loads its own while it runs); close() gives the process's back
        self._profile = contextlib.ExitStack()
        self._profile.enter_context(hypothesis_profile(shrink=request.shrink))
        self.suite.set_shrinking(request.shrink)
        self.assignment = self.suite.assignment
        self.reference = load_reference(self.assignment)
        self.siblings = self.assignment.siblings()
        self.catalogue = diagnose.load(self.assignment)
        self.replays = Replays(first_failure=not request.shrink)
        self.transcripts = transcripts if transcripts is not None else Transcripts()  # empty: none to answer
        self.shards = shards
        gc.freeze()  # torch, the tests and the reference stay: keep them out of every collection

    def grade(self, student: str, entry: Path) -> results.StudentResult:
        """``student``'s result for ``entry``, their folder or zip as it arrived
        (:mod:`grader.grading.submissions` finds the modules in it, and notes how)."""
        start = time.perf_counter()
        prepared = self.intake.prepare(entry)
        try:
            if prepared.folder is None:
                result = unusable(student, self.suite, prepared.problem, self.template.isolation.summary())
            else:
                result = self._graded(student, prepared.folder)
        finally:
            self.intake.discard(prepared)
        return dataclasses.replace(prepared.explained(result), execution_time=time.perf_counter() - start)

    def record_transcripts(self) -> Transcripts:
        """Grade the reference in a worker, as a submission, and keep each test's transcript
        (and its examples) for the submissions graded after it; returns them."""
        folder = Path(tempfile.mkdtemp(dir=self.intake.root))  # where a worker may read it
        try:
            for name in (*self.assignment.student_modules, *self.assignment.given_modules):
                shutil.copy(self.assignment.folder / f"{name}.py", folder)
            os.chmod(folder, 0o755)
            self.transcripts = Transcripts()
            self._grade("reference", folder, self.suite, record=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return self.transcripts

    def try_recording(self, cache: tuple[Path, str] | None = None) -> None:
        """:meth:`record_transcripts`, saved to ``cache`` (folder, key) when given. Transcripts only
        save time: a failure is reported on stderr and grading goes on without them."""
        try:
            transcripts = self.record_transcripts()
            if cache is not None:
                transcripts.save(*cache)
        except Exception as exc:  # noqa: BLE001 - any failure here leaves grading as it would be without
            self.transcripts = Transcripts()
            print(f"grader: the reference's transcripts could not be recorded ({type(exc).__name__}: {exc}); "
                  "grading goes on without them (slower, same grades)", file=sys.stderr)

    def _graded(self, student: str, folder: Path) -> results.StudentResult:
        groups = shards.partition(self.suite, self.shards)
        if len(groups) <= 1:
            return self._grade(student, folder, self.suite)
        self.template.wait_ready()  # before forking: the copies share its control channel
        jobs = [functools.partial(self._grade_part, student, folder, self.suite.select(group)) for group in groups]
        parts = [store_mod.from_payload(student, self.assignment, p) for p in shards.run_forked(jobs)]
        return self._merged(student, parts)

    def _grade(self, student: str, folder: Path, suite, record: bool = False) -> results.StudentResult:
        from grader.grading.proxy import Submission

        session = self.template.session(folder, self.assignment.traced_calls, self.siblings)
        try:
            run = self.transcripts.run(SessionLink(session), record, examples=self.replays)  # a reset per test
            submission = Submission(run.transport, tuple(self.siblings))
            outcomes = suite.run(submission, self.reference, self.replays, around=run)
            found = diagnose.diagnose(self.catalogue, self.assignment, submission, self.reference, outcomes)
        finally:
            printed = session.close()
        return results.StudentResult(
            student, self.assignment, tuple(found.outcomes), 0.0, self.template.isolation.summary(),
            printed, tuple(session.events), tuple(found.figures))

    def _grade_part(self, student: str, folder: Path, suite) -> dict:
        """One shard's result as plain data."""
        return store_mod.to_payload(self._grade(student, folder, suite))

    def _merged(self, student: str, parts: list[results.StudentResult]) -> results.StudentResult:
        """The shards' results as one: outcomes in the suite's order, figures in the catalogue's
        (as one process would list them); printed output and events shard after shard."""
        tests = {t.definition.id: i for i, t in enumerate(self.suite.tests)}
        figures = {(diagnose.exercise_of(self.assignment, e), e.function): i
                   for i, e in reversed(list(enumerate(self.catalogue.figures)))}
        return results.StudentResult(
            student, self.assignment,
            tuple(sorted((o for p in parts for o in p.outcomes), key=lambda o: tests[o.test.id])),
            0.0, parts[0].isolation,
            "".join(p.printed for p in parts)[:self.template.limits.output_bytes],
            tuple(e for p in parts for e in p.events),
            tuple(sorted((f for p in parts for f in p.figures), key=lambda f: figures[f.exercise, f.function])))

    def close(self) -> None:
        self.template.close()
        self.intake.close()
        self._profile.close()

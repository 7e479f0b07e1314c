"""What one grading process holds for a whole run, and what it is asked to do.

    request = GradeRequest(reference, published, submissions, out, jobs=2)
    context = GradingContext(request)           # suite collected, reference loaded, worker template
    result = context.grade("ada", folder)       # a StudentResult
    context.close()

A :class:`GradingContext` is made once per grading process (here, in each of a process pool's
processes, on each Dask worker, in a Gradescope run) and grades submissions one after another.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import results
from grader.assignment import load
from grader.authoring.notebook import NotebookError
from grader.grading import diagnose, shards
from grader.grading import store as store_mod
from grader.grading.plans import Plans
from grader.grading.submissions import NotebookFolders, unreadable
from grader.worker.confine import Limits


def default_jobs() -> int:
    """One grading process per CPU core this process may run on."""
    return len(os.sched_getaffinity(0))


@dataclass(frozen=True)
class GradeRequest:
    reference: Path  # reference/NN: solution, hidden tests, assignment.toml
    published: Path  # assignments/NN: stubs and public tests
    submissions: Path  # one sub-folder per student
    out: Path
    jobs: int = 1
    force: bool = False  # regrade unchanged submissions too
    students: tuple[str, ...] = ()  # only these (all when empty)
    exercises: tuple[str, ...] = ()  # only these exercises' tests (all when empty)
    shrink: bool = False  # shrink failing examples to the smallest (slower)
    limit_overrides: dict = field(default_factory=dict)  # on top of the assignment's [limits]
    inner: str = ""  # each student's submission is this sub-folder of theirs (nbgrader: the assignment)
    dask: str = ""  # a Dask scheduler's address: grade on that cluster instead of local processes



def plans_key(request: GradeRequest, fingerprint: str) -> str:
    """The key under which a batch keeps its tests' plans in ``OUT/.cache`` (:mod:`grader.plans`):
    a failure's message depends on ``--shrink`` too."""
    return Plans.key(f"{fingerprint} shrink={request.shrink}")



class GradingContext:
    """What one grading process holds: the suite, the reference, a worker template, and the
    tests' plans (loaded from and saved to ``plans_cache``, a folder and a key, when given).
    With ``shards`` > 1, each submission's exercises are split between that many forked copies
    of the process (:mod:`grader.grading.shards`), for when there are more cores than submissions."""

    def __init__(self, request: GradeRequest, plans_cache: tuple[Path, str] | None = None,
                 shards: int = 1):
        from grader.grading.replay import Replays
        from grader.grading.suite import collect, load_reference
        from grader.isolation.pool import Template
        from grader.testing import load_hypothesis_profile

        assignment = load(request.reference)
        limits = Limits.from_mapping({**assignment.limits, **request.limit_overrides})
        self.notebooks = NotebookFolders(assignment.student_modules)
        # the template imports torch in the background while the tests are collected
        self.template = Template(limits, visible=(str(request.submissions.resolve()),
                                                  str(self.notebooks.root)))
        if shards > 1:
            import torch

            torch.set_num_threads(1)  # before any tensor work: no thread pool to carry over a fork
        try:
            self.suite = collect(request.reference, request.published).select(request.exercises)
        except BaseException:
            self.template.close()
            self.notebooks.close()
            raise
        load_hypothesis_profile(shrink=request.shrink)  # after collect: pytest's plugin loads its own
        self.suite.set_shrinking(request.shrink)
        self.assignment = self.suite.assignment
        self.reference = load_reference(self.assignment)
        self.siblings = self.assignment.siblings()
        self.catalogue = diagnose.load(self.assignment)
        self.replays = Replays()
        self.plans_cache = plans_cache
        self.plans = Plans.load(*plans_cache) if plans_cache else Plans()
        self.shards = shards
        gc.freeze()  # torch, the tests and the reference stay: keep them out of every collection

    def grade(self, student: str, folder: Path) -> results.StudentResult:
        start = time.perf_counter()
        try:
            folder = self.notebooks.modules_folder(folder)
        except NotebookError as exc:
            return unreadable(student, self.suite, exc, self.template.isolation.summary())
        groups = shards.partition(self.suite, self.shards)
        if len(groups) <= 1:
            result = self._grade(student, folder, self.suite)
        else:
            self.template.wait_ready()  # before forking: the copies share its control channel
            jobs = [functools.partial(self._grade_part, student, folder, self.suite.select(group), copy)
                    for copy, group in enumerate(groups)]
            parts = [store_mod.from_payload(student, self.assignment, p) for p in shards.run_forked(jobs)]
            result = self._merged(student, parts)
        return dataclasses.replace(result, execution_time=time.perf_counter() - start)

    def _grade(self, student: str, folder: Path, suite) -> results.StudentResult:
        from grader.grading.proxy import Submission

        session = self.template.session(folder, self.assignment.forbidden_calls, self.siblings)
        try:
            runner = self.plans.runner(session)
            submission = Submission(runner.transport, tuple(self.siblings))
            outcomes = suite.run(submission, self.reference, self.replays, around=runner.run)
            found = diagnose.diagnose(self.catalogue, self.assignment, submission, self.reference, outcomes)
        finally:
            printed = session.close()
        return results.StudentResult(
            student, self.assignment, tuple(found.outcomes), 0.0, self.template.isolation.summary(),
            printed, tuple(session.events), tuple(found.heatmaps))

    def _grade_part(self, student: str, folder: Path, suite, copy: int) -> dict:
        """One shard's result as plain data; a forked copy (``copy`` > 0) also saves the plans it
        learned, since it ends when the shard does."""
        result = self._grade(student, folder, suite)
        if copy and self.plans_cache is not None:
            self.plans.save(*self.plans_cache)
        return store_mod.to_payload(result)

    def _merged(self, student: str, parts: list[results.StudentResult]) -> results.StudentResult:
        """The shards' results as one: outcomes in the suite's order, heatmaps in the catalogue's
        (as one process would list them); printed output and events shard after shard."""
        tests = {t.definition.id: i for i, t in enumerate(self.suite.tests)}
        heatmaps = {(diagnose.exercise_of(self.assignment, e), e.function): i
                    for i, e in reversed(list(enumerate(self.catalogue.heatmaps)))}
        return results.StudentResult(
            student, self.assignment,
            tuple(sorted((o for p in parts for o in p.outcomes), key=lambda o: tests[o.test.id])),
            0.0, parts[0].isolation,
            "".join(p.printed for p in parts)[:self.template.limits.output_bytes],
            tuple(e for p in parts for e in p.events),
            tuple(sorted((h for p in parts for h in p.heatmaps), key=lambda h: heatmaps[h.exercise, h.function])))

    def close(self) -> None:
        if self.plans_cache is not None:
            self.plans.save(*self.plans_cache)
        self.template.close()
        self.notebooks.close()

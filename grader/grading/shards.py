"""One submission on several cores: its exercises split between forked copies of the grader.

A grading process with more cores than submissions (one student's regrade, a Gradescope run, a
late submission) would leave cores idle: the tests of a submission run one after the other. Once
the process has started (tests collected, reference loaded, worker template ready), it can fork:

    groups = partition(suite, 2)                # exercise ids per copy, about equal work each
    parts = run_forked([job_0, job_1])          # job_0 here, job_1 in a forked copy

Each copy grades its exercises with a worker of its own and sends back plain data (JSON, made by
this trusted process, never by the submission). Exercises are never split: a test's outcome, the
forbidden-call rule and the misconception diagnosis depend only on the tests of its exercise.
A copy that dies before answering has its job run here instead, so nothing is lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from grader.grading.suite import CollectedTest, Suite


def cost(test: CollectedTest) -> int:
    """A rough measure of a test's work: its examples for a property test, else 1."""
    settings = getattr(test.function, "_hypothesis_internal_use_settings", None)
    return max(1, getattr(settings, "max_examples", 1)) if settings is not None else 1


def partition(suite: Suite, parts: int) -> list[tuple[str, ...]]:
    """The suite's exercises in at most ``parts`` groups of about equal :func:`cost`, in the
    assignment's order; deterministic (largest first, onto the lightest group)."""
    work: dict[str, int] = {}
    for test in suite.tests:
        work[test.definition.exercise] = work.get(test.definition.exercise, 0) + cost(test)
    groups: list[list[str]] = [[] for _ in range(min(parts, len(work)))]
    loads = [0] * len(groups)
    for exercise in sorted(work, key=lambda e: -work[e]):
        lightest = loads.index(min(loads))
        groups[lightest].append(exercise)
        loads[lightest] += work[exercise]
    order = [e.id for e in suite.assignment.exercises]
    return sorted((tuple(sorted(g, key=order.index)) for g in groups if g), key=lambda g: order.index(g[0]))


def run_forked(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Each job's JSON-able result, in order: ``jobs[0]`` runs in this process, the others in
    forked copies of it, at the same time. A copy that fails or dies has its job run here."""
    children = [_fork(job) for job in jobs[1:]]
    try:
        results = [jobs[0]()]
        while children:
            pid, read_end = children[0]
            with os.fdopen(read_end, "rb") as pipe:
                data = pipe.read()
            _, status = os.waitpid(pid, 0)
            children.pop(0)
            job = jobs[len(results)]
            results.append(json.loads(data) if status == 0 and data else job())
        return results
    finally:
        for pid, read_end in children:  # only when interrupted: stop the copies still running
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            with contextlib.suppress(OSError):
                os.close(read_end)


def _fork(job: Callable[[], Any]) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    code = 1
    try:
        os.close(read_end)
        # the parent's console may be a progress bar's, whose lock another thread could have held
        # at the fork: this copy never writes to it
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - open until os._exit
        data = json.dumps(job()).encode()
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)
        code = 0
    finally:
        os._exit(code)  # never back into the parent's code: no atexit, no cleanup of its objects

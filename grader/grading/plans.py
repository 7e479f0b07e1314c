"""A test's calls sent to the worker at once, and a test's outcome known from its answers alone.

A test body is deterministic given the submission's answers: hypothesis runs derandomised, and
tests seed any randomness they use. So once a test has passed for one submission, the requests it
sent are the requests it sends for the next one, as long as the answers are the same. For every
test, :class:`Plans` keeps, per grading process:

- the requests of a passing run, encoded. For the next submission they go to its worker back to
  back: one round trip per test instead of one per call;
- what each sequence of answers to them led to, by digest: the outcome (passed, or failed with
  its message), when the body read nothing else; or else the requests the test sent after them
  (a *continuation*: after a diverged body, a restart or requests beyond the plan), themselves
  sent back to back, with what their answers led to in turn. When a submission's answers match
  one byte for byte all the way to an outcome, the test ends that way without running its body:
  by induction, the body would send the same requests, get the same answers, and end as it ended.
  (A run that stopped a worker is not kept: its limits count per submission.)

Otherwise the body runs on the answers already fetched, request by request. When it sends a
request other than the next fetched one (it diverged, on a different answer), the requests that
followed have already run, so the test starts again from a reset: the next fetched one if any,
else a live one, and goes on with live calls. A body that asks for more than was fetched goes on
with live calls, which is exact: nothing ran ahead of it.

Each test starts with a ``reset`` request, which forgets the handles of earlier tests and reseeds
the worker's generators, so handle numbers inside a plan are the same for every submission. When a
replayed property test fails, hypothesis runs it again from a reset, as it would run alone
(``restart``).

Plans outlive a run in a cache folder (``OUT/.cache``), under a key that changes with the
assignment's sources and tests (and whatever else the caller folds into the fingerprint, such as
``--shrink``) and with the versions of the grader, Python, torch, NumPy and hypothesis, so that a
rerun or a late submission starts warm::

    plans = Plans.load(folder, key)     # empty when nothing matches
    ...
    plans.save(folder, key)             # each grading process its own file
    Plans.compact(folder, key)          # one file; other keys' files removed
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import grader
from grader import results
from grader.isolation.pool import Session
from grader.worker import wire

_RESET = wire.frame(wire.encode({"op": "reset"}))


class _Diverged(BaseException):
    """The body sent a request the plan did not foresee, after later planned ones already ran
    (a BaseException, so that neither the test nor hypothesis takes it for a failure)."""


@dataclass
class _Plan:
    """Requests to send back to back, and what each sequence of their answers (by digest) led to:
    an outcome ``[status, message]``, or a continuation: the requests the test sent after these
    (itself a plan, whose answers lead on in turn)."""

    frames: list[bytes]
    labels: list[str]
    known: dict[bytes, list[str] | _Plan] = field(default_factory=dict)

    def merge(self, other: _Plan) -> None:
        """Take in what ``other`` (the same requests) knows."""
        for digest, entry in other.known.items():
            mine = self.known.get(digest)
            if isinstance(mine, _Plan) and isinstance(entry, _Plan) and mine.frames == entry.frames:
                mine.merge(entry)
            elif mine is None:
                self.known[digest] = entry

    def to_wire(self) -> list:
        return [self.frames, self.labels,
                [[d, *(e.to_wire() if isinstance(e, _Plan) else e)] for d, e in sorted(self.known.items())]]

    @classmethod
    def from_wire(cls, data: list) -> _Plan:
        frames, labels, known = data
        if not (isinstance(frames, list) and all(isinstance(f, bytes) for f in frames)
                and isinstance(labels, list) and len(labels) == len(frames)):
            raise ValueError("malformed plan")
        plan = cls(frames, labels)
        for digest, *entry in known:
            if len(entry) == 2 and all(isinstance(x, str) for x in entry):
                plan.known[digest] = list(entry)
            else:
                plan.known[digest] = cls.from_wire(entry)
        return plan


@dataclass
class _Served:
    """Answers already fetched, handed out while the body asks for the same requests in order."""

    frames: list[bytes]
    bodies: list[bytes]
    position: int = 0

    def next(self, frame: bytes) -> bytes | None:
        """The planned answer to ``frame``; None once the fetched answers are used up."""
        if self.position == len(self.bodies):
            return None
        if frame != self.frames[self.position]:
            raise _Diverged
        self.position += 1
        return self.bodies[self.position - 1]

    def restart(self) -> bool:
        """Skip to just after the next ``reset`` among the fetched answers, if any: the test
        starts again from there (the requests that follow it ran from a reset too)."""
        reset = next((i for i in range(self.position, len(self.bodies)) if self.frames[i] == _RESET), None)
        if reset is None:
            return False
        self.position = reset + 1
        return True


class Plans:
    """The plans of an assignment's tests, kept across the submissions a grading process grades."""

    def __init__(self) -> None:
        self._plans: dict[str, _Plan] = {}

    def runner(self, session: Session) -> Runner:
        return Runner(self._plans, session)

    @staticmethod
    def key(fingerprint: str) -> str:
        """The cache key of a suite's plans: its fingerprint, the grader's own sources and the
        versions of what shapes requests and answers."""
        versions = [version(name) for name in ("torch", "numpy", "hypothesis")]
        digest = hashlib.sha256(f"{fingerprint} {platform.python_version()} {versions}".encode())
        for source in grader.source_files():
            digest.update(source.read_bytes())
        return digest.hexdigest()[:20]

    @classmethod
    def load(cls, folder: Path, key: str) -> Plans:
        """The plans saved under ``key`` in ``folder``, merged (an unreadable file is skipped)."""
        plans = cls()
        for path in sorted(folder.glob(f"plans-{key}*.wire")):
            try:
                saved = {test_id: _Plan.from_wire(data) for test_id, data in wire.decode(path.read_bytes()).items()}
            except (OSError, wire.WireError, TypeError, ValueError, AttributeError):
                continue
            for test_id, plan in saved.items():
                mine = plans._plans.setdefault(test_id, plan)
                if mine is not plan and mine.frames == plan.frames:
                    mine.merge(plan)
        return plans

    def save(self, folder: Path, key: str) -> Path:
        """Write the plans to a new file of their own in ``folder``; returns its path."""
        folder.mkdir(parents=True, exist_ok=True)
        saved = {test_id: plan.to_wire() for test_id, plan in self._plans.items()}
        handle, name = tempfile.mkstemp(prefix=f"plans-{key}-", suffix=".tmp", dir=folder)
        with os.fdopen(handle, "wb") as out:
            out.write(wire.encode(saved))
        path = Path(name).with_suffix(".wire")
        os.replace(name, path)
        return path

    @classmethod
    def compact(cls, folder: Path, key: str) -> None:
        """Merge the files of ``key`` into one and remove every other plans file."""
        if not folder.is_dir():
            return
        merged = cls.load(folder, key)
        stale = list(folder.glob("plans-*.wire"))
        if merged._plans:
            os.replace(merged.save(folder, key), folder / f"plans-{key}.wire")
        for path in stale:
            if path.name != f"plans-{key}.wire":
                path.unlink(missing_ok=True)


class Runner:
    """One submission's side of :class:`Plans`: its ``transport`` is what tests call through, and
    :meth:`run` wraps each test (``Suite.run``'s ``around``)."""

    def __init__(self, plans: dict[str, _Plan], session: Session):
        self._plans, self._session = plans, session
        self._recording: list[tuple[bytes, str, bytes]] | None = None
        self._served: _Served | None = None

    def transport(self, request: dict) -> dict:
        frame, label, refused = self._session.frame(request)
        if refused is not None:
            return refused
        if self._served is not None:
            body = self._served.next(frame)
            if body is not None:
                return self._session.decode(body, label)
        body = self._session.exchange([frame], [label])[0]
        if self._recording is not None:
            self._recording.append((frame, label, body))
        return self._session.decode(body, label)

    def run(self, test, run_test: Callable[..., results.TestOutcome]) -> results.TestOutcome:
        """The outcome of ``test`` (a collected test); ``run_test(restart)`` runs its body, and
        calls ``restart()`` when hypothesis starts it again after a failed replay."""
        plan = self._plans.get(test.definition.id)
        if plan is None:
            return self._record(test.definition.id, run_test)
        node, frames, labels = plan, [_RESET, *plan.frames], ["reset", *plan.labels]
        served = _Served([], [])
        while True:  # the plan, then the continuation its answers led to before, and so on
            bodies = self._session.exchange(frames, labels)[len(frames) - len(node.frames):]
            served.frames += node.frames[:len(bodies)]
            served.bodies += bodies
            digest = _digest(bodies) if len(bodies) == len(node.frames) else None
            entry = node.known.get(digest)
            if not isinstance(entry, _Plan):
                break
            node, frames, labels = entry, entry.frames, entry.labels
        if entry is not None:
            return results.TestOutcome(test.definition, *entry)
        events = len(self._session.events)
        self._served, self._recording = served, []
        try:
            outcome = self._run_served(run_test)
        finally:
            self._served = None
            live, self._recording = self._recording, None
        if digest is not None and len(self._session.events) == events:
            node.known[digest] = self._outcome_after(live, outcome)
        return outcome

    def _run_served(self, run_test: Callable[..., results.TestOutcome]) -> results.TestOutcome:
        """The body on the fetched answers; when it asks for another request than the next one
        fetched, it starts again after the next fetched ``reset``, or else from a live one."""
        while True:
            try:
                return run_test(self._restart)
            except _Diverged:
                self._restart()

    @staticmethod
    def _outcome_after(live: list[tuple[bytes, str, bytes]], outcome: results.TestOutcome):
        """What a run's answers lead to: its outcome, or, when it also sent live requests (the
        fetched ones ran ahead of them), those requests as a continuation, whose answers lead to
        the outcome. The same answers to the same requests make the same requests follow, so
        an outcome is reused only when every request the test would send has its answer known."""
        return _plan_of(live, outcome) if live else [outcome.status, outcome.message]

    def _record(self, test_id: str, run_test: Callable[..., results.TestOutcome]) -> results.TestOutcome:
        self._session.exchange([_RESET], ["reset"])
        events = len(self._session.events)
        self._recording = []
        try:
            outcome = run_test(self._restart)
        finally:
            recorded, self._recording = self._recording, None
        if outcome.status == results.PASSED:
            self._plans[test_id] = _plan_of(recorded, outcome if len(self._session.events) == events else None)
        return outcome

    def _restart(self) -> None:
        """The test starts again from its beginning (hypothesis, after a replay that failed; or a
        body that diverged), as it would have without plans: from a reset. From a fetched one
        when the fetched requests hold one further on, else from a live one."""
        if self._served is not None and self._served.restart():
            return
        self._served = None
        body = self._session.exchange([_RESET], ["reset"])[0]
        if self._recording is not None:
            self._recording.append((_RESET, "reset", body))


def _plan_of(exchanged: list[tuple[bytes, str, bytes]], outcome: results.TestOutcome | None) -> _Plan:
    """The requests of ``exchanged`` (frame, label, answer) as a plan, with ``outcome`` (when
    given) as what their answers led to."""
    frames, labels, bodies = (list(column) for column in zip(*exchanged)) if exchanged else ([], [], [])
    plan = _Plan(frames, labels)
    if outcome is not None:
        plan.known[_digest(bodies)] = [outcome.status, outcome.message]
    return plan


def _digest(bodies: list[bytes]) -> bytes:
    digest = hashlib.blake2b(digest_size=20)
    for body in bodies:
        digest.update(len(body).to_bytes(8, "big"))
        digest.update(body)
    return digest.digest()

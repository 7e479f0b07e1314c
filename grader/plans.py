"""A test's calls sent to the worker at once, and a test's outcome known from its answers alone.

A test body is deterministic given the submission's answers: hypothesis runs derandomised, and
tests seed any randomness they use. So once a test has passed for one submission, the requests it
sent are the requests it sends for the next one, as long as the answers are the same. For every
test, :class:`Plans` keeps, per grading process:

- the requests of a passing run, encoded. For the next submission they go to its worker back to
  back: one round trip per test instead of one per call;
- the outcome (passed, or failed with its message) for each sequence of answers it met, by
  digest. When a submission's answers match one byte for byte, the test ends the same way without
  running its body: by induction, the body would send the same requests, get the same answers,
  and end as it ended (a run that stopped a worker is not kept: its limits count per submission).

Otherwise the body runs on the answers already fetched, request by request. When it sends a
request other than the planned one (it diverged, on a different answer), the requests that followed
in the plan have already run, so the test starts again from scratch, with live calls. A body that
asks for more than the plan holds goes on with live calls, which is exact: nothing ran ahead of it.

Each test starts with a ``reset`` request, which forgets the handles of earlier tests and reseeds
the worker's generators, so handle numbers inside a plan are the same for every submission. When a
replayed property test fails, hypothesis runs it again from a reset with live calls, as it would
run alone (``restart``).

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

from grader import results, wire
from grader.pool import Session

_RESET = wire.frame(wire.encode({"op": "reset"}))


class _Diverged(BaseException):
    """The body sent a request the plan did not foresee, after later planned ones already ran
    (a BaseException, so that neither the test nor hypothesis takes it for a failure)."""


@dataclass
class _Plan:
    frames: list[bytes]
    labels: list[str]
    known: dict[bytes, list[str]] = field(default_factory=dict)  # answers' digest -> [status, message]


@dataclass
class _Served:
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
        for source in sorted(Path(__file__).parent.glob("*.py")):
            digest.update(source.read_bytes())
        return digest.hexdigest()[:20]

    @classmethod
    def load(cls, folder: Path, key: str) -> Plans:
        """The plans saved under ``key`` in ``folder``, merged (an unreadable file is skipped)."""
        plans = cls()
        for path in sorted(folder.glob(f"plans-{key}*.wire")):
            try:
                saved = wire.decode(path.read_bytes())
                for test_id, (frames, labels, known) in saved.items():
                    plan = plans._plans.setdefault(test_id, _Plan(frames, labels))
                    if plan.frames == frames:
                        plan.known.update({digest: [status, message] for digest, status, message in known})
            except (OSError, wire.WireError, TypeError, ValueError, AttributeError):
                continue
        return plans

    def save(self, folder: Path, key: str) -> Path:
        """Write the plans to a new file of their own in ``folder``; returns its path."""
        folder.mkdir(parents=True, exist_ok=True)
        saved = {test_id: [plan.frames, plan.labels, [[d, *o] for d, o in sorted(plan.known.items())]]
                 for test_id, plan in self._plans.items()}
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
        bodies = self._session.exchange([_RESET, *plan.frames], ["reset", *plan.labels])[1:]
        digest = _digest(bodies) if len(bodies) == len(plan.frames) else None
        if digest in plan.known:
            return results.TestOutcome(test.definition, *plan.known[digest])
        events = len(self._session.events)
        self._served = _Served(plan.frames, bodies)
        try:
            outcome = run_test(self._restart)
        except _Diverged:
            self._served = None
            self._session.exchange([_RESET], ["reset"])
            return run_test(self._restart)
        finally:
            self._served = None
        if digest is not None and len(self._session.events) == events:
            plan.known[digest] = [outcome.status, outcome.message]
        return outcome

    def _record(self, test_id: str, run_test: Callable[..., results.TestOutcome]) -> results.TestOutcome:
        self._session.exchange([_RESET], ["reset"])
        events = len(self._session.events)
        self._recording = []
        try:
            outcome = run_test(self._restart)
        finally:
            recorded, self._recording = self._recording, None
        if outcome.status == results.PASSED:
            frames, labels, bodies = (list(column) for column in zip(*recorded)) if recorded else ([], [], [])
            plan = self._plans[test_id] = _Plan(frames, labels)
            if len(self._session.events) == events:
                plan.known[_digest(bodies)] = [outcome.status, outcome.message]
        return outcome

    def _restart(self) -> None:
        """The test starts again from its beginning (hypothesis, after a replay that failed), as
        it would have without replay: from a reset, with live calls. (Not from the fetched
        answers: hypothesis runs the failing example once more at the end, which would diverge
        from the plan and cost the whole test again.)"""
        self._served = None
        body = self._session.exchange([_RESET], ["reset"])[0]
        if self._recording is not None:
            self._recording.append((_RESET, "reset", body))


def _digest(bodies: list[bytes]) -> bytes:
    digest = hashlib.blake2b(digest_size=20)
    for body in bodies:
        digest.update(len(body).to_bytes(8, "big"))
        digest.update(body)
    return digest.digest()

"""What each test asks of a submission and what the reference answers, recorded once.

A test body is deterministic given the answers it reads: hypothesis runs derandomised, tests seed
whatever they draw, and every test starts from a ``reset`` (fresh handles, reseeded generators).
So a submission that answers each request of a test's transcript exactly as the reference did,
byte for byte, would lead the body through the same requests to the reference's outcome: the
test passes, and its body (the reference's own computations, hypothesis' bookkeeping) need not
run. Any other answer and the test runs as usual, from a fresh reset::

    transcripts = Transcripts()
    run = transcripts.run(reference_link, record=True)          # the reference: record
    suite.run(Submission(run.transport, modules), reference, replays, around=run)
    run = transcripts.run(student_link, examples=replays)       # any other submission
    suite.run(Submission(run.transport, modules), reference, replays, around=run)

A :class:`Link` reaches the submission: :class:`LocalLink` in this process (the transcript's
requests one by one, stopping at the first answer that differs), :class:`SessionLink` in an
isolated worker (the whole transcript in one round trip). With ``examples`` (the
:class:`grader.grading.replay.Replays` the tests run with), a property test that a submission
answers differently and whose examples are not recorded yet is first rehearsed on the reference's
answers, without any submission: hypothesis passes, the examples are recorded, and the test then
replays them on the submission (whose first failing example is reported at once in batch grading).

Transcripts travel as bytes (:meth:`Transcripts.encode`, :meth:`Transcripts.decode`: made by the
grader from the reference's run, never by a student) and outlive a run in a cache folder
(:meth:`Transcripts.save`, :meth:`Transcripts.load`) under a key that changes with the
assignment's sources and tests and with the versions of the grader, Python, torch, NumPy and
hypothesis (:func:`cache_key`).
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Protocol

import grader
from grader import results
from grader.grading.proxy import Exchange
from grader.worker import wire

RESET_REQUEST = {"op": "reset"}
RESET = wire.encode(RESET_REQUEST)
_OWN = wire.Limits(max_message_bytes=1 << 40, max_items=1 << 40)  # the grader's own data: no bounds


@dataclass(frozen=True)
class Transcript:
    requests: tuple[bytes, ...]  # what the test sent after its reset, encoded
    labels: tuple[str, ...]  # what each request calls (wire.request_label)
    replies: tuple[bytes, ...]  # the reference's replies, encoded


class Link(Protocol):
    """How a run reaches one submission."""

    def call(self, request: dict) -> tuple[bytes | None, bytes | None, dict]:
        """Send ``request``: ``(request encoded, reply encoded, reply decoded)``; the first two
        are None when it was refused before it was sent."""

    def alike(self, transcript: Transcript) -> bool:
        """Whether the submission, from a reset, answers the transcript's requests as the
        reference did."""


class LocalLink:
    """A submission answered through ``exchange`` (:data:`grader.grading.proxy.Exchange`)."""

    def __init__(self, exchange: Exchange):
        self.exchange = exchange

    def call(self, request: dict) -> tuple[bytes | None, bytes | None, dict]:
        sent = wire.encode(request)
        reply = self.exchange(sent)
        return sent, reply, wire.decode(reply)

    def alike(self, transcript: Transcript) -> bool:
        self.exchange(RESET)
        return all(self.exchange(q) == a for q, a in zip(transcript.requests, transcript.replies))


class SessionLink:
    """A submission in its worker (:class:`grader.isolation.pool.Session`): a transcript goes in
    one round trip. A limit hit there is not counted against the submission: if the test reaches
    that request, its own run hits it again and counts it."""

    def __init__(self, session):
        self.session = session

    def call(self, request: dict) -> tuple[bytes | None, bytes | None, dict]:
        frame, label, refused = self.session.frame(request)
        if refused is not None:
            return None, None, refused
        reply = self.session.exchange([frame], [label])[0]
        return wire.payload(frame), reply, self.session.decode(reply, label)

    def alike(self, transcript: Transcript) -> bool:
        frames = [wire.frame(RESET), *map(wire.frame, transcript.requests)]
        replies = self.session.exchange(frames, ["reset", *transcript.labels])[1:]
        return len(replies) == len(transcript.replies) and all(map(bytes.__eq__, replies, transcript.replies))


class Transcripts:
    """The transcripts of a suite's tests, by test id."""

    def __init__(self, tests: dict[str, Transcript] | None = None) -> None:
        self.tests: dict[str, Transcript] = dict(tests or {})

    def run(self, link: Link, record: bool = False, examples=None) -> Run:
        """One submission's pass through the suite, reached through ``link``: with ``record``
        (the reference), each passing test's transcript is kept; ``examples``: see the module."""
        return Run(self, link, record, examples)

    def encode(self) -> bytes:
        return wire.encode({test_id: [list(t.requests), list(t.labels), list(t.replies)]
                            for test_id, t in self.tests.items()})

    @classmethod
    def decode(cls, data: bytes) -> Transcripts:
        """What :meth:`encode` made; ValueError when it is not that."""
        try:
            decoded = wire.decode(data, _OWN)
            tests = {test_id: Transcript(*(tuple(column) for column in columns))
                     for test_id, columns in decoded.items()}
        except (wire.WireError, AttributeError, TypeError) as exc:
            raise ValueError(f"not transcripts: {exc}") from None
        for test_id, t in tests.items():
            if not (isinstance(test_id, str) and len(t.requests) == len(t.labels) == len(t.replies)
                    and all(isinstance(b, bytes) for b in (*t.requests, *t.replies))):
                raise ValueError(f"malformed transcript for {test_id!r}")
        return cls(tests)

    def save(self, folder: Path, key: str) -> None:
        """Write to ``folder`` under ``key``, removing what other keys left there."""
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="transcripts-", suffix=".tmp", dir=folder)
        with os.fdopen(handle, "wb") as out:
            out.write(self.encode())
        os.replace(name, folder / f"transcripts-{key}.wire")
        for stale in folder.glob("transcripts-*.wire"):
            if stale.name != f"transcripts-{key}.wire":
                stale.unlink(missing_ok=True)

    @classmethod
    def load(cls, folder: Path, key: str) -> Transcripts | None:
        """What :meth:`save` wrote under ``key``; None when there is nothing readable."""
        try:
            return cls.decode((folder / f"transcripts-{key}.wire").read_bytes())
        except (OSError, ValueError):
            return None


def cache_key(fingerprint: str) -> str:
    """The key of a suite's transcripts: its fingerprint, the grader's own sources and the
    versions of what shapes requests and replies."""
    versions = [version(name) for name in ("torch", "numpy", "hypothesis")]
    digest = hashlib.sha256(f"{fingerprint} {platform.python_version()} {versions}".encode())
    for source in grader.source_files():
        digest.update(source.read_bytes())
    return digest.hexdigest()[:20]


class Run:
    """``Suite.run``'s ``around`` for one submission, and the transport its tests call through.

    Each test starts from a reset. Recording, a passing test's requests and replies become its
    transcript; otherwise a test whose transcript the submission answers identically passes at
    once (its id is added to :attr:`alike`), and any other runs its body.
    """

    def __init__(self, transcripts: Transcripts, link: Link, record: bool, examples=None):
        self.transcripts, self.link, self.record, self.examples = transcripts, link, record, examples
        self.alike: list[str] = []  # ids of the tests answered exactly as the reference did
        self._capture: list[tuple[bytes, str, bytes]] | None = None
        self._serving: _Serving | None = None

    def transport(self, request: dict) -> dict:
        """What the test's Submission calls through."""
        if self._serving is not None:
            return self._serving.reply(request)
        sent, reply, decoded = self.link.call(request)
        if self._capture is not None and sent is not None:
            self._capture.append((sent, wire.request_label(request), reply))
        return decoded

    def reset(self) -> None:
        """The test starts (again) from its beginning: hypothesis reruns it, and so does its
        transcript."""
        if self._serving is not None:
            self._serving.position = 0
            return
        self.link.call(RESET_REQUEST)
        if self._capture is not None:
            self._capture.clear()

    def __call__(self, test, run: Callable[..., results.TestOutcome]) -> results.TestOutcome:
        test_id = test.definition.id
        known = None if self.record else self.transcripts.tests.get(test_id)
        if known is not None:
            if self.link.alike(known):
                self.alike.append(test_id)
                return results.TestOutcome(test.definition, results.PASSED)
            if (self.examples is not None and hasattr(test.function, "hypothesis")
                    and not self.examples.knows(test_id)):
                self._rehearse(known, run)
        self.link.call(RESET_REQUEST)
        if not self.record:
            return run(self.reset)
        self._capture = []
        try:
            outcome = run(self.reset)
        finally:
            captured, self._capture = self._capture, None
        if outcome.passed:
            self.transcripts.tests[test_id] = Transcript(*(tuple(column) for column in zip(*captured))) \
                if captured else Transcript((), (), ())
        return outcome

    def _rehearse(self, transcript: Transcript, run: Callable[..., results.TestOutcome]) -> None:
        """Run the test on the reference's answers, so that its examples are recorded."""
        self._serving = _Serving(transcript)
        try:
            run(self.reset)
        finally:
            self._serving = None


class _Serving:
    """The reference's answers to a transcript, handed out request by request; a request the
    transcript does not hold next gets an error (the rehearsal then fails and records nothing)."""

    def __init__(self, transcript: Transcript):
        self.transcript, self.position = transcript, 0

    def reply(self, request: dict) -> dict:
        t, i = self.transcript, self.position
        if i < len(t.requests) and wire.encode(request) == t.requests[i]:
            self.position += 1
            return wire.decode(t.replies[i])
        return {"error": {"type": "NotRehearsed", "message": "not in the reference's transcript",
                          "traceback": ""}, "forbidden": []}

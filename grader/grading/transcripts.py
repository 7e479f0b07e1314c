"""What each test asks of a submission and what the reference answers, recorded once.

A test body is deterministic given the answers it reads: hypothesis runs derandomised, tests seed
whatever they draw, and every test starts from a ``reset`` (fresh handles, reseeded generators).
So a submission that answers each request of a test's transcript exactly as the reference did,
byte for byte, would lead the body through the same requests to the reference's outcome: the
test passes, and its body (the reference's own computations, hypothesis' bookkeeping) need not
run. Any other answer and the test runs as usual, from a fresh reset::

    transcripts = Transcripts()
    run = transcripts.run(reference_exchange, record=True)      # the reference: record
    suite.run(Submission(run.transport, modules), reference, replays, around=run)
    run = transcripts.run(student_exchange)                       # any other submission
    suite.run(Submission(run.transport, modules), reference, replays, around=run)

An exchange takes an encoded request and returns the encoded reply
(:data:`grader.grading.proxy.Exchange`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from grader import results
from grader.grading.proxy import Exchange, decoding
from grader.worker import wire

RESET = wire.encode({"op": "reset"})


@dataclass(frozen=True)
class Transcript:
    requests: tuple[bytes, ...]  # what the test sent after its reset, encoded
    replies: tuple[bytes, ...]  # the reference's replies, encoded


class Transcripts:
    """The transcripts of a suite's tests, by test id."""

    def __init__(self) -> None:
        self.tests: dict[str, Transcript] = {}

    def run(self, exchange: Exchange, record: bool = False) -> "Run":
        """One submission's pass through the suite, reached through ``exchange``: with ``record``
        (the reference), each passing test's transcript is kept."""
        return Run(self, exchange, record)


class Run:
    """``Suite.run``'s ``around`` for one submission, and the transport its tests call through.

    Each test starts from a reset. Recording, a passing test's requests and replies become its
    transcript; otherwise a test whose transcript the submission answers identically passes at
    once (its id is added to :attr:`alike`), and any other runs its body.
    """

    def __init__(self, transcripts: Transcripts, exchange: Exchange, record: bool):
        self.transcripts, self.exchange, self.record = transcripts, exchange, record
        self.alike: list[str] = []  # ids of the tests answered exactly as the reference did
        self._capture: list[tuple[bytes, bytes]] | None = None
        self.transport = decoding(self._send)  # what the test's Submission calls through

    def _send(self, request: bytes) -> bytes:
        reply = self.exchange(request)
        if self._capture is not None:
            self._capture.append((request, reply))
        return reply

    def reset(self) -> None:
        """The test starts (again) from its beginning: hypothesis reruns it, and so does its
        transcript."""
        self.exchange(RESET)
        if self._capture is not None:
            self._capture.clear()

    def answers_alike(self, transcript: Transcript) -> bool:
        """Whether the submission answers the transcript's requests as the reference did (it
        stops at the first answer that differs)."""
        return all(self.exchange(request) == reply for request, reply in zip(transcript.requests, transcript.replies))

    def __call__(self, test, run: Callable[..., results.TestOutcome]) -> results.TestOutcome:
        test_id = test.definition.id
        self.exchange(RESET)
        if not self.record:
            known = self.transcripts.tests.get(test_id)
            if known is not None and self.answers_alike(known):
                self.alike.append(test_id)
                return results.TestOutcome(test.definition, results.PASSED)
            self.exchange(RESET)
            return run(self.reset)
        self._capture = []
        try:
            outcome = run(self.reset)
        finally:
            captured, self._capture = self._capture, None
        if outcome.passed:
            self.transcripts.tests[test_id] = Transcript(tuple(r for r, _ in captured), tuple(b for _, b in captured))
        return outcome

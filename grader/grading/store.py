"""``OUT/grades.sqlite``: every student's result, saved the moment it is known.

A row is keyed by student and remembers the hash of the submission's content and the suite's
fingerprint, so a rerun regrades only what changed. Rows hold the grader's own JSON (never
anything the submission produced, except its captured output as text).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import time
from pathlib import Path

from grader import results
from grader.assignment import Assignment
from grader.grading.diagnose import FigurePair
from grader.results import StudentResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    student TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    suite_fingerprint TEXT NOT NULL,
    total REAL NOT NULL,
    payload TEXT NOT NULL,
    graded_at REAL NOT NULL
)"""


class Store:
    def __init__(self, path: Path):
        self.connection = sqlite3.connect(path)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute(_SCHEMA)

    def is_current(self, student: str, content_hash: str, fingerprint: str) -> bool:
        row = self.connection.execute(
            "SELECT content_hash, suite_fingerprint FROM results WHERE student = ?", (student,)).fetchone()
        return row == (content_hash, fingerprint)

    def save(self, result: StudentResult, content_hash: str, fingerprint: str) -> None:
        with self.connection:
            self.connection.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?)",
                (result.student, content_hash, fingerprint, result.total,
                 json.dumps(to_payload(result)), time.time()))

    def load(self, student: str, assignment: Assignment) -> StudentResult | None:
        row = self.connection.execute(
            "SELECT payload FROM results WHERE student = ?", (student,)).fetchone()
        return None if row is None else from_payload(student, assignment, json.loads(row[0]))

    def close(self) -> None:
        self.connection.close()


def to_payload(result: StudentResult) -> dict:
    return {
        "outcomes": [{"test": vars(o.test), "status": o.status, "message": o.message,
                      "tags": list(o.tags)} for o in result.outcomes],
        "execution_time": result.execution_time, "isolation": result.isolation,
        "printed": result.printed, "events": list(result.events),
        "figures": [dataclasses.asdict(f) for f in result.figures]}


def from_payload(student: str, assignment: Assignment, payload: dict) -> StudentResult:
    outcomes = tuple(results.TestOutcome(results.TestDefinition(**o["test"]), o["status"],
                                         o["message"], tuple(o["tags"]))
                     for o in payload["outcomes"])
    return StudentResult(student, assignment, outcomes, payload["execution_time"],
                         payload["isolation"], payload["printed"], tuple(payload["events"]),
                         tuple(FigurePair(**f) for f in payload.get("figures", ())))


def content_hash(folder: Path) -> str:
    """A digest of every file under ``folder`` (names and bytes; links by their target text)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix().encode()
        if path.is_symlink():
            digest.update(b"L" + name + b"\0" + str(path.readlink()).encode() + b"\0")
        elif path.is_file():
            digest.update(b"F" + name + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]

"""``OUT/grades.sqlite``: every student's result, saved the moment it is known.

A row is keyed by student and remembers the hash of the submission's content and the suite's
fingerprint, so a rerun regrades only what changed. Rows hold the grader's own JSON (never
anything the submission produced, except its captured output as text).

Beside the results: which assignment the store belongs to (one per OUT), and the students whose
submission was not in SUBMISSIONS at the last run (kept, and reported as such).
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
);
CREATE TABLE IF NOT EXISTS facts (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS absent (
    student TEXT PRIMARY KEY,
    submissions TEXT NOT NULL
)"""


class Store:
    """The store at ``path`` (created when missing). Raises ``sqlite3.DatabaseError`` for a file
    that is not one."""

    def __init__(self, path: Path):
        self.connection = sqlite3.connect(path)
        try:
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.executescript(_SCHEMA)
        except sqlite3.DatabaseError:
            self.connection.close()
            raise

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

    def load_all(self, assignment: Assignment) -> list[StudentResult]:
        """Every stored result, in student order."""
        rows = self.connection.execute("SELECT student, payload FROM results ORDER BY student")
        return [from_payload(student, assignment, json.loads(payload)) for student, payload in rows]

    def students(self) -> list[str]:
        return [row[0] for row in self.connection.execute("SELECT student FROM results ORDER BY student")]

    def delete(self, student: str) -> None:
        with self.connection:
            self.connection.execute("DELETE FROM results WHERE student = ?", (student,))
            self.connection.execute("DELETE FROM absent WHERE student = ?", (student,))

    def assignment_id(self) -> str | None:
        """The id of the assignment whose results this store holds (None before the first run)."""
        row = self.connection.execute("SELECT value FROM facts WHERE name = 'assignment'").fetchone()
        return None if row is None else row[0]

    def set_assignment_id(self, assignment_id: str) -> None:
        with self.connection:
            self.connection.execute("INSERT OR REPLACE INTO facts VALUES ('assignment', ?)", (assignment_id,))

    def absent(self) -> dict[str, str]:
        """Students with a result whose submission was not in SUBMISSIONS at the last run, with
        that folder."""
        return dict(self.connection.execute("SELECT student, submissions FROM absent ORDER BY student"))

    def set_absent(self, absent: dict[str, str]) -> None:
        """Replace the students recorded as absent (student -> the SUBMISSIONS folder)."""
        with self.connection:
            self.connection.execute("DELETE FROM absent")
            self.connection.executemany("INSERT INTO absent VALUES (?, ?)", absent.items())

    def close(self) -> None:
        self.connection.close()


def to_payload(result: StudentResult) -> dict:
    return {
        "outcomes": [{"test": vars(o.test), "status": o.status, "message": o.message,
                      "tags": list(o.tags)} for o in result.outcomes],
        "execution_time": result.execution_time, "isolation": result.isolation,
        "printed": result.printed, "events": list(result.events),
        "figures": [dataclasses.asdict(f) for f in result.figures],
        "notes": [[n.kind, n.text] for n in result.notes]}


def from_payload(student: str, assignment: Assignment, payload: dict) -> StudentResult:
    outcomes = tuple(results.TestOutcome(results.TestDefinition(**o["test"]), o["status"],
                                         o["message"], tuple(o["tags"]))
                     for o in payload["outcomes"])
    return StudentResult(student, assignment, outcomes, payload["execution_time"],
                         payload["isolation"], payload["printed"], tuple(payload["events"]),
                         tuple(FigurePair(**f) for f in payload.get("figures", ())),
                         tuple(results.Note(*n) for n in payload.get("notes", ())))


def content_hash(folder: Path) -> str:
    """A digest of every file under ``folder`` (names and bytes; links by their target text), or
    of ``folder``'s bytes when it is a file (a zip)."""
    digest = hashlib.sha256()
    if folder.is_file():
        digest.update(b"Z" + folder.read_bytes())
        return digest.hexdigest()[:16]
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix().encode()
        if path.is_symlink():
            digest.update(b"L" + name + b"\0" + str(path.readlink()).encode() + b"\0")
        elif path.is_file():
            digest.update(b"F" + name + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]

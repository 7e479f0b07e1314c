"""Hostile submissions graded in one batch with normal ones, through the real ``grader grade``.

The class: two copies of the reference (``aa-reference`` graded first, ``zz-reference`` last)
and one submission per attack of :mod:`tests.security.attacks`. It is graded once, on the cheap
exercises ``masks`` and ``params``, by the CLI in its own process session, with a canary secret
in the grader's environment, a loopback listener counting connections, and TMPDIR pointing into
the test's folder (so every worker's scratch directory, and any process still working in one,
can be found afterwards). The tests then read what the batch left behind.

Two batches: ``fast`` (the default tier) grades most attacks, one of each kind, with short limits;
``full`` (the slow tier: ``python -m pytest --slow -m slow tests/security``) grades every attack
with the limits of a real run.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import select
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pytest

from grader.isolation.pool import MAX_TIMEOUTS
from tests.security import copy_reference
from tests.security.attacks import ATTACKS, Attack

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference" / "01"
EXERCISES = ("masks", "params")
FULL = {"masks": 10.0, "params": 10.0}
NORMAL = ("aa-reference", "zz-reference")
CANARY = "GRADER_SECURITY_CANARY"
FAST = ("exit_at_import", "os_exit_in_call", "infinite_loop", "allocate_gigabytes", "print_flood", "large_files",
        "spawn_processes", "patch_checkers", "gc_scan", "environment_secrets", "network", "pickle_payload",
        "write_results")
TIERS = {"fast": ([a for a in ATTACKS if a.name in FAST], ("call_seconds=2", "memory_mb=256")),
         "full": (ATTACKS, ("call_seconds=3", "memory_mb=512"))}
TIMED_OUT = {"fast": ["infinite_loop", "allocate_gigabytes"], "full": ["long_sleep", "allocate_gigabytes"]}


def tiers():
    """Both batches: the fast one in the default tier, the full one in the slow tier."""
    return [pytest.param("fast"), pytest.param("full", marks=pytest.mark.slow)]


def per_attack():
    return [pytest.param(tier, attack, id=f"{tier}-{attack.name}", marks=[pytest.mark.slow] * (tier == "full"))
            for tier, (attacks, _) in TIERS.items() for attack in attacks]


class Listener:
    """A loopback TCP and UDP port that counts whoever reaches it, on a thread."""

    def __init__(self):
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.reached: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.tcp, self.udp], [], [], 0.1)
            if self.tcp in ready:
                connection, peer = self.tcp.accept()
                self.reached.append(f"tcp from {peer}")
                connection.close()
            if self.udp in ready:
                self.reached.append(f"udp from {self.udp.recvfrom(4096)[1]}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.tcp.close()
        self.udp.close()


@dataclass
class Batch:
    base: Path
    submissions: Path
    out: Path
    scratch: Path  # the grader's TMPDIR: every worker's scratch directory is made in it
    token: str
    secret: str
    sentinel: Path
    run: subprocess.CompletedProcess
    rows: dict
    reached: list
    before: dict  # snapshots of the folders no worker may write to
    attacks: list  # the names of the attacks graded


def build(attack: Attack, folder: Path, values: dict) -> None:
    """The reference's student modules, with the attack appended to one of them."""
    copy_reference(folder)
    target = folder / f"{attack.module}.py"
    target.write_text(target.read_text() + "\n\n" + Template(attack.snippet).substitute(values))
    for name, text in attack.files.items():
        (folder / name).write_text(text)


def snapshot(*folders: Path) -> dict:
    """Every file under ``folders`` with its size and modification time."""
    seen = {}
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and not any(p.startswith((".", "__")) for p in path.relative_to(folder).parts):
                stat = path.stat()
                seen[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return seen


@pytest.fixture(scope="module")
def batches(tmp_path_factory) -> dict:
    return {}


@pytest.fixture
def batch(request, batches, tmp_path_factory) -> Batch:
    """The batch of the test's tier (``tier`` parameter), graded once per module."""
    tier = request.node.callspec.params["tier"]
    if tier not in batches:
        batches[tier] = grade_batch(tmp_path_factory, *TIERS[tier])
    return batches[tier]


def grade_batch(tmp_path_factory, attacks: list[Attack], limits: tuple[str, ...]) -> Batch:
    base = tmp_path_factory.mktemp("security")
    token = "sec" + secrets.token_hex(5)
    submissions, out, scratch = base / "class", base / "out", base / "tmp"
    scratch.mkdir()
    listener = Listener()
    values = {"token": token, "port": listener.port, "out": out,
              "submissions": submissions, "reference": REFERENCE, "root": ROOT,
              "sentinel": base / f"{token}-unpickled"}
    for name in NORMAL:
        copy_reference(submissions / name)
    for attack in attacks:
        build(attack, submissions / attack.name, values)
    before = snapshot(submissions, REFERENCE)
    secret = "canary-" + secrets.token_hex(8)
    command = [sys.executable, "-m", "grader", "grade", "01", str(submissions), "--out", str(out),
               "--jobs", "2", *(arg for limit in limits for arg in ("--limit", limit)),
               *(arg for exercise in EXERCISES for arg in ("--exercise", exercise))]
    env = {**os.environ, CANARY: secret, "TMPDIR": str(scratch), "COLUMNS": "200"}
    try:
        run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=600, start_new_session=True, check=False)
    finally:
        listener.close()
    rows = {}
    if (out / "grades.csv").exists():
        with open(out / "grades.csv") as handle:
            rows = {row["student"]: row for row in csv.DictReader(handle)}
    return Batch(base, submissions, out, scratch, token, secret, values["sentinel"], run, rows,
                 listener.reached, before, [a.name for a in attacks])


def feedback(batch: Batch, student: str) -> str:
    return (batch.out / student / "feedback.md").read_text()


def points(batch: Batch, student: str) -> dict[str, float]:
    return {exercise: float(batch.rows[student][exercise]) for exercise in EXERCISES}


@pytest.mark.parametrize("tier", tiers())
def test_the_batch_finished_and_graded_everyone(batch, tier):
    assert batch.run.returncode == 0, batch.run.stderr[-3000:]
    assert set(batch.rows) == {*NORMAL, *batch.attacks}


@pytest.mark.parametrize("tier", tiers())
@pytest.mark.parametrize("student", NORMAL)
def test_normal_students_keep_full_marks(batch, tier, student):
    assert points(batch, student) == FULL
    assert "## Limits hit" not in feedback(batch, student)


@pytest.mark.parametrize(("tier", "attack"), per_attack())
def test_an_attack_earns_nothing_and_is_told_why(batch, tier, attack):
    got = points(batch, attack.name)
    for exercise in EXERCISES:
        if exercise in attack.zero:
            assert got[exercise] == 0, (exercise, got)
        elif exercise in attack.lost:
            assert got[exercise] < FULL[exercise], (exercise, got)
        else:
            assert got[exercise] == FULL[exercise], (exercise, got)
    text = feedback(batch, attack.name)
    assert re.search(attack.message, text), text[-3000:]
    assert len(text) < 60_000  # floods are cut, not copied into the feedback


@pytest.mark.parametrize("tier", tiers())
def test_a_function_over_a_limit_twice_is_not_called_again(batch, tier):
    for student in TIMED_OUT[tier]:
        events = json.loads((batch.out / student / "results.json").read_text())["extra_data"]["events"]
        assert len(events) == MAX_TIMEOUTS, student
        assert "was not called again" in feedback(batch, student)


@pytest.mark.parametrize("tier", tiers())
def test_nothing_is_written_outside_the_workers_scratch(batch, tier):
    assert snapshot(batch.submissions, REFERENCE) == batch.before
    assert not batch.sentinel.exists(), "a returned pickle was unpickled"
    forged = batch.token.upper().encode()  # what write_results writes wherever it can
    for path in [*batch.base.rglob("*"), *REFERENCE.iterdir()]:
        assert not (path.is_file() and forged in path.read_bytes()), path
    for student in NORMAL:
        assert json.loads((batch.out / student / "results.json").read_text())["score"] == sum(FULL.values())
    strays = [p for folder in (Path("/tmp"), Path("/dev/shm"), ROOT, REFERENCE, Path.home(), batch.base)
              for p in folder.glob(f"{batch.token}*")]
    assert not strays
    assert not list(batch.scratch.iterdir()), "a worker's scratch directory was left behind"


@pytest.mark.parametrize("tier", tiers())
def test_no_process_is_left_behind(batch, tier):
    scratch = str(batch.scratch)
    left = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if name == batch.token or cwd.startswith(scratch):
            left.append(f"{entry.name} {name} in {cwd}")
    assert not left


@pytest.mark.parametrize("tier", tiers())
def test_the_canary_secret_is_never_visible(batch, tier):
    assert batch.secret not in batch.run.stdout + batch.run.stderr
    for path in batch.out.rglob("*"):
        if path.is_file():
            assert batch.secret.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("tier", tiers())
def test_no_connection_reaches_the_loopback_listener(batch, tier):
    assert batch.reached == []


@pytest.mark.parametrize("tier", tiers())
def test_results_record_the_isolation_level(batch, tier):
    levels = {json.loads((batch.out / s / "results.json").read_text())["extra_data"]["isolation"]
              for s in batch.rows}
    assert len(levels) == 1 and next(iter(levels)).startswith("process+rlimits")
    assert next(iter(levels)) in feedback(batch, NORMAL[0])

"""Every isolation layer, alone and together, against a probe submission that tries what attackers try.

Each layer is exercised on its own (so a test fails if that layer silently stops working), all of
them together (the default), and all but Landlock (older kernels, some containers: bubblewrap alone
must then keep each worker to its own folder). A layer this machine lacks skips its tests, with the
reason (tests/available_layers.py); CI sets GRADER_REQUIRE_ALL_LAYERS=1, which fails them instead.
The probe reports what it could do instead of crashing, so the assertions read as "this was
denied". Limits are short (a second or two) so that the limits are reached quickly.
"""

import os
import socket
import textwrap
import time
from pathlib import Path

import pytest
import torch

from grader.grading.proxy import LimitExceeded, Submission
from grader.isolation.pool import MAX_TIMEOUTS, Template
from grader.worker import confine as sandbox
from tests.available_layers import require_layers

ROOT = Path(__file__).resolve().parent.parent
SECRET = ROOT / "reference" / "01" / "attention.py"

PROBE = textwrap.dedent('''
    import os, signal, socket, sys, time

    def read(path):
        try:
            with open(path, "rb") as handle:
                return "READ " + str(len(handle.read()))
        except OSError as exc:
            return "DENIED " + type(exc).__name__

    def write(path):
        try:
            with open(path, "w") as handle:
                handle.write("owned")
            return "WROTE"
        except OSError as exc:
            return "DENIED " + type(exc).__name__

    def connect(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return "CONNECTED"
        except OSError as exc:
            return "DENIED " + type(exc).__name__

    def kill(pid):
        try:
            os.kill(pid, signal.SIGKILL)
            return "KILLED"
        except OSError as exc:
            return "DENIED " + type(exc).__name__

    def listing(path):
        try:
            return sorted(os.listdir(path))
        except OSError as exc:
            return "DENIED " + type(exc).__name__

    def pid():
        return os.getpid()

    def uncover(path):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.umount2(path.encode(), 2) == 0:
            return "UNCOVERED " + ",".join(sorted(os.listdir(path)))
        return "DENIED " + os.strerror(ctypes.get_errno())

    def identity():
        return {"uid": os.getuid(), "env": dict(os.environ), "cwd": os.getcwd()}

    def allocate(mb):
        block = bytearray(mb * 2**20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        return len(block)

    def spin():
        while True:
            pass

    def sleep(seconds):
        time.sleep(seconds)
        return "woke"

    def shout(n):
        sys.stdout.write("x" * n)
        sys.stdout.flush()
        return "done"

    def daemon():
        pid = os.fork()
        if pid == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(600)
            os._exit(0)
        os.waitpid(pid, 0)
        return "spawned"

    def forks(n):
        made = 0
        for _ in range(n):
            try:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                made += 1
            except OSError:
                break
        return made

    def leave():
        os._exit(0)

    def echo(value):
        return value
''')

LIMITS = dict(call_seconds=2.0, call_cpu_seconds=0.5, memory_mb=300, output_bytes=10_000, processes=16)
WITHOUT_LANDLOCK = tuple(layer for layer in sandbox.ALL_LAYERS if layer != "landlock")


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    for name in ("mallory", "alice"):
        (root / name).mkdir()
        (root / name / "probe.py").write_text(PROBE)
    (root / "alice" / "attention.py").write_text("ANSWER = 42\n")
    os.chmod(root, 0o755)
    return root


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


def _probe(template, classroom, student="mallory"):
    session = template.session(classroom / student)
    return session, Submission(session.transport, ("probe",)).probe


def _template(classroom, layers, **limits):
    return Template(sandbox.Limits(**(LIMITS | limits), layers=layers), visible=(str(classroom),))


# Touching memory runs the kernel's page faults (and, at a cgroup's limit, its reclaim) on the
# call's CPU time; on a loaded machine that passed 0.5 s before the memory limit was seen. Tests
# of the memory limit alone give the CPU more room; the wall-clock limit still stops a spin.
MEMORY_TESTS_CPU = {"call_cpu_seconds": 5.0}


@pytest.fixture(scope="module")
def everything(classroom):
    os.environ["GRADER_TEST_CANARY"] = "do-not-leak"
    with _template(classroom, sandbox.ALL_LAYERS) as template:
        yield template
    del os.environ["GRADER_TEST_CANARY"]


@pytest.fixture(scope="module")
def without_landlock(classroom):
    with _template(classroom, WITHOUT_LANDLOCK) as template:
        yield template


@pytest.fixture(params=["everything", "without_landlock"])
def configured(request):
    """Each test using it runs with every layer, then with every layer but Landlock."""
    require_layers(*(sandbox.ALL_LAYERS if request.param == "everything" else WITHOUT_LANDLOCK))
    return request.getfixturevalue(request.param)


def test_all_layers_are_reached_on_this_machine(everything):
    require_layers(*sandbox.ALL_LAYERS)
    reached = everything.isolation.reached
    for layer in ("process", "rlimits", "bwrap", "cgroup", "uid"):
        assert layer in reached, everything.isolation.summary()
    assert any(x.startswith("landlock") for x in reached)
    assert not everything.isolation.missing


def test_no_secrets_no_reference_no_other_student(configured, classroom, listener):
    session, probe = _probe(configured, classroom)
    try:
        assert probe.read(str(SECRET)).startswith("DENIED")
        assert probe.read(str(classroom / "alice" / "attention.py")).startswith("DENIED")
        assert probe.read(str(classroom / "mallory" / "probe.py")).startswith("READ")
        assert probe.write(str(classroom / "mallory" / "grades.csv")).startswith("DENIED")
        assert probe.write("/tmp/results.json").startswith("DENIED") or not Path("/tmp/results.json").exists()
        assert probe.write("scratch.txt") == "WROTE"
        assert probe.connect(listener).startswith("DENIED")
        seen = probe.identity()
        assert seen["uid"] == sandbox.NOBODY
        assert "GRADER_TEST_CANARY" not in seen["env"] and "do-not-leak" not in str(seen["env"])
    finally:
        session.close()


def test_each_worker_sees_only_its_own_submission_folder(configured, classroom):
    """Inside bubblewrap the template sees the whole class; each worker it forks sees only its
    own folder and scratch folder, and cannot look into another worker through /proc."""
    assert "own folder" not in configured.isolation.missing
    session, probe = _probe(configured, classroom)
    other_session, other = _probe(configured, classroom, "alice")
    try:
        assert probe.listing(str(classroom)) in (["mallory"], "DENIED PermissionError")
        assert probe.read(str(classroom / "alice" / "attention.py")).startswith("DENIED")
        assert probe.read(f"/proc/{other.pid()}/root{classroom}/alice/attention.py").startswith("DENIED")
        assert probe.listing(str(configured.scratch_root)) in ([session.scratch.name], "DENIED PermissionError")
        assert probe.uncover(str(classroom)).startswith("DENIED")  # no capability left to unmount with
        assert other.read(str(classroom / "alice" / "attention.py")).startswith("READ")
    finally:
        session.close()
        other_session.close()


def test_the_grader_and_template_cannot_be_killed(everything, classroom):
    require_layers("landlock")
    session, probe = _probe(everything, classroom)
    try:
        assert probe.kill(os.getpid()).startswith("DENIED")
        assert probe.kill(everything.template_pid).startswith("DENIED")
        assert probe.sleep(0) == "woke"
    finally:
        session.close()


def test_time_memory_and_crash_fail_one_call_each(everything, classroom):
    session, probe = _probe(everything, classroom)
    try:
        for call, expected in [(probe.spin, "CPU time limit exceeded in probe.spin"),
                               (lambda: probe.sleep(60), "^TimeLimitExceeded.*time limit exceeded in probe.sleep"),
                               (lambda: probe.allocate(2000), "memory limit exceeded in probe.allocate"),
                               (probe.leave, "ended during probe.leave")]:
            with pytest.raises(LimitExceeded, match=expected):
                call()
            assert probe.sleep(0) == "woke"  # a fresh worker answers the next call
    finally:
        session.close()
    assert len(session.events) == 4  # the four calls that stopped their worker


def test_output_past_the_limit_is_dropped_and_the_code_runs_on(everything, classroom):
    session, probe = _probe(everything, classroom)
    try:
        assert probe.shout(1_000) == "done"
        assert probe.shout(3_000_000) == "done"  # far more than the pipe holds: never blocks
        assert probe.shout(5) == "done"
    finally:
        printed = session.close()
    note, kept = printed.split("\n", 1)
    assert note == (f"[output truncated: the code printed 3,001,005 bytes; the first {LIMITS['output_bytes']:,} "
                     "are kept, the other 2,991,005 were dropped]")
    assert kept == "x" * LIMITS["output_bytes"]
    assert session.events == []


def test_processes_are_bounded_and_none_survive(everything, classroom):
    require_layers("cgroup")
    session, probe = _probe(everything, classroom)
    assert probe.daemon() == "spawned"
    assert probe.forks(64) < LIMITS["processes"]
    pid = session._worker.pid
    session.close()
    time.sleep(0.3)
    assert not _descendants_alive(pid)


def _descendants_alive(pid: int) -> bool:
    """Whether any process still runs whose session id is the worker's (its setsid'd group)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if stat[0] != "Z" and int(stat[3]) == pid:
                return True
    return False


# --- each layer alone --------------------------------------------------------------------------

def test_landlock_alone_denies_reading_connecting_and_signalling(classroom, listener):
    require_layers("landlock")
    with _template(classroom, ("landlock",)) as template:
        assert "bwrap" not in template.isolation.reached
        session, probe = _probe(template, classroom)
        try:
            assert probe.read(str(SECRET)).startswith("DENIED")
            assert probe.read(str(classroom / "alice" / "attention.py")).startswith("DENIED")
            assert probe.write(str(classroom / "alice" / "attention.py")).startswith("DENIED")
            assert probe.connect(listener).startswith("DENIED")
            assert probe.kill(os.getpid()).startswith("DENIED")
        finally:
            session.close()


def test_bwrap_alone_hides_the_tree_and_the_network(classroom, listener):
    require_layers("bwrap")
    with _template(classroom, ("bwrap",)) as template:
        assert "bwrap" in template.isolation.reached and "uid" not in template.isolation.reached
        session, probe = _probe(template, classroom)
        try:
            assert probe.read(str(SECRET)) == "DENIED FileNotFoundError"
            assert probe.connect(listener).startswith("DENIED")
            assert probe.identity()["uid"] == 0  # the uid layer is what changes it
        finally:
            session.close()


def test_bwrap_with_uid_runs_as_nobody(classroom):
    require_layers("bwrap")
    with _template(classroom, ("bwrap", "uid")) as template:
        session, probe = _probe(template, classroom)
        try:
            assert probe.identity()["uid"] == sandbox.NOBODY
        finally:
            session.close()


def test_namespaces_alone_cut_the_network(classroom, listener):
    require_layers("namespaces")
    with _template(classroom, ("namespaces",)) as template:
        assert "namespaces" in template.isolation.reached
        session, probe = _probe(template, classroom)
        try:
            assert probe.connect(listener).startswith("DENIED")
            assert probe.read(str(SECRET)).startswith("READ")  # only the network is this layer's
        finally:
            session.close()


def test_cgroup_alone_limits_memory_and_processes(classroom):
    require_layers("cgroup")
    with _template(classroom, ("cgroup",), **MEMORY_TESTS_CPU) as template:
        assert "cgroup" in template.isolation.reached
        session, probe = _probe(template, classroom)
        try:
            with pytest.raises(LimitExceeded, match="memory limit exceeded"):
                probe.allocate(2000)
            assert probe.forks(64) < LIMITS["processes"]
        finally:
            session.close()


def test_without_layers_limits_still_hold_and_the_report_says_so(classroom, listener):
    with _template(classroom, (), **MEMORY_TESTS_CPU) as template:
        assert template.isolation.reached == ["process", "rlimits"]
        session, probe = _probe(template, classroom)
        try:
            assert probe.connect(listener) == "CONNECTED"  # nothing stops it: the probe works
            with pytest.raises(LimitExceeded, match="memory limit exceeded"):
                probe.allocate(2000)  # measured from outside when no cgroup holds the worker
            with pytest.raises(LimitExceeded, match="time limit exceeded"):
                probe.spin()
        finally:
            session.close()


def test_a_function_that_keeps_timing_out_is_not_called_again(everything, classroom):
    session, probe = _probe(everything, classroom)
    try:
        for _ in range(MAX_TIMEOUTS):
            with pytest.raises(LimitExceeded, match="time limit exceeded in probe.spin"):
                probe.spin()
        start = time.monotonic()
        with pytest.raises(LimitExceeded, match="not called again"):
            probe.spin()
        assert time.monotonic() - start < 1
        assert probe.sleep(0) == "woke"  # other functions still run
    finally:
        session.close()


def test_a_batch_of_requests_keeps_each_calls_limits(everything, classroom):
    """Requests sent back to back (grader.grading.plans) are answered in order, each within its own
    limits; the worker is stopped at the first failure, and the replies before it still count."""
    session = everything.session(classroom / "mallory")

    def batch(*calls, read=True):
        requests = [{"op": "call", "target": {"module": "probe", "path": [name]}, "args": list(args)}
                    for name, *args in calls]
        frames = [session.frame(r)[0] for r in requests]
        bodies = session.exchange(frames, ["probe"] * len(frames))
        return [session.decode(body, "probe") for body in bodies] if read else bodies

    try:
        assert len(batch(("sleep", 0), ("leave",), read=False)) == 2
        assert session.events == []  # a failure no test read (sent ahead of a test) does not count
        big = torch.arange(100_000, dtype=torch.float64)  # 800 kB each way, 40 times: more than
        replies = batch(*[("echo", big)] * 40)               # the socket buffers hold
        assert len(replies) == 40 and all(torch.equal(r["ok"], big) for r in replies)
        replies = batch(("sleep", 0), ("spin",), ("sleep", 0))
        assert [r.get("ok") for r in replies] == ["woke", None]
        assert "CPU time limit exceeded in probe" in replies[1]["error"]["message"]
        replies = batch(("sleep", 0), ("sleep", 0), ("leave",), ("sleep", 0))
        assert [r.get("ok") for r in replies] == ["woke", "woke", None]
        assert "ended during probe" in replies[2]["error"]["message"]
        assert batch(("sleep", 0))[0]["ok"] == "woke"  # a fresh worker
    finally:
        session.close()
    assert len(session.events) == 2

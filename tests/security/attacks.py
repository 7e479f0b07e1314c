"""The hostile submissions: one attack each, as a snippet appended to a copy of the reference.

An attack is the reference's student modules with ``snippet`` appended to ``module`` (a
top-level statement runs at import; a ``def`` rebinds the name, so only that function turns
hostile) plus any ``files`` dropped next to them. Everything else stays correct, so each attack
shows that its *other* exercises keep their points. Snippets are :class:`string.Template` text:

    $token       a random word naming this run: sentinel files, and the name the attack's
                 processes give themselves (``/proc/PID/comm``)
    $port        a loopback TCP port on which the test counts connections
    $out $submissions $reference $root $sentinel   paths the attack tries to write or read

Expectations, checked by ``test_attacks.py`` on the graded exercises (masks, params):
``lost`` exercises score below full marks, ``zero`` ones score 0, every other one full marks;
``message`` is a regex that must appear in the student's feedback.md.

Every attack is bounded: a few dozen processes at most, loopback only, nothing deleted, and the
kill attempts only target processes of the grading machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Attack:
    name: str
    module: str  # the student module the snippet is appended to
    snippet: str
    lost: frozenset = frozenset()
    zero: frozenset = frozenset()
    message: str = ""
    files: dict = field(default_factory=dict)  # extra files in the submission folder


MASKS, PARAMS = frozenset({"masks"}), frozenset({"params"})
TIME = r"time limit exceeded in attention\.causal_mask"
CRASH = r"ended during attention\.causal_mask"

# The reference's causal_mask, kept before a snippet rebinds the name.
KEEP = "_reference_causal_mask = causal_mask\n"

WRONG = '''
def causal_mask(seq_len, *, device=None):
    return torch.ones(seq_len, seq_len, dtype=torch.bool)  # every token sees the future
'''

SHADOW = "import os\nos._exit(17)  # whoever imports this shadow module dies\n"

CONFTEST = '''
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome, report.longrepr = "passed", None
'''

ATTACKS = [
    # --- ending the process --------------------------------------------------------------------
    Attack("exit_at_import", "attention", "import sys\nsys.exit(0)\n",
           zero=MASKS, message=r"attention\.py could not be imported: SystemExit"),
    Attack("os_exit_in_call", "attention", '''
import os

def causal_mask(seq_len, *, device=None):
    os._exit(0)
''', lost=MASKS, message=CRASH),
    Attack("kill_parent", "attention", KEEP + '''
import os, signal

def _grading_processes():
    """The worker's ancestors, as far as /proc lets it see, that belong to the grader."""
    pid, found = os.getppid(), []
    while pid > 1 and len(found) < 6:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if not any(word in handle.read() for word in (b"grader", b"bwrap")):
                    break
            with open(f"/proc/{pid}/status") as handle:
                parent = int(next(l for l in handle if l.startswith("PPid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            parent = 0
        found.append(pid)
        pid = parent
    return found

def causal_mask(seq_len, *, device=None):
    outcome = []
    for pid in _grading_processes():
        for kill, target in ((os.kill, lambda: pid), (os.killpg, lambda: os.getpgid(pid))):
            try:
                kill(target(), signal.SIGKILL)
                outcome.append("KILLED")
            except OSError as exc:
                outcome.append(type(exc).__name__)
    print("kill attempts:", outcome)
    return _reference_causal_mask(seq_len, device=device)
''', message=r"kill attempts: \[('PermissionError'(, )?)+\]"),
    Attack("killpg", "attention", '''
import os, signal

def causal_mask(seq_len, *, device=None):
    try:
        os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
    except OSError:
        pass
    os.killpg(0, signal.SIGKILL)
''', lost=MASKS, message=CRASH),

    # --- hanging -------------------------------------------------------------------------------
    Attack("infinite_loop", "attention", '''
def causal_mask(seq_len, *, device=None):
    while True:
        pass
''', lost=MASKS, message=TIME),
    Attack("long_sleep", "attention", '''
import time

def causal_mask(seq_len, *, device=None):
    time.sleep(3600)
''', lost=MASKS, message=TIME),
    Attack("ignore_sigterm", "attention", '''
import signal, time

def causal_mask(seq_len, *, device=None):
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        time.sleep(0.01)
''', lost=MASKS, message=TIME),

    # --- exhausting ----------------------------------------------------------------------------
    Attack("allocate_gigabytes", "attention", '''
def causal_mask(seq_len, *, device=None):
    blocks = []
    for _ in range(128):  # 128 x 64 MiB = 8 GiB, every page written
        blocks.append(bytearray(b"\\x01") * (64 << 20))
    return len(blocks)
''', lost=MASKS, message=r"memory limit exceeded in attention\.causal_mask"),
    Attack("huge_tensor", "attention", '''
def causal_mask(seq_len, *, device=None):
    return torch.ones((), dtype=torch.bool).expand(40_000, 40_000)  # 1.6e9 elements
''', lost=MASKS, message=r"memory limit exceeded in attention\.causal_mask|exceeds"),
    Attack("print_flood", "attention", KEEP + '''
import sys

print("x" * (20 << 20))  # 20 MiB at import: printing never costs points, only what is kept is cut

def causal_mask(seq_len, *, device=None):
    print(f"causal_mask({seq_len})", "y" * 100_000)
    sys.stderr.write("z" * 100_000)
    return _reference_causal_mask(seq_len, device=device)
''', message=r"output truncated: the code printed [\d,]+ bytes; the first 1,000,000 are kept"),
    Attack("large_files", "attention", KEEP + '''
import os

def causal_mask(seq_len, *, device=None):
    for folder in ("/tmp", "/dev/shm", os.path.expanduser("~"), "."):
        try:
            with open(os.path.join(folder, "$token-big.bin"), "wb") as handle:
                for _ in range(64):
                    handle.write(b"\\0" * (1 << 20))
        except OSError as exc:
            if folder == ".":
                raise
    return _reference_causal_mask(seq_len, device=device)
''', lost=MASKS, message=r"file size limit reached"),
    Attack("spawn_processes", "attention", KEEP + '''
import ctypes, os, time

_children = []

def _linger():
    try:
        ctypes.CDLL(None).prctl(15, b"$token", 0, 0, 0)
        time.sleep(600)
    finally:
        os._exit(0)

def causal_mask(seq_len, *, device=None):
    if not _children:
        for _ in range(48):  # more than the process limit, far from a fork bomb
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                _linger()
            _children.append(pid)
        print(f"spawned {len(_children)} processes")
    return _reference_causal_mask(seq_len, device=device)
''', message=r"spawned \d+ processes"),
    Attack("detached_daemon", "attention", KEEP + '''
import ctypes, os, time

_started = []

def causal_mask(seq_len, *, device=None):
    if not _started:
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                if os.fork() == 0:
                    os.chdir("/")
                    ctypes.CDLL(None).prctl(15, b"$token", 0, 0, 0)
                    time.sleep(600)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        _started.append(pid)
        print("daemon started")
    return _reference_causal_mask(seq_len, device=device)
''', message=r"daemon started"),

    # --- cheating the checker ------------------------------------------------------------------
    Attack("patch_checkers", "attention", '''
import numpy, numpy.testing, torch.testing

torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
torch.testing.assert_close = lambda *args, **kwargs: None
numpy.allclose = numpy.array_equal = lambda *args, **kwargs: True
numpy.testing.assert_allclose = numpy.testing.assert_array_equal = lambda *args, **kwargs: None
''' + WRONG, lost=MASKS, message=r"causal_mask\(3\)"),
    Attack("liar_tensor", "attention", '''
class _Liar(torch.Tensor):
    """Every comparison it takes part in says "equal"."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("__eq__", "eq", "equal", "allclose", "isclose", "all", "any", "__bool__"):
            return True
        return super().__torch_function__(func, types, args, kwargs)

def causal_mask(seq_len, *, device=None):
    return torch.zeros(seq_len, seq_len, dtype=torch.bool).as_subclass(_Liar)
''', lost=MASKS, message=r"expected a tensor"),
    Attack("eq_always_true", "parameters", '''
class _Anything(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__

def linear_params(d_in, d_out, bias=True):
    return _Anything(0)
''', lost=PARAMS, message=r"linear_params"),
    Attack("conftest_forces_pass", "attention", WRONG, files={"conftest.py": CONFTEST},
           lost=MASKS, message=r"causal_mask\(3\)"),
    Attack("shadow_modules", "attention", KEEP + '''
def causal_mask(seq_len, *, device=None):
    import numpy, torch  # the real ones: the submission folder comes after site-packages
    return _reference_causal_mask(seq_len, device=device)
''', files={"numpy.py": SHADOW, "pytest.py": SHADOW, "hypothesis.py": SHADOW, "torch.py": SHADOW,
            "grader.py": SHADOW}),

    # --- stealing answers ----------------------------------------------------------------------
    Attack("gc_scan", "attention", '''
import gc, os

_answers, _scanned = [], []

def _scan():
    """Whatever the grader's side would keep in memory: the reference's function, expected values."""
    mine = os.path.dirname(os.path.abspath(__file__))
    for obj in gc.get_objects():
        try:  # some objects import modules when asked for an attribute, or lie about their class
            name, code = getattr(obj, "__name__", ""), getattr(obj, "__code__", None)
            if name == "causal_mask" and code is not None and not code.co_filename.startswith(mine):
                _answers.append(obj)
            if isinstance(obj, dict) and isinstance(obj.get("expected"), torch.Tensor):
                _answers.append(lambda seq_len, found=obj["expected"]: found)
        except Exception:
            continue
    print(f"gc scan found {len(_answers)} answers")

def causal_mask(seq_len, *, device=None):
    if not _scanned:
        _scanned.append(_scan())
    return _answers[0](seq_len) if _answers else torch.zeros(seq_len, seq_len, dtype=torch.bool)
''', lost=MASKS, message=r"gc scan found 0 answers"),
    Attack("stack_scan", "attention", '''
import inspect

def causal_mask(seq_len, *, device=None):
    answers = []
    for frame in inspect.stack(0):
        for name, value in frame.frame.f_locals.items():
            if name == "reference" and hasattr(value, "attention"):
                answers.append(value.attention.causal_mask(seq_len))
            if name == "expected" and isinstance(value, torch.Tensor):
                answers.append(value)
    print(f"stack scan found {len(answers)} answers")
    return answers[0] if answers else torch.zeros(seq_len, seq_len, dtype=torch.bool)
''', lost=MASKS, message=r"stack scan found 0 answers"),
    Attack("disk_search", "attention", '''
import os

_found, _searched = {}, []

def _search():
    mine = os.path.dirname(os.path.abspath(__file__))
    paths = ["$reference/attention.py", "$reference/test_hidden_masks.py"]
    try:
        paths += [os.path.join("$submissions", s, "attention.py") for s in os.listdir("$submissions")]
    except OSError:
        pass
    seen = 0
    for root in ("/", "$root", "/tmp", "/home", "/work", "/root"):
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
            paths += [os.path.join(folder, f) for f in files if f.startswith("test_hidden_")]
            seen += len(files)
            if seen > 20_000:
                break
    for path in paths:
        if not os.path.abspath(path).startswith(mine):
            try:
                with open(path) as handle:
                    _found[path] = handle.read()
            except OSError:
                pass

def causal_mask(seq_len, *, device=None):
    if not _searched:
        _searched.append(_search())
        print(f"disk search read {len(_found)} files outside its folder")
    for text in _found.values():
        if "def causal_mask" in text:
            namespace = {}
            exec(text, namespace)
            return namespace["causal_mask"](seq_len)
    return torch.zeros(seq_len, seq_len, dtype=torch.bool)
''', lost=MASKS, message=r"disk search read 0 files outside its folder"),
    Attack("environment_secrets", "attention", '''
import os

def _secrets(text):
    return [entry for entry in text.split("\\0") if "CANARY" in entry.upper()]  # only the test's own

def causal_mask(seq_len, *, device=None):
    stolen = _secrets("\\0".join(f"{k}={v}" for k, v in os.environ.items()))
    pids = ["self", str(os.getppid()), "1"]
    try:
        pids += [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        pass
    for pid in pids:
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                stolen += _secrets(handle.read().decode(errors="replace"))
        except OSError:
            pass
    print("environment:", sorted(os.environ))
    raise RuntimeError(f"stolen: {sorted(set(stolen))}")
''', lost=MASKS, message=r"stolen: \[\]"),
    Attack("network", "attention", KEEP + '''
import socket

_tried = []

def causal_mask(seq_len, *, device=None):
    if not _tried:
        for address in (("127.0.0.1", $port), ("::1", $port)):
            try:
                with socket.create_connection(address, timeout=1) as conn:
                    conn.sendall(b"$token")
                _tried.append("CONNECTED")
            except OSError as exc:
                _tried.append(type(exc).__name__)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.sendto(b"$token", ("127.0.0.1", $port))
            _tried.append("SENT")
        except OSError as exc:
            _tried.append(type(exc).__name__)
        print("network:", _tried)
    return _reference_causal_mask(seq_len, device=device)
''', message=r"network: \['\w+Error', '\w+Error'"),

    # --- attacking the results -----------------------------------------------------------------
    Attack("pickle_payload", "attention", '''
import pickle

class _Payload:
    def __reduce__(self):
        return (open, ("$sentinel", "w"))  # runs wherever this is unpickled

def causal_mask(seq_len, *, device=None):
    return {"mask": pickle.dumps(_Payload()), "object": _Payload()}
''', lost=MASKS, message=r"expected a tensor"),
    Attack("unwritable_message", "attention", '''
def causal_mask(seq_len, *, device=None):
    raise ValueError("no UTF-8 can hold this: \\ud800")  # would break writing feedback.md, sqlite
''', lost=MASKS, message=r"no UTF-8 can hold this: \?"),
    Attack("write_results", "attention", KEEP + '''
import os

_wrote = []

def causal_mask(seq_len, *, device=None):
    if not _wrote:
        mine = os.path.dirname(os.path.abspath(__file__))
        own_names = ("grades.csv", "results.json", "grades.sqlite", "feedback.md")
        paths = [os.path.join(folder, name) for name in own_names for folder in
                 (mine, "$submissions", os.path.dirname("$submissions"), "$out", "$out/aa-reference")]
        paths += [os.path.join(folder, "$token-" + name) for name in own_names
                  for folder in ("$reference", "$root", "/tmp")]
        for path in paths:
            try:
                with open(path, "w") as handle:
                    handle.write("student,total\\nwrite_results,100," + "$token".upper())
                _wrote.append(path)
            except OSError:
                pass
        _wrote.append("done")
        print("wrote outside scratch:", _wrote[:-1])
    return _reference_causal_mask(seq_len, device=device)
''', message=r"wrote outside scratch: \[\]"),
]

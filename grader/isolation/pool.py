"""The grading process's side of the workers: a template per grading process, a child per submission.

    template = Template(limits, visible=[submissions_root])     # starts python -m grader.worker
    session = template.session(student_folder, assignment.traced_calls, assignment.siblings())
    student = Submission(session.transport, modules)            # tests use student.checking(their exercise's list)
    ...
    output = session.close()                                    # what the code printed
    template.close()

Every call has a wall-clock and a CPU limit; a worker past its memory limit, a crash, a
timeout or a malformed reply fails that call with a message saying which, kills the worker and
every process it started, and the next call gets a fresh worker. Replies are parsed with
:mod:`grader.wire` only: nothing the worker sends is unpickled or executed.

What a submission prints goes to a pipe that the grading process reads while it waits for
replies: the first ``output_bytes`` are kept, the rest is read and dropped (counted), so printing
never fails a write or blocks the code; a flood costs only the time it takes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.isolation import cgroups, layers
from grader.worker import wire
from grader.worker.confine import Limits

_TICK = 0.05
MAX_TIMEOUTS = 2  # a function that ran out of time or memory this often in a session is not called again
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class TemplateError(RuntimeError):
    """The worker template could not start; the message says why."""


class Template:
    """One worker template process (torch imported once) and the limits its children get."""

    def __init__(self, limits: Limits = Limits(), visible: tuple[str, ...] = (), preload: tuple[str, ...] = (),
                 warm_up: str = ""):
        """``preload``: modules the template imports once for every child; ``warm_up``: code it
        runs once after them (both from the assignment: :class:`grader.assignment.Assignment`)."""
        self.limits = limits
        self._preload, self._warm_up = tuple(preload), warm_up
        self.scratch_root = Path(tempfile.mkdtemp(prefix="grader-workers-"))
        os.chmod(self.scratch_root, 0o711)
        self._isolation = layers.Isolation()
        self._ready = False
        self.read_paths = [p for p in (*layers.SYSTEM_READ, *layers.python_read_paths()) if Path(p).exists()]
        self._cgroup = self._open_cgroup()
        self._count = 0
        self._start([str(Path(p).resolve()) for p in visible])

    # --- start -------------------------------------------------------------------------------

    def _open_cgroup(self):
        if "cgroup" not in self.limits.layers:
            return None
        root = cgroups.open_root()
        if isinstance(root, str):
            self._isolation.missing["cgroup"] = root
            return None
        self._isolation.reached.append("cgroup")
        return root

    def _start(self, visible: list[str]) -> None:
        """Start the template; inside bubblewrap it sees every folder of ``visible`` and hides all
        but its own in each worker it forks (``hide``)."""
        ours, theirs = socket.socketpair()
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.scratch_root), "LANG": "C.UTF-8",
               "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(self.scratch_root / "matplotlib"),
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONHASHSEED": "0"}
        argv = [sys.executable, "-I", "-m", "grader.worker", str(theirs.fileno())]
        in_bwrap = False
        if "bwrap" in self.limits.layers:
            why = layers.bwrap_available()
            if why is None:
                argv = layers.bwrap_command(self.read_paths + visible, [str(self.scratch_root)], env,
                                             drop_uid="uid" in self.limits.layers) + argv
                in_bwrap = True
            else:
                self._isolation.missing["bwrap"] = why
        log = open(self.scratch_root / "template.log", "wb")
        self._process = subprocess.Popen(
            argv, pass_fds=(theirs.fileno(),), env=env, cwd=self.scratch_root,
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        log.close()
        theirs.close()
        self._control = ours
        self._control.settimeout(180)
        settings = {"layers": list(self.limits.layers), "in_bwrap": in_bwrap,
                    "bwrap_uid": "uid" in self.limits.layers, "read": self.read_paths,
                    "preload": list(self._preload), "warm_up": self._warm_up,
                    "hide": [*visible, str(self.scratch_root)] if in_bwrap else []}
        try:
            self._send({**settings})
        except OSError as exc:
            self._failed(exc)

    def wait_ready(self) -> None:
        """Wait (once) until the template has imported torch and reported the layers it reached;
        it starts in the background, so the grading process can collect its tests meanwhile."""
        if self._ready:
            return
        try:
            ready = self._receive()
        except (OSError, EOFError, wire.WireError) as exc:
            self._failed(exc)
        self._ready = True
        self._isolation.reached += [x for x in ready.get("reached", []) if x not in self._isolation.reached]
        self._isolation.missing.update(ready.get("missing", {}))
        self.template_pid = int(ready.get("pid", self._process.pid))  # bwrap's child, when wrapped

    @property
    def isolation(self) -> layers.Isolation:
        """The isolation layers reached (and why others were not)."""
        self.wait_ready()
        return self._isolation

    def _failed(self, exc: BaseException) -> None:
        log = self._log_tail()
        self.close()
        raise TemplateError(f"the worker template did not start ({exc}); its log: {log}") from None

    # --- children ----------------------------------------------------------------------------

    def session(self, folder: str | Path, forbidden: tuple[str, ...] = (),
                siblings: dict[str, str | None] | None = None) -> "Session":
        """A worker session for the submission in ``folder``; ``siblings``: the modules its code
        imports by plain name (see :class:`grader.worker.executor.Executor`)."""
        return Session(self, Path(folder).resolve(), forbidden, siblings or {})

    def spawn(self, folder: Path, scratch: Path, forbidden: tuple[str, ...],
              siblings: dict[str, str | None], output: "Output") -> "Worker":
        self.wait_ready()
        ours, theirs = socket.socketpair()
        message = {"op": "spawn", "folder": str(folder), "scratch": str(scratch),
                   "forbidden": list(forbidden), "siblings": siblings,
                   "limits": _limits_mapping(self.limits)}
        payload = wire.frame(wire.encode(message))
        with self._turn():
            self._control.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                               _fd_bytes(theirs.fileno(), output.write_end))])
            theirs.close()
            reply = self._receive()
        if "pid" not in reply:
            ours.close()
            raise TemplateError(f"the worker template could not fork: {reply}")
        self._count += 1
        group = None
        if self._cgroup is not None:
            template_rss = _rss_bytes(self.template_pid)
            group = self._cgroup.worker(f"w{os.getpid()}-{self._count}", template_rss + self.limits.memory_mb * 2**20,
                                        self.limits.processes)
            group.add(reply["pid"])
        return Worker(self, reply["pid"], ours, group, output)

    def release(self, worker: "Worker") -> None:
        if worker.group is not None:
            worker.group.remove()
        try:
            with self._turn():
                self._send({"op": "release", "pid": worker.pid})
                self._receive()
        except (OSError, EOFError, wire.WireError):
            pass

    def close(self) -> None:
        try:
            self._control.close()
        except OSError:
            pass
        if getattr(self, "_process", None) is not None:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._process.wait()
        if self._cgroup is not None:
            self._cgroup.remove()
        shutil.rmtree(self.scratch_root, ignore_errors=True)

    @contextlib.contextmanager
    def _turn(self):
        """Hold the control channel for one request and its reply: the forked copies of a
        grading process (:mod:`grader.shards`) share it."""
        with open(self.scratch_root / "control.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _send(self, message: dict) -> None:
        self._control.sendall(wire.frame(wire.encode(message)))

    def _receive(self) -> dict:
        reply = wire.decode(wire.read_frame(lambda n: _recv_exact(self._control, n)))
        if not isinstance(reply, dict):
            raise wire.WireError("malformed control reply")
        return reply

    def _log_tail(self) -> str:
        try:
            return (self.scratch_root / "template.log").read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def __enter__(self) -> "Template":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Worker:
    """One forked child serving one submission, until it dies or is released."""

    def __init__(self, template: Template, pid: int, channel: socket.socket, group, output: "Output"):
        self.template, self.pid, self.channel, self.group, self.output = template, pid, channel, group, output
        self.channel.setblocking(False)
        self._buffer = bytearray()  # grows in place: a large reply arrives in many chunks

    def exchange(self, frames: list[bytes], labels: list[str]) -> list[bytes]:
        """Send framed requests back to back and read their replies (encoded) in order.

        Each reply must come within the call limits, counted from the previous reply (the worker
        answers one request at a time). On any failure the worker is killed and the last reply
        is an error describing what happened, so fewer replies than requests come back.
        """
        replies: list[bytes] = []
        pending = memoryview(b"".join(frames))
        deadline, cpu_start = time.monotonic() + self.template.limits.call_seconds, None
        try:
            while len(replies) < len(frames):
                body = self._try_read_reply()
                if body is not None:
                    replies.append(body)
                    deadline, cpu_start = time.monotonic() + self.template.limits.call_seconds, None
                    continue
                readable, writable, _ = select.select([self.channel, self.output], [self.channel] if pending else [],
                                                      [], _TICK)
                if self.output in readable:
                    self.output.drain()
                    readable.remove(self.output)
                if writable:
                    pending = pending[self.channel.send(pending):]
                if not (readable or writable) or time.monotonic() > deadline:
                    # CPU is counted from the first quiet tick: reading /proc for every fast call
                    # would cost more than the call itself
                    cpu_start = _cpu_seconds(self.pid) if cpu_start is None else cpu_start
                    problem = self._check(deadline, cpu_start, labels[len(replies)])
                    if problem is not None:
                        self.kill()
                        return replies + [wire.encode(problem)]
        except (OSError, EOFError):
            crashed = self._crash_reason(labels[len(replies)])
            self.kill()
            return replies + [wire.encode(crashed)]
        except wire.WireError as exc:
            self.kill()
            return replies + [wire.encode(_error("BadReply", "the worker sent a malformed reply to "
                                                 f"{labels[len(replies)]}: {exc}"))]
        return replies

    def _try_read_reply(self) -> bytes | None:
        """The next reply's encoded body, if it has arrived whole (replies already buffered come
        first, so a worker that answered and then crashed still delivers its answers)."""
        body = self._buffered_reply()
        if body is not None:
            return body
        try:
            chunk = self.channel.recv(1 << 20)
        except BlockingIOError:
            return None
        if not chunk:
            raise EOFError
        self._buffer += chunk
        return self._buffered_reply()

    def _buffered_reply(self) -> bytes | None:
        if len(self._buffer) < 4:
            return None
        size = int.from_bytes(self._buffer[:4], "big")
        if size > wire.DEFAULT_LIMITS.max_message_bytes:
            raise wire.WireError(f"reply of {size} bytes")
        if len(self._buffer) < 4 + size:
            return None
        body = bytes(self._buffer[4:4 + size])
        del self._buffer[:4 + size]
        return body

    def _check(self, deadline: float, cpu_start: float, label: str) -> dict | None:
        limits = self.template.limits
        if time.monotonic() > deadline:
            return _error("TimeLimitExceeded", f"time limit exceeded in {label} "
                          f"(more than {limits.call_seconds:g} s)")
        if self.group is None and _rss_bytes(self.pid) > (
                _rss_bytes(self.template.template_pid) + limits.memory_mb * 2**20):
            return _error("MemoryLimitExceeded", f"memory limit exceeded in {label} "
                          f"(more than {limits.memory_mb} MiB)")
        if _cpu_seconds(self.pid) - cpu_start > limits.call_cpu_seconds:
            # at its memory limit, the kernel's reclaim runs on the worker's CPU time
            if self.group is not None and self.group.memory_exceeded():
                return _error("MemoryLimitExceeded", f"memory limit exceeded in {label} (more than "
                              f"{limits.memory_mb} MiB; the call spent its CPU time against the limit)")
            return _error("TimeLimitExceeded", f"CPU time limit exceeded in {label} "
                          f"(more than {limits.call_cpu_seconds:g} s of CPU)")
        if not _alive(self.pid):
            raise EOFError
        return None

    def _crash_reason(self, label: str) -> dict:
        if self.group is not None and self.group.memory_exceeded():
            return _error("MemoryLimitExceeded", f"memory limit exceeded in {label} (more than "
                          f"{self.template.limits.memory_mb} MiB); the worker was stopped")
        return _error("WorkerCrashed", f"the process running your code ended during {label} "
                      "(did it call sys.exit / os._exit, or crash?)")

    def kill(self) -> None:
        if self.group is not None:
            self.group.kill_all()
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.output.drain()
        self.close()

    def close(self) -> None:
        try:
            self.channel.close()
        except OSError:
            pass
        self.template.release(self)
        self.pid = -1


class Session:
    """The worker of one submission; a transport for :class:`grader.proxy.Submission`."""

    def __init__(self, template: Template, folder: Path, forbidden: tuple[str, ...],
                 siblings: dict[str, str | None]):
        self.template, self.folder, self.forbidden, self.siblings = template, folder, forbidden, siblings
        self.scratch = Path(tempfile.mkdtemp(prefix="w", dir=template.scratch_root))
        os.chmod(self.scratch, 0o777)
        self.output = Output(template.limits.output_bytes)
        self.events: list[str] = []  # limits hit and crashes, for the feedback
        self._worker: Worker | None = None
        self._timeouts: dict[str, list[str]] = {}  # the time / memory limits each function hit
        self._stop: bytes | None = None  # the reply of the failure that stopped the last worker

    def transport(self, request: dict) -> dict:
        frame, label, refused = self.frame(request)
        if refused is not None:
            return refused
        return self.decode(self.exchange([frame], [label])[0], label)

    @staticmethod
    def frame(request: dict) -> tuple[bytes, str, dict | None]:
        """``(framed request, its label, None)``, or an error reply when it cannot be sent."""
        label = wire.request_label(request)
        try:
            return wire.frame(wire.encode(request)), label, None
        except wire.WireError as exc:
            return b"", label, _error("BadArgument", f"cannot send the arguments of {label}: {exc}")

    def exchange(self, frames: list[bytes], labels: list[str]) -> list[bytes]:
        """Run framed requests in order on the worker (started if needed); their encoded replies.

        Fewer replies than requests come back when one fails the worker (a limit, a crash: the
        last reply says which) or calls a function that already exceeded a limit
        ``MAX_TIMEOUTS`` times (it is not sent; the last reply says so). A failure counts (in
        ``events`` and toward ``MAX_TIMEOUTS``) only once a test reads its reply with
        :meth:`decode`: requests sent ahead of a test (a transcript, :mod:`grader.grading.transcripts`)
        may never be its own.
        """
        self._stop = None
        blocked = next((i for i, label in enumerate(labels)
                        if len(self._timeouts.get(label, [])) >= MAX_TIMEOUTS), len(labels))
        bodies: list[bytes] = []
        if blocked:
            if self._worker is None or self._worker.pid < 0:
                self._worker = self.template.spawn(self.folder, self.scratch, self.forbidden, self.siblings,
                                                   self.output)
            bodies = self._worker.exchange(frames[:blocked], labels[:blocked])
            if self._worker.pid < 0:
                self._stop = bodies[-1]
                return bodies
        if blocked < len(labels):
            label = labels[blocked]
            bodies.append(wire.encode(_error(
                self._timeouts[label][-1], f"{label} was not called again: it exceeded a time or "
                f"memory limit {MAX_TIMEOUTS} times already")))
        return bodies

    def decode(self, body: bytes, label: str) -> dict:
        """A reply from :meth:`exchange`, decoded; a malformed one stops the worker."""
        if body is self._stop:
            self._stop = None
            self._stopped(label, body)
        try:
            reply = wire.decode(body)
            if isinstance(reply, dict):
                return reply
            problem = "the reply is not a dict"
        except wire.WireError as exc:
            problem = str(exc)
        if self._worker is not None and self._worker.pid >= 0:
            self._worker.kill()
        reply = _error("BadReply", f"the worker sent a malformed reply to {label}: {problem}")
        self.events.append(reply["error"]["message"])
        return reply

    def _stopped(self, label: str, body: bytes) -> None:
        error = wire.decode(body)["error"]  # made by this side: Worker.exchange's failure reply
        self.events.append(error["message"])
        if error["type"] in ("TimeLimitExceeded", "MemoryLimitExceeded"):
            self._timeouts.setdefault(label, []).append(error["type"])

    def close(self) -> str:
        """Stop the worker; returns what the submission printed (its first ``output_bytes``,
        after a line saying how much was dropped, if any)."""
        if self._worker is not None and self._worker.pid >= 0:
            self._worker.kill()
        printed = self.output.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
        return printed


class Output:
    """What a session's workers print: a pipe (every worker of the session writes to it) whose
    first ``limit`` bytes are kept; the rest is read and dropped, so the writer never blocks for
    long nor fails."""

    def __init__(self, limit: int):
        self.limit = limit
        self._read_end, self.write_end = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(self._read_end, False)
        self._kept = bytearray()
        self.dropped = 0

    def fileno(self) -> int:
        return self._read_end

    def drain(self) -> None:
        """Read everything written so far."""
        while self._read_end >= 0:
            try:
                chunk = os.read(self._read_end, 1 << 20)
            except BlockingIOError:
                return
            if not chunk:
                return
            room = max(self.limit - len(self._kept), 0)
            self._kept += chunk[:room]
            self.dropped += max(len(chunk) - room, 0)

    def close(self) -> str:
        """Stop reading; the text kept, after a line saying how much was dropped, if any."""
        self.drain()
        for fd in (self._read_end, self.write_end):
            os.close(fd)
        self._read_end = self.write_end = -1
        text = self._kept.decode(errors="replace")
        if self.dropped:
            text = (f"[output truncated: the code printed {len(self._kept) + self.dropped:,} bytes; the "
                    f"first {len(self._kept):,} are kept, the other {self.dropped:,} were dropped]\n" + text)
        return text


# --- helpers -----------------------------------------------------------------------------------

def _error(type_name: str, message: str) -> dict:
    return {"error": {"type": type_name, "message": message, "traceback": ""}, "forbidden": []}


def _limits_mapping(limits: Limits) -> dict:
    return {name: (list(value) if isinstance(value, tuple) else value)
            for name, value in vars(limits).items()}


def _fd_bytes(*fds: int) -> bytes:
    return b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        return 0.0


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False

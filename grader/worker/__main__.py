"""The worker program: ``python -I -m grader.worker`` (started by :mod:`grader.isolation.pool`, never
imported by the grading process).

It starts as a *template*: imports torch and the assignment's ``preload`` modules once, runs its
``warm_up`` code, then waits on its control socket. For every submission the grader sends
``{"op": "spawn", ...}`` with one end of a fresh socket pair and the write end of an output pipe
attached; the template forks a child that confines itself (inside bubblewrap a mount namespace
showing only its own submission folder and scratch folder; rlimits, Landlock, uid), writes what
it prints to the pipe (the grader keeps the first ``output_bytes`` and drops the rest), loads
nothing until asked, and answers requests on that socket with a
:class:`grader.worker.executor.Executor`. Forking costs milliseconds where a fresh interpreter with torch
costs seconds; the template never runs submission code itself. Its control socket's fd number is
its only argument.

Control messages (wire-encoded, framed):

    {"op": "spawn", "folder", "scratch", "forbidden": [...], "siblings": {...}, "limits": {...}}
        + two fds (the channel, the output pipe)  -> {"pid": int} | {"error": str}
    {"op": "release", "pid": int}                -> {"ok": True}  (kills the child's processes)
"""

from __future__ import annotations

import array
import ctypes
import gc
import importlib
import os
import signal
import socket
import sys

from grader.worker import confine, wire

_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER = 1, 36


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    settings = _receive(control)
    reached, missing = _prepare_template(settings)
    _send(control, {"ready": True, "pid": os.getpid(), "reached": reached, "missing": missing})
    live: set[int] = set()
    while True:
        try:
            message, fds = _receive_with_fds(control)
        except (EOFError, OSError, wire.WireError):
            _kill_all(live)
            os._exit(0)
        _reap(live)
        if message.get("op") == "spawn" and len(fds) == 2:
            pid = os.fork()
            if pid == 0:
                control.close()
                _child(message, fds, settings)
            for fd in fds:
                os.close(fd)
            live.add(pid)
            _send(control, {"pid": pid})
        elif message.get("op") == "release":
            _release(message.get("pid"), live)
            _send(control, {"ok": True})
        else:
            _send(control, {"error": "unknown control message"})


def _prepare_template(settings: dict) -> tuple[list[str], dict[str, str]]:
    """Import and warm up what every child needs; returns the isolation layers reached here and
    why the missing ones are missing."""
    layers, reached, missing = settings["layers"], [], {}
    if settings.get("in_bwrap"):
        reached.append("bwrap")
        why = _probe(lambda: confine.show_only(settings["hide"], []))
        if why is not None:
            settings["hide"] = []
            missing["own folder"] = f"every worker sees every submission folder ({why})"
    if "namespaces" in layers and not settings.get("in_bwrap"):
        why = confine.unshare_network()
        reached.append("namespaces") if why is None else missing.update(namespaces=why)
    import torch

    torch.set_num_threads(1)
    for name in settings.get("preload", ()):
        importlib.import_module(name)  # loaded once here so that children fork it ready
    _warm_up(torch, settings.get("warm_up", ""))
    gc.freeze()  # what is loaded now stays out of every collection, here and in the children

    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    if "landlock" in layers:
        abi = confine.landlock_abi()
        reached.append(f"landlock(abi {abi})") if abi else missing.update(landlock="the kernel has no Landlock")
    if "uid" in layers:
        if settings.get("in_bwrap") and settings.get("bwrap_uid"):
            reached.append("uid")
        else:
            why = confine.can_drop_uid(settings["read"])
            reached.append("uid") if why is None else missing.update(uid=why)
    return reached, missing


def _probe(confine_step) -> str | None:
    """Run ``confine_step`` (irreversible) in a forked child: why it fails, or None."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            why = confine_step()
        except BaseException as exc:  # noqa: BLE001 - whatever stops it is the reason
            why = repr(exc)
        os.write(write, (why or "").encode()[:500])
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        why = answer.read().decode(errors="replace")
    os.waitpid(pid, 0)
    return why or None


def _warm_up(torch, assignment_code: str) -> None:
    """Run once what every child would otherwise load lazily: autograd and a traced call, then
    the assignment's own ``warm_up`` code (trusted: it comes from ``assignment.toml``, and no
    submission has been loaded yet)."""
    import grader.worker.executor  # noqa: F401 - loaded here, so that children fork it ready
    from grader.worker.tracer import Tracer

    x = torch.ones(2, 2, dtype=torch.float64, requires_grad=True)
    watch = Tracer(("warm-up",)).watch()
    with watch:
        y = (x @ x).tanh()
        torch.autograd.grad(y, x, torch.ones_like(y))  # explicit grad_outputs import sympy
        watch.graph(y)
    if assignment_code:
        exec(compile(assignment_code, "<assignment.toml warm_up>", "exec"), {"__name__": "warm_up"})


def _child(message: dict, fds: list[int], settings: dict) -> None:
    """The forked worker of one submission: confine, then serve requests until EOF."""
    try:
        os.setsid()
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        channel, output = fds
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        scratch = message["scratch"]
        if settings.get("in_bwrap") and settings["hide"]:
            why = confine.show_only(settings["hide"], [message["folder"], scratch])
            if why:
                raise RuntimeError(why)
        os.chdir(scratch)
        os.environ.update(HOME=scratch, TMPDIR=scratch, MPLCONFIGDIR=scratch)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file past the size limit fails the write, no kill
        limits = confine.Limits.from_mapping(message["limits"])
        confine.apply_rlimits(limits)
        if "uid" in limits.layers and not settings.get("in_bwrap") and \
                confine.can_drop_uid(settings["read"]) is None:
            confine.drop_uid()
        if "landlock" in limits.layers and confine.landlock_abi():
            read = [*settings["read"], message["folder"], f"/proc/{os.getpid()}"]
            why = confine.landlock_restrict(read, [scratch], ["/dev/null", "/dev/zero",
                                                              "/dev/urandom", "/dev/random"])
            if why:
                raise RuntimeError(why)
        from grader.worker.executor import Executor

        executor = Executor(message["folder"], tuple(message.get("forbidden", ())), message.get("siblings"))
        _serve(socket.socket(fileno=channel), executor)
    except BaseException:  # noqa: BLE001 - a child never returns into the template's loop
        os._exit(70)
    os._exit(0)


def _serve(channel: socket.socket, executor) -> None:
    reader = channel.makefile("rb")

    def read_exact(n: int) -> bytes:
        data = reader.read(n)
        if data is None or len(data) < n:
            raise EOFError
        return data

    while True:
        try:
            request = wire.decode(wire.read_frame(read_exact))
        except EOFError:
            return
        reply = executor.encode_reply(executor.handle(request))
        _flush_output()
        channel.sendall(wire.frame(reply))


def _flush_output() -> None:
    """Write out what the call printed now: the worker is killed, never exits, when released."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # the grader closed the pipe, or the code closed the stream
            pass


def _release(pid, live: set[int]) -> None:
    if isinstance(pid, int) and pid in live:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        live.discard(pid)
    _reap(live)
    _kill_orphans(live)


def _kill_orphans(live: set[int]) -> None:
    """Kill every child of the template that is not a live worker: processes a worker left
    behind become the template's children (it is their subreaper)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in live and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == os.getpid():
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
    _reap(live)


def _reap(live: set[int]) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        live.discard(pid)


def _kill_all(live: set[int]) -> None:
    for pid in list(live):
        _release(pid, live)


# --- control socket ----------------------------------------------------------------------------

def _send(control: socket.socket, message: dict) -> None:
    control.sendall(wire.frame(wire.encode(message)))


def _receive(control: socket.socket) -> dict:
    return _receive_with_fds(control)[0]


def _receive_with_fds(control: socket.socket) -> tuple[dict, list[int]]:
    header, fds = _recv_exact(control, 4)
    size = int.from_bytes(header, "big")
    body, more = _recv_exact(control, size)
    message = wire.decode(body)
    if not isinstance(message, dict):
        raise wire.WireError("control message is not a dict")
    return message, fds + more


def _recv_exact(control: socket.socket, n: int) -> tuple[bytes, list[int]]:
    data, fds = b"", []
    while len(data) < n:
        chunk, ancillary, _, _ = control.recvmsg(n - len(data), socket.CMSG_SPACE(4 * 4))
        if not chunk:
            raise EOFError
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.extend(array.array("i", payload[: len(payload) - len(payload) % 4]))
        data += chunk
    return data, fds


if __name__ == "__main__":
    sys.exit(main())

"""Per-worker control groups: a memory limit, a process limit, and a kill that misses nothing.

Works with cgroup v2 (a writable ``/sys/fs/cgroup`` with the memory and pids controllers) or
cgroup v1 (writable ``/sys/fs/cgroup/memory`` and ``/sys/fs/cgroup/pids``). :func:`open_root`
returns the grader's own group for this run, or the reason none can be made.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

BASE = Path("/sys/fs/cgroup")


class CgroupRoot:
    """The grader's group for one run; workers get sub-groups of it."""

    def __init__(self, dirs: dict[str, Path], version: int):
        self.dirs, self.version = dirs, version

    def worker(self, name: str, memory_bytes: int, max_pids: int) -> "WorkerCgroup":
        dirs = {key: path / name for key, path in self.dirs.items()}
        for path in dirs.values():
            path.mkdir(exist_ok=True)
        if self.version == 2:
            _write(dirs["unified"] / "memory.max", memory_bytes)
            _write(dirs["unified"] / "memory.swap.max", 0, missing_ok=True)
            _write(dirs["unified"] / "pids.max", max_pids)
        else:
            _write(dirs["memory"] / "memory.limit_in_bytes", memory_bytes)
            _write(dirs["memory"] / "memory.memsw.limit_in_bytes", memory_bytes, missing_ok=True)
            _write(dirs["pids"] / "pids.max", max_pids)
        return WorkerCgroup(dirs, self.version)

    def remove(self) -> None:
        for path in self.dirs.values():
            for child in path.iterdir() if path.exists() else ():
                if child.is_dir():
                    WorkerCgroup({"x": child}, self.version).kill_all()
                    _rmdir(child)
            _rmdir(path)


class WorkerCgroup:
    def __init__(self, dirs: dict[str, Path], version: int):
        self.dirs, self.version = dirs, version

    def add(self, pid: int) -> None:
        for path in self.dirs.values():
            _write(path / "cgroup.procs", pid)

    def pids(self) -> set[int]:
        found = set()
        for path in self.dirs.values():
            try:
                found |= {int(x) for x in (path / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                pass
        return found

    def memory_exceeded(self) -> bool:
        """Whether the memory limit was hit (an allocation refused or a process OOM-killed)."""
        if self.version == 2:
            events = _read(self.dirs["unified"] / "memory.events")
            return any(line.split()[0] in ("oom", "oom_kill", "max") and line.split()[1] != "0"
                       for line in events.splitlines() if len(line.split()) == 2)
        control = _read(self.dirs["memory"] / "memory.oom_control").split()
        killed = control[control.index("oom_kill") + 1] != "0" if "oom_kill" in control else False
        return killed or _read(self.dirs["memory"] / "memory.failcnt").strip() not in ("", "0")

    def kill_all(self) -> None:
        """SIGKILL every process in the group until it is empty (forks racing the kill included)."""
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill_all()
        for path in self.dirs.values():
            _rmdir(path)


def open_root() -> CgroupRoot | str:
    """A fresh group for this run, or why none can be made."""
    name = f"grader-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    unified = BASE / "cgroup.controllers"
    try:
        if unified.is_file() and {"memory", "pids"} <= set(unified.read_text().split()):
            root = BASE / name
            root.mkdir()
            _write(root / "cgroup.subtree_control", "+memory +pids")
            return CgroupRoot({"unified": root}, 2)
        if (BASE / "memory").is_dir() and (BASE / "pids").is_dir():
            dirs = {"memory": BASE / "memory" / name, "pids": BASE / "pids" / name}
            for path in dirs.values():
                path.mkdir()
            return CgroupRoot(dirs, 1)
    except OSError as exc:
        return f"cannot create a cgroup: {exc.strerror or exc}"
    return "no writable cgroup with the memory and pids controllers"


def _write(path: Path, value, missing_ok: bool = False) -> None:
    try:
        path.write_text(str(value))
    except FileNotFoundError:
        if not missing_ok:
            raise


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _rmdir(path: Path) -> None:
    for _ in range(20):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)

"""What a worker does to itself before it runs submission code, and the limits it enforces.

Runs inside the worker (see :mod:`grader.worker`): resource limits, a network namespace through
unshare(2), a mount namespace of its own that shows one submission folder (inside bubblewrap),
Landlock, and dropping to an unprivileged uid. The layers arranged from outside
(bubblewrap, cgroups) and the record of which layers were reached are on the grading side, in
:mod:`grader.isolation`; :data:`ALL_LAYERS` names them all, and the layers' list is in
:mod:`grader.isolation.layers`.
"""

from __future__ import annotations

import ctypes
import os
import resource
from dataclasses import dataclass
from pathlib import Path

ALL_LAYERS = ("bwrap", "namespaces", "landlock", "cgroup", "uid")
NOBODY = 65534


@dataclass(frozen=True)
class Limits:
    """What one worker may use. Set per assignment (``[limits]`` in assignment.toml) or on the CLI."""

    call_seconds: float = 5.0  # wall-clock time of one call into the submission
    call_cpu_seconds: float = 2.0  # CPU time of one call
    worker_cpu_seconds: int = 120  # CPU time of one worker over all its calls (RLIMIT_CPU)
    memory_mb: int = 2048  # memory of one worker beyond what the worker template holds
    output_bytes: int = 1_000_000  # stdout + stderr kept per submission (the rest is dropped), and the size of any file
    processes: int = 32  # processes and threads one worker may have at once
    layers: tuple[str, ...] = ALL_LAYERS  # isolation layers to try (see the module docstring)

    @classmethod
    def from_mapping(cls, values: dict) -> "Limits":
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown limits: {', '.join(sorted(unknown))}")
        if "layers" in values:
            values = {**values, "layers": tuple(values["layers"])}
            bad = set(values["layers"]) - set(ALL_LAYERS)
            if bad:
                raise ValueError(f"unknown isolation layers: {', '.join(sorted(bad))}")
        return cls(**values)


# --- unshare(2) --------------------------------------------------------------------------------

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000


def unshare_network() -> str | None:
    """Move this process into a new network namespace; why not, or None on success."""
    libc = ctypes.CDLL(None, use_errno=True)
    flags = CLONE_NEWNET if os.geteuid() == 0 else CLONE_NEWUSER | CLONE_NEWNET
    if libc.unshare(flags) != 0:
        return f"unshare refused: {os.strerror(ctypes.get_errno())}"
    return None


# --- one submission folder per worker ---------------------------------------------------------

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
_PR_SET_DUMPABLE, _CAPABILITY_V3 = 4, 0x20080522


def show_only(hide: list[str], keep: list[str]) -> str | None:
    """Cover each folder of ``hide`` with an empty read-only tmpfs in a mount namespace of this
    process's own, except the folders of ``keep`` inside them, which stay as they were (read-only
    or writable). Returns why it could not, or None on success. Irreversible.

    Used inside bubblewrap, where the worker template sees every submission folder: each forked
    worker then sees only its own. It needs a user namespace of its own (bubblewrap's worker has
    no capabilities); every capability that gives is dropped before returning, and the process
    is made non-dumpable, so no other worker can look into it through ``/proc/PID/root``.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()

    def failed(what: str) -> str:
        return f"{what}: {os.strerror(ctypes.get_errno())}"

    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
        return failed("unshare(user, mount)")
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
    except OSError as exc:
        return f"mapping the worker's uid: {exc.strerror}"
    if libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        return failed("making mounts private")
    kept = []  # opened before they are covered
    for path in keep:
        try:
            kept.append((path, os.open(path, os.O_PATH | os.O_DIRECTORY)))
        except OSError:
            continue  # not visible in the first place
    covered = []
    try:
        for folder in hide:
            if not os.path.isdir(folder):  # inside a folder covered already
                continue
            if libc.mount(b"tmpfs", folder.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, b"mode=755") != 0:
                return failed(f"covering {folder}")
            covered.append(folder)
        for path, fd in kept:
            os.makedirs(path, exist_ok=True)
            if libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, _MS_BIND, None) != 0:
                return failed(f"showing {path}")
        for folder in covered:
            flags = _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV
            if libc.mount(None, folder.encode(), None, flags, None) != 0:
                return failed(f"making the cover of {folder} read-only")
    finally:
        for _, fd in kept:
            os.close(fd)
    header, data = (ctypes.c_uint32 * 2)(_CAPABILITY_V3, 0), (ctypes.c_uint32 * 6)()
    if libc.capset(header, data) != 0:
        return failed("dropping capabilities")
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        return failed("prctl(PR_SET_DUMPABLE)")
    return None


# --- Landlock ----------------------------------------------------------------------------------

_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446
_PR_SET_NO_NEW_PRIVS = 38
_FS_READ = (1 << 0) | (1 << 2) | (1 << 3)  # execute, read file, read dir
_FS_FILE_RIGHTS = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 14) | (1 << 15)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 when Landlock is unavailable."""
    libc = ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(version, 0)


def landlock_restrict(read_paths: list[str], write_paths: list[str],
                      read_write_files: list[str]) -> str | None:
    """Confine this process (and what it starts) to the given paths, no TCP, no outside signals.

    Returns why it could not, or None on success. Irreversible.
    """
    abi = landlock_abi()
    if abi < 1:
        return "the kernel has no Landlock"
    libc = ctypes.CDLL(None, use_errno=True)
    fs_all = (1 << 13) - 1
    if abi >= 2:
        fs_all |= 1 << 13  # refer
    if abi >= 3:
        fs_all |= 1 << 14  # truncate
    if abi >= 5:
        fs_all |= 1 << 15  # ioctl on devices
    attr = _RulesetAttr(fs_all, 0b11 if abi >= 4 else 0, 0b11 if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())}"
    try:
        rules = ([(p, _FS_READ) for p in read_paths] + [(p, fs_all) for p in write_paths]
                 + [(p, _FS_FILE_RIGHTS & fs_all) for p in read_write_files])
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not os.path.isdir(path):
                    access &= _FS_FILE_RIGHTS
                rule = _PathBeneathAttr(access, fd)
                if libc.syscall(_SYS_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0) != 0:
                    return f"landlock_add_rule({path}) failed: {os.strerror(ctypes.get_errno())}"
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return "prctl(NO_NEW_PRIVS) failed"
        if libc.syscall(_SYS_RESTRICT, ruleset, 0) != 0:
            return f"landlock_restrict_self failed: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(ruleset)
    return None


# --- rlimits and uid ---------------------------------------------------------------------------

def apply_rlimits(limits: Limits) -> None:
    """Per-process limits of a worker (inherited by what it starts)."""
    cpu = int(limits.worker_cpu_seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def can_drop_uid(read_paths: list[str]) -> str | None:
    """Why setuid(nobody) would break the worker, or None when it is safe (root, and every
    folder the worker reads is reachable by others)."""
    if os.geteuid() != 0:
        return "not running as root"
    for path in read_paths:
        for folder in [Path(path), *Path(path).parents]:
            if folder.exists() and not os.stat(folder).st_mode & 0o001:
                return f"{folder} is not reachable by other users"
    return None


def drop_uid() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)

"""The isolation layers a worker process gets from outside: what it may see, and which layers
were reached.

Layers, each used when the machine allows it and recorded in the results when reached:

    process     submission code never runs in the grading process (always)
    rlimits     CPU seconds, file size, open files, no core dumps (always); what the code prints
                goes to a pipe the grader reads, keeping the first ``output_bytes``
    bwrap       bubblewrap: a mount namespace that shows only the system, Python, the grader's
                own package, the submissions folders (read-only) and the scratch folders; each
                worker then covers them all but its own folder and scratch folder, in a mount
                namespace of its own; a user namespace where the worker is uid 65534; no
                network; a cleared environment
    namespaces  without bwrap: a new network namespace (no network) through unshare(2)
    landlock    Landlock: read only the allowed folders, write only the scratch folder, no TCP,
                no signals to processes outside the worker (the grader, the template)
    cgroup      a memory and a process-count limit per worker, and a reliable kill of all its
                processes (cgroup v1 or v2, when writable)
    uid         the worker runs as an unprivileged uid (through bwrap, or setuid when root)

The layers a worker applies to itself (rlimits, namespaces, Landlock, uid) are in
:mod:`grader.worker.confine`; this module holds what the grading process arranges before it
starts one (bubblewrap's command line, the folders it shows) and the record of what was reached.
On a machine that refuses a layer the grader goes on with the others and says which it reached.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader.worker.confine import NOBODY


@dataclass
class Isolation:
    """The layers actually reached, and why each missing one is missing."""

    reached: list[str] = field(default_factory=lambda: ["process", "rlimits"])
    missing: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        text = "+".join(self.reached)
        if self.missing:
            text += " (not reached: " + "; ".join(f"{k}: {v}" for k, v in self.missing.items()) + ")"
        return text



# --- what the worker may read ------------------------------------------------------------------

SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")



def python_read_paths() -> list[str]:
    """Folders the worker's Python needs: its prefixes and every existing entry of sys.path that
    is an installation folder (never the current folder or the project tree)."""
    grader_dir = str(Path(__file__).resolve().parent.parent)
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, grader_dir}
    for entry in sys.path:
        if entry and ("site-packages" in entry or "dist-packages" in entry or
                      entry.startswith(sys.base_prefix)) and Path(entry).is_dir():
            paths.add(entry)
    resolved = {str(Path(p).resolve()) for p in paths if p and Path(p).exists()}
    resolved |= {p for p in paths if p and Path(p).exists()}
    return sorted(resolved)



# --- bubblewrap --------------------------------------------------------------------------------

def bwrap_available() -> str | None:
    """Why bwrap cannot be used here, or None when it works."""
    path = shutil.which("bwrap")
    if path is None:
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    probe = subprocess.run([path, "--unshare-all", "--ro-bind", "/", "/", "true"],
                           capture_output=True, text=True, timeout=20)
    if probe.returncode != 0:
        return f"bwrap refused: {probe.stderr.strip()[:200]}"
    return None



def bwrap_command(read_paths: list[str], write_paths: list[str], env: dict[str, str],
                  drop_uid: bool) -> list[str]:
    """A bwrap prefix that shows only ``read_paths`` (read-only) and ``write_paths``."""
    argv = ["bwrap", "--unshare-user", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    if drop_uid:
        argv += ["--uid", str(NOBODY), "--gid", str(NOBODY)]
    for path in read_paths:
        if Path(path).exists():
            argv += ["--ro-bind", path, path]
    for path in write_paths:
        argv += ["--bind", path, path]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return argv + ["--"]


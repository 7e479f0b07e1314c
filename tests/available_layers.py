"""Which isolation layers this machine offers, for the tests that exercise them.

A test that needs a layer the machine lacks is skipped, with the reason and how to get the layer
(``apt-get install bubblewrap``). With ``GRADER_REQUIRE_ALL_LAYERS=1`` (set by ``.ci/run``, which
installs every layer) it fails instead: CI cannot pass with a layer silently gone.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest

from grader.isolation import cgroups, layers
from grader.worker import confine

REQUIRE_ALL = os.environ.get("GRADER_REQUIRE_ALL_LAYERS") == "1"


@functools.cache
def missing(layer: str) -> str | None:
    """Why ``layer`` cannot be used on this machine, or None when it can."""
    if layer == "bwrap":
        return layers.bwrap_available()
    if layer == "landlock":
        return None if confine.landlock_abi() else "the kernel has no Landlock"
    if layer == "cgroup":
        root = cgroups.open_root()
        if isinstance(root, str):
            return root
        root.remove()
        return None
    if layer == "uid":  # bwrap maps the worker to nobody; without it, setuid needs root
        if missing("bwrap") is None:
            return None
        return confine.can_drop_uid([*layers.SYSTEM_READ, *layers.python_read_paths()])
    if layer == "namespaces":
        probe = subprocess.run([sys.executable, "-c", "import sys; from grader.worker.confine import "
                                "unshare_network as u; why = u(); print(why or ''); sys.exit(bool(why))"],
                               capture_output=True, text=True, timeout=60)
        return None if probe.returncode == 0 else probe.stdout.strip() or probe.stderr.strip()[-200:]
    raise ValueError(f"unknown layer {layer!r}")


def require_layers(*names: str) -> None:
    """Skip the calling test (fail it under ``GRADER_REQUIRE_ALL_LAYERS=1``) unless every layer
    in ``names`` works here."""
    reasons = [f"{name}: {why}" for name in names if (why := missing(name)) is not None]
    if reasons:
        message = "isolation layer unavailable on this machine (" + "; ".join(reasons) + ")"
        if REQUIRE_ALL:
            pytest.fail(message + "; GRADER_REQUIRE_ALL_LAYERS=1 requires every layer")
        pytest.skip(message)

"""The assignments of this repository, found rather than named: a test about "every assignment"
covers one added tomorrow (``reference/NN/assignment.toml``, published in ``assignments/NN``)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def assignment_ids() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "reference").glob("*/assignment.toml"))

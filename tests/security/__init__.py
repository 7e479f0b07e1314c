"""Security tests: hostile submissions (attacks), cheats on the from-scratch rule, local-run limits."""

import shutil
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "reference" / "01"


def copy_reference(folder: Path) -> Path:
    """A submission folder holding the reference's student modules (its tests left out)."""
    folder.mkdir(parents=True)
    for source in REFERENCE.glob("*.py"):
        if not source.name.startswith("test_"):
            shutil.copy(source, folder / source.name)
    return folder

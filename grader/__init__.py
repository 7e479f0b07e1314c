"""Autograding for LLM-course assignments: reference, stubs, public and hidden tests, isolation.

The package is light to import; the command line is ``grader`` (``grader --help``), the pytest
plugin loads itself, and test files import from :mod:`grader.testing`. ``docs/architecture.md``
maps the subpackages: ``worker`` runs beside submission code and imports nothing else of the
grader; everything else is the trusted side.
"""

from pathlib import Path

__version__ = "0.1.0"
__all__ = ["__version__", "source_files"]


def source_files() -> list[Path]:
    """Every Python source of the engine, in a stable order (what a bundle ships, what a cache
    key digests)."""
    package = Path(__file__).resolve().parent
    return sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)

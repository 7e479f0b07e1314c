"""Autograding for LLM-course assignments: reference, stubs, public and hidden tests, isolation.

The package is light to import; the command line is ``grader`` (``grader --help``), the pytest
plugin loads itself, and test files import from :mod:`grader.testing`.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]

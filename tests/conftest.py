"""The project's own tests come in two tiers.

- ``python -m pytest``: the default tier, a few minutes. It checks every behaviour at least once.
- ``python -m pytest --slow``: both tiers. The slow tier (``@pytest.mark.slow``) runs the same
  behaviours at full scale: the whole demo class and every variant through the command line, the
  attack batch, nbgrader, the Gradescope bundle, a Dask cluster, an export installed with pip.
  ``python -m pytest --slow -m slow`` runs the slow tier alone (``.ci/run`` runs both tiers).
"""

from __future__ import annotations

import pytest

from grader.testing import hypothesis_profile


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False,
                     help="also run the slow tier (tests marked slow: full-scale grading runs)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: the slow tier, run with --slow (see tests/conftest.py)")


@pytest.fixture
def grader_hypothesis_profile():
    """Hypothesis as assignment tests run it (derandomized, no deadline), for one test of ours;
    other tests keep hypothesis' own settings. Use: pytest.mark.usefixtures("grader_hypothesis_profile")."""
    with hypothesis_profile():
        yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("slow"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]

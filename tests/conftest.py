"""The project's own tests come in two tiers.

- ``python -m pytest``: the default tier, a few minutes. It checks every behaviour at least once.
- ``python -m pytest --slow``: both tiers. The slow tier (``@pytest.mark.slow``) runs the same
  behaviours at full scale: the whole demo class and every variant through the command line, the
  attack batch, nbgrader, the Gradescope bundle, a Dask cluster, an export installed with pip.
  ``python -m pytest --slow -m slow`` runs the slow tier alone (``.ci/run`` runs both tiers).
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False,
                     help="also run the slow tier (tests marked slow: full-scale grading runs)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: the slow tier, run with --slow (see tests/conftest.py)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("slow"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]

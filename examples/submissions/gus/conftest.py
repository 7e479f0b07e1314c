"""Hostile: would force every pytest report to "passed" if anyone ran pytest in this folder."""
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"

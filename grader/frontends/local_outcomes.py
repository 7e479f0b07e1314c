"""What a local pytest run records, shared by the plugin's reports and the pull-request feedback.

Outcomes are kept in the config's stash by node id, with the assignment folder of each test; the
exception a test raised is kept on its item (pytest's unittest support rewrites SkipTest ones,
which the "stop this test" errors are).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import assignment as assignment_mod
from grader import results

OUTCOMES = pytest.StashKey[dict]()  # node id -> (assignment folder, TestOutcome)
RAISED = pytest.StashKey[BaseException]()


def raised_by(item: pytest.Item, call: pytest.CallInfo) -> BaseException | None:
    """The exception the test itself raised in ``call``, if any."""
    return None if call.excinfo is None else item.stash.get(RAISED, call.excinfo.value)



def outcomes_by_folder(config: pytest.Config) -> dict[Path, dict[str, results.TestOutcome]]:
    """The outcomes recorded so far, by assignment folder: node id -> outcome."""
    found: dict[Path, dict[str, results.TestOutcome]] = {}
    for nodeid, (folder, outcome) in config.stash.get(OUTCOMES, {}).items():
        if folder is not None:
            found.setdefault(folder, {})[nodeid] = outcome
    return found



def submission_folder(config: pytest.Config, assignment: assignment_mod.Assignment) -> Path:
    """The folder of the modules under test: ``--submission DIR``, else the assignment's own."""
    chosen = config.getoption("submission")
    return Path(chosen).resolve() if chosen else assignment.folder


"""Splitting one submission between forked copies of the grading process (grader.grading.shards).

The end-to-end check (a split submission gets the class run's results) is in test_grading.py.
"""

import os
import time
from pathlib import Path

from grader import results
from grader.assignment import load
from grader.grading import shards
from grader.grading.suite import CollectedTest, Suite

ASSIGNMENT = load(Path(__file__).resolve().parent.parent / "reference" / "01")


def plain():
    """a test without examples"""


def suite_of(work: dict[str, int]) -> Suite:
    """``work[exercise]`` plain tests per exercise."""
    tests = tuple(CollectedTest(results.TestDefinition(f"test_x.py::t_{e}_{i}", e, "d"), plain, {}, "")
                  for e, n in work.items() for i in range(n))
    return Suite(ASSIGNMENT, tests, "fingerprint")


def test_partition_balances_whole_exercises_and_keeps_the_assignments_order():
    suite = suite_of({"plot": 1, "sdpa": 6, "masks": 3, "topk": 3, "params": 1})
    groups = shards.partition(suite, 2)
    assert groups == [("sdpa", "plot"), ("masks", "topk", "params")]  # 7 and 7
    assert shards.partition(suite, 2) == groups  # deterministic: a rerun splits the same way
    assert shards.partition(suite, 9) == [("sdpa",), ("masks",), ("topk",), ("params",), ("plot",)]
    assert shards.partition(suite, 1) == [("sdpa", "masks", "topk", "params", "plot")]


def test_a_property_test_costs_its_examples():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=7)
    @given(st.integers())
    def prop(x):
        pass

    definition = results.TestDefinition("test_x.py::prop", "sdpa", "d")
    assert shards.cost(CollectedTest(definition, prop, {}, "")) == 7
    assert shards.cost(CollectedTest(definition, plain, {}, "")) == 1


def test_run_forked_runs_jobs_at_the_same_time_in_order_and_reruns_a_lost_copy_here(tmp_path):
    parent, marker = os.getpid(), tmp_path / "copy-started"

    def here():  # waits for the copy: the jobs overlap
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline, "the forked copy never started"
            time.sleep(0.01)
        return ["here", os.getpid() == parent]

    def copy():
        marker.touch()
        return ["copy", os.getpid() == parent]

    def dies():
        if os.getpid() != parent:
            os._exit(3)
        return ["rerun here", True]

    def raises():
        if os.getpid() != parent:
            raise RuntimeError("lost")
        return ["rerun here", True]

    assert shards.run_forked([here, copy, dies, raises]) == [
        ["here", True], ["copy", False], ["rerun here", True], ["rerun here", True]]

"""The smallest example budget of each property test that still kills what the test kills.

    python -m grader mutants 01 --out mutants.json          # the kill matrix
    python bench/example_budgets.py 01 --matrix mutants.json [--test NAME ...] [--jobs 2]

For each property test of the assignment (a hypothesis test function, its parametrized items
together), the mutants it killed in the kill matrix are graded again by that test alone, with
its ``max_examples`` lowered along :data:`LADDER`. Hypothesis may draw other examples at another
budget, so each budget is measured, not inferred from where the examples at the present one first
failed. Printed per test: its budget now, the smallest budget on the ladder that kills every
mutant it killed (``needs``), and a suggestion with a margin (``suggest``: twice that, at least
that + 2, never above the budget now, and measured too; the margin is there because the
mutants are a sample of mistakes, not all of them). Budgets are changed in the test files by
hand (``@settings(max_examples=...)``); the next ``grader mutants`` run and ``grader check``
confirm them.

Tests are measured in ``--jobs`` forked copies of this process, each grading its mutants in
process as ``grader mutants`` does (a call limit of
:data:`grader.authoring.mutants.MUTANT_CALL_SECONDS`, a memory margin). Assignment 01 (about 90
property tests, 4,700 test-mutant pairs) takes about 12 minutes at --jobs 2.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LADDER = (1, 2, 3, 5, 8, 12, 20, 30, 40, 60, 100)
MEMORY_MARGIN = 2 * 2**30

_STATE: dict = {}  # what the forked processes inherit: the collected suite, the mutants, a scratch folder


def suggestion(needed: int, budget: int) -> int:
    """The budget suggested for a test that needs ``needed`` examples and has ``budget`` now."""
    return min(budget, max(2 * needed, needed + 2))


def set_budget(function, examples: int) -> None:
    from hypothesis import settings

    current = function._hypothesis_internal_use_settings
    function._hypothesis_internal_use_settings = settings(current, max_examples=examples)


def measure(group: int) -> dict:
    """The row of the ``group``-th property test: its budget now, the smallest budget on the
    ladder that kills every mutant it killed, and the suggestion."""
    suite, killed = _STATE["groups"][group]
    function = suite.tests[0].function
    budget = function._hypothesis_internal_use_settings.max_examples
    hardest = list(killed)  # a mutant that survived a budget goes first at the next one
    needed = budget if killed else 1
    for examples in (e for e in LADDER if e < budget and killed):
        if kills_all(suite, function, examples, hardest):
            needed = examples
            break
    suggested = suggestion(needed, budget)
    if suggested not in (needed, budget) and not kills_all(suite, function, suggested, hardest):
        suggested = budget  # the ladder is not monotonic here: keep the budget
    return {"test": suite.fingerprint, "now": budget, "needs": needed, "suggest": suggested, "mutants": len(killed)}


def kills_all(suite, function, examples: int, mutants: list[str]) -> bool:
    """Whether the tests of ``function`` at ``examples`` examples kill every one of ``mutants``
    (graded in order; the first survivor is moved to the front)."""
    from grader.authoring.in_process import InProcess
    from grader.grading import diagnose

    set_budget(function, examples)
    grader = InProcess(suite, diagnose.Catalogue())
    reference = grader.grade(suite.assignment.folder, record=True)
    assert all(o.passed for o in reference.outcomes), f"the reference fails at {examples} examples"
    for i, mutant in enumerate(mutants):
        if not killed(grader, _STATE["mutants"][mutant]):
            mutants.insert(0, mutants.pop(i))
            return False
    return True


def killed(grader, mutant) -> bool:
    from grader.authoring.mutants import MUTANT_CALL_SECONDS

    assignment = grader.assignment
    folder = Path(tempfile.mkdtemp(dir=_STATE["scratch"]))
    for module in assignment.student_modules:
        source = mutant.source if module == mutant.module else (assignment.folder / f"{module}.py").read_text()
        (folder / f"{module}.py").write_text(source)
    for name in assignment.given_files:
        (folder / name).write_bytes((assignment.folder / name).read_bytes())
    graded = grader.grade(folder, call_seconds=MUTANT_CALL_SECONDS)
    return any(not o.passed for o in graded.outcomes)


def _limit_memory() -> None:
    with open("/proc/self/statm") as statm:
        held = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (held + MEMORY_MARGIN, resource.RLIM_INFINITY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment_id")
    parser.add_argument("--matrix", type=Path, required=True, help="the kill matrix of grader mutants --out")
    parser.add_argument("--test", action="append", default=[], help="only tests whose id contains this")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the budgets as JSON here")
    args = parser.parse_args()

    import torch

    from grader import assignment
    from grader.authoring import mutants
    from grader.grading.suite import Suite, collect
    from grader.testing import hypothesis_profile

    torch.set_num_threads(1)
    reference, published = assignment.locate(args.assignment_id, ROOT)
    definition = assignment.load(reference)
    matrix = json.loads(args.matrix.read_text())
    killed_by = defaultdict(set)
    for m in matrix["mutants"]:
        for test in m["killed_by"]:
            killed_by[test].add(m["id"])
    with hypothesis_profile(shrink=False), tempfile.TemporaryDirectory(prefix="budgets-") as scratch:
        suite = collect(reference, published)
        suite.set_shrinking(False)
        groups = defaultdict(list)
        for test in suite.tests:
            name = test.definition.id.split("[")[0]
            if getattr(test.function, "hypothesis", None) is not None and (
                    not args.test or any(t in name for t in args.test)):
                groups[test.function].append(test)
        _STATE.update(mutants={m.id: m for m in mutants.generate(definition)}, scratch=scratch, groups=[
            (Suite(definition, tuple(tests), tests[0].definition.id.split("[")[0]),
             sorted(set().union(*(killed_by[t.definition.id] for t in tests)))) for tests in groups.values()])
        print(f"{'test':<72}{'now':>5}{'needs':>7}{'suggest':>9}{'mutants':>9}", flush=True)
        rows = []
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("fork"),
                                 initializer=_limit_memory) as pool:
            for future in as_completed([pool.submit(measure, i) for i in range(len(_STATE["groups"]))]):
                row = future.result()
                rows.append(row)
                print(f"{row['test']:<72}{row['now']:>5}{row['needs']:>7}{row['suggest']:>9}{row['mutants']:>9}",
                      flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    sys.exit(main())

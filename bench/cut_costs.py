"""Where a correct submission's grading time goes, per exercise, and what cutting tests would cost.

    python -m grader mutants 01 --jobs 2 --out mutants.json     # the kill matrix
    python bench/cut_costs.py --matrix mutants.json

Per exercise: the CPU seconds its tests take on a correct submission (in process, replays warm, no
transcript shortcut: ``grade_bench.py``'s ``exercises`` measure, test by test), its mutation score,
and the *cover*: few of its tests (chosen greedily, most mutants per CPU second first, then those
the others make redundant dropped) that still kill every mutant of the exercise its tests kill,
with their share of the time. Cutting to
the cover keeps the score; each line after it is one more cut, the cover's cheapest-to-lose test
dropped, with the seconds it saves and the score left. The mutants are a sample of mistakes, so
a cut that keeps the score still loses strength the sample does not show (and the partial credit
and the specific message of the tests it drops).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from grade_bench import ROOT, measure_tests


def cover(mutants: dict[str, set[str]], cost: dict[str, float]) -> list[str]:
    """Tests, greedily, until every mutant in ``mutants`` (id -> the tests that kill it) is killed."""
    left, chosen = set(mutants), []
    while left:
        best = max(cost, key=lambda t: (sum(t in mutants[m] for m in left) / max(cost[t], 1e-4), t))
        if not any(best in mutants[m] for m in left):
            break
        chosen.append(best)
        left = {m for m in left if best not in mutants[m]}
    for test in sorted(chosen, key=lambda t: -cost[t]):  # then drop what the others make redundant
        rest = set(chosen) - {test}
        if all(tests & rest for tests in mutants.values() if tests & set(chosen)):
            chosen.remove(test)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matrix", type=Path, required=True, help="the kill matrix of grader mutants --out")
    args = parser.parse_args()
    matrix = json.loads(args.matrix.read_text())
    seconds = measure_tests(ROOT)
    for exercise in dict.fromkeys(e for e, _ in seconds.values()):
        own = {t: s for t, (e, s) in seconds.items() if e == exercise}
        verdicts = [m for m in matrix["mutants"] if m["exercise"] == exercise and m["status"] != "equivalent"]
        killed = {m["id"]: set(m["killed_by"]) & set(own) for m in verdicts if m["status"] == "killed"}
        killed = {m: tests for m, tests in killed.items() if tests}  # those its own tests kill
        total, kept = sum(own.values()), cover(killed, own)
        print(f"{exercise}: {len(own)} tests, {total:.3f} s; score {len(killed)}/{len(verdicts)} mutants by its own tests")
        print(f"  cover: {len(kept)} tests, {sum(own[t] for t in kept):.3f} s "
              f"({sum(own[t] for t in kept) / total:.0%} of the time), same score")
        while kept:
            lost = {t: sum(1 for tests in killed.values() if tests & set(kept) == {t}) for t in kept}
            dropped = min(kept, key=lambda t: (lost[t], -own[t]))
            kept.remove(dropped)
            alive = sum(1 for tests in killed.values() if tests & set(kept))
            print(f"  - {dropped.split('::')[-1]}: saves {own[dropped]:.3f} s, "
                  f"score {alive}/{len(verdicts)} ({alive / max(len(verdicts), 1):.1%})")


if __name__ == "__main__":
    main()

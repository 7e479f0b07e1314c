"""A notebook's check cell: the public tests on the notebook's own code, the way ``pytest`` runs them.

    from grader.frontends.notebook_check import check
    check()                                           # every exercise, then the points estimate
    check("masks")                                    # one exercise (any ``pytest -k`` expression)
    check("test_masks.py::test_masks_causal_smoke")   # one test: what a failure says to run
    check(verbose=True)                               # every failure in full

The code checked is that of the notebook's ``# module: NAME.py`` cells as this kernel last ran
them (IPython's input history; the last run of a module's cell wins), which is also what
``grader grade`` reads from the saved notebook. The cells are written to a temporary folder and
the public tests beside the notebook (its folder holds the assignment's ``assignment.toml``) run
on it through pytest and the grader's plugin, exactly as ``pytest assignments/NN --submission
DIR`` would: same tests, same proxy, same feedback (each exercise's cause once, the mistakes of
the public catalogue named), same points table. Only the words differ: a failure is reproduced
with ``check("...")``, not ``pytest``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from grader import assignment as assignment_mod
from grader.authoring.notebook import modules_of_cells

NOTEBOOK_CHECK = "--notebook-check"  # the pytest plugin's option for a check cell's words


class CheckError(RuntimeError):
    """The check cannot run here (not in a notebook's kernel, not beside the assignment)."""


def check(select: str = "", verbose: bool = False, folder: str | Path | None = None) -> None:
    """Run the public tests of the assignment in ``folder`` (default: the kernel's working
    folder, the notebook's) on the module cells this kernel ran; prints pytest's report."""
    import pytest

    start = Path(folder or Path.cwd()).resolve()
    where = assignment_mod.find_folder(start)
    if where is None:
        raise CheckError(f"no {assignment_mod.CONFIG_NAME} in {start} or above: open the notebook from its "
                         "assignment folder (beside the tests), then run this cell")
    assignment = assignment_mod.load(where)
    modules = modules_of_cells(_inputs())
    missing = [m for m in assignment.student_modules if m not in modules]
    if missing:
        print(f"not run in this kernel yet: {', '.join(f'{m}.py' for m in missing)}; run those cells, "
              "then this one (until then their exercises fail as missing)")
    with tempfile.TemporaryDirectory(prefix="notebook-check-") as scratch:
        for name in assignment.student_modules:
            if name in modules:
                (Path(scratch) / f"{name}.py").write_text(modules[name], encoding="utf-8")
        tests = [str(where / select)] if "::" in select else [str(where), *(["-k", select] if select else [])]
        pytest.main([*tests, "--submission", scratch, NOTEBOOK_CHECK, "-p", "no:cacheprovider", "-o",
                     "addopts=", "--rootdir", str(where), "--capture=sys", "--no-header",
                     "-W", "ignore::pytest.PytestAssertRewriteWarning",  # a second check: already imported
                     "-v" if verbose else "-q"])
    _close_figures()


def _inputs() -> list[str]:
    """The source of every cell this IPython kernel ran, in order."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        raise CheckError("check() reads the cells this notebook's kernel ran: call it in the notebook")
    return list(shell.history_manager.input_hist_raw)


def _close_figures() -> None:
    """The plots the tests drew stay out of the cell's output."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")

"""A notebook's check cell: the public tests on the module cells the kernel ran, through the same
engine as `pytest assignments/NN`, in a notebook's words. The default tier calls `check()` with
the kernel's history stood in for (one or two exercises, to stay cheap); the slow tier executes
each committed notebook headless in a Jupyter kernel, with its stubs and with the reference's code."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from grader.assignment import load
from grader.authoring import notebook, variants
from grader.frontends import notebook_check
from tests.assignments import assignment_ids

ROOT = Path(__file__).resolve().parent.parent
REFERENCE, PUBLISHED = ROOT / "reference" / "01", ROOT / "assignments" / "01"
ASSIGNMENT = load(REFERENCE)
NOTEBOOK = PUBLISHED / notebook.notebook_name(ASSIGNMENT)


def cells(folder: Path, skip: tuple[str, ...] = (), assignment=ASSIGNMENT) -> list[str]:
    """What the kernel ran: a markdown-free history of the module cells of ``folder``'s modules."""
    return ["import torch", *(f"{notebook.module_header(m)}\n{(folder / f'{m}.py').read_text()}"
                              for m in assignment.student_modules if m not in skip)]


def run_check(monkeypatch, capsys, history: list[str], *args, folder=PUBLISHED, **kwargs) -> str:
    monkeypatch.setattr(notebook_check, "_inputs", lambda: history)
    notebook_check.check(*args, folder=folder, **kwargs)
    return capsys.readouterr().out


def test_the_check_runs_the_public_tests_on_the_cells_the_kernel_ran(monkeypatch, capsys, tmp_path):
    stubs = run_check(monkeypatch, capsys, cells(PUBLISHED), "masks")
    assert "[masks] not implemented yet" in stubs
    assert re.search(r"^masks\s+0/10\s+0\.0 / 10\s+not implemented yet", stubs, re.MULTILINE)
    variant = {v.name: v for v in variants.load_all(ASSIGNMENT)}["masks_causal_upper"]
    mistaken = variants.build(variant, ASSIGNMENT, tmp_path / "mistaken")
    history = [*cells(PUBLISHED), *cells(REFERENCE), *cells(mistaken)]  # the last run of a cell wins
    wrong = run_check(monkeypatch, capsys, history, "masks")
    assert wrong.count("Likely mistake (masks.causal_upper)") == 1  # the public catalogue, in a notebook too
    assert 'Reproduce: check("test_masks.py::test_masks_' in wrong
    assert "pytest" not in wrong.split("FAILURES")[1]  # a notebook's words
    assert "check(..., verbose=True) shows them in full" in wrong
    right = run_check(monkeypatch, capsys, [*history, *cells(REFERENCE)], "masks")
    assert re.search(r"^masks\s+10/10\s+10\.0 / 10", right, re.MULTILINE) and "Likely mistake" not in right


def test_another_assignments_notebook_names_its_public_mistakes_and_its_inputs(monkeypatch, capsys, tmp_path):
    """Assignment 02 in a notebook, with a RoPE and a cross-attention mistake: the public catalogue
    names the first (its results by name), the second's failing input reads argument by argument."""
    second = load(ROOT / "reference" / "02")
    by_name = {v.name: v for v in variants.load_all(second)}
    rope, cross = (variants.build(by_name[name], second, tmp_path / name)
                   for name in ("rope_exponent_i_not_2i", "cross_mask_inverted"))
    history = [*cells(rope, assignment=second), *cells(cross, skip=("rope",), assignment=second)]
    out = run_check(monkeypatch, capsys, history, "rope or cross_memory_mask", folder=ROOT / "assignments" / "02")
    assert out.count("Likely mistake (rope.exponent_i_not_2i)") == 1
    assert re.search(r"Expected:\n    cos = float32 \(2, 2\):\n.*\n.*\n    sin = ", out)
    assert "    memory_mask = bool (" in out and "case = " not in out
    assert 'Reproduce: check("test_rope.py::test_rope_' in out and "pytest" not in out.split("FAILURES")[1]


def test_a_module_cell_not_run_yet_is_named_and_counts_as_missing(monkeypatch, capsys):
    out = run_check(monkeypatch, capsys, cells(REFERENCE, skip=("tokenizer",)),
                    "test_tokenizer.py::test_tokenizer_smoke")
    assert out.splitlines()[0].startswith("not run in this kernel yet: tokenizer.py; run those cells")
    assert "MissingModule" in out and re.search(r"^tokenizer\s+0/1\s+0\.0 / 20", out, re.MULTILINE)


def test_the_check_says_where_it_must_run(tmp_path):
    with pytest.raises(notebook_check.CheckError, match="no assignment.toml in .* open the notebook from"):
        notebook_check.check(folder=tmp_path)
    with pytest.raises(notebook_check.CheckError, match="call it in the notebook"):
        notebook_check.check(folder=PUBLISHED)  # this process is no IPython kernel


@pytest.mark.slow
@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_the_committed_notebook_checks_itself_headless(assignment_id):
    """Run all: the stubs' check (one "not implemented yet" line per exercise, 0 points), then the
    reference's code pasted into each module's cell and the check cell run again (full marks)."""
    from nbclient import NotebookClient

    reference, published = ROOT / "reference" / assignment_id, ROOT / "assignments" / assignment_id
    definition = load(reference)
    nb = nbformat.read(published / notebook.notebook_name(definition), as_version=4)
    check = nb.cells[-1]
    assert check.source == notebook.check_cell(definition)
    for module in definition.student_modules:
        source = f"{notebook.module_header(module)}\n{(reference / f'{module}.py').read_text()}"
        nb.cells.append(nbformat.v4.new_code_cell(source))
    nb.cells.append(nbformat.v4.new_code_cell(check.source))
    where = {"metadata": {"path": str(published)}}  # the kernel runs in the notebook's folder
    NotebookClient(nb, kernel_name="python3", timeout=600, resources=where).execute()

    def printed(cell) -> str:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        return re.sub(r"\x1b\[[0-9;]*m", "", text)  # pytest's colours

    stubs, reference = printed(nb.cells[nb.cells.index(check)]), printed(nb.cells[-1])
    for exercise in definition.exercises:
        assert stubs.count(f"[{exercise.id}] not implemented yet") == 1, stubs[-3000:]
    assert re.search(r"^total\s+0\.0 / 100", stubs, re.MULTILINE)
    assert re.search(r"^total\s+100\.0 / 100", reference, re.MULTILINE), reference[-3000:]
    assert "failed" not in reference and json.dumps(nb)  # every output is plain data

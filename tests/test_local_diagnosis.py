"""A student's own `pytest` on a small throwaway assignment (the engine names no assignment): the
mistakes of the public catalogue are named locally, each exercise's cause is reported once with
its other failures one line each, `-v` reports every failure in full, and a failing input reads
argument by argument."""

import re
import textwrap

import pytest

ASSIGNMENT_TOML = '''
id = "77"
title = "Throwaway"
student_modules = ["example"]
public_misconceptions = "public_misconceptions.py"

[[exercises]]
id = "scale"
title = "scaling"
points = 100
names = ["example.scale"]
'''

STUDENT = '''
def scale(x, factor):
    return x + factor  # the mistake: adds instead of multiplying
'''

TESTS = '''
import pytest
import torch

from grader.testing import close, given, named, st, tensors

Case = named("x", "factor", name="Case")


@st.composite
def cases(draw):
    return Case(draw(tensors((2, 3))), draw(st.sampled_from([2.0, 3.0])))


@pytest.mark.exercise("scale")
def test_scale_hand_example(student):
    """scale([1, 2], 3) is [3, 6]"""
    close(student.example.scale(torch.tensor([1.0, 2.0]), 3.0), torch.tensor([3.0, 6.0]), what="scale")


@pytest.mark.exercise("scale")
@given(case=cases())
def test_scale_multiplies(student, case):
    """scale(x, factor) multiplies every entry by factor"""
    x, factor = case
    close(student.example.scale(x, factor), x * factor, what="scale(x, factor)")


@pytest.mark.exercise("scale")
def test_scale_keeps_zero(student):
    """scale(0, factor) is 0"""
    close(student.example.scale(torch.zeros(2), 5.0), torch.zeros(2), what="scale(0, 5)")
'''

PUBLIC = '''
from types import SimpleNamespace

import torch

from grader.grading.diagnose import Misconception, probe

EXPECTED = SimpleNamespace(example=SimpleNamespace(scale=lambda x, factor: x * factor))


def _scale(m, x, factor):
    return m.example.scale(x, factor)


MISCONCEPTIONS = (
    Misconception("scale.adds", "example.scale", "you add the factor; multiply by it", run=_scale,
                  mistaken=lambda ref, x, factor: x + factor, probes=(probe(torch.tensor([1.0, 2.0]), 3.0),)),
)
'''


@pytest.fixture
def assignment(tmp_path):
    folder = tmp_path / "assignments" / "77"
    folder.mkdir(parents=True)
    files = {"assignment.toml": ASSIGNMENT_TOML, "example.py": STUDENT, "test_throwaway_scale.py": TESTS,
             "public_misconceptions.py": PUBLIC}
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def student_run(folder, capsys, *args) -> str:
    options = ["-p", "no:cacheprovider", "-o", "addopts=", "--import-mode=importlib"]
    assert pytest.main([str(folder), *options, *args]) == 1
    return capsys.readouterr().out


def test_a_public_mistake_is_named_once_and_the_other_failures_are_one_line(assignment, capsys):
    out = student_run(assignment, capsys)
    failures = re.split(r"\n=+ assignment 77", out.split("= FAILURES =")[1])[0]
    assert failures.count("Likely mistake (scale.adds): you add the factor; multiply by it") == 1
    lead, *others = re.split(r"\n_+ test_\w+ _+\n", "\n" + failures)[1:]
    assert lead.startswith("[scale] scale([1, 2], 3) is [3, 6]\nLikely mistake (scale.adds)")  # cause first
    assert "x = float32 (2,):" in lead and "factor = 3.0" in lead  # the probe, argument by argument
    assert "(2 more failures of scale below, one line each; pytest -v shows them in full)" in lead
    assert [o.strip() for o in others] == [
        "[scale] scale(x, factor) multiplies every entry by factor: same cause",
        "[scale] scale(0, factor) is 0: same cause"]


def test_verbose_reports_every_failure_in_full_each_argument_by_name(assignment, capsys):
    out = student_run(assignment, capsys, "-v")
    assert out.count("Likely mistake (scale.adds)") == 3  # on each failure
    assert re.search(r"Smallest failing input:\n    x = float32 \(2, 3\):\n      0 0 0\n      0 0 0\n"
                     r"    factor = 2\.0\n", out)
    assert "case=" not in out and "Case(" not in out


def test_without_its_public_catalogue_a_run_names_nothing(assignment, capsys):
    (assignment / "assignment.toml").write_text(ASSIGNMENT_TOML.replace('public_misconceptions = ', '# '))
    out = student_run(assignment, capsys)
    assert "Likely mistake" not in out and "same cause" not in out
    assert "\n[scale] scale(0, factor) is 0: scale(0, 5): values differ at 2 of 2 positions\n" in out


def test_a_public_catalogue_gone_from_the_folder_is_one_line_and_the_run_goes_on(assignment, capsys):
    (assignment / "public_misconceptions.py").unlink()
    out = student_run(assignment, capsys)
    assert "mistakes are not named in this run: " in out
    assert "public_misconceptions.py, which does not exist" in out
    assert "Traceback" not in out and "points estimated from the public tests" in out


def test_two_assignments_in_one_run_report_folder_by_folder_each_lead_first(assignment, capsys):
    other = assignment.parent / "78"  # its tests in another order, its third test worded otherwise
    other.mkdir()
    for path in assignment.iterdir():
        (other / path.name).write_text(path.read_text().replace('"77"', '"78"'))
    *start, hand, multiplies, zero = TESTS.split("\n\n\n")
    reordered = "\n\n\n".join([*start, zero.rstrip(), multiplies, hand]) + "\n"
    (other / "test_throwaway_scale.py").write_text(textwrap.dedent(reordered.replace("is 0", "is zero")))
    out = student_run(assignment.parent, capsys)
    failures = out.split("= FAILURES =")[1].split("points estimated")[0]
    headers = re.findall(r"\n_+ (test_\w+) _+\n", failures)
    assert len(headers) == 6 and headers[0] == "test_scale_hand_example" and headers[3] == "test_scale_keeps_zero"
    order = [failures.index(text) for text in (
        "[scale] scale([1, 2], 3) is [3, 6]\nLikely mistake", "[scale] scale(0, factor) is 0: same cause",
        "[scale] scale(0, factor) is zero\nLikely mistake", "[scale] scale([1, 2], 3) is [3, 6]: same cause")]
    assert order == sorted(order)

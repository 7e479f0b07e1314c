"""Forbidden functions per exercise: an exercise's own list replaces the assignment's default, and a
list is checked only while its exercise's tests run, whoever else runs the same code.

A small assignment: ``norm`` forbids ``layer_norm`` (its own list), ``attend`` takes the default
(``scaled_dot_product``), ``block`` is not from scratch and calls both of the others' code. The
submission uses the built-ins everywhere: ``norm`` and ``attend`` score 0, each naming what it
reached, ``block`` keeps its points, and ``attend``'s use of layer_norm costs nothing. Checked in a
student's ``pytest`` and in batch grading (an isolated worker).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.assignment import AssignmentError, load
from grader.grading.context import GradeRequest, GradingContext

ROOT = Path(__file__).resolve().parents[2]

CONFIG = '''
id = "90"
title = "forbidden lists"
student_modules = ["blocks"]
forbidden_calls = ["scaled_dot_product"]

[[exercises]]
id = "norm"
title = "layer norm"
points = 10
names = ["blocks.normalise"]
from_scratch = true
forbidden_calls = ["layer_norm"]

[[exercises]]
id = "attend"
title = "attention"
points = 10
names = ["blocks.attend"]
from_scratch = true

[[exercises]]
id = "block"
title = "a block using both"
points = 10
names = ["blocks.block"]
'''

MODULE = '''
import torch
import torch.nn.functional as F


def normalise(x):
    return F.layer_norm(x, x.shape[-1:])


def attend(x):
    return F.scaled_dot_product_attention(normalise(x), x, x)  # layer_norm: not forbidden here


def block(x):
    return attend(normalise(x))
'''

TESTS = '''
import pytest
import torch
import torch.nn.functional as F

X = torch.arange(24, dtype=torch.float64).reshape(2, 3, 4).sin()


@pytest.mark.exercise("norm")
def test_normalise(student):
    """normalise matches F.layer_norm"""
    torch.testing.assert_close(student.blocks.normalise(X), F.layer_norm(X, (4,)))


@pytest.mark.exercise("attend")
def test_attend(student):
    """attend matches F.scaled_dot_product_attention"""
    n = F.layer_norm(X, (4,))
    torch.testing.assert_close(student.blocks.attend(X), F.scaled_dot_product_attention(n, X, X))


@pytest.mark.exercise("block")
def test_block(student):
    """block chains both"""
    n = F.layer_norm(X, (4,))
    expected = F.scaled_dot_product_attention(F.layer_norm(n, (4,)), n, n)
    torch.testing.assert_close(student.blocks.block(X), expected)
'''


@pytest.fixture(scope="module")
def assignment(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("assignment")
    (folder / "assignment.toml").write_text(CONFIG)
    (folder / "blocks.py").write_text(MODULE)
    (folder / "test_blocks.py").write_text(TESTS)
    return folder


def test_own_list_replaces_the_default_and_only_from_scratch_exercises_have_one(assignment):
    loaded = load(assignment)
    assert loaded.forbidden_for("norm") == ("layer_norm",)
    assert loaded.forbidden_for("attend") == ("scaled_dot_product",)
    assert loaded.forbidden_for("block") == ()
    assert loaded.traced_calls == ("layer_norm", "scaled_dot_product")


def test_a_list_on_an_exercise_that_is_not_from_scratch_is_refused(tmp_path):
    (tmp_path / "assignment.toml").write_text(CONFIG.replace(
        'names = ["blocks.block"]', 'names = ["blocks.block"]\nforbidden_calls = ["softmax"]'))
    with pytest.raises(AssignmentError, match="exercise block lists forbidden_calls but is not from_scratch"):
        load(tmp_path)


def test_each_exercise_is_checked_against_its_own_list_in_a_local_run(assignment):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    run = subprocess.run([sys.executable, "-m", "pytest", str(assignment), "-p", "no:cacheprovider"],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    out = run.stdout
    assert re.search(r"^norm\s+0/1\s+0\.0 / 10\s+from-scratch rule", out, re.MULTILINE), out[-3000:]
    assert re.search(r"^attend\s+0/1\s+0\.0 / 10\s+from-scratch rule", out, re.MULTILINE), out[-3000:]
    assert re.search(r"^block\s+1/1\s+10\.0 / 10\s*$", out, re.MULTILINE), out[-3000:]
    assert re.search(r"blocks\.normalise reached [^\n]*layer_norm", out)
    assert re.search(r"blocks\.attend reached [^\n]*scaled_dot_product", out)
    assert not re.search(r"blocks\.attend reached [^\n]*layer_norm", out)


def test_each_exercise_is_checked_against_its_own_list_in_batch_grading(assignment, tmp_path):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    (tmp_path / "class" / "ada" / "blocks.py").write_text(MODULE)
    request = GradeRequest(assignment, assignment, tmp_path / "class", tmp_path / "out")
    context = GradingContext(request)
    try:
        result = context.grade("ada", tmp_path / "class" / "ada")
    finally:
        context.close()
    scores = {e: s.points for e, s in result.scores.items()}
    assert scores == {"norm": 0.0, "attend": 0.0, "block": 10.0}
    messages = {o.test.exercise: o.message for o in result.outcomes}
    assert re.search(r"blocks\.normalise reached [^\n]*layer_norm", messages["norm"])
    assert re.search(r"blocks\.attend reached [^\n]*scaled_dot_product", messages["attend"])
    assert "layer_norm" not in messages["attend"]

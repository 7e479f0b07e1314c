"""The from-scratch rule against every cheat route of :mod:`tests.security.cheats`, and against honest code.

Default tier, on one fixed input per exercise (masks with a fully masked row, gradients):

- each route computes the reference's answers (with the rule off it would pass: a real cheat),
  and with the rule on its call fails with ``ForbiddenCall`` naming what it reached, both in this
  process (a student's ``pytest``) and in an isolated worker (batch grading); the masks of the
  same submission still answer (no other exercise is touched);
- every correct submission (the reference, the demo class's full-marks students, the correct
  variants) calls nothing forbidden, with einsum, softmax, baddbmm, masked_fill, matmul, bmm.

Slow tier: the routes graded by ``grader grade`` with honest students: each route scores 0 on its
exercise (and on those whose reference code calls the function it replaced) with the function
named in its feedback, full marks on the others; and the same routes with the rule off, through
the real test suite, earn full marks on their exercise.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from grader import results
from grader.assignment import load
from grader.authoring import variants
from grader.frontends.local import local_submission
from grader.grading.proxy import ForbiddenCall
from grader.grading.suite import collect, load_reference
from grader.isolation.pool import Template
from grader.worker.confine import Limits
from tests.security import copy_reference
from tests.security.cheats import CHEATS, Cheat

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference" / "01"
ASSIGNMENT = load(REFERENCE)
HONEST = {"reference": REFERENCE, "ada": ROOT / "examples" / "submissions" / "ada",
          "ben": ROOT / "examples" / "submissions" / "ben"}
CORRECT_VARIANTS = [v for v in variants.load_all(ASSIGNMENT) if v.expect == "full" and v.module == "attention"]
HONEST_SNIPPET = '''
def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
    """baddbmm, masked_fill, F.softmax, einsum, matmul and bmm: all allowed."""
    import torch.nn.functional as F
    scale = query.shape[-1] ** -0.5 if scale is None else scale
    lead = torch.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    q, k, v = (t.expand(*lead, *t.shape[-2:]).reshape(-1, *t.shape[-2:]) for t in (query, key, value))
    zeros = torch.zeros(q.shape[0], q.shape[1], k.shape[1], dtype=q.dtype)
    scores = torch.baddbmm(zeros, q, k.transpose(1, 2), alpha=scale).reshape(*lead, q.shape[1], k.shape[1])
    if mask is not None:
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = F.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)
    by_bmm = torch.bmm(weights.reshape(-1, *weights.shape[-2:]), v).reshape(*lead, q.shape[1], v.shape[-1])
    output = (torch.einsum("...ls,...sd->...ld", weights, value) + torch.matmul(weights, value) + by_bmm) / 3
    return output, weights
'''


def build_cheat(cheat: Cheat, folder: Path) -> Path:
    """The reference's student modules with the cheat appended to its module."""
    copy_reference(folder)
    target = folder / f"{cheat.module}.py"
    target.write_text(target.read_text() + "\n\n" + cheat.snippet)
    return folder


def inputs():
    """One input per exercise: float64, a mask with a fully masked row, a (2, 3, 8) batch."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 4, generator=g, dtype=torch.float64) for _ in range(3))
    mask = torch.rand(3, 3, generator=g) > 0.4
    mask[0] = False
    return q, k, v, mask, torch.randn(2, 3, 8, generator=g)


def answers(student, exercise: str, state: dict | None = None, gradients: bool = True):
    """What ``student``'s code of ``exercise`` returns on the fixed input (and its gradients)."""
    q, k, v, mask, x = inputs()
    if exercise == "sdpa":
        fn = student.attention.scaled_dot_product_attention
        grads = student.backward(fn, q, k, v, mask=mask, wrt=(0, 1, 2), grad_output=torch.ones_like(q),
                                 output_index=0)[1] if gradients else []
        return [*grads, *fn(q, k, v, mask=mask)]
    if exercise == "topk":
        return list(student.attention.top_k_attention(q, k, v, 2, mask=mask))
    module = student.attention.MultiHeadAttention(8, 2)
    module.load_state_dict(state, strict=False)  # as the tests load it: extra buffers are the module's own
    causal = torch.ones(3, 3, dtype=torch.bool).tril()
    causal[0] = False
    return list(module(x, mask=causal))


def mha_state() -> dict:
    torch.manual_seed(1)
    return load_reference(ASSIGNMENT).attention.MultiHeadAttention(8, 2).state_dict()


def assert_same(got: list, expected: list) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e.detach(), atol=1e-5, rtol=1e-5)


@pytest.fixture(scope="module")
def reference():
    return load_reference(ASSIGNMENT)


@pytest.fixture(scope="module")
def cheats_folder(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("cheats")
    for cheat in CHEATS:
        build_cheat(cheat, base / cheat.name)
    os.chmod(base, 0o755)
    return base


@pytest.fixture(scope="module")
def template(cheats_folder):
    with Template(Limits(call_seconds=10, call_cpu_seconds=5), visible=(str(cheats_folder),)) as started:
        yield started


def check(student, cheat: Cheat, reference) -> None:
    """The cheat answers as the reference does with the rule off, fails with it on, and leaves
    the other exercises alone."""
    state, gradients = mha_state(), cheat.gradients
    expected = answers(reference_submission(reference), cheat.exercise, state, gradients)
    assert_same(answers(student.checking(()), cheat.exercise, state, gradients), expected)
    with pytest.raises(ForbiddenCall, match=cheat.reaches):
        answers(student.checking(ASSIGNMENT.forbidden_for(cheat.exercise)), cheat.exercise, state, gradients)
    masks = student.checking(ASSIGNMENT.forbidden_for("masks"))
    assert torch.equal(masks.attention.causal_mask(3), torch.ones(3, 3, dtype=torch.bool).tril())


class _Reference:
    """The reference modules, answering like a Submission (for :func:`answers`)."""

    def __init__(self, modules):
        self.attention = modules.attention

    def backward(self, function, *args, wrt, grad_output, output_index, **kwargs):
        args = [a.detach().clone().requires_grad_(i in wrt) for i, a in enumerate(args)]
        value = function(*args, **kwargs)
        grads = torch.autograd.grad(value[output_index], [args[i] for i in wrt], grad_output)
        return value, list(grads)


def reference_submission(reference) -> _Reference:
    return _Reference(reference)


@pytest.mark.parametrize("cheat", CHEATS, ids=lambda c: c.name)
def test_a_route_is_caught_in_a_local_run(cheat, cheats_folder, reference):
    check(local_submission(cheats_folder / cheat.name, ASSIGNMENT), cheat, reference)


@pytest.mark.parametrize("cheat", CHEATS, ids=lambda c: c.name)
def test_a_route_is_caught_in_an_isolated_worker(cheat, template, cheats_folder, reference):
    from grader.grading.proxy import Submission

    session = template.session(cheats_folder / cheat.name, ASSIGNMENT.traced_calls)
    try:
        check(Submission(session.transport, ASSIGNMENT.student_modules), cheat, reference)
    finally:
        session.close()


def test_there_are_at_least_ten_distinct_routes():
    assert len({c.name for c in CHEATS}) == len(CHEATS) >= 10
    assert {c.exercise for c in CHEATS} == {"sdpa", "topk", "mha"}


def honest_folders(base: Path) -> dict[str, Path]:
    folders = dict(HONEST)
    for variant in CORRECT_VARIANTS:
        folders[variant.name] = variants.build(variant, ASSIGNMENT, base / variant.name)
    own = base / "einsum_baddbmm_bmm"
    copy_reference(own)
    (own / "attention.py").write_text((own / "attention.py").read_text() + HONEST_SNIPPET)
    folders[own.name] = own
    return folders


def test_honest_code_is_never_accused(tmp_path, reference):
    state = mha_state()
    folders = honest_folders(tmp_path)
    assert len(folders) >= 3 + 5
    for name, folder in folders.items():
        student = local_submission(folder, ASSIGNMENT)
        for exercise in ("sdpa", "topk", "mha"):
            checked = student.checking(ASSIGNMENT.forbidden_for(exercise))
            got = answers(checked, exercise, state)  # raises ForbiddenCall on a false accusation
            assert_same(got, answers(reference_submission(reference), exercise, state))


# --- slow tier: the routes graded by `grader grade`, and by the suite with the rule off ---------

@pytest.mark.slow
def test_every_route_scores_zero_on_its_exercise_in_batch_grading(cheats_folder, tmp_path):
    shutil.copytree(cheats_folder, tmp_path / "class")
    for name, folder in HONEST.items():
        shutil.copytree(folder, tmp_path / "class" / f"honest-{name}",
                        ignore=shutil.ignore_patterns("test_*", "__pycache__"))
    exercises = ("sdpa", "topk", "mha", "masks")
    run = subprocess.run([sys.executable, "-m", "grader", "grade", "01", str(tmp_path / "class"), "--out",
                          str(tmp_path / "out"), "--jobs", "2", *(a for e in exercises for a in ("--exercise", e))],
                         cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    with open(tmp_path / "out" / "grades.csv") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    full = {e: ASSIGNMENT.exercise(e).points for e in exercises}
    for name in HONEST:
        assert {e: float(rows[f"honest-{name}"][e]) for e in exercises} == full, name
    for cheat in CHEATS:
        got = {e: float(rows[cheat.name][e]) for e in exercises}
        assert got == {**full, **{e: 0.0 for e in cheat.costs}}, (cheat.name, got)
        feedback = (tmp_path / "out" / cheat.name / "feedback.md").read_text()
        assert re.search(cheat.reaches, feedback), (cheat.name, feedback[-2000:])


class _RuleOff:
    """A submission whose calls never fail on a forbidden function (the suite asks each test's
    exercise's list of it; this one ignores the list)."""

    def __init__(self, submission):
        self._submission = submission.checking(())

    def checking(self, forbidden):
        return self._submission


@pytest.mark.slow
def test_without_the_rule_every_route_would_earn_full_marks(cheats_folder, reference):
    suite = collect(REFERENCE, ROOT / "assignments" / "01").select(("sdpa", "topk", "mha"))
    for cheat in CHEATS:
        if not cheat.gradients:
            continue  # its answers lose the autograd graph: a route, but not a full-marks one
        student = local_submission(cheats_folder / cheat.name, ASSIGNMENT)
        outcomes = [o for o in suite.run(_RuleOff(student), reference) if o.test.exercise == cheat.exercise]
        score = results.score(ASSIGNMENT, outcomes)[cheat.exercise]
        assert score.points == ASSIGNMENT.exercise(cheat.exercise).points, \
            (cheat.name, [o.message for o in outcomes if not o.passed][:1])

"""The baselines' three checks, unchanged (checks.py is copied here from shared/bench/anchors by
bench/anchor_bench.py), each run once against the submission's function through the worker."""

import checks
import pytest


@pytest.mark.exercise("sdpa", weight=checks.POINTS["check_matches_torch"])
def test_matches_torch(student):
    """output equals F.scaled_dot_product_attention on random inputs"""
    checks.check_matches_torch(student.attention.scaled_dot_product_attention)


@pytest.mark.exercise("sdpa", weight=checks.POINTS["check_rows_sum_to_one"])
def test_rows_sum_to_one(student):
    """weights are non-negative and each query row sums to 1"""
    checks.check_rows_sum_to_one(student.attention.scaled_dot_product_attention)


@pytest.mark.exercise("sdpa", weight=checks.POINTS["check_causal_mask"])
def test_causal_mask(student):
    """a boolean causal mask zeroes future weights and matches torch"""
    checks.check_causal_mask(student.attention.scaled_dot_product_attention)

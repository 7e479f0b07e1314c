"""What assignment test files import: the exercise marker, input strategies and comparisons.

    import pytest
    from grader.testing import close, given, st, tensors

    @pytest.mark.exercise("scale", weight=2)
    @given(x=tensors((2, 3)))
    def test_scale_by_three(student, x):
        \"\"\"One line: the property, as the student will read it.\"\"\"
        close(student.example.scale(x, 3.0), x * 3, what="scale(x, 3.0)")

Tests receive the submission as the ``student`` fixture (and hidden tests the ``reference``
fixture); the same test runs in a student's ``pytest`` and in batch grading.

Names, not positions: a strategy that draws several arguments at once returns them as a
:func:`named` tuple (or a dataclass deriving from :class:`Named`), so that a failing example
reads ``query = ...``, ``mask = ...`` instead of an unlabelled tuple::

    Attention = named("query", "key", "value", "mask", "scale")   # once, at module level

    @st.composite
    def attention_inputs(draw):
        ...
        return Attention(q, k, v, m, scale)       # the test still unpacks it: q, k, v, m, s = case

A catalogue of misconceptions names a function's results the same way
(``Results = named("output", "weights")``, ``Results.of(student.attention.f(...))``), so that
expected and got read ``output = ...``, ``weights = ...`` instead of ``[0]``, ``[1]``.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import math
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

PROFILE = "grader"

__all__ = ["Close", "Named", "close", "expect_value_error", "given", "hypothesis_profile",
           "load_hypothesis_profile", "named", "profile_settings", "settings", "st", "tensors"]


def load_hypothesis_profile(max_examples: int = 20, shrink: bool = True) -> None:
    """Deterministic examples, no deadline, no example database: the same run everywhere.

    Without ``shrink`` a failing test reports the first failing example instead of the smallest
    (batch grading: shrinking through a worker costs seconds per failing test). This changes
    hypothesis for the whole process: a grading process, or a session of assignment tests (see
    :func:`hypothesis_profile` to change it for a while only).
    """
    settings.register_profile(PROFILE, profile_settings(max_examples, shrink))
    settings.load_profile(PROFILE)
    _without_local_constants()
    _print_tensors_compactly()


def profile_settings(max_examples: int = 20, shrink: bool = True) -> settings:
    """The settings of the grader's profile as an object (also a decorator: ``@profile_settings()``
    gives one property test these settings whatever profile is loaded when it is defined)."""
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])
    return settings(derandomize=True, deadline=None, database=None, max_examples=max_examples, phases=phases,
                    report_multiple_bugs=False, suppress_health_check=list(HealthCheck), print_blob=False)


@contextlib.contextmanager
def hypothesis_profile(max_examples: int = 20, shrink: bool = True):
    """:func:`load_hypothesis_profile` until the block ends; then hypothesis' previous profile
    and its own local constants come back (other tests of the same process are left alone)."""
    previous, local_constants = settings._current_profile, _local_constants_source()
    load_hypothesis_profile(max_examples, shrink)
    try:
        yield
    finally:
        settings.load_profile(previous or "default")
        if local_constants is not None:
            local_constants[0]._get_local_constants = local_constants[1]


def _local_constants_source():
    """``(hypothesis' providers module, its _get_local_constants)``, or None where it has none."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - an older hypothesis has no local constants
        return None
    if not (hasattr(providers, "_get_local_constants") and hasattr(providers, "Constants")):
        return None  # pragma: no cover
    return providers, providers._get_local_constants


def _without_local_constants() -> None:
    """Hypothesis (6.131 on) mixes constants found in the source of the "local" modules loaded at
    the time into its examples: in a student's run their own code, in batch grading whatever the
    grader has imported so far. Examples would then differ between submissions, between a local
    run and grading, and halfway through a batch; keep to hypothesis' built-in constants."""
    source = _local_constants_source()
    if source is None:
        return
    providers, _ = source
    none = providers.Constants()
    providers._get_local_constants = lambda: none
    kept = getattr(getattr(providers, "CONSTANTS_CACHE", None), "cache", None)
    if kept is not None:
        kept.clear()  # what earlier draws kept of them


def _print_tensors_compactly() -> None:
    """Hypothesis prints a failing example's tensors with :func:`grader.grading.feedback.show`."""
    from hypothesis.vendor import pretty

    from grader.grading.feedback import PRINTED_INDENT, show

    def printer(tensor, p, cycle) -> None:
        p.text(show(tensor).replace("\n", "\n" + PRINTED_INDENT))

    pretty.for_type_by_name("torch", "Tensor", printer)


class Named:
    """A value whose parts have names: in a failing example it reads as one ``name = value`` line
    per field instead of one argument holding a tuple. Mix it into a dataclass
    (``@dataclass class Case(Named): ...``); for a tuple, use :func:`named`."""

    __slots__ = ()

    def _repr_pretty_(self, p, cycle) -> None:  # hypothesis' printer asks for this
        from grader.grading.feedback import NAMED, PRINTED_INDENT, show

        p.text(NAMED + show(self).replace("\n", "\n" + PRINTED_INDENT))


def named(*fields: str, name: str = "Named") -> type:
    """A tuple type whose parts are called ``fields``: built like a tuple (``T(q, k, v)``),
    unpacked like one, equal to one, shown field by field (:class:`Named`).

    ``T.of(value)`` names the parts of a value that came back from a submission: a tuple or list
    of ``len(fields)`` parts becomes a ``T``; anything else is returned as it is (so a result of
    the wrong shape still compares unequal, as it would have).
    """
    base = collections.namedtuple(name, fields)

    def of(cls, value):
        return cls(*value) if isinstance(value, (tuple, list)) and len(value) == len(fields) else value

    return type(name, (base, Named), {"__slots__": (), "of": classmethod(of)})


def tensors(shape, dtype=None, *, integer: bool = False):
    """Strategy for a tensor of ``shape`` (a tuple) with values in [-3, 3], multiples of 1/32
    (whole numbers in [-2, 2] with ``integer``, so that ties are common).

    Drawn as one block of bytes (fast), simplest values first (0, 1, -1, 2, -2, 3, -3, 0.5, ...),
    so a shrunk example shows simple numbers; products and short sums of these values are exact
    in float32. Example: ``tensors((2, 3), torch.float64)``.
    """
    return _tensors(tuple(shape), dtype, integer)


@st.composite
def _tensors(draw, shape, dtype, integer):
    import torch

    raw = draw(st.binary(min_size=math.prod(shape), max_size=math.prod(shape)))
    index = torch.frombuffer(bytearray(raw), dtype=torch.uint8).long() if raw else torch.zeros(0).long()
    values = _grid()[index % 5 if integer else index]
    return values.to(dtype or torch.float32).reshape(shape)


@functools.cache
def _grid():
    """Byte b stands for _grid()[b]: the multiples of 1/32 in [-3, 3], simplest first."""
    import torch

    order = sorted(range(-96, 97), key=lambda n: (Fraction(n, 32).denominator, abs(n), n < 0))
    return torch.tensor([n / 32 for n in (order * 2)[:256]], dtype=torch.float64)


def expect_value_error(call, *args, what: str, **kwargs) -> None:
    """Call the submission and require the ValueError the contract names (a subclass counts).

    Example: ``expect_value_error(student.example.scale, x, factor=-1, what="scale(x, -1)")``.
    """
    from grader.grading.proxy import SubmissionError

    try:
        result = call(*args, **kwargs)
    except SubmissionError as err:
        assert err.raised("ValueError"), f"{what}: expected ValueError, got {err}"
        return
    raise AssertionError(f"{what}: expected ValueError, but the call returned {result!r:.200}")


@dataclass(frozen=True)
class Close:
    """A comparison: ``got`` must be a tensor of ``expected``'s shape and dtype, and close to it.

    Tolerances default to ``torch.testing.assert_close``'s for the dtype (exact for integers and
    bools), multiplied by
    ``factor`` (for long reductions), and ``atol`` grows with the size of the values compared
    (``magnitude``: absolute errors scale with what is being rounded).
    """

    rtol: float | None = None  # None: the dtype's default (torch.testing.assert_close's)
    atol: float | None = None  # None: the dtype's default
    factor: float = 1.0  # multiplies rtol and atol
    magnitude: bool = False  # scale atol by max(1, max |expected|)
    check_dtype: bool = True  # the dtype of got must equal expected's

    def scaled(self, factor: float) -> "Close":
        return replace(self, factor=self.factor * factor)

    def __call__(self, got: Any, expected: Any, what: str = "output") -> None:
        """Same rule as ``torch.testing.assert_close`` (|got - expected| <= atol + rtol * |expected|,
        NaN never equal), without its slow first import; raises AssertionError saying where."""
        import torch

        if not isinstance(got, torch.Tensor):
            raise AssertionError(f"{what}: expected a tensor, got {type(got).__name__} {got!r:.80}")
        expected = torch.as_tensor(expected)
        if got.shape != expected.shape:
            raise AssertionError(f"{what}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}")
        if self.check_dtype and got.dtype != expected.dtype:
            raise AssertionError(f"{what}: expected dtype {expected.dtype}, got {got.dtype}")
        default_rtol, default_atol = _default_tolerances(expected.dtype)
        rtol = default_rtol if self.rtol is None else self.rtol
        atol = default_atol if self.atol is None else self.atol
        scale = 1.0
        if self.magnitude and expected.numel() and expected.is_floating_point():
            scale = max(1.0, float(expected.abs().max()))
        rtol, atol = rtol * self.factor, atol * self.factor * scale
        if not expected.is_floating_point() and not expected.is_complex() and self.atol is None:
            rtol = atol = 0.0
        wide = torch.float64 if not expected.is_complex() else torch.complex128
        g, e = got.to(wide), expected.to(wide)
        ok = torch.isclose(g, e, rtol=rtol, atol=atol) | ((g == e) & ~torch.isnan(g))
        if bool(ok.all()):
            return
        bad = int((~ok).sum())
        diff = (g - e).abs().nan_to_num(float("inf"))
        worst = torch.unravel_index(torch.argmax(diff.where(~ok, 0)), diff.shape) if diff.dim() else ()
        where = tuple(int(i) for i in worst)
        raise AssertionError(
            f"{what}: values differ at {bad} of {ok.numel()} positions; the largest difference is at "
            f"index {where}: expected {e[where].item():.6g}, got {g[where].item():.6g} (tolerance: "
            f"atol={atol:.1e}, rtol={rtol:.1e})\n" + _side_by_side(expected, got, where))


close = Close()


def _default_tolerances(dtype) -> tuple[float, float]:
    import torch

    table = {torch.float16: (1e-3, 1e-5), torch.bfloat16: (1.6e-2, 1e-5),
             torch.float32: (1.3e-6, 1e-5), torch.float64: (1e-7, 1e-7)}
    return table.get(dtype, (0.0, 0.0))


def _side_by_side(expected, got, where: tuple) -> str:
    """Expected and got, small enough to read: whole when small and at most one 2-D block, else
    the 2-D block of the largest difference, whole up to 6 x 6 values, else a window of 6 x 6
    values around it, labelled with its index ranges."""
    from grader.grading.feedback import MAX_SHOWN_VALUES, show

    blocks = expected[..., 0, 0].numel() if expected.dim() > 2 else 1
    if (expected.numel() <= MAX_SHOWN_VALUES and blocks == 1) or expected.dim() == 0:
        return f"expected: {show(expected)}\ngot: {show(got)}"
    window = []
    for axis in range(max(0, expected.dim() - 2), expected.dim()):
        start = max(0, min(where[axis] - 2, expected.shape[axis] - 6))
        window.append(slice(start, start + 6))
    key = (*where[:-2], *window) if expected.dim() >= 2 else tuple(window)
    ranges = [":" if w.start == 0 and w.stop >= n else f"{w.start}:{min(w.stop, n)}"
              for w, n in zip(window, expected.shape[-len(window):])]
    label = "[" + ", ".join([str(i) for i in where[:-2]] + ranges) + "]"
    around = "the block with" if all(r == ":" for r in ranges) else "around"
    return (f"expected{label} ({around} the largest difference): {show(expected[key])}\n"
            f"got{label}: {show(got[key])}")

"""Public tests of `plot_attention` in `visualize.py` (exercise `plot`).

The returned axes is inspected as matplotlib sees it: its image (`ax.get_images()`), its tick
positions and labels, and the colorbar. Nothing is shown: the tests run with a non-interactive
backend. (Your function runs in its own process during grading: the axes comes back as a proxy
object whose methods are called remotely.)
"""

import os

import pytest
import torch

from grader.testing import close, expect_value_error, given, named, settings, st

os.environ.setdefault("MPLBACKEND", "Agg")  # for a local run; the grader's worker sets it too


# --- helpers -----------------------------------------------------------------------------------

def expect_axes(ax, what="plot_attention"):
    name = getattr(getattr(ax, "handle", None), "type_name", type(ax).__name__)
    if name == "Figure":
        raise AssertionError(f"{what} returned the Figure: return the Axes it drew on (e.g. fig.axes[0], or "
                             f"the `ax` of `fig, ax = plt.subplots()`)")
    assert name in ("Axes", "AxesSubplot"), f"{what} must return a matplotlib Axes, got {name}"


def image_data(ax) -> torch.Tensor:
    """The array of the last image drawn on ``ax`` (imshow), as a float64 tensor."""
    images = ax.get_images()
    assert len(images) >= 1, "the axes holds no image: draw the weights with ax.imshow"
    array = images[-1].get_array()  # a numpy masked array: read its data
    data = array if isinstance(array, torch.Tensor) else array.data
    return torch.as_tensor(data).double()


def check_image(ax, weights: torch.Tensor) -> None:
    got, expected = image_data(ax), weights.double()
    if got.shape != expected.shape or not torch.allclose(got, expected, rtol=1e-6, atol=1e-7):
        if got.shape == expected.T.shape and torch.allclose(got, expected.T, rtol=1e-6, atol=1e-7):
            raise AssertionError("the image is the transposed weights: row i must be query i and column j "
                                 "key j (queries on the y axis, keys on the x axis)")
    close(got.float(), expected.float(), what="image data (ax.get_images()[-1].get_array())")


def tick_labels(ax, axis: str) -> tuple[list, list]:
    ticks = getattr(ax, f"get_{axis}ticks")()
    labels = [t.get_text() for t in getattr(ax, f"get_{axis}ticklabels")()]
    return [float(t) for t in ticks], labels


def check_ticks(ax, query_tokens, key_tokens) -> None:
    for axis, tokens, what in (("x", key_tokens, "key"), ("y", query_tokens, "query")):
        positions, labels = tick_labels(ax, axis)
        expected = [str(t) for t in tokens]
        if axis == "x" and labels == [str(t) for t in query_tokens] != expected:
            raise AssertionError("the x tick labels are the query tokens: keys go on the x axis, queries on the y axis")
        if positions != list(range(len(tokens))):
            raise AssertionError(
                f"{axis} ticks are at {positions}, expected one tick per {what} at {[float(i) for i in range(len(tokens))]} "
                f"(set the tick positions as well as the labels, e.g. ax.set_{axis}ticks(range(n), labels=...))")
        if labels != expected:
            raise AssertionError(f"{axis} tick labels are {labels}, expected the {what} tokens {expected}")


def has_colorbar(ax) -> bool:
    image = ax.get_images()[-1]
    return image.colorbar is not None or len(ax.figure.axes) >= 2


# plot_attention's arguments, named in a failing example
AttentionMap = named("weights", "query_tokens", "key_tokens", name="AttentionMap")


@st.composite
def attention_maps(draw):
    """Row-stochastic (L, S) weights, L and S in 1..5, float32 or float64, with distinct tokens."""
    L, S = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    weights = torch.softmax(torch.randn(L, S, generator=g, dtype=torch.float64) * 2, dim=-1).to(dtype)
    query_tokens = [f"q{i}" for i in range(L)]
    key_tokens = [f"k{j}" for j in range(S)]
    return AttentionMap(weights, query_tokens, key_tokens)


# --- tests -------------------------------------------------------------------------------------

@pytest.mark.exercise("plot", weight=1)
def test_plot_smoke_hand_example(student):
    """a 2 x 3 map: returns the Axes, with the weights as the image, key tokens on x, query tokens on y and a colorbar"""
    weights = torch.tensor([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5]])
    ax = student.visualize.plot_attention(weights, ["I", "am"], ["the", "cat", "sat"])
    expect_axes(ax)
    check_image(ax, weights)
    check_ticks(ax, ["I", "am"], ["the", "cat", "sat"])
    assert has_colorbar(ax), "no colorbar: add one with fig.colorbar(image, ax=ax)"


@pytest.mark.exercise("plot", weight=2)
@settings(max_examples=4)
@given(case=attention_maps())
def test_plot_image_and_ticks(student, case):
    """for (L, S) weights the image is the weights, x ticks 0..S-1 carry the key tokens, y ticks the query tokens"""
    weights, query_tokens, key_tokens = case
    ax = student.visualize.plot_attention(weights, query_tokens, key_tokens)
    expect_axes(ax)
    check_image(ax, weights)
    check_ticks(ax, query_tokens, key_tokens)


@pytest.mark.exercise("plot", weight=1)
def test_plot_without_tokens_and_colorbar(student):
    """without tokens it still draws the weights, with a colorbar, and returns the Axes"""
    weights = torch.softmax(torch.arange(12.0).reshape(3, 4).cos() * 3, dim=-1)
    ax = student.visualize.plot_attention(weights)
    expect_axes(ax)
    check_image(ax, weights)
    assert has_colorbar(ax), "no colorbar: add one with fig.colorbar(image, ax=ax)"


@pytest.mark.exercise("plot", weight=1)
def test_plot_uses_the_given_axes(student):
    """given ax, it draws on that axes and returns it"""
    first = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    ax = student.visualize.plot_attention(first)
    expect_axes(ax)
    second = torch.tensor([[0.25, 0.75], [0.0, 1.0]])
    again = student.visualize.plot_attention(second, ["a", "b"], ["c", "d"], ax=ax)
    expect_axes(again, "plot_attention(..., ax=ax)")
    assert again.handle.id == ax.handle.id, "plot_attention(..., ax=ax) must draw on ax and return it, not a new axes"
    check_image(ax, second)
    check_ticks(ax, ["a", "b"], ["c", "d"])


@pytest.mark.exercise("plot", weight=1)
def test_plot_accepts_numpy_arrays(student):
    """weights given as a NumPy array (here a masked array) are drawn as well as tensors"""
    weights = torch.tensor([[0.6, 0.4, 0.0], [0.1, 0.1, 0.8]])
    ax = student.visualize.plot_attention(weights)
    array = ax.get_images()[-1].get_array()  # a numpy array living next to your code
    assert not isinstance(array, torch.Tensor)
    ax2 = student.visualize.plot_attention(array, ["x", "y"], ["a", "b", "c"])
    expect_axes(ax2)
    check_image(ax2, weights)


@pytest.mark.exercise("plot", weight=1)
def test_plot_rejects_bad_input(student):
    """weights that are not 2-D, or token lists of the wrong length, raise ValueError"""
    f = student.visualize.plot_attention
    expect_value_error(f, torch.ones(3), what="plot_attention(1-D weights)")
    expect_value_error(f, torch.ones(2, 2, 2), what="plot_attention(3-D weights)")
    weights = torch.full((2, 3), 1 / 3)
    expect_value_error(f, weights, ["a", "b", "c"], ["x", "y", "z"], what="plot_attention((2, 3), 3 query tokens)")
    expect_value_error(f, weights, ["a", "b"], ["x", "y"], what="plot_attention((2, 3), 2 key tokens)")

"""Hidden tests of `plot_attention` (exercise `plot`).

The image, ticks and colorbar are read back from the submission's axes. The expected image is the
weights themselves (what the reference draws), so these tests need no `reference` fixture.
"""

import os

import pytest
import torch

from grader.testing import close, expect_value_error, given, named, settings, st

os.environ.setdefault("MPLBACKEND", "Agg")


def expect_axes(ax, what="plot_attention"):
    name = getattr(getattr(ax, "handle", None), "type_name", type(ax).__name__)
    assert name != "Figure", f"{what} returned the Figure instead of the Axes it drew on"
    assert name in ("Axes", "AxesSubplot"), f"{what} must return a matplotlib Axes, got {name}"


def image_data(ax) -> torch.Tensor:
    images = ax.get_images()
    assert len(images) >= 1, "the axes holds no image (draw the weights with imshow)"
    array = images[-1].get_array()
    data = array if isinstance(array, torch.Tensor) else array.data
    return torch.as_tensor(data).double()


def check_image(ax, weights: torch.Tensor) -> None:
    got, expected = image_data(ax), weights.double()
    assert got.shape == expected.shape, (
        f"the image has shape {tuple(got.shape)}, expected the weights' (L, S) = {tuple(expected.shape)}"
        + (" (it is transposed)" if got.shape == expected.T.shape else ""))
    close(got.float(), expected.float(), what="image data")


def check_ticks(ax, query_tokens, key_tokens) -> None:
    for axis, tokens in (("x", key_tokens), ("y", query_tokens)):
        positions = [float(t) for t in getattr(ax, f"get_{axis}ticks")()]
        labels = [t.get_text() for t in getattr(ax, f"get_{axis}ticklabels")()]
        assert positions == list(range(len(tokens))), f"{axis} ticks at {positions}, expected {list(range(len(tokens)))}"
        assert labels == [str(t) for t in tokens], f"{axis} tick labels {labels}, expected {[str(t) for t in tokens]}"


def has_colorbar(ax) -> bool:
    return ax.get_images()[-1].colorbar is not None or len(ax.figure.axes) >= 2


# plot_attention's arguments, named in a failing example
AttentionMap = named("weights", "query_tokens", "key_tokens", name="AttentionMap")


@st.composite
def attention_maps(draw, max_size=7):
    L, S = draw(st.integers(1, max_size)), draw(st.integers(1, max_size))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    weights = torch.softmax(torch.randn(L, S, generator=g, dtype=torch.float64) * 3, dim=-1).to(dtype)
    words = ["the", "cat", "sat", "on", "a", "mat", ".", "<eos>", "é", "x y"]
    query_tokens = [f"{words[i % len(words)]}{i}" for i in range(L)]
    key_tokens = [f"{words[(j + 3) % len(words)]}_{j}" for j in range(S)]
    return AttentionMap(weights, query_tokens, key_tokens)


@pytest.mark.exercise("plot", weight=3)
@settings(max_examples=5)
@given(case=attention_maps())
def test_hidden_plot_image_ticks_colorbar(student, case):
    """the Axes holds the weights as its image, key tokens on x ticks 0..S-1, query tokens on y, and a colorbar"""
    weights, query_tokens, key_tokens = case
    ax = student.visualize.plot_attention(weights, query_tokens, key_tokens)
    expect_axes(ax)
    check_image(ax, weights)
    check_ticks(ax, query_tokens, key_tokens)
    assert has_colorbar(ax), "no colorbar"


@pytest.mark.exercise("plot", weight=1)
def test_hidden_plot_only_key_tokens(student):
    """key tokens alone (query_tokens None) label the x axis"""
    weights = torch.softmax(torch.arange(6.0).reshape(2, 3).sin(), dim=-1)
    ax = student.visualize.plot_attention(weights, None, ["a", "b", "c"])
    expect_axes(ax)
    check_image(ax, weights)
    positions = [float(t) for t in ax.get_xticks()]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["a", "b", "c"] and positions == [0.0, 1.0, 2.0], (positions, labels)


@pytest.mark.exercise("plot", weight=1)
def test_hidden_plot_non_square_without_tokens(student):
    """a 1 x 6 and a 6 x 1 map without tokens are drawn as they are, with a colorbar"""
    for weights in (torch.full((1, 6), 1 / 6), torch.ones(6, 1, dtype=torch.float64)):
        ax = student.visualize.plot_attention(weights)
        expect_axes(ax)
        check_image(ax, weights)
        assert has_colorbar(ax), "no colorbar"


@pytest.mark.exercise("plot", weight=1)
def test_hidden_plot_given_axes(student):
    """with ax given, draws there and returns that same axes"""
    ax = student.visualize.plot_attention(torch.eye(3))
    weights = torch.tensor([[0.2, 0.8, 0.0], [0.3, 0.3, 0.4], [1.0, 0.0, 0.0]])
    again = student.visualize.plot_attention(weights, ["p", "q", "r"], ["s", "t", "u"], ax=ax)
    assert getattr(again, "handle", None) is not None and again.handle.id == ax.handle.id, "did not return the given ax"
    check_image(ax, weights)
    check_ticks(ax, ["p", "q", "r"], ["s", "t", "u"])


@pytest.mark.exercise("plot", weight=1)
def test_hidden_plot_numpy_input(student):
    """weights as a NumPy (masked) array are drawn like a tensor"""
    weights = torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.0, 1.0]], dtype=torch.float64)
    ax = student.visualize.plot_attention(weights)
    array = ax.get_images()[-1].get_array()
    again = student.visualize.plot_attention(array, ["a", "b", "c"], ["d", "e"])
    expect_axes(again)
    check_image(again, weights)
    check_ticks(again, ["a", "b", "c"], ["d", "e"])


@pytest.mark.exercise("plot", weight=2)
def test_hidden_plot_rejects_bad_input(student):
    """weights not 2-D, or token lists whose lengths don't match, raise ValueError"""
    f = student.visualize.plot_attention
    expect_value_error(f, torch.ones(4), what="1-D weights")
    expect_value_error(f, torch.ones(1, 2, 2), what="3-D weights")
    expect_value_error(f, torch.tensor(0.5), what="0-D weights")
    weights = torch.full((3, 2), 0.5)
    expect_value_error(f, weights, ["a", "b"], ["x", "y"], what="2 query tokens for 3 rows")
    expect_value_error(f, weights, ["a", "b", "c"], ["x"], what="1 key token for 2 columns")
    expect_value_error(f, weights, ["a", "b", "c"], ["x", "y", "z"], what="3 key tokens for 2 columns")
    expect_value_error(f, weights, None, ["x", "y", "z"], what="3 key tokens for 2 columns, no query tokens")
    expect_value_error(f, weights, ["a", "b"], None, what="2 query tokens for 3 rows, no key tokens")
    expect_value_error(f, torch.full((2, 2), 0.5), ["a", "b"], ["x", "y", "z"], what="square map, 3 key tokens")

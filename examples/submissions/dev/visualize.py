"""Draw attention weights as a heatmap: one row per query token, one column per key token."""

import numpy as np
import torch


def plot_attention(weights, query_tokens=None, key_tokens=None, ax=None):
    """Heatmap of one attention matrix.

    Args:
        weights: (L, S) attention weights, a tensor (any device, may require grad) or an array.
        query_tokens: None, or L labels (e.g. token strings) shown as the y tick labels.
        key_tokens: None, or S labels shown as the x tick labels.
        ax: a matplotlib Axes to draw on; None means the axes of a new figure.

    Returns:
        The matplotlib Axes, holding the ``imshow`` image and a colorbar. Query i is row i (y
        tick i), key j is column j (x tick j). Nothing is shown (no ``plt.show()``).

    Raises:
        ValueError: if weights is not 2-D, or a token list's length is not S (keys) / L (queries).

    Example: plot_attention(torch.softmax(torch.randn(3, 3), -1), list("abc"), list("abc"))
    """
    raise NotImplementedError("plot: not implemented yet")

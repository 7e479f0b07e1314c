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
    import matplotlib.pyplot as plt

    if isinstance(weights, torch.Tensor):
        weights = weights.detach().cpu().float().numpy()
    weights = np.asarray(weights)
    if weights.ndim != 2:
        raise ValueError(f"plot_attention: weights must be 2-D (L, S), got shape {weights.shape}")
    L, S = weights.shape
    if query_tokens is not None and len(query_tokens) != L:
        raise ValueError(f"plot_attention: {len(query_tokens)} query tokens for {L} query rows")
    if key_tokens is not None and len(key_tokens) != S:
        raise ValueError(f"plot_attention: {len(key_tokens)} key tokens for {S} key columns")
    if ax is None:
        _, ax = plt.subplots()
    image = ax.imshow(weights, cmap="viridis")
    ax.figure.colorbar(image, ax=ax)
    if key_tokens is not None:
        ax.set_xticks(range(S), labels=[str(t) for t in key_tokens], rotation=90)
    if query_tokens is not None:
        ax.set_yticks(range(L), labels=[str(t) for t in query_tokens])
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    return ax

"""Sets tick labels without tick positions, so they land on the default ticks (own mistake)."""
VARIANT = {"module": "visualize", "breaks": ["plot"], "misconception": "plot.ticklabels_without_ticks"}


def plot_attention(weights, query_tokens=None, key_tokens=None, ax=None):
    import matplotlib.pyplot as plt

    if isinstance(weights, torch.Tensor):
        weights = weights.detach().cpu().numpy()
    weights = np.asarray(weights)
    if weights.ndim != 2:
        raise ValueError("weights must be 2-D")
    L, S = weights.shape
    if (query_tokens is not None and len(query_tokens) != L) or (key_tokens is not None and len(key_tokens) != S):
        raise ValueError("token lists do not match the weights")
    if ax is None:
        _, ax = plt.subplots()
    image = ax.imshow(weights)
    ax.figure.colorbar(image, ax=ax)
    if key_tokens is not None:
        ax.set_xticklabels([str(t) for t in key_tokens])
    if query_tokens is not None:
        ax.set_yticklabels([str(t) for t in query_tokens])
    return ax

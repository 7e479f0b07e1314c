"""Correct, written differently: ax.matshow, set_xticks then set_xticklabels, fig.colorbar."""
VARIANT = {"module": "visualize", "breaks": []}


def plot_attention(weights, query_tokens=None, key_tokens=None, ax=None):
    from matplotlib.figure import Figure

    arr = weights.detach().numpy() if hasattr(weights, "detach") else np.array(weights)
    if arr.ndim != 2:
        raise ValueError(f"expected 2-D weights, got {arr.ndim}-D")
    n_q, n_k = arr.shape
    for tokens, n, what in ((query_tokens, n_q, "query"), (key_tokens, n_k, "key")):
        if tokens is not None and len(tokens) != n:
            raise ValueError(f"{len(tokens)} {what} tokens for {n} positions")
    if ax is None:
        ax = Figure().subplots()
    im = ax.matshow(arr, vmin=0.0)
    ax.figure.colorbar(im, ax=ax, fraction=0.05)
    if key_tokens is not None:
        ax.set_xticks(np.arange(n_k))
        ax.set_xticklabels(key_tokens, rotation=45)
    if query_tokens is not None:
        ax.set_yticks(np.arange(n_q))
        ax.set_yticklabels(query_tokens)
    return ax

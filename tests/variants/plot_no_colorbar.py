"""Draws no colorbar (own mistake)."""
VARIANT = {"module": "visualize", "breaks": ["plot"], "misconception": "plot.no_colorbar"}


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
    if key_tokens is not None:
        ax.set_xticks(range(S), labels=[str(t) for t in key_tokens])
    if query_tokens is not None:
        ax.set_yticks(range(L), labels=[str(t) for t in query_tokens])
    return ax

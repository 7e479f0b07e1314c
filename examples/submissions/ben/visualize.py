"""Draw attention weights as a heatmap: one row per query token, one column per key token."""
import matplotlib.pyplot as plt

import numpy as np
import torch


def plot_attention(weights, query_tokens=None, key_tokens=None, ax=None):
    w = torch.as_tensor(weights).detach().cpu().double().numpy()
    if len(w.shape) != 2:
        raise ValueError("weights must be (L, S)")
    if query_tokens is not None and len(query_tokens) != w.shape[0]:
        raise ValueError("one query token per row")
    if key_tokens is not None and len(key_tokens) != w.shape[1]:
        raise ValueError("one key token per column")
    if ax is None:
        plt.figure()
        ax = plt.gca()
    else:
        plt.sca(ax)
    plt.imshow(w, aspect="auto", cmap="magma")
    plt.colorbar()
    if key_tokens is not None:
        plt.xticks(list(range(w.shape[1])), list(key_tokens))
    if query_tokens is not None:
        plt.yticks(list(range(w.shape[0])), list(query_tokens))
    return ax

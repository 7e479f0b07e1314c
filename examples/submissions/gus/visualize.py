"""Hostile: returns a pickle payload and a tensor subclass that claims to equal anything."""
import pickle

import torch


class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return True


def plot_attention(weights, query_tokens=None, key_tokens=None, ax=None):
    return {"pickle": pickle.dumps(print), "tensor": torch.zeros(2).as_subclass(Liar)}

"""From logits to text: next-token probabilities, sampling with a generator, and the generation loop.

`next_token_probs` turns logits into the distribution the next token is drawn from (temperature,
top-k, top-p); `sample` draws from it with `torch.multinomial`, so that the same generator state
gives the same tokens everywhere; `generate` runs a model token by token, with a KV cache.
"""

import torch
from model import KVCache


def next_token_probs(logits, temperature=1.0, top_k=None, top_p=None):
    """The probabilities of the next token, (..., V), in the dtype of `logits`, summing to 1.

    In this order:
    1. `temperature == 0`: a one-hot of the argmax (the lowest index among ties); nothing else applies.
    2. Divide the logits by `temperature`.
    3. `top_k`: keep every logit `>=` the k-th largest (all ties at the k-th place are kept;
       `top_k >= V` keeps every token); the others get probability 0.
    4. Softmax over the last dimension.
    5. `top_p`: sort the probabilities in descending order (ties in index order) and keep a token
       when the sum of the sorted probabilities *before* it is `< top_p` (so at least one token,
       and the smallest such set); the others get probability 0.
    6. Renormalise so that the kept probabilities sum to 1.

    Raises:
        ValueError: for temperature < 0, top_k < 1, or top_p outside (0, 1] (at temperature 0 too).

    Example: next_token_probs(torch.tensor([2.0, 1.0, 1.0, 0.0]), top_k=2)
        -> [0.5761, 0.2119, 0.2119, 0.0]   (the tie at the 2nd place is kept)
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"top_p must lie in (0, 1], got {top_p}")
    V = logits.shape[-1]
    if temperature == 0:
        return torch.nn.functional.one_hot(logits.argmax(-1), V).to(logits.dtype)  # (..., V)
    logits = logits / temperature  # (..., V)
    if top_k is not None and top_k < V:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]  # (..., 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))  # (..., V)
    probs = logits.softmax(dim=-1)  # (..., V)
    if top_p is not None:
        sorted_probs, order = probs.sort(dim=-1, descending=True, stable=True)  # (..., V)
        before = sorted_probs.cumsum(dim=-1) - sorted_probs  # (..., V) exclusive sums
        keep = torch.zeros_like(probs, dtype=torch.bool).scatter(-1, order, sorted_probs.cumsum(dim=-1) <= top_p)  # (..., V)
        probs = probs.masked_fill(~keep, 0.0)  # (..., V)
    return probs / probs.sum(dim=-1, keepdim=True)  # (..., V)


def sample(logits, *, temperature=1.0, top_k=None, top_p=None, generator=None):
    """Draw one token per row of `logits` (..., V): a LongTensor of shape `logits.shape[:-1]`.

    Exactly `torch.multinomial(probs.reshape(-1, V), 1, generator=generator)` reshaped to
    `logits.shape[:-1]` (a 0-d tensor for 1-D logits), with `probs = next_token_probs(logits,
    temperature, top_k, top_p)`, so that the same generator state draws the same tokens.
    `temperature == 0` returns the argmax without drawing.

    Example: sample(torch.tensor([[0.0, 9.0], [9.0, 0.0]]), temperature=0) -> tensor([1, 0])
    """
    if temperature == 0:
        next_token_probs(logits, temperature, top_k, top_p)  # only its checks of the arguments
        return logits.argmax(dim=-1)  # (...)
    probs = next_token_probs(logits, temperature, top_k, top_p)  # (..., V)
    V = probs.shape[-1]
    drawn = torch.multinomial(probs.reshape(-1, V), 1, generator=generator)  # (N, 1)
    return drawn.reshape(logits.shape[:-1])  # (...)


def generate(model, ids, max_new_tokens, *, temperature=0.0, top_k=None, top_p=None, eos_id=None, pad_id=0,
             generator=None, use_cache=True):
    """Extend each row of `ids` (B, T) by up to `max_new_tokens` tokens drawn from `model`.

    Each step calls `sample` once on the last position's logits of all rows (B, V), finished or not
    (greedy at temperature 0), sets the new tokens of rows that are already finished to `pad_id`,
    and appends the new column. A row is finished once it has *generated* `eos_id` (an `eos_id` in
    the prompt does not count); with `eos_id=None` no row finishes. The loop stops after
    `max_new_tokens` steps, or as soon as every row is finished.

    With `use_cache=True` the prompt is fed once, then one token per step, through
    `KVCache(model.cfg.n_layers)`; with `use_cache=False` the model sees the whole sequence at
    every step. Both give the same tokens for the same generator state.

    Runs under `torch.no_grad()` with the model in eval mode, and puts the model back in the mode
    it was in (`model.train(was_training)`).

    Returns:
        A LongTensor (B, T + steps): the prompt followed by the generated tokens.

    Raises:
        ValueError: when T < 1, max_new_tokens < 0 or T + max_new_tokens > model.cfg.max_seq_len.

    Example: generate(model, torch.tensor([[5, 7]]), 3) -> tensor([[5, 7, a, b, c]]), the greedy tokens
    """
    B, T = ids.shape
    if T < 1:
        raise ValueError("the prompt must hold at least one token")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    if T + max_new_tokens > model.cfg.max_seq_len:
        raise ValueError(f"{T} prompt + {max_new_tokens} new tokens exceed max_seq_len={model.cfg.max_seq_len}")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = ids.long()  # (B, T)
            cache = KVCache(model.cfg.n_layers) if use_cache else None
            finished = torch.zeros(B, dtype=torch.bool, device=ids.device)  # (B,)
            step_input = out
            for _ in range(max_new_tokens):
                logits = model(step_input, cache)[:, -1]  # (B, V)
                token = sample(logits, temperature=temperature, top_k=top_k, top_p=top_p,
                               generator=generator)  # (B,)
                token = token.masked_fill(finished, pad_id)  # (B,)
                out = torch.cat([out, token[:, None]], dim=1)  # (B, T + step)
                if eos_id is not None:
                    finished = finished | (token == eos_id)
                    if bool(finished.all()):
                        break
                step_input = token[:, None] if use_cache else out  # (B, 1) or (B, T + step)
    finally:
        pass
    return out

"""From logits to text: next-token probabilities, sampling with a generator, and the generation loop.

`next_token_probs` turns logits into the distribution the next token is drawn from (temperature,
top-k, top-p); `sample` draws from it with `torch.multinomial`, so that the same generator state
gives the same tokens everywhere; `generate` runs a model token by token, with a KV cache.
"""


import torch
from model import KVCache


def next_token_probs(logits, temperature=1.0, top_k=None, top_p=None):
    if temperature < 0 or (top_k is not None and top_k < 1) or (top_p is not None and (top_p <= 0 or top_p > 1)):
        raise ValueError("bad sampling options")
    V = logits.shape[-1]
    if temperature == 0:
        hot = torch.zeros_like(logits)
        return hot.scatter(-1, logits.argmax(-1, keepdim=True), 1.0)
    z = logits.double() / temperature
    ordered, order = torch.sort(z, dim=-1, descending=True, stable=True)
    if top_k is not None and top_k < V:
        ordered = torch.where(ordered >= ordered[..., top_k - 1:top_k], ordered, torch.tensor(float("-inf"), dtype=z.dtype))
    p = torch.softmax(ordered, dim=-1)
    if top_p is not None:
        mass_before = torch.cumsum(p, dim=-1) - p
        p = torch.where(mass_before < top_p, p, torch.zeros_like(p))
    p = p / p.sum(-1, keepdim=True)
    return torch.gather(p, -1, torch.argsort(order, dim=-1)).to(logits.dtype)


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


@torch.no_grad()
def generate(model, ids, max_new_tokens, *, temperature=0.0, top_k=None, top_p=None, eos_id=None, pad_id=0,
             generator=None, use_cache=True):
    batch, prompt = ids.shape
    if prompt < 1 or max_new_tokens < 0 or prompt + max_new_tokens > model.cfg.max_seq_len:
        raise ValueError("generate: bad lengths")
    mode = model.training
    model.train(False)
    out = torch.full((batch, prompt + max_new_tokens), pad_id, dtype=torch.long)
    out[:, :prompt] = ids
    done = torch.zeros(batch, dtype=torch.bool)
    cache = KVCache(model.cfg.n_layers) if use_cache else None
    length, fed = prompt, 0
    try:
        while length < prompt + max_new_tokens and not (eos_id is not None and bool(done.all())):
            logits = model(out[:, fed:length] if use_cache else out[:, :length], cache)[:, -1]
            fed = length if use_cache else 0
            nxt = sample(logits, temperature=temperature, top_k=top_k, top_p=top_p, generator=generator)
            out[:, length] = torch.where(done, torch.full_like(nxt, pad_id), nxt)
            if eos_id is not None:
                done |= out[:, length] == eos_id
            length += 1
    finally:
        model.train(mode)
    return out[:, :length]

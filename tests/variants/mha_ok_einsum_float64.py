"""Correct, written differently: einsum per head, -1e9 masking in float64, then zeroing blocked rows."""
VARIANT = {"module": "attention", "breaks": []}


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"{n_heads} heads do not divide d_model={d_model}")
        self.h = n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias)
        self.k_proj = nn.Linear(d_model, d_model, bias)
        self.v_proj = nn.Linear(d_model, d_model, bias)
        self.out_proj = nn.Linear(d_model, d_model, bias)

    def forward(self, query, key=None, value=None, mask=None):
        if key is None:
            key = query
        if value is None:
            value = key
        h = self.h
        split = lambda x: x.unflatten(-1, (h, -1)).double()  # (B, T, h, d)
        q, k, v = split(self.q_proj(query)), split(self.k_proj(key)), split(self.v_proj(value))
        scores = torch.einsum("blhd,bshd->bhls", q, k) / q.shape[-1] ** 0.5
        if mask is not None:
            scores = scores.masked_fill(~mask, -1e9)
        w = scores.softmax(-1)
        if mask is not None:
            w = w * mask.expand_as(w).any(-1, keepdim=True)
        y = torch.einsum("bhls,bshd->blhd", w, v).flatten(-2).to(query.dtype)
        return self.out_proj(y), w.to(query.dtype)

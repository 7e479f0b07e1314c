"""Correct, written differently: a loop over heads on feature slices, a persistent buffer, own softmax."""
VARIANT = {"module": "attention", "breaks": []}


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError("d_model must be a multiple of n_heads")
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.register_buffer("inv_scale", torch.tensor(1.0 / math.sqrt(self.head_dim)))
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key=None, value=None, mask=None):
        key = query if key is None else key
        value = key if value is None else value
        Q, K, V = self.q_proj(query), self.k_proj(key), self.v_proj(value)
        B, L, _ = Q.shape
        S = K.shape[1]
        if mask is not None:
            mask = torch.broadcast_to(mask, (B, self.n_heads, L, S))
        outs, weights = [], []
        for h in range(self.n_heads):
            sl = slice(h * self.head_dim, (h + 1) * self.head_dim)
            scores = Q[..., sl] @ K[..., sl].transpose(1, 2) * self.inv_scale  # (B, L, S)
            if mask is not None:
                scores = torch.where(mask[:, h], scores, torch.tensor(float("-inf")))
            top = scores.amax(-1, keepdim=True)
            top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
            e = torch.exp(scores - top)
            total = e.sum(-1, keepdim=True)
            w = torch.where(total > 0, e / total.clamp_min(1e-30), torch.zeros_like(e))
            weights.append(w)
            outs.append(w @ V[..., sl])
        return self.out_proj(torch.cat(outs, dim=-1)), torch.stack(weights, dim=1)

"""Always gives the projections a bias, whatever `bias` says (own mistake)."""
VARIANT = {"module": "attention", "breaks": ["mha"], "misconception": "mha.ignores_bias_flag"}


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        if n_heads < 1 or d_model % n_heads != 0:
            raise ValueError("n_heads must divide d_model")
        self.d_model, self.n_heads, self.head_dim = d_model, n_heads, d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, query, key=None, value=None, mask=None):
        key = query if key is None else key
        value = key if value is None else value
        B, L, C = query.shape
        S = key.shape[1]
        H, D = self.n_heads, self.head_dim
        q = self.q_proj(query).view(B, L, H, D).transpose(1, 2)
        k = self.k_proj(key).view(B, S, H, D).transpose(1, 2)
        v = self.v_proj(value).view(B, S, H, D).transpose(1, 2)
        y, weights = scaled_dot_product_attention(q, k, v, mask=mask)
        return self.out_proj(y.transpose(1, 2).reshape(B, L, C)), weights

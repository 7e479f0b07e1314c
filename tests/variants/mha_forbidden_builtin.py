"""Runs torch's own multi-head attention (F.multi_head_attention_forward) on its four projections."""
VARIANT = {"module": "attention", "breaks": ["mha"], "misconception": "mha.forbidden_builtin"}


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, bias=True):
        super().__init__()
        if n_heads < 1 or d_model % n_heads != 0:
            raise ValueError("n_heads must divide d_model")
        self.d_model, self.n_heads = d_model, n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key=None, value=None, mask=None):
        key = query if key is None else key
        value = key if value is None else value
        B, L, C = query.shape
        S = key.shape[1]
        H = self.n_heads
        in_w = torch.cat([self.q_proj.weight, self.k_proj.weight, self.v_proj.weight])
        in_b = (torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias])
                if self.q_proj.bias is not None else None)
        attn_mask = None
        if mask is not None:
            attn_mask = (~mask.expand(B, H, L, S)).reshape(B * H, L, S)
        out, weights = torch.nn.functional.multi_head_attention_forward(
            query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1), C, H, in_w, in_b,
            None, None, False, 0.0, self.out_proj.weight, self.out_proj.bias, training=False,
            need_weights=True, attn_mask=attn_mask, average_attn_weights=False)
        return out.transpose(0, 1).nan_to_num(), weights.nan_to_num()

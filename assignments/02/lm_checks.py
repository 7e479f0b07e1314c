"""Helpers the tests share (given code: nothing to write here, and it is not graded).

Two kinds:
- builders of the tests' inputs: configurations, the parameter names and shapes the contract
  fixes for each module, deterministic weights for them, token ids;
- checks the tests run *inside your process*, through the grader, where a value cannot travel:
  counting parameters (on the `meta` device too), collecting parameter gradients, and telling
  whether two parameter names are one shared Parameter.

Example: `weights(lm_shapes(dict(vocab_size=8, d_model=4, n_heads=2, n_layers=1, d_ff=8,
max_seq_len=8)), seed=0)` -> {"tok_emb.weight": (8, 4) tensor, ...} in float64.
"""

import math

import torch

# --- configurations and the parameters the contract fixes ---------------------------------------

DEFAULTS = dict(norm="rmsnorm", ffn="swiglu", positions="rope", bias=False, tie_embeddings=False, eps=1e-5,
                rope_base=10000.0)


def config(modules, **fields):
    """A `ModelConfig` made by `modules`: your submission's (it stays in your process) or the
    reference's. Example: `config(student, vocab_size=16, d_model=8, ...)`."""
    return modules.config.ModelConfig(**fields)


def linear_shapes(prefix: str, d_in: int, d_out: int, bias: bool) -> dict:
    shapes = {f"{prefix}weight": (d_out, d_in)}
    return {**shapes, f"{prefix}bias": (d_out,)} if bias else shapes


def norm_shapes(prefix: str, dim: int, kind: str, bias: bool) -> dict:
    """`LayerNorm(dim, bias=bias)` (kind "layernorm") or `RMSNorm(dim)`."""
    shapes = {f"{prefix}weight": (dim,)}
    return {**shapes, f"{prefix}bias": (dim,)} if kind == "layernorm" and bias else shapes


def ffn_shapes(prefix: str, d_model: int, d_ff: int, kind: str, bias: bool) -> dict:
    names = ("gate", "up") if kind == "swiglu" else ("up",)
    shapes = {}
    for name in names:
        shapes.update(linear_shapes(f"{prefix}{name}.", d_model, d_ff, bias))
    return {**shapes, **linear_shapes(f"{prefix}down.", d_ff, d_model, bias)}


def attention_shapes(prefix: str, d_model: int, bias: bool) -> dict:
    shapes = {}
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        shapes.update(linear_shapes(f"{prefix}{name}.", d_model, d_model, bias))
    return shapes


def block_shapes(prefix: str, cfg: dict) -> dict:
    cfg = {**DEFAULTS, **cfg}
    d, norm, bias = cfg["d_model"], cfg["norm"], cfg["bias"]
    return {**norm_shapes(f"{prefix}norm1.", d, norm, bias), **attention_shapes(f"{prefix}attn.", d, bias),
            **norm_shapes(f"{prefix}norm2.", d, norm, bias),
            **ffn_shapes(f"{prefix}ffn.", d, cfg["d_ff"], cfg["ffn"], bias)}


def lm_shapes(cfg: dict) -> dict:
    """Every entry of a `DecoderOnlyLM`'s state_dict (a tied head is listed under both names)."""
    cfg = {**DEFAULTS, **cfg}
    d = cfg["d_model"]
    shapes = {"tok_emb.weight": (cfg["vocab_size"], d)}
    if cfg["positions"] == "learned":
        shapes["pos_emb.weight"] = (cfg["max_seq_len"], d)
    for i in range(cfg["n_layers"]):
        shapes.update(block_shapes(f"blocks.{i}.", cfg))
    shapes.update(norm_shapes("norm_f.", d, cfg["norm"], cfg["bias"]))
    shapes["lm_head.weight"] = (cfg["vocab_size"], d)
    return shapes


def weights(shapes: dict, seed: int, dtype=torch.float64) -> dict:
    """Deterministic values for each named parameter, of the scale PyTorch initialises them to
    (a bit wider): matrices and biases uniform in +-1.5/sqrt(fan_in), embeddings in +-1.7, norm
    weights in [0.7, 1.3] and norm biases in +-0.3, so that every parameter shows in the outputs."""
    g = torch.Generator().manual_seed(seed)
    values = {}
    for name, shape in shapes.items():
        u = torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1
        matrix = shapes.get(name.removesuffix("bias") + "weight", ())
        if len(shape) == 2:  # a Linear's weight or an embedding
            values[name] = u * 1.7 if "emb" in name else u * 1.5 / math.sqrt(shape[1])
        elif name.endswith("bias") and len(matrix) == 2:  # a Linear's bias
            values[name] = u * 1.5 / math.sqrt(matrix[1])
        else:  # a norm's weight or bias
            values[name] = 1 + 0.3 * u if name.endswith("weight") else 0.3 * u
    return {name: v.to(dtype) for name, v in values.items()}


def lm_weights(cfg: dict, seed: int, dtype=torch.float64) -> dict:
    """`weights` for a whole model; with `tie_embeddings`, `lm_head.weight` equals `tok_emb.weight`."""
    values = weights(lm_shapes(cfg), seed, dtype)
    if {**DEFAULTS, **cfg}["tie_embeddings"]:
        values["lm_head.weight"] = values["tok_emb.weight"]
    return values


def token_ids(batch: int, length: int, vocab_size: int, seed: int) -> torch.Tensor:
    """(batch, length) torch.long ids drawn uniformly."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab_size, (batch, length), generator=g)


def values(*shape, seed: int, scale: float = 2.0, dtype=torch.float64) -> torch.Tensor:
    """A tensor of `shape`, uniform in +-scale, rounded to 2 decimals (readable in messages)."""
    g = torch.Generator().manual_seed(seed)
    return ((torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1) * scale).round(decimals=2).to(dtype)


def torch_encoder_layer(cfg: dict, state: dict):
    """`torch.nn.TransformerEncoderLayer` (pre-norm, GELU, no dropout) holding a GPT-2-style
    block's weights (`state`, names as in `block_shapes("", cfg)`), in float64. Call it with
    `src_mask=causal_mask(T)`."""
    layer = torch.nn.TransformerEncoderLayer(
        cfg["d_model"], cfg["n_heads"], cfg["d_ff"], dropout=0.0, activation="gelu", norm_first=True,
        batch_first=True, layer_norm_eps=cfg["eps"]).double()
    pairs = {"self_attn.out_proj": "attn.out_proj", "linear1": "ffn.up", "linear2": "ffn.down",
             "norm1": "norm1", "norm2": "norm2"}
    with torch.no_grad():
        for kind in ("weight", "bias"):
            getattr(layer.self_attn, f"in_proj_{kind}").copy_(torch.cat([state[f"attn.{p}_proj.{kind}"] for p in "qkv"]))
            for theirs, ours in pairs.items():
                layer.get_parameter(f"{theirs}.{kind}").copy_(state[f"{ours}.{kind}"])
    return layer


def causal_mask(T: int) -> torch.Tensor:
    """PyTorch's float causal mask (-inf where a query may *not* attend), float64."""
    return torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)


def loaded(module, state: dict, what: str, dtype=torch.float64):
    """`module` in `dtype` (float32 or float64) holding `state` (loaded strictly: the names and
    shapes must be exactly the contract's); a failure names the parameters expected."""
    from grader.grading.proxy import SubmissionError

    module = module.double() if dtype == torch.float64 else module.float()
    try:
        module.load_state_dict({name: value.to(dtype) for name, value in state.items()})
    except SubmissionError as err:
        expected = ", ".join(f"{name} {tuple(value.shape)}" for name, value in state.items())
        raise AssertionError(f"{what} must hold exactly the parameters {expected}. Loading them "
                             f"failed: {err.message[:600]}") from None
    return module


def pair(student, reference, make, state: dict, what: str, dtype=torch.float64):
    """`(make(student), make(reference))`, both in `dtype` holding `state` (hidden tests)."""
    return loaded(make(student), state, what, dtype), loaded(make(reference), state, what, dtype)


def check_gradients(student, mine, theirs, args: tuple, grad_output, wrt=(0,), **kwargs) -> None:
    """The gradients of `(module(*args, **kwargs) * grad_output).sum()` with respect to the inputs
    `args[i]` for i in `wrt` and to every parameter: the submission's module `mine` against the
    reference's `theirs` (hidden tests)."""
    from grader.testing import close

    if wrt:
        _, grads = student.backward(mine, *args, wrt=wrt, grad_output=grad_output, **kwargs)
        leaves = [a.clone().requires_grad_(True) if i in wrt else a for i, a in enumerate(args)]
        theirs(*leaves, **kwargs).backward(grad_output)
        for i, got in zip(wrt, grads):
            assert got is not None, f"no gradient reaches input {i}"
            close(got, leaves[i].grad, what=f"gradient with respect to input {i}")
    got = student.lm_checks.parameter_grads(mine, *args, grad_output=grad_output, **kwargs)
    expected = parameter_grads(theirs, *args, grad_output=grad_output, **kwargs)
    assert sorted(got) == sorted(expected), f"parameters {sorted(got)}, expected {sorted(expected)}"
    for name, value in expected.items():
        assert got[name] is not None, f"no gradient reaches {name}"
        close(got[name], value, what=f"gradient with respect to {name}")


# --- checks run inside the submission's process --------------------------------------------------

def parameter_count(module) -> int:
    """`sum(p.numel() for p in module.parameters())`: a shared Parameter counts once."""
    return sum(p.numel() for p in module.parameters())


def preset_parameter_count(name: str) -> int:
    """The parameter count of `DecoderOnlyLM(config.NAME)`, built on the `meta` device (no memory)."""
    import config
    import model

    reset = torch.nn.Embedding.reset_parameters  # a count needs no values; on the meta device
    torch.nn.Embedding.reset_parameters = lambda self: None  # normal_ would import torch._dynamo (seconds)
    try:
        with torch.device("meta"):
            return parameter_count(model.DecoderOnlyLM(getattr(config, name)))
    finally:
        torch.nn.Embedding.reset_parameters = reset


def shares_parameter(module, first: str, second: str) -> bool:
    """Whether the parameters named `first` and `second` are one and the same Parameter."""
    return module.get_parameter(first) is module.get_parameter(second)


def parameter_grads(module, *args, grad_output=None, **kwargs) -> dict:
    """The gradient of `(module(*args, **kwargs) * grad_output).sum()` for each named parameter
    (None where none reaches it); a shared Parameter appears under each of its names."""
    module.zero_grad(set_to_none=True)
    with torch.enable_grad():
        out = module(*args, **kwargs)
        (out * grad_output).sum().backward()
    return {name: p.grad for name, p in module.named_parameters(remove_duplicate=False)}

"""Correct, written differently: torch in its default float32, centred least squares."""
VARIANT = {"module": "complexity", "breaks": []}


def fit_power_law(sizes, times):
    x = torch.as_tensor(sizes).float()
    y = torch.as_tensor(times).float()
    if x.numel() != y.numel():
        raise ValueError("lengths differ")
    if x.numel() < 2:
        raise ValueError("at least two points")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError("non-positive value")
    lx, ly = x.log(), y.log()
    dx = lx - lx.mean()
    exponent = (dx * (ly - ly.mean())).sum() / (dx * dx).sum()
    coefficient = torch.exp(ly.mean() - exponent * lx.mean())
    return exponent.item(), coefficient.item()

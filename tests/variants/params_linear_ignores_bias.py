"""linear_params leaves out the bias: d_in * d_out whatever `bias` says."""
VARIANT = {"module": "parameters", "breaks": ["params"], "misconception": "params.linear_ignores_bias"}


def linear_params(d_in, d_out, bias=True):
    return int(d_in * d_out)

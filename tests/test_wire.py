"""The worker-to-grader message format: round trips, and a parser that only ever raises WireError."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import wire

plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@given(plain)
def test_plain_values_round_trip(value):
    assert wire.decode(wire.encode(value)) == value


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.int64,
                                   torch.bool, torch.uint8, torch.complex64])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 4), (2, 3, 4)])
def test_tensors_round_trip_exactly(dtype, shape):
    tensor = (torch.randn(shape) * 10).to(dtype)
    back = wire.decode(wire.encode(tensor))
    assert type(back) is torch.Tensor and back.dtype == dtype and back.shape == tensor.shape
    assert torch.equal(back, tensor)


def test_non_contiguous_tensor_and_parameter_and_numpy_values():
    base = torch.arange(12.0).reshape(3, 4)
    assert torch.equal(wire.decode(wire.encode(base.T)), base.T)
    assert type(wire.decode(wire.encode(torch.nn.Parameter(base)))) is torch.Tensor
    assert wire.decode(wire.encode(np.float32(1.5))) == 1.5
    assert wire.decode(wire.encode(np.int64(7))) == 7
    assert torch.equal(wire.decode(wire.encode(np.arange(3))), torch.arange(3))


def test_subclasses_lose_their_type():
    class Sneaky(float):
        def __eq__(self, other):
            return True

    class Liar(torch.Tensor):
        pass

    back = wire.decode(wire.encode([Sneaky(1.0)]))
    assert type(back[0]) is float and back[0] != 2.0
    with pytest.raises(wire.WireError):
        wire.encode(torch.zeros(2).as_subclass(Liar))


def test_objects_are_refused_or_become_handles():
    with pytest.raises(wire.WireError, match="not plain data"):
        wire.encode(object())
    handle = wire.decode(wire.encode({"x": object()}, lambda obj: wire.Handle(7, "object")))
    assert handle == {"x": wire.Handle(7, "object")}


@pytest.mark.parametrize("payload", [
    b"", b"{", b"[1, 2]", b'{"l": 1}', b'{"zz": []}', b'{"T": ["float32", [2], "AAAA"]}',
    b'{"T": ["float32", [-1], ""]}', b'{"T": ["object", [1], "AAAA"]}', b'{"b": "!!"}',
    b'{"d": [[{"l": []}, 1]]}', b'{"H": ["1", "x"]}', b'{"T": ["float32", [4294967296, 4294967296], ""]}',
    b"\xff\xfe", b'{"u": [1], "l": [2]}', b'{"l": [' * 5000 + b"]}" * 5000,
])
def test_malformed_messages_raise_wire_error(payload):
    with pytest.raises(wire.WireError):
        wire.decode(payload)


def test_limits_on_size_depth_and_items():
    limits = wire.Limits(max_message_bytes=1000, max_depth=5, max_items=50, max_tensor_elements=10)
    with pytest.raises(wire.WireError, match="exceeds"):
        wire.decode(wire.encode("x" * 2000), limits)
    with pytest.raises(wire.WireError, match="deeply"):
        wire.decode(wire.encode([[[[[[[1]]]]]]]), limits)
    with pytest.raises(wire.WireError, match="too many"):
        wire.decode(wire.encode(list(range(60))), limits)
    with pytest.raises(wire.WireError, match="elements"):
        wire.decode(wire.encode(torch.zeros(11)), limits)


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_never_crash_the_parser(data):
    try:
        wire.decode(data)
    except wire.WireError:
        pass


json_trees = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["l", "u", "d", "b", "T", "H", "x"]), inner, max_size=2),
    max_leaves=25)


@settings(max_examples=300)
@given(json_trees)
def test_fuzz_structured_garbage_never_crashes_the_parser(tree):
    try:
        wire.decode(json.dumps(tree).encode())
    except wire.WireError:
        pass


@given(plain, st.data())
def test_truncated_frames_are_detected(value, data):
    framed = wire.frame(wire.encode(value))
    cut = data.draw(st.integers(0, len(framed) - 1))
    stream = [framed[:cut]]

    def read_exact(n):
        chunk = stream[0][:n]
        stream[0] = stream[0][n:]
        if len(chunk) < n:
            raise EOFError
        return chunk

    with pytest.raises((EOFError, wire.WireError)):
        wire.decode(wire.read_frame(read_exact))


def test_oversized_frame_header_is_refused_before_reading_the_body():
    header = (2**31).to_bytes(4, "big")
    with pytest.raises(wire.WireError, match="exceeds"):
        wire.read_frame(lambda n: header[:n], wire.Limits(max_message_bytes=1 << 20))

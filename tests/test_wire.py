"""The worker-to-grader message format: round trips, and a parser that only ever raises WireError."""

import base64
import io
import json
import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.worker import wire

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


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.bool, torch.bfloat16])
def test_dtypes_cross_by_name(dtype):
    assert wire.decode(wire.encode({"dtype": dtype})) == {"dtype": dtype}
    with pytest.raises(wire.WireError, match="cannot cross"):
        wire.encode(torch.float8_e4m3fn)


def test_a_generator_crosses_as_its_state_and_the_senders_does_not_advance():
    sender = torch.Generator().manual_seed(7)
    torch.rand(3, generator=sender)  # not at its seed's start any more
    received = wire.decode(wire.encode({"generator": sender, "more": [sender]}))
    first, again = received["generator"], received["more"][0]
    assert type(first) is torch.Generator and first is not sender and first is not again
    expected = torch.rand(5, generator=torch.Generator().set_state(sender.get_state()))
    assert torch.equal(torch.rand(5, generator=first), expected)
    assert torch.equal(torch.rand(5, generator=again), expected)
    assert torch.equal(torch.rand(5, generator=sender), expected)  # the sender's own, unmoved


def test_a_generator_reaches_submission_code_and_draws_there(tmp_path):
    from grader.frontends.local import local_transport
    from grader.grading.proxy import Submission
    from grader.worker.executor import Executor

    (tmp_path / "draws.py").write_text(
        "import torch\n\ndef draw(n, generator=None):\n    return torch.randint(0, 100, (n,), generator=generator)\n")
    student = Submission(local_transport(Executor(tmp_path)), ("draws",))
    seeded = torch.Generator().manual_seed(3)
    expected = torch.randint(0, 100, (6,), generator=torch.Generator().manual_seed(3))
    assert torch.equal(student.draws.draw(6, generator=seeded), expected)
    assert torch.equal(student.draws.draw(6, generator=seeded), expected)


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
    b'{"D": "object"}', b'{"D": 1}', b'{"D": ["float32"]}', b'{"G": 1}', b'{"G": ["cpu"]}', b'{"G": ["cuda", ""]}', b'{"G": ["cpu", "AAAA"]}', b'{"G": ["cpu", 5]}',
    b'{"G": ["cpu", "' + base64.b64encode(b"\xff" * 5056) + b'"]}',
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
    assert wire.decode(wire.encode(list(range(40))), limits) == list(range(40))  # counted once each
    assert len(wire.decode(wire.encode([list(range(20_000))] * 40))) == 40  # 800k items, one message
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
        st.sampled_from(["l", "u", "d", "b", "T", "H", "D", "G", "x"]), inner, max_size=2),
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


# --- the parser against hostile bytes: only WireError (EOFError for a short stream), never a hang ---

def stream_reader(stream):
    """``read_exact`` over a binary stream, as the worker and the grader read their sockets."""

    def read_exact(n):
        data = stream.read(n)
        if data is None or len(data) < n:
            raise EOFError
        return data

    return read_exact


def read_from_pipe(data: bytes, limits=wire.DEFAULT_LIMITS):
    """One frame read through a real pipe whose writer has finished (so a short read is EOF)."""
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as reader:
        with os.fdopen(write_fd, "wb") as writer:
            writer.write(data)  # at most 64 KiB here: the pipe's buffer holds it all
        return wire.decode(wire.read_frame(stream_reader(reader), limits), limits)


def strings_of(value):
    """Every str a decoded value holds: keys, items, handle type names."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, wire.Handle):
        yield value.type_name
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings_of(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_of(key)
            yield from strings_of(item)


def decode_or_wire_error(data: bytes):
    """Decode ``data``; any value it yields must be writable as UTF-8 (feedback files, sqlite)."""
    try:
        value = wire.decode(data)
    except wire.WireError:
        return
    for text in strings_of(value):
        text.encode("utf-8")


@pytest.mark.parametrize("data", [
    b"", b"\x00", b"\x00\x00\x00", b"\x00\x00\x00\x05{", b"\x00\x00\x00\x05[1,",
    wire.frame(wire.encode([1, 2, 3]))[:-1], wire.frame(wire.encode(torch.zeros(8)))[:20],
])
def test_truncated_frames_on_a_pipe_end_in_eof(data):
    with pytest.raises((EOFError, wire.WireError)):
        read_from_pipe(data)


@pytest.mark.parametrize("data", [
    b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff" + b"x" * 100,
    (wire.DEFAULT_LIMITS.max_message_bytes + 1).to_bytes(4, "big"),
    b"\x00\x00\x00\x00", b"\x00\x00\x00\x04\xff\xfe\xfd\xfc", b"\x00\x00\x00\x03nul",
    wire.frame(b'{"l": [' * 3000 + b"]}" * 3000),
])
def test_oversized_empty_and_garbage_frames_on_a_pipe_raise_wire_error(data):
    with pytest.raises(wire.WireError):
        read_from_pipe(data)


def test_a_frame_header_above_the_limit_is_refused_without_reading_on():
    stream = io.BytesIO((1001).to_bytes(4, "big") + b"x" * 5000)
    with pytest.raises(wire.WireError, match="exceeds"):
        wire.read_frame(stream_reader(stream), wire.Limits(max_message_bytes=1000))
    assert stream.tell() == 4


@pytest.mark.parametrize("tag", ["l", "u", "d"])
def test_nesting_is_accepted_up_to_the_limit_and_refused_beyond(tag):
    limits = wire.Limits(max_depth=20)

    def nested(depth):
        opening = b'{"d": [["k", ' if tag == "d" else b'{"%s": [' % tag.encode()
        closing = b"]]}" if tag == "d" else b"]}"
        return opening * depth + b"1" + closing * depth

    wire.decode(nested(20), limits)
    with pytest.raises(wire.WireError, match="deeply"):
        wire.decode(nested(21), limits)
    with pytest.raises(wire.WireError):
        wire.decode(nested(100_000))  # beyond what the JSON parser itself can nest


@pytest.mark.parametrize("payload", [
    b'{"d": [[{"u": [{"l": []}]}, 1]]}', b'{"d": [[{"u": [{"d": []}]}, 1]]}',  # unhashable tuple keys
    b'{"T": ["float32", [0, 18446744073709551616], ""]}',  # empty, but no size torch can hold
    b'{"T": ["float32", [0, 9223372036854775807, 9223372036854775807], ""]}',
    b'{"T": ["float32", [2, 0, 40000000], ""]}', b'{"T": ["int64", [' + b"1, " * 16 + b'1], ""]}',
    b'{"l": [' + b"0," * 1_000_001 + b"0]}",  # more items than a message may hold
    b"1" * 5000,  # an integer beyond Python's digit limit
])
def test_hostile_structures_raise_wire_error(payload):
    with pytest.raises(wire.WireError):
        wire.decode(payload)


def test_lone_surrogates_become_valid_utf8():
    value = wire.decode(b'{"d": [["\\ud800key", "bad \\udfff text \\ud83d\\ude00"]]}')
    assert value == {"?key": "bad ? text \U0001f600"}
    assert wire.decode(b'{"H": [1, "\\ud800"]}') == wire.Handle(1, "?")


@settings(max_examples=200)
@given(plain, st.data())
def test_fuzz_mutated_messages_decode_or_raise_wire_error(value, data):
    encoded = bytearray(wire.encode(value))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(encoded)))
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        byte = data.draw(st.sampled_from(b'{}[]",:\\ulduTHDGb0-9e\xff'))
        if action == "insert":
            encoded.insert(position, byte)
        elif position < len(encoded):
            encoded[position] = byte if action == "flip" else encoded[position]
            if action == "delete":
                del encoded[position]
    decode_or_wire_error(bytes(encoded))


@settings(max_examples=100)
@given(st.integers(0, 2**32 - 1), st.binary(max_size=300))
def test_fuzz_frames_on_a_pipe_never_raise_anything_else(size, body):
    try:
        read_from_pipe(size.to_bytes(4, "big") + body, wire.Limits(max_message_bytes=200))
    except (EOFError, wire.WireError):
        pass

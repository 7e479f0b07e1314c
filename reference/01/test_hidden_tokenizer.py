"""Hidden tests of `tokenizer.BPETokenizer` (exercise `tokenizer`): the submission against the
reference on generated texts, merge lists, id lists and batches, and every ValueError of the contract.
"""

import pytest
import torch

from grader.testing import expect_value_error, given, named, settings, st

SPECIAL_SETS = [
    ("<pad>", "<bos>", "<eos>"),
    (),
    ("<pad>",),
    ("<eos>", "<bos>"),
    ("<bos>", "<pad>", "<eos>", "<|user|>"),
    ("<a>", "<a><b>"),
    ("<a><b>", "<a>", "<b>"),
    ("<é>", "😀"),
    ("ab", "bc"),
]
FRAGMENTS = ["a", "b", "c", "ab", "ba", "abc", "aab", " ", "  ", "the ", "é", "ée", "€", "😀", "日本",
             "\n", "<", ">", "<a", "b>", "\x00", "\xff"]
PLAIN = st.characters(codec="utf-8")  # every code point except the lone surrogates


def text_of(specials, *, max_parts: int = 12, free: bool = True):
    """Text from fragments, the specials' strings and, when ``free``, arbitrary characters."""
    pieces = [st.sampled_from(FRAGMENTS)]
    if specials:
        pieces.append(st.sampled_from(specials))
    if free:
        pieces.append(st.text(PLAIN, max_size=3))
    return st.lists(st.one_of(*pieces), max_size=max_parts).map("".join)


@st.composite
def corpus(draw, specials):
    """At most 200 characters: a few words (fragments and arbitrary characters) repeated in a random
    order, with the specials' strings and spaces among them, so that training finds repeated pairs."""
    word = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(PLAIN, min_size=1, max_size=2)),
                    min_size=1, max_size=3).map("".join)
    words = draw(st.lists(word, min_size=1, max_size=4))
    choices = words + list(specials) + [" "]
    parts = draw(st.lists(st.sampled_from(choices), min_size=6, max_size=40))
    return "".join(parts)[:200]


Training = named("special_tokens", "text", "vocab_size", name="Training")  # named in a failing example
Merging = named("special_tokens", "merges", "text", name="Merging")


@st.composite
def training_setups(draw):
    """(specials, training text, vocab_size from 256 + S + 1 to 256 + S + 60)."""
    specials = draw(st.sampled_from(SPECIAL_SETS))
    text = draw(corpus(specials))
    return Training(specials, text, 256 + len(specials) + draw(st.integers(1, 60)))


def merge_pair(ids: list, pair: tuple, new_id: int) -> list:
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


@st.composite
def merge_setups(draw, max_merges: int = 12):
    """(specials, merges, text): valid merges in a random order, mostly adjacent pairs of the text
    (as merged so far, or as plain bytes, so that ranks and positions disagree), sometimes any
    defined ids (specials too) or a repeat."""
    specials = draw(st.sampled_from(SPECIAL_SETS))
    text = draw(corpus(specials))
    base = 256 + len(specials)
    raw = list(text.encode("utf-8"))
    seq = raw
    merges = []
    for _ in range(draw(st.integers(1, max_merges))):
        m = len(merges)
        kind = draw(st.integers(0, 5))
        source = raw if kind == 2 else seq
        if kind == 3 and len(seq) >= 3:
            # Two overlapping pairs, the right one ranked first: ranks and positions disagree.
            i = draw(st.integers(0, len(seq) - 3))
            pairs = [(seq[i + 1], seq[i + 2]), (seq[i], seq[i + 1])]
        elif kind >= 2 and len(source) >= 2:
            i = draw(st.integers(0, len(source) - 2))
            pairs = [(source[i], source[i + 1])]
        elif kind == 1 and merges:
            pairs = [draw(st.sampled_from(merges))]
        else:
            pairs = [(draw(st.integers(0, base + m - 1)), draw(st.integers(0, base + m - 1)))]
        for pair in pairs:
            merges.append(pair)
            seq = merge_pair(seq, pair, base + len(merges) - 1)
    return Merging(specials, merges, text)


def ref_tok(reference, specials, merges=()):
    return reference.tokenizer.BPETokenizer(merges=list(merges), special_tokens=specials)


# --- training ----------------------------------------------------------------------------------

@pytest.mark.exercise("tokenizer", weight=3)
@settings(max_examples=16)
@given(setup=training_setups())
def test_tokenizer_hidden_train_matches_reference(student, reference, setup):
    """train learns the reference's merges, in order, on generated text with specials"""
    specials, text, vocab_size = setup
    tok = student.tokenizer.BPETokenizer.train(text, vocab_size, special_tokens=specials)
    expected = reference.tokenizer.BPETokenizer.train(text, vocab_size, special_tokens=specials)
    assert [tuple(m) for m in tok.merges] == expected.merges, "merges"
    assert tok.vocab_size == expected.vocab_size, "vocab_size"


@pytest.mark.exercise("tokenizer", weight=1)
@settings(max_examples=6)
@given(setup=training_setups())
def test_tokenizer_hidden_train_attributes(student, reference, setup):
    """a trained tokenizer has the reference's special_tokens, pad/bos/eos ids and list of tuples"""
    specials, text, vocab_size = setup
    tok = student.tokenizer.BPETokenizer.train(text, vocab_size, special_tokens=specials)
    expected = reference.tokenizer.BPETokenizer.train(text, vocab_size, special_tokens=specials)
    assert tok.special_tokens == expected.special_tokens, "special_tokens"
    assert (tok.pad_id, tok.bos_id, tok.eos_id) == (expected.pad_id, expected.bos_id, expected.eos_id), \
        "(pad_id, bos_id, eos_id)"
    merges = tok.merges
    assert isinstance(merges, list) and all(type(m) is tuple for m in merges), "merges: a list of tuples"


@pytest.mark.exercise("tokenizer", weight=1)
@settings(max_examples=10)
@given(specials=st.sampled_from(SPECIAL_SETS), short=st.integers(1, 256 + 4), text=text_of(("<eos>",)))
def test_tokenizer_hidden_train_vocab_too_small_raises(student, specials, short, text):
    """train raises ValueError for any vocab_size below 256 + number of specials"""
    vocab_size = 256 + len(specials) - short
    expect_value_error(student.tokenizer.BPETokenizer.train, text, vocab_size, special_tokens=specials,
                       what=f"train(text, {vocab_size}, special_tokens={specials})")


# --- encoding ----------------------------------------------------------------------------------

@pytest.mark.exercise("tokenizer", weight=3)
@settings(max_examples=15)
@given(setup=training_setups(), data=st.data())
def test_tokenizer_hidden_encode_trained_merges(student, reference, setup, data):
    """encode with the reference's trained merges gives the reference's ids (training text and others)"""
    specials, text, vocab_size = setup
    expected = reference.tokenizer.BPETokenizer.train(text, vocab_size, special_tokens=specials)
    tok = student.tokenizer.BPETokenizer(merges=expected.merges, special_tokens=specials)
    cut = data.draw(st.integers(0, len(text)), label="cut")
    for t in (text, text[cut:] + data.draw(text_of(specials), label="s")):
        assert tok.encode(t) == expected.encode(t), f"encode({t!r}) with merges {expected.merges}"


@pytest.mark.exercise("tokenizer", weight=3)
@settings(max_examples=10)
@given(setup=merge_setups(), data=st.data())
def test_tokenizer_hidden_encode_random_merges(student, reference, setup, data):
    """encode with a random valid merge list (any order, repeats, specials) gives the reference's ids"""
    specials, merges, text = setup
    tok = student.tokenizer.BPETokenizer(merges=merges, special_tokens=specials)
    expected = ref_tok(reference, specials, merges)
    cut = data.draw(st.integers(0, len(text)), label="cut")
    for t in (text, text[cut:] + text[:cut]):
        assert tok.encode(t) == expected.encode(t), f"encode({t!r}) with merges {merges}"


@pytest.mark.exercise("tokenizer", weight=1)
@settings(max_examples=10)
@given(s=text_of(SPECIAL_SETS[0] + SPECIAL_SETS[4]))
def test_tokenizer_hidden_encode_bos_eos(student, reference, s):
    """add_bos / add_eos add the reference's ids, or raise ValueError when the token is absent"""
    for specials in SPECIAL_SETS:
        tok = student.tokenizer.BPETokenizer(special_tokens=specials)
        expected = ref_tok(reference, specials)
        for bos, eos in ((True, False), (False, True), (True, True)):
            missing = (bos and expected.bos_id is None) or (eos and expected.eos_id is None)
            what = f"encode({s!r}, add_bos={bos}, add_eos={eos}) with specials {specials}"
            if missing:
                expect_value_error(tok.encode, s, add_bos=bos, add_eos=eos, what=what)
            else:
                want = expected.encode(s, add_bos=bos, add_eos=eos)
                assert tok.encode(s, add_bos=bos, add_eos=eos) == want, what


# --- decoding and ids --------------------------------------------------------------------------

def id_lists(vocab_size: int, encoded: list):
    """Ids: partial UTF-8 (continuation and lead bytes), ASCII, any defined id, the ids of a text."""
    one = [st.integers(0x80, 0xFF), st.integers(0x20, 0x7E), st.integers(0, vocab_size - 1)]
    if encoded:
        one.append(st.sampled_from(encoded))
    return st.lists(st.one_of(*one), max_size=12)


@pytest.mark.exercise("tokenizer", weight=2)
@settings(max_examples=20)
@given(setup=merge_setups(), skip=st.booleans(), data=st.data())
def test_tokenizer_hidden_decode_matches_reference(student, reference, setup, skip, data):
    """decode of random ids (partial UTF-8 included) gives the reference's string"""
    specials, merges, text = setup
    expected = ref_tok(reference, specials, merges)
    tok = student.tokenizer.BPETokenizer(merges=merges, special_tokens=specials)
    ids = data.draw(id_lists(expected.vocab_size, expected.encode(text)), label="ids")
    assert tok.decode(ids, skip_special_tokens=skip) == expected.decode(ids, skip_special_tokens=skip), \
        f"decode({ids}, skip_special_tokens={skip})"


@pytest.mark.exercise("tokenizer", weight=1)
@settings(max_examples=10)
@given(setup=merge_setups(), data=st.data())
def test_tokenizer_hidden_id_to_bytes_matches_reference(student, reference, setup, data):
    """id_to_bytes gives the reference's bytes for bytes, specials and merges"""
    specials, merges, _ = setup
    expected = ref_tok(reference, specials, merges)
    tok = student.tokenizer.BPETokenizer(merges=merges, special_tokens=specials)
    ids = data.draw(st.lists(st.integers(0, expected.vocab_size - 1), min_size=1, max_size=4), label="ids")
    ids += list(range(256, expected.vocab_size))[-6:]  # the last specials / merges
    for i in ids:
        assert tok.id_to_bytes(i) == expected.id_to_bytes(i), f"id_to_bytes({i})"


@pytest.mark.exercise("tokenizer", weight=1)
@settings(max_examples=10)
@given(setup=merge_setups(max_merges=4), over=st.integers(0, 1000), negative=st.booleans())
def test_tokenizer_hidden_unknown_id_raises(student, reference, setup, over, negative):
    """decode and id_to_bytes raise ValueError for an id outside 0..vocab_size-1"""
    specials, merges, _ = setup
    tok = student.tokenizer.BPETokenizer(merges=merges, special_tokens=specials)
    vocab_size = ref_tok(reference, specials, merges).vocab_size
    bad = -1 - over if negative else vocab_size + over
    expect_value_error(tok.decode, [97, bad], what=f"decode([97, {bad}]) with vocab_size {vocab_size}")
    expect_value_error(tok.id_to_bytes, bad, what=f"id_to_bytes({bad}) with vocab_size {vocab_size}")


# --- constructor -------------------------------------------------------------------------------

@pytest.mark.exercise("tokenizer", weight=1)
@settings(max_examples=5)
@given(setup=merge_setups(max_merges=6))
def test_tokenizer_hidden_constructor_attributes(student, reference, setup):
    """the constructor keeps the merges (repeats included) and has the reference's ids and vocab_size"""
    specials, merges, _ = setup
    tok = student.tokenizer.BPETokenizer(merges=merges, special_tokens=specials)
    expected = ref_tok(reference, specials, merges)
    assert [tuple(m) for m in tok.merges] == expected.merges, "merges"
    assert tok.vocab_size == expected.vocab_size, "vocab_size"
    assert tok.special_tokens == expected.special_tokens, "special_tokens"
    assert (tok.pad_id, tok.bos_id, tok.eos_id) == (expected.pad_id, expected.bos_id, expected.eos_id), \
        "(pad_id, bos_id, eos_id)"


@pytest.mark.exercise("tokenizer", weight=1)
@settings(max_examples=10)
@given(setup=merge_setups(max_merges=5), side=st.integers(0, 1), beyond=st.integers(0, 50),
       negative=st.booleans())
def test_tokenizer_hidden_constructor_bad_merge_raises(student, setup, side, beyond, negative):
    """a merge naming an id not yet defined (its own, a later or a negative one) raises ValueError"""
    specials, merges, _ = setup
    own_id = 256 + len(specials) + len(merges)
    pair = [97, 98]
    pair[side] = -1 - beyond if negative else own_id + beyond
    bad = merges + [tuple(pair)]
    expect_value_error(student.tokenizer.BPETokenizer, merges=bad, special_tokens=specials,
                       what=f"BPETokenizer(merges={bad}, special_tokens={specials})")


@pytest.mark.exercise("tokenizer", weight=1)
@settings(max_examples=10)
@given(specials=st.sampled_from([s for s in SPECIAL_SETS if s]), data=st.data())
def test_tokenizer_hidden_constructor_bad_specials_raise(student, specials, data):
    """a repeated or an empty special token raises ValueError"""
    position = data.draw(st.integers(0, len(specials)), label="position")
    repeated = list(specials)
    repeated.insert(position, data.draw(st.sampled_from(specials), label="repeat"))
    expect_value_error(student.tokenizer.BPETokenizer, special_tokens=tuple(repeated),
                       what=f"BPETokenizer(special_tokens={tuple(repeated)})")
    empty = list(specials)
    empty.insert(position, "")
    expect_value_error(student.tokenizer.BPETokenizer, special_tokens=tuple(empty),
                       what=f"BPETokenizer(special_tokens={tuple(empty)})")


# --- padding -----------------------------------------------------------------------------------

PAD_SETS = [s for s in SPECIAL_SETS if "<pad>" in s]


@pytest.mark.exercise("tokenizer", weight=2)
@given(specials=st.sampled_from(PAD_SETS), seqs=st.lists(st.lists(st.integers(0, 258), max_size=5),
                                                         min_size=1, max_size=4),
       extra=st.one_of(st.none(), st.integers(0, 3)))
def test_tokenizer_hidden_pad_batch_matches_reference(student, reference, specials, seqs, extra):
    """pad_batch gives the reference's ids and mask (shapes, dtypes, values), with and without max_len"""
    tok = student.tokenizer.BPETokenizer(special_tokens=specials)
    max_len = None if extra is None else max(map(len, seqs)) + extra
    ids, mask = tok.pad_batch(seqs, max_len=max_len)
    want_ids, want_mask = ref_tok(reference, specials).pad_batch(seqs, max_len=max_len)
    what = f"pad_batch({seqs}, max_len={max_len})"
    assert isinstance(ids, torch.Tensor) and ids.dtype == torch.long, f"{what}: ids must be a long tensor"
    assert isinstance(mask, torch.Tensor) and mask.dtype == torch.bool, f"{what}: mask must be a bool tensor"
    assert ids.shape == want_ids.shape and torch.equal(ids, want_ids), \
        f"{what}: ids {ids}, expected {want_ids}"
    assert mask.shape == want_mask.shape and torch.equal(mask, want_mask), \
        f"{what}: mask {mask}, expected {want_mask}"


@pytest.mark.exercise("tokenizer", weight=1)
@settings(max_examples=10)
@given(specials=st.sampled_from(SPECIAL_SETS), seqs=st.lists(st.lists(st.integers(0, 255), max_size=5),
                                                             min_size=1, max_size=4), short=st.integers(1, 3))
def test_tokenizer_hidden_pad_batch_raises(student, specials, seqs, short):
    """pad_batch raises ValueError without <pad>, for an empty batch, or a sequence over max_len"""
    tok = student.tokenizer.BPETokenizer(special_tokens=specials)
    if "<pad>" not in specials:
        expect_value_error(tok.pad_batch, seqs, what=f"pad_batch({seqs}) with specials {specials}")
        return
    expect_value_error(tok.pad_batch, [], what="pad_batch([])")
    longest = max(map(len, seqs))
    if longest - short >= 0:
        expect_value_error(tok.pad_batch, seqs, max_len=longest - short,
                           what=f"pad_batch({seqs}, max_len={longest - short})")


# --- properties with other specials ------------------------------------------------------------

@pytest.mark.exercise("tokenizer", weight=1)
@settings(max_examples=12)
@given(setup=training_setups(), data=st.data())
def test_tokenizer_hidden_roundtrip_property(student, setup, data):
    """decode(encode(s)) == s and encode(decode(encode(s))) == encode(s), any specials (trained)"""
    specials, text, vocab_size = setup
    tok = student.tokenizer.BPETokenizer.train(text, vocab_size, special_tokens=specials)
    s = data.draw(st.one_of(text_of(specials), corpus(specials)), label="s")
    ids = tok.encode(s)
    assert tok.decode(ids) == s, f"decode(encode(s)) != s; encode(s) = {ids}"
    assert tok.encode(tok.decode(ids)) == ids, "encode(decode(encode(s))) != encode(s)"

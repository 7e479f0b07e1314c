"""Public tests of `tokenizer.BPETokenizer` (exercise `tokenizer`).

Hand-worked examples pin each rule of the contract (id layout, training, encoding, decoding,
padding, errors); property tests then check what every correct tokenizer does on generated text.
Ids in the examples: "a" = 97, "b" = 98, "c" = 99, "d" = 100, " " = 32, "<" = 60, ">" = 62.
"""

import pytest
import torch

from grader.testing import expect_value_error, given, named, settings, st

SPECIALS = ("<pad>", "<bos>", "<eos>")  # the default specials: ids 256, 257, 258


def merges_of(tok) -> list:
    """The tokenizer's merges as a list of tuples (the type itself is checked in the layout test)."""
    return [tuple(m) for m in tok.merges]


# --- smoke and id layout -----------------------------------------------------------------------

@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_smoke(student):
    """BPETokenizer(merges=[(97, 97)]) encodes "aaab" as [259, 97, 98] and decodes it back"""
    tok = student.tokenizer.BPETokenizer(merges=[(97, 97)])
    assert tok.encode("aaab") == [259, 97, 98], "encode('aaab') with merges [(97, 97)]"
    assert tok.decode([259, 97, 98]) == "aaab", "decode([259, 97, 98])"


@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_default_id_layout(student):
    """default layout: bytes 0-255, then <pad> 256, <bos> 257, <eos> 258, then one id per merge"""
    tok = student.tokenizer.BPETokenizer(merges=[(104, 105), (259, 33)])
    assert tok.special_tokens == {"<pad>": 256, "<bos>": 257, "<eos>": 258}, "special_tokens"
    assert (tok.pad_id, tok.bos_id, tok.eos_id) == (256, 257, 258), "(pad_id, bos_id, eos_id)"
    assert tok.vocab_size == 261, "vocab_size = 256 bytes + 3 specials + 2 merges"
    merges = tok.merges
    assert isinstance(merges, list) and all(type(m) is tuple for m in merges), \
        f"merges must be a list of (int, int) tuples, got {merges!r}"
    assert merges == [(104, 105), (259, 33)], "merges, in order"
    assert tok.encode("hi!") == [260], "'hi' is merge 0 (id 259), 'hi!' is merge 1 (id 260)"
    assert tok.encode("A\x00\xff") == [65, 0, 195, 191], "bytes keep their own values as ids"


@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_custom_specials_layout(student):
    """custom specials take ids 256.. in the order given; absent <pad>/<bos>/<eos> ids are None"""
    tok = student.tokenizer.BPETokenizer(merges=[(97, 98)], special_tokens=("<eos>", "<|user|>"))
    assert tok.special_tokens == {"<eos>": 256, "<|user|>": 257}, "special_tokens"
    assert (tok.pad_id, tok.bos_id, tok.eos_id) == (None, None, 256), "(pad_id, bos_id, eos_id)"
    assert tok.vocab_size == 259, "vocab_size = 256 + 2 specials + 1 merge"
    assert tok.encode("ab<|user|>") == [258, 257], "merge 0 gets id 256 + 2 = 258"

    bare = student.tokenizer.BPETokenizer(merges=[(97, 98)], special_tokens=())
    assert bare.special_tokens == {}, "no specials: special_tokens is an empty dict"
    assert (bare.pad_id, bare.bos_id, bare.eos_id) == (None, None, None), "(pad_id, bos_id, eos_id)"
    assert bare.vocab_size == 257, "vocab_size = 256 + 0 specials + 1 merge"
    assert bare.encode("abc") == [256, 99], "with no specials, merge 0 gets id 256"


@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_id_to_bytes(student):
    """id_to_bytes gives a byte, a special token's UTF-8 string, or a merge's joined bytes"""
    tok = student.tokenizer.BPETokenizer(merges=[(97, 98), (259, 99), (256, 97)],
                                         special_tokens=("<pad>", "<é>", "<eos>"))
    cases = {0: b"\x00", 97: b"a", 255: b"\xff", 256: b"<pad>", 257: "<é>".encode("utf-8"),
             258: b"<eos>", 259: b"ab", 260: b"abc", 261: b"<pad>a"}
    for token_id, expected in cases.items():
        assert tok.id_to_bytes(token_id) == expected, f"id_to_bytes({token_id})"


# --- training ----------------------------------------------------------------------------------

@pytest.mark.exercise("tokenizer", weight=2)
def test_tokenizer_train_counts_overlapping_pairs(student):
    """training counts overlapping pairs: "aaa" holds (97, 97) twice, so it is merged"""
    train = student.tokenizer.BPETokenizer.train
    assert merges_of(train("aaa", 1000, special_tokens=())) == [(97, 97)], "train('aaa', 1000, ())"
    tok = train("aaa", 1000)
    assert merges_of(tok) == [(97, 97)], "train('aaa', 1000) with the default specials"
    assert tok.vocab_size == 260, "vocab_size after one merge with 3 specials"


@pytest.mark.exercise("tokenizer", weight=2)
def test_tokenizer_train_ties_smallest_pair(student):
    """training breaks count ties by the smallest (left_id, right_id), not by first occurrence"""
    train = student.tokenizer.BPETokenizer.train
    # (99, 100) and (97, 98) both occur twice; (99, 100) comes first in the text.
    assert merges_of(train("cdcd abab", 1000, special_tokens=())) == [(97, 98), (99, 100)], \
        "train('cdcd abab', 1000, ())"
    assert merges_of(train("cdcd abab", 257, special_tokens=())) == [(97, 98)], \
        "train('cdcd abab', 257, ()) makes exactly one merge"
    # Equal left ids: the right id decides.
    assert merges_of(train("acac abab", 1000, special_tokens=())) == [(97, 98), (97, 99)], \
        "train('acac abab', 1000, ())"


@pytest.mark.exercise("tokenizer", weight=2)
def test_tokenizer_train_worked_example(student):
    """training on "aaabdaaabac" merges (97, 97), then (97, 98) over the tie (256, 97), then (256, 257)"""
    # aa:4 (overlapping) -> Z=256: Z a b d Z a b a c; (Z, a):2 ties (a, b):2, smaller (97, 98) -> Y=257:
    # Z Y d Z Y a c; (Z, Y):2 -> X=258: X d X a c; every pair now occurs once: stop.
    train = student.tokenizer.BPETokenizer.train
    tok = train("aaabdaaabac", 1000, special_tokens=())
    assert merges_of(tok) == [(97, 97), (97, 98), (256, 257)], "train('aaabdaaabac', 1000, ())"
    assert tok.vocab_size == 259, "vocab_size = 256 + 3 merges"
    assert merges_of(train("aaabdaaabac", 258, special_tokens=())) == [(97, 97), (97, 98)], \
        "train('aaabdaaabac', 258, ()) stops when the vocabulary has 258 ids"


@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_train_stops_below_two(student):
    """training stops early when the most frequent pair occurs fewer than 2 times"""
    train = student.tokenizer.BPETokenizer.train
    tok = train("abcd", 1000, special_tokens=())
    assert merges_of(tok) == [] and tok.vocab_size == 256, "train('abcd', 1000, ()): no pair repeats"
    tok = train("abab", 1000, special_tokens=())
    assert merges_of(tok) == [(97, 98)], "train('abab', 1000, ()): (256, 256) then occurs once"
    assert tok.vocab_size == 257, "vocab_size after one merge"
    assert merges_of(train("", 300)) == [], "train('', 300): empty text, no merges"
    assert merges_of(train("abab", 256, special_tokens=())) == [], "vocab_size 256 is already reached"


@pytest.mark.exercise("tokenizer", weight=2)
def test_tokenizer_train_splits_at_specials(student):
    """training drops special-token strings and never counts a pair across them"""
    train = student.tokenizer.BPETokenizer.train
    # Pieces "ab", "ab", "ab": (97, 98) three times, nothing else; joined, "ababab" would also
    # give (259, 259); as bytes, "<eos>" would give its own merges.
    assert merges_of(train("ab<eos>ab<eos>ab", 1000)) == [(97, 98)], "train('ab<eos>ab<eos>ab', 1000)"
    # The longer special "<a><b>" wins at a place where "<a>" also starts: pieces "x", "x".
    assert merges_of(train("x<a><b>x<a><b>", 1000, special_tokens=("<a>", "<a><b>"))) == [], \
        "train('x<a><b>x<a><b>', 1000, special_tokens=('<a>', '<a><b>'))"


@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_train_vocab_too_small_raises(student):
    """train raises ValueError when vocab_size is below 256 + number of special tokens"""
    train = student.tokenizer.BPETokenizer.train
    expect_value_error(train, "abab", 258, what="train('abab', 258) with 3 specials")
    expect_value_error(train, "abab", 255, special_tokens=(), what="train('abab', 255, ())")
    expect_value_error(train, "abab", 257, special_tokens=("<a>", "<b>"),
                       what="train('abab', 257, special_tokens=('<a>', '<b>'))")


# --- encoding ----------------------------------------------------------------------------------

@pytest.mark.exercise("tokenizer", weight=2)
def test_tokenizer_encode_applies_merges_by_rank(student):
    """encode applies the earliest merge among the pairs present first, until none applies"""
    BPE = student.tokenizer.BPETokenizer
    # (98, 99) is merge 0: it wins over (97, 98) although that pair comes first in the text.
    assert BPE(merges=[(98, 99), (97, 98)]).encode("abc") == [97, 259], "merges [(98, 99), (97, 98)]"
    # (97, 98) first gives [259, 99]; (97, 260) then never appears: no longest-match shortcut.
    assert BPE(merges=[(97, 98), (98, 99), (97, 260)]).encode("abc") == [259, 99], \
        "merges [(97, 98), (98, 99), (97, 260)]"
    chain = BPE(merges=[(97, 98), (259, 99)])
    assert chain.encode("abcabc") == [260, 260], "merges [(97, 98), (259, 99)] on 'abcabc'"
    assert chain.encode("abdab") == [259, 100, 259], "merges [(97, 98), (259, 99)] on 'abdab'"
    assert chain.encode("") == [], "encode('')"


@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_encode_left_to_right_without_overlap(student):
    """encode replaces a merge's occurrences left to right without overlap: "aaa" -> [259, 97]"""
    tok = student.tokenizer.BPETokenizer(merges=[(97, 97)])
    assert tok.encode("aaa") == [259, 97], "encode('aaa') with merges [(97, 97)]"
    assert tok.encode("aaaaa") == [259, 259, 97], "encode('aaaaa') with merges [(97, 97)]"
    both = student.tokenizer.BPETokenizer(merges=[(97, 97), (259, 97)])
    assert both.encode("aaaa") == [259, 259], "encode('aaaa') with merges [(97, 97), (259, 97)]"


@pytest.mark.exercise("tokenizer", weight=2)
def test_tokenizer_encode_specials_atomic(student):
    """encode turns each special-token string into its id, and merges never cross it"""
    tok = student.tokenizer.BPETokenizer(merges=[(97, 98)])
    assert tok.encode("a<bos>b") == [97, 257, 98], "encode('a<bos>b')"
    assert tok.encode("ab<pad><eos><eos>") == [259, 256, 258, 258], "encode('ab<pad><eos><eos>')"
    assert tok.encode("<eo") == [60, 101, 111], "'<eo' is not a special token"
    assert tok.encode("<<eos>>") == [60, 258, 62], "encode('<<eos>>')"


@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_encode_longest_special_wins(student):
    """where two special tokens start at the same place the longer wins; the leftmost start first"""
    tok = student.tokenizer.BPETokenizer(special_tokens=("<a>", "<a><b>"))
    assert tok.encode("<a><b>") == [257], "specials ('<a>', '<a><b>'): encode('<a><b>')"
    assert tok.encode("<a><a><b>") == [256, 257], "encode('<a><a><b>')"
    assert tok.encode("<a><b") == [256, 60, 98], "encode('<a><b')"
    flipped = student.tokenizer.BPETokenizer(special_tokens=("<a><b>", "<a>"))
    assert flipped.encode("<a><b><a>") == [256, 257], "specials ('<a><b>', '<a>'): encode('<a><b><a>')"
    overlap = student.tokenizer.BPETokenizer(special_tokens=("ab", "bc"))
    assert overlap.encode("abc") == [256, 99], "specials ('ab', 'bc'): 'ab' starts first in 'abc'"


@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_encode_bos_eos(student):
    """add_bos puts bos_id first and add_eos puts eos_id last"""
    tok = student.tokenizer.BPETokenizer()
    assert tok.encode("hi", add_bos=True) == [257, 104, 105], "encode('hi', add_bos=True)"
    assert tok.encode("hi", add_eos=True) == [104, 105, 258], "encode('hi', add_eos=True)"
    assert tok.encode("hi", add_bos=True, add_eos=True) == [257, 104, 105, 258], "both"
    assert tok.encode("", add_bos=True, add_eos=True) == [257, 258], "encode('', both)"
    custom = student.tokenizer.BPETokenizer(special_tokens=("<eos>", "<bos>"))
    assert custom.encode("a", add_bos=True, add_eos=True) == [257, 97, 256], \
        "specials ('<eos>', '<bos>'): bos_id 257, eos_id 256"


@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_encode_bos_eos_missing_raises(student):
    """add_bos / add_eos raise ValueError when <bos> / <eos> is not a special token"""
    pad_only = student.tokenizer.BPETokenizer(special_tokens=("<pad>",))
    expect_value_error(pad_only.encode, "hi", add_bos=True, what="add_bos=True without '<bos>'")
    expect_value_error(pad_only.encode, "hi", add_eos=True, what="add_eos=True without '<eos>'")
    bos_only = student.tokenizer.BPETokenizer(special_tokens=("<bos>",))
    assert bos_only.encode("hi", add_bos=True) == [256, 104, 105], "specials ('<bos>',), add_bos=True"
    expect_value_error(bos_only.encode, "hi", add_eos=True, what="add_eos=True without '<eos>'")


# --- decoding ----------------------------------------------------------------------------------

@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_decode_basics(student):
    """decode joins the tokens' bytes: bytes, merges and special-token strings (or skips them)"""
    tok = student.tokenizer.BPETokenizer(merges=[(104, 105)])
    assert tok.decode([259, 33]) == "hi!", "decode([259, 33])"
    assert tok.decode([]) == "", "decode([])"
    assert tok.decode(list("é€😀".encode("utf-8"))) == "é€😀", "decode of UTF-8 bytes"
    assert tok.decode([257, 259, 256, 258]) == "<bos>hi<pad><eos>", "specials decode to their strings"
    assert tok.decode([257, 259, 256, 258], skip_special_tokens=True) == "hi", "skip_special_tokens=True"


@pytest.mark.exercise("tokenizer", weight=2)
def test_tokenizer_decode_partial_utf8_replaced(student):
    """decode joins all bytes first, then decodes with errors="replace" (partial UTF-8 -> U+FFFD)"""
    tok = student.tokenizer.BPETokenizer(merges=[(0xE2, 0x82)])
    cases = [
        ([0xE2, 0x82], {}, b"\xe2\x82"),
        ([0xE2, 0x82, 0xAC], {}, b"\xe2\x82\xac"),  # the bytes of one character, given one by one
        ([0xFF, 97], {}, b"\xffa"),
        ([259], {}, b"\xe2\x82"),
        ([259, 0xAC], {}, b"\xe2\x82\xac"),
        ([0xE2, 258, 0x82, 0xAC], {}, b"\xe2<eos>\x82\xac"),
        ([0xE2, 258, 0x82, 0xAC], {"skip_special_tokens": True}, b"\xe2\x82\xac"),
    ]
    for ids, kwargs, raw in cases:
        expected = raw.decode("utf-8", errors="replace")
        assert tok.decode(ids, **kwargs) == expected, f"decode({ids}, {kwargs}) must be {expected!r}"


@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_unknown_id_raises(student):
    """decode and id_to_bytes raise ValueError for an id that no token has (negative or too large)"""
    tok = student.tokenizer.BPETokenizer(merges=[(97, 98)])  # ids 0..259
    for bad in (260, 1000, -1):
        expect_value_error(tok.decode, [97, bad], what=f"decode([97, {bad}]) with vocab_size 260")
        expect_value_error(tok.id_to_bytes, bad, what=f"id_to_bytes({bad}) with vocab_size 260")
    bare = student.tokenizer.BPETokenizer(special_tokens=())
    expect_value_error(bare.decode, [256], what="decode([256]) with no specials and no merges")


# --- padding -----------------------------------------------------------------------------------

@pytest.mark.exercise("tokenizer", weight=2)
def test_tokenizer_pad_batch(student):
    """pad_batch right-pads with pad_id into a long (B, T) tensor and a bool mask, True at tokens"""
    tok = student.tokenizer.BPETokenizer()
    ids, mask = tok.pad_batch([[5, 6], [7]])
    assert isinstance(ids, torch.Tensor) and ids.dtype == torch.long, f"ids must be a long tensor: {ids!r}"
    assert isinstance(mask, torch.Tensor) and mask.dtype == torch.bool, \
        f"mask must be a bool tensor: {mask!r}"
    assert torch.equal(ids, torch.tensor([[5, 6], [7, 256]])), f"ids of pad_batch([[5, 6], [7]]): {ids}"
    assert torch.equal(mask, torch.tensor([[True, True], [True, False]])), f"attention_mask: {mask}"

    ids, mask = tok.pad_batch([[1, 2, 3], [], [4]], max_len=4)
    assert torch.equal(ids, torch.tensor([[1, 2, 3, 256], [256] * 4, [4, 256, 256, 256]])), \
        f"ids of pad_batch([[1, 2, 3], [], [4]], max_len=4): {ids}"
    assert torch.equal(mask, torch.tensor([[1, 1, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0]]).bool()), \
        f"attention_mask: {mask}"

    custom = student.tokenizer.BPETokenizer(special_tokens=("<bos>", "<pad>"))
    ids, mask = custom.pad_batch([[256, 9]], max_len=3)
    assert torch.equal(ids, torch.tensor([[256, 9, 257]])), f"pad_id is 257 here: {ids}"
    assert torch.equal(mask, torch.tensor([[True, True, False]])), f"attention_mask: {mask}"


@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_pad_batch_raises(student):
    """pad_batch raises ValueError for an empty batch, a sequence over max_len, or no <pad> token"""
    tok = student.tokenizer.BPETokenizer()
    expect_value_error(tok.pad_batch, [], what="pad_batch([])")
    expect_value_error(tok.pad_batch, [[1, 2, 3], [4]], max_len=2,
                       what="pad_batch([[1, 2, 3], [4]], max_len=2)")
    no_pad = student.tokenizer.BPETokenizer(special_tokens=("<bos>", "<eos>"))
    expect_value_error(no_pad.pad_batch, [[1, 2], [3]], what="pad_batch without a '<pad>' special")


# --- constructor -------------------------------------------------------------------------------

@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_constructor_raises(student):
    """the constructor raises ValueError for a merge naming an undefined id, or a repeated/empty special"""
    BPE = student.tokenizer.BPETokenizer
    for merges in ([(97, 259)], [(97, 300)], [(-1, 97)], [(97, 98), (260, 97)], [(97, 98), (97, 261)]):
        expect_value_error(BPE, merges=merges, what=f"BPETokenizer(merges={merges})")
    expect_value_error(BPE, special_tokens=("<a>", "<b>", "<a>"),
                       what="BPETokenizer(special_tokens=('<a>', '<b>', '<a>'))")
    expect_value_error(BPE, special_tokens=("<a>", ""), what="BPETokenizer(special_tokens=('<a>', ''))")


@pytest.mark.exercise("tokenizer", weight=1)
def test_tokenizer_repeated_merge_allowed(student):
    """a repeated merge is accepted and gets its own id, but only the earlier one is ever applied"""
    tok = student.tokenizer.BPETokenizer(merges=[(97, 98), (97, 98), (256, 97)])
    assert tok.vocab_size == 262, "vocab_size counts every merge, repeated ones included"
    assert merges_of(tok) == [(97, 98), (97, 98), (256, 97)], "merges, as given"
    assert tok.encode("abab") == [259, 259], "encode('abab'): merge 0 (id 259) wins over its repeat"
    assert tok.id_to_bytes(260) == b"ab", "id_to_bytes(260) of the repeated merge"
    assert tok.decode([260, 261]) == "ab<pad>a", "decode([260, 261])"


# --- properties on a tokenizer trained on generated text ---------------------------------------

FRAGMENTS = ["a", "b", "ab", "ba", "aab", " ", "the ", "é", "€", "😀", "日本", "\n", "<", ">", "\x00"]
PLAIN = st.characters(codec="utf-8")  # every code point except the lone surrogates


Training = named("text", "vocab_size", name="Training")  # named in a failing example


@st.composite
def trained(draw):
    """(training text, vocab_size): repeated fragments (so merges happen) with specials among them."""
    parts = draw(st.lists(st.sampled_from(FRAGMENTS + ["<eos>", "<pad>"]), min_size=1, max_size=40))
    text = "".join(parts)[:200]
    return Training(text, draw(st.integers(259, 320)))


def texts(with_specials: bool):
    """Strings to encode: fragments, arbitrary characters and (optionally) special-token strings."""
    pieces = [st.sampled_from(FRAGMENTS), st.text(PLAIN, max_size=4)]
    if with_specials:
        pieces.append(st.sampled_from(SPECIALS))
    strings = st.lists(st.one_of(*pieces), max_size=12).map("".join)
    return strings if with_specials else strings.filter(lambda s: not any(x in s for x in SPECIALS))


@pytest.mark.exercise("tokenizer", weight=2)
@settings(max_examples=15)
@given(data=trained(), s=texts(with_specials=True))
def test_tokenizer_roundtrip_property(student, data, s):
    """decode(encode(s)) == s for any string, special-token strings included (trained tokenizer)"""
    text, vocab_size = data
    tok = student.tokenizer.BPETokenizer.train(text, vocab_size)
    ids = tok.encode(s)
    assert tok.decode(ids) == s, f"decode(encode(s)) != s; encode(s) = {ids}"


@pytest.mark.exercise("tokenizer", weight=1)
@settings(max_examples=15)
@given(data=trained(), s=texts(with_specials=True))
def test_tokenizer_reencode_property(student, data, s):
    """encode(decode(encode(s))) == encode(s) (trained tokenizer)"""
    text, vocab_size = data
    tok = student.tokenizer.BPETokenizer.train(text, vocab_size)
    ids = tok.encode(s)
    again = tok.encode(tok.decode(ids))
    assert again == ids, f"encode(s) = {ids}, but encode(decode(encode(s))) = {again}"


@pytest.mark.exercise("tokenizer", weight=1)
@settings(max_examples=15)
@given(data=trained(), s=texts(with_specials=False))
def test_tokenizer_length_property(student, data, s):
    """encode(s) has at most one id per UTF-8 byte of s (s without specials), all below vocab_size"""
    text, vocab_size = data
    tok = student.tokenizer.BPETokenizer.train(text, vocab_size)
    ids = tok.encode(s)
    assert len(ids) <= len(s.encode("utf-8")), f"{len(ids)} ids for {len(s.encode('utf-8'))} bytes: {ids}"
    assert all(0 <= i < vocab_size for i in ids), f"ids outside 0..vocab_size-1: {ids}"

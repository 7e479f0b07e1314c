"""Byte-level BPE tokenizer with special tokens.

You write one class, `BPETokenizer`. It turns text into token ids and back, learns its merges from
text (`train`), and pads a batch of id lists into tensors for a model.

Token ids are laid out like this:

    0 .. 255                      the 256 single bytes (any text is UTF-8 bytes, so nothing is unknown)
    256 .. 256 + S - 1            the S special tokens, in the order given ("<pad>", "<bos>", "<eos>")
    256 + S + m                   merge number m: the two tokens of merges[m] written as one

A special token is atomic: wherever its string appears in the text it becomes its own id, and it
never takes part in a merge during `train` or `encode`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
import operator
import re

import torch


class BPETokenizer:
    """A byte-level BPE tokenizer with special tokens.

    Attributes (set by the constructor):
        merges: the merges as a list of `(left_id, right_id)` tuples of ints, in merge order.
        special_tokens: a dict from each special string to its id (256, 257, ... in the order given).
        vocab_size: the number of ids, 256 + number of specials + number of merges.
        pad_id, bos_id, eos_id: the ids of "<pad>", "<bos>", "<eos>", or None when that string is
            not among the special tokens.

    Example (default specials, so the first merge gets id 259):
        tok = BPETokenizer(merges=[(97, 97)])
        tok.encode("aaab") -> [259, 97, 98]
        tok.decode([259, 97, 98]) -> "aaab"
    """

    merges: list[tuple[int, int]]
    special_tokens: dict[str, int]
    vocab_size: int
    pad_id: int | None
    bos_id: int | None
    eos_id: int | None

    def __init__(
        self,
        merges: Iterable[tuple[int, int]] = (),
        special_tokens: Sequence[str] = ("<pad>", "<bos>", "<eos>"),
    ) -> None:
        """Build a tokenizer from its merges and special tokens.

        Args:
            merges: a sequence of `(left_id, right_id)` pairs. Merge m gets id 256 + S + m (S = number
                of special tokens). Each pair may name byte ids, special ids or the ids of earlier
                merges. The same pair may appear twice: only its first occurrence is ever applied.
            special_tokens: the special strings, in id order.

        Raises:
            ValueError: a merge names an id that does not exist yet when the merge is reached
                (a negative id, its own id or a later one), or a special token is empty or repeated.

        Example:
            BPETokenizer([(97, 98), (259, 99)]).merges -> [(97, 98), (259, 99)]   # ids 259, 260
            BPETokenizer([(97, 259)])  -> ValueError (id 259 is merge 0 itself)
        """
        raise NotImplementedError("tokenizer: not implemented yet")


    @classmethod
    def train(
        cls,
        text: str,
        vocab_size: int,
        special_tokens: Sequence[str] = ("<pad>", "<bos>", "<eos>"),
    ) -> BPETokenizer:
        """Learn merges from text until the vocabulary has vocab_size ids; return the tokenizer.

        1. Cut `text` at every special-token string, found as `encode` finds them; drop the specials.
           Each remaining piece becomes its UTF-8 byte ids. No pair ever spans two pieces.
        2. While the vocabulary is smaller than `vocab_size`: count every adjacent pair of ids in every
           piece, overlapping occurrences included ("aaa" holds (97, 97) twice). Take the pair with the
           highest count; on a tie, the smallest `(left_id, right_id)`. Stop early if its count is
           below 2. Otherwise record it as the next merge and replace its occurrences in every piece,
           left to right and without overlap, by the new id.

        Args:
            text: the training text.
            vocab_size: the vocabulary size to reach (fewer ids if the text runs out of repeated pairs).
            special_tokens: the special strings, as for the constructor.

        Returns:
            a `BPETokenizer` with the learned merges and these special tokens.

        Raises:
            ValueError: `vocab_size` is below 256 + number of special tokens, or the specials are
                invalid (as for the constructor).

        Example:
            BPETokenizer.train("aaa", 1000, special_tokens=()).merges -> [(97, 97)]
        """
        raise NotImplementedError("tokenizer: not implemented yet")

    def id_to_bytes(self, token_id: int) -> bytes:
        """The bytes a token stands for; a special token gives its string's UTF-8 bytes.

        Raises:
            ValueError: no token has this id.

        Example (default specials): id_to_bytes(97) -> b"a", id_to_bytes(258) -> b"<eos>"
        """
        raise NotImplementedError("tokenizer: not implemented yet")

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Turn text into token ids.

        Every occurrence of a special-token string becomes that token's id (scanning left to right;
        where two specials start at the same place, the longer one wins). Every other stretch of
        text becomes its UTF-8 byte ids, then: repeatedly, among the adjacent pairs present, take
        the one whose merge comes earliest in `merges` and replace all its occurrences, left to
        right and without overlap, by that merge's id; stop when no adjacent pair is a merge.

        Args:
            text: any string UTF-8 can encode.
            add_bos: put `bos_id` first.
            add_eos: put `eos_id` last.

        Raises:
            ValueError: `add_bos` / `add_eos` is set but "<bos>" / "<eos>" is not a special token.

        Example (merges [(97, 97)], default specials):
            encode("aaab") -> [259, 97, 98]
            encode("a<eos>", add_bos=True) -> [257, 97, 258]
        """
        raise NotImplementedError("tokenizer: not implemented yet")

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        """Turn token ids back into text.

        The ids' bytes are joined (a special token as its string, or left out when
        `skip_special_tokens`) and decoded as UTF-8 with errors="replace", so ids that split a
        character give U+FFFD instead of an error.

        Raises:
            ValueError: an id that no token has.

        Example: decode([104, 105]) -> "hi", decode([226, 130]) -> "\\ufffd"
        """
        raise NotImplementedError("tokenizer: not implemented yet")

    def pad_batch(
        self, sequences: Sequence[Sequence[int]], max_len: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-pad lists of ids with `pad_id` into one tensor.

        Args:
            sequences: B lists of token ids.
            max_len: the length T to pad to; None means the longest sequence's length.

        Returns:
            (ids, attention_mask): a torch.long tensor (B, T) and a torch.bool tensor (B, T) that is
            True at real tokens and False at padding.

        Raises:
            ValueError: `sequences` is empty, a sequence is longer than `max_len`, or "<pad>" is not
                a special token.

        Example (pad_id 256): pad_batch([[5, 6], [7]]) -> (tensor([[5, 6], [7, 256]]),
                                                          tensor([[True, True], [True, False]]))
        """
        raise NotImplementedError("tokenizer: not implemented yet")

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
    def __init__(self, merges=(), special_tokens=("<pad>", "<bos>", "<eos>")):
        specials = tuple(special_tokens)
        if len(set(specials)) != len(specials) or any(s == "" for s in specials):
            raise ValueError("special tokens must be distinct and non-empty")
        self.special_tokens = {}
        for s in specials:
            self.special_tokens[s] = 256 + len(self.special_tokens)
        self.pad_id = self.special_tokens.get("<pad>")
        self.bos_id = self.special_tokens.get("<bos>")
        self.eos_id = self.special_tokens.get("<eos>")
        self.vocab = {i: bytes([i]) for i in range(256)}
        for s, i in self.special_tokens.items():
            self.vocab[i] = s.encode("utf-8")
        self.merges = []
        for a, b in merges:
            a, b = int(a), int(b)
            if a not in self.vocab or b not in self.vocab:
                raise ValueError(f"merge {(a, b)} names an id that is not defined yet")
            self.vocab[len(self.vocab)] = self.vocab[a] + self.vocab[b]
            self.merges.append((a, b))
        self.vocab_size = len(self.vocab)

    def _pieces(self, text):
        """[(str, None) or (special, id)], scanning left to right, longest special first."""
        order = sorted(self.special_tokens, key=len, reverse=True)
        out, buf, i = [], "", 0
        while i < len(text):
            hit = next((s for s in order if text.startswith(s, i)), None)
            if hit is None:
                buf += text[i]
                i += 1
                continue
            if buf:
                out.append((buf, None))
                buf = ""
            out.append((hit, self.special_tokens[hit]))
            i += len(hit)
        if buf:
            out.append((buf, None))
        return out

    @staticmethod
    def _replace(ids, pair, new):
        out, i = [], 0
        while i < len(ids):
            if i < len(ids) - 1 and ids[i] == pair[0] and ids[i + 1] == pair[1]:
                out.append(new)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        return out

    @classmethod
    def train(cls, text, vocab_size, special_tokens=("<pad>", "<bos>", "<eos>")):
        tok = cls(special_tokens=special_tokens)
        if vocab_size < tok.vocab_size:
            raise ValueError("vocab_size is smaller than the bytes and specials")
        pieces = [list(s.encode("utf-8")) for s, sid in tok._pieces(text) if sid is None]
        merges = []
        while tok.vocab_size + len(merges) < vocab_size:
            counts = {}
            for p in pieces:
                for pair in zip(p, p[1:]):
                    counts[pair] = counts.get(pair, 0) + 1
            if not counts:
                break
            best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            if best[1] < 2:
                break
            new = tok.vocab_size + len(merges)
            pieces = [cls._replace(p, best[0], new) for p in pieces]
            merges.append(best[0])
        return cls(merges, special_tokens)

    def id_to_bytes(self, token_id):
        if token_id not in self.vocab:
            raise ValueError(f"unknown id {token_id}")
        return self.vocab[token_id]

    def encode(self, text, add_bos=False, add_eos=False):
        if add_bos and self.bos_id is None:
            raise ValueError("no <bos>")
        if add_eos and self.eos_id is None:
            raise ValueError("no <eos>")
        out = [self.bos_id] if add_bos else []
        base = 256 + len(self.special_tokens)
        for s, sid in self._pieces(text):
            if sid is not None:
                out.append(sid)
                continue
            ids = list(s.encode("utf-8"))
            for m, pair in enumerate(self.merges):
                ids = self._replace(ids, pair, base + m)
            out += ids
        return out + ([self.eos_id] if add_eos else [])

    def decode(self, ids, skip_special_tokens=False):
        specials = set(self.special_tokens.values())
        buf = bytearray()
        for i in ids:
            if i not in self.vocab:
                raise ValueError(f"unknown id {i}")
            if skip_special_tokens and i in specials:
                continue
            buf += self.vocab[i]
        return buf.decode("utf-8", "replace")

    def pad_batch(self, sequences, max_len=None):
        if self.pad_id is None:
            raise ValueError("no <pad>")
        if len(sequences) == 0:
            raise ValueError("empty batch")
        T = max_len if max_len is not None else max(len(s) for s in sequences)
        if any(len(s) > T for s in sequences):
            raise ValueError("a sequence is longer than max_len")
        rows = [torch.tensor(list(s), dtype=torch.long) for s in sequences]
        rows.append(torch.zeros(T, dtype=torch.long))  # a row of length T sets the width
        ids = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=self.pad_id)[:-1]
        lengths = torch.tensor([len(s) for s in sequences])
        mask = torch.arange(T)[None, :] < lengths[:, None]
        ids = ids.masked_fill(~mask, self.pad_id)
        return ids, mask

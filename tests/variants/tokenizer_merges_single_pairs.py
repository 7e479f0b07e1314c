"""Training keeps merging pairs that occur only once instead of stopping below 2."""
VARIANT = {'module': 'tokenizer', 'breaks': ['tokenizer'], 'misconception': 'tokenizer.merges_single_pairs'}
# The class is the reference's with the change above; it is spliced into the reference's
# tokenizer.py (whose imports it uses: no imports here, they would land above its
# `from __future__` line).


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
        specials = list(special_tokens)
        for i, s in enumerate(specials):
            if not isinstance(s, str) or not s:
                raise ValueError(f"special token {i} is {s!r}; each special token must be a non-empty string")
            if s in specials[:i]:
                raise ValueError(f"special token {s!r} appears twice in {specials!r}; give each one once")
        self.special_tokens = {s: 256 + i for i, s in enumerate(specials)}
        self._special_ids = set(self.special_tokens.values())
        self._vocab = [bytes([b]) for b in range(256)] + [s.encode("utf-8") for s in specials]  # id -> bytes
        self._ranks = {}  # pair -> id of its first merge (a lower id is an earlier merge)
        self.merges = []
        for m, pair in enumerate(merges):
            try:
                left, right = (operator.index(x) for x in pair)
            except (TypeError, ValueError):
                raise ValueError(f"merge {m} is {pair!r}; each merge must be a pair of int ids") from None
            new_id = len(self._vocab)
            for x in (left, right):
                if not 0 <= x < new_id:
                    raise ValueError(
                        f"merge {m} {(left, right)} names id {x}, but only ids 0..{new_id - 1} exist when it "
                        f"is reached (it gets id {new_id}); a merge may only use bytes, specials or earlier merges"
                    )
            self.merges.append((left, right))
            self._ranks.setdefault((left, right), new_id)
            self._vocab.append(self._vocab[left] + self._vocab[right])
        self.vocab_size = len(self._vocab)
        self.pad_id = self.special_tokens.get("<pad>")
        self.bos_id = self.special_tokens.get("<bos>")
        self.eos_id = self.special_tokens.get("<eos>")
        # Longest first, so that where two specials start at the same place the longer one matches.
        by_length = sorted(specials, key=len, reverse=True)
        self._special_re = re.compile("|".join(map(re.escape, by_length))) if specials else None

    def _split(self, text: str) -> list[tuple[str, int | None]]:
        """Cut text into (stretch, None) and (special, special_id) parts, left to right.

        _split("a<eos>b") -> [("a", None), ("<eos>", 258), ("b", None)]
        """
        if self._special_re is None:
            return [(text, None)] if text else []
        parts, start = [], 0
        for match in self._special_re.finditer(text):
            if match.start() > start:
                parts.append((text[start : match.start()], None))
            parts.append((match.group(), self.special_tokens[match.group()]))
            start = match.end()
        if start < len(text):
            parts.append((text[start:], None))
        return parts

    @staticmethod
    def _merge_pair(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
        """Replace the occurrences of pair left to right, without overlap.

        _merge_pair([97, 97, 97, 98], (97, 97), 300) -> [300, 97, 98]
        """
        out, i = [], 0
        while i < len(ids):
            if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
                out.append(new_id)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        return out

    @staticmethod
    def _pair_counts(ids: list[int]) -> Counter:
        """Count adjacent pairs, overlapping ones included: _pair_counts([97, 97, 97]) -> {(97, 97): 2}."""
        return Counter(zip(ids, ids[1:]))

    def _lookup(self, token_id: int) -> int:
        """The token id as an int, or ValueError when no token has it."""
        try:
            i = operator.index(token_id)
        except TypeError:
            i = None
        if i is None or not 0 <= i < self.vocab_size:
            raise ValueError(f"unknown token id {token_id!r}: this tokenizer's ids are 0..{self.vocab_size - 1}")
        return i


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
        base = cls(special_tokens=special_tokens)
        if vocab_size < base.vocab_size:
            raise ValueError(
                f"vocab_size={vocab_size} is below the {base.vocab_size} ids that 256 bytes and "
                f"{len(base.special_tokens)} special tokens already take; ask for at least {base.vocab_size}"
            )
        # Identical pieces are worked on once, weighted by how often they occur.
        weights = Counter(stretch.encode("utf-8") for stretch, sid in base._split(text) if sid is None)
        pieces = [[list(raw), n, cls._pair_counts(list(raw))] for raw, n in weights.items()]
        stats = Counter()  # pair -> count over all pieces
        for _, n, counts in pieces:
            for pair, c in counts.items():
                stats[pair] += n * c
        merges = []
        while base.vocab_size + len(merges) < vocab_size and stats:
            pair = min(stats, key=lambda p: (-stats[p], p))
            if stats[pair] < 1:
                break
            new_id = base.vocab_size + len(merges)
            for piece in pieces:
                ids, n, counts = piece
                if pair not in counts:
                    continue
                ids = cls._merge_pair(ids, pair, new_id)
                new_counts = cls._pair_counts(ids)
                for p, c in counts.items():
                    stats[p] -= n * c
                for p, c in new_counts.items():
                    stats[p] += n * c
                for p in counts:
                    if stats[p] <= 0:
                        del stats[p]
                piece[0], piece[2] = ids, new_counts
            merges.append(pair)
        return cls(merges, special_tokens)

    def id_to_bytes(self, token_id: int) -> bytes:
        """The bytes a token stands for; a special token gives its string's UTF-8 bytes.

        Raises:
            ValueError: no token has this id.

        Example (default specials): id_to_bytes(97) -> b"a", id_to_bytes(258) -> b"<eos>"
        """
        return self._vocab[self._lookup(token_id)]

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
        for flag, name, token in ((add_bos, "add_bos", "<bos>"), (add_eos, "add_eos", "<eos>")):
            if flag and token not in self.special_tokens:
                raise ValueError(f"{name}=True, but {token!r} is not a special token of this tokenizer "
                                 f"(its specials are {list(self.special_tokens)})")
        ids = [self.bos_id] if add_bos else []
        for stretch, special_id in self._split(text):
            if special_id is not None:
                ids.append(special_id)
                continue
            part = list(stretch.encode("utf-8"))
            while len(part) >= 2:
                pair = min(set(zip(part, part[1:])), key=lambda p: self._ranks.get(p, float("inf")))
                if pair not in self._ranks:
                    break
                part = self._merge_pair(part, pair, self._ranks[pair])
            ids.extend(part)
        if add_eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        """Turn token ids back into text.

        The ids' bytes are joined (a special token as its string, or left out when
        `skip_special_tokens`) and decoded as UTF-8 with errors="replace", so ids that split a
        character give U+FFFD instead of an error.

        Raises:
            ValueError: an id that no token has.

        Example: decode([104, 105]) -> "hi", decode([226, 130]) -> "\\ufffd"
        """
        parts = []
        for token_id in ids:
            i = self._lookup(token_id)
            if not (skip_special_tokens and i in self._special_ids):
                parts.append(self._vocab[i])
        return b"".join(parts).decode("utf-8", errors="replace")

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
        if self.pad_id is None:
            raise ValueError(f"pad_batch needs a '<pad>' special token; this tokenizer's specials are "
                             f"{list(self.special_tokens)}")
        seqs = [list(seq) for seq in sequences]
        if not seqs:
            raise ValueError("pad_batch got an empty batch; pass at least one sequence")
        T = max(map(len, seqs)) if max_len is None else max_len
        for b, seq in enumerate(seqs):
            if len(seq) > T:
                raise ValueError(f"sequence {b} has {len(seq)} ids, more than max_len={max_len}")
        ids = torch.full((len(seqs), T), self.pad_id, dtype=torch.long)  # (B, T)
        mask = torch.zeros(len(seqs), T, dtype=torch.bool)  # (B, T)
        for b, seq in enumerate(seqs):
            ids[b, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[b, : len(seq)] = True
        return ids, mask

"""A correct tokenizer written differently: re.split with a capturing group for the specials,
training that merges one piece at a time from a sorted candidate list, encode that scans positions
for the lowest-rank pair, and padding built from Python lists."""
VARIANT = {"module": "tokenizer", "breaks": []}
# Spliced into the reference's tokenizer.py: it uses that module's imports (re, torch);
# no imports here, they would land above its `from __future__` line.


class BPETokenizer:
    def __init__(self, merges=(), special_tokens=("<pad>", "<bos>", "<eos>")):
        seen = set()
        for s in special_tokens:
            if not s or s in seen:
                raise ValueError(f"bad special token {s!r}")
            seen.add(s)
        self.special_tokens = {s: 256 + k for k, s in enumerate(special_tokens)}
        self.pad_id = self.special_tokens.get("<pad>", None)
        self.bos_id = self.special_tokens.get("<bos>", None)
        self.eos_id = self.special_tokens.get("<eos>", None)
        table = [bytes([b]) for b in range(256)] + [s.encode() for s in special_tokens]
        self.merges, self.rank = [], {}
        for left, right in merges:
            n = len(table)
            if min(left, right) < 0 or max(left, right) >= n:
                raise ValueError(f"merge ({left}, {right}) uses an undefined id (next id is {n})")
            self.merges.append((int(left), int(right)))
            if (left, right) not in self.rank:
                self.rank[(left, right)] = n
            table.append(table[left] + table[right])
        self.table = table
        self.vocab_size = len(table)
        names = sorted(self.special_tokens, key=lambda s: -len(s))
        self.pattern = re.compile("(" + "|".join(re.escape(s) for s in names) + ")") if names else None

    def _chunks(self, text):
        if self.pattern is None:
            return [text]
        return [c for c in self.pattern.split(text) if c != ""]

    @classmethod
    def train(cls, text, vocab_size, special_tokens=("<pad>", "<bos>", "<eos>")):
        empty = cls(special_tokens=special_tokens)
        start = empty.vocab_size
        if vocab_size < start:
            raise ValueError(f"vocab_size must be at least {start}")
        seqs = [list(c.encode()) for c in empty._chunks(text) if c not in empty.special_tokens]
        merges = []
        while start + len(merges) < vocab_size:
            counter = {}
            for seq in seqs:
                for k in range(len(seq) - 1):
                    counter[seq[k], seq[k + 1]] = counter.get((seq[k], seq[k + 1]), 0) + 1
            candidates = sorted(counter, key=lambda p: (-counter[p], p[0], p[1]))
            if not candidates or counter[candidates[0]] < 2:
                break
            pair, new = candidates[0], start + len(merges)
            for j, seq in enumerate(seqs):
                k, out = 0, []
                while k < len(seq):
                    if seq[k : k + 2] == list(pair):
                        out.append(new)
                        k += 2
                    else:
                        out.append(seq[k])
                        k += 1
                seqs[j] = out
            merges.append(pair)
        return cls(merges=merges, special_tokens=special_tokens)

    def id_to_bytes(self, token_id):
        if not isinstance(token_id, int) or token_id < 0 or token_id >= len(self.table):
            raise ValueError(f"no token has id {token_id}")
        return self.table[token_id]

    def encode(self, text, add_bos=False, add_eos=False):
        if (add_bos and self.bos_id is None) or (add_eos and self.eos_id is None):
            raise ValueError("the requested <bos>/<eos> token does not exist")
        result = []
        for chunk in self._chunks(text):
            if chunk in self.special_tokens:
                result.append(self.special_tokens[chunk])
                continue
            seq = list(chunk.encode())
            while True:
                best = None
                for k in range(len(seq) - 1):
                    r = self.rank.get((seq[k], seq[k + 1]))
                    if r is not None and (best is None or r < best):
                        best = r
                if best is None:
                    break
                pair, k, out = self.merges[best - 256 - len(self.special_tokens)], 0, []
                while k < len(seq):
                    if k + 1 < len(seq) and (seq[k], seq[k + 1]) == pair:
                        out.append(best)
                        k += 2
                    else:
                        out.append(seq[k])
                        k += 1
                seq = out
            result.extend(seq)
        if add_bos:
            result = [self.bos_id] + result
        if add_eos:
            result = result + [self.eos_id]
        return result

    def decode(self, ids, skip_special_tokens=False):
        specials = set(self.special_tokens.values())
        chunks = [self.id_to_bytes(i) for i in ids]
        if skip_special_tokens:
            chunks = [c for i, c in zip(ids, chunks) if i not in specials]
        return b"".join(chunks).decode("utf-8", errors="replace")

    def pad_batch(self, sequences, max_len=None):
        sequences = [list(s) for s in sequences]
        if not sequences or self.pad_id is None:
            raise ValueError("need a non-empty batch and a <pad> token")
        width = max(len(s) for s in sequences) if max_len is None else max_len
        if max(len(s) for s in sequences) > width:
            raise ValueError(f"a sequence is longer than max_len={max_len}")
        ids = [s + [self.pad_id] * (width - len(s)) for s in sequences]
        mask = [[True] * len(s) + [False] * (width - len(s)) for s in sequences]
        shape = (len(ids), width)
        ids = torch.tensor(ids, dtype=torch.long).reshape(shape)
        return ids, torch.tensor(mask, dtype=torch.bool).reshape(shape)

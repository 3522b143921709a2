"""A small CLIP-style byte-level BPE: learned from the caption corpus, written as tokenizer.json.

The file follows openai/clip-vit-base-patch32's tokenizer.json: NFC + whitespace-collapse +
lowercase normalizer, CLIP's Split regex then ByteLevel pre-tokenizer, BPE with the "</w>"
end-of-word suffix, RobertaProcessing adding <|startoftext|> ... <|endoftext|>, padding and
truncation fixed at 77 with <|endoftext|> as the pad token. Vocabulary order mirrors CLIP: the 256
byte characters, the same with "</w>", then merges, then the two special tokens (so EOS has the
largest id). encode() below is the Python reference the TypeScript tests compare ids against.
"""

import re
import unicodedata

CONTEXT_LENGTH = 77
BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
SUFFIX = "</w>"
# CLIP's pre-tokenizer regex, as written in tokenizer.json (Oniguruma / JS `u` syntax).
SPLIT_REGEX = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
# The same with Python `re` classes ([^\W\d_] = letters, \d = digits): identical on ASCII text.
_PY_SPLIT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+""")


def bytes_to_unicode():
    """GPT-2 / CLIP byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_CHARS = bytes_to_unicode()


def normalize(text):
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).lower()


def pre_tokenize(text):
    return ["".join(BYTE_CHARS[b] for b in piece.encode("utf-8")) for piece in _PY_SPLIT.findall(text)]


def _word_symbols(word):
    symbols = list(word)
    symbols[-1] += SUFFIX
    return symbols


def _merge_pair(symbols, pair):
    """symbols with every left-to-right occurrence of pair joined into one symbol."""
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def learn_merges(corpus, max_merges):
    """Greedy BPE on word counts; ties broken by the pair's text so the result is deterministic."""
    counts = {}
    for text in corpus:
        for word in pre_tokenize(normalize(text)):
            counts[word] = counts.get(word, 0) + 1
    words = {w: _word_symbols(w) for w in counts}
    merges = []
    while len(merges) < max_merges:
        pairs = {}
        for w, symbols in words.items():
            for a, b in zip(symbols, symbols[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + counts[w]
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        for w, symbols in words.items():
            words[w] = _merge_pair(symbols, best)
    return merges


class ClipBpeTokenizer:
    def __init__(self, merges):
        base = list(BYTE_CHARS.values())
        vocab = base + [c + SUFFIX for c in base] + ["".join(m) for m in merges]
        self.vocab = {token: i for i, token in enumerate(vocab)}
        self.bos_id = len(vocab)
        self.eos_id = len(vocab) + 1
        self.merges = merges
        self.ranks = {m: i for i, m in enumerate(merges)}

    @property
    def vocab_size(self):
        return self.eos_id + 1

    def _bpe(self, word):
        symbols = _word_symbols(word)
        while len(symbols) > 1:
            ranked = [(self.ranks.get(p, 1 << 30), i) for i, p in enumerate(zip(symbols, symbols[1:]))]
            rank, _ = min(ranked)
            if rank == 1 << 30:
                break
            symbols = _merge_pair(symbols, self.merges[rank])
        return symbols

    def encode(self, text, pad=True):
        """-> (input_ids, attention_mask), truncated (keeping EOS) and padded to 77 like CLIP."""
        ids = [self.vocab[s] for word in pre_tokenize(normalize(text)) for s in self._bpe(word)]
        ids = [self.bos_id] + ids[: CONTEXT_LENGTH - 2] + [self.eos_id]
        mask = [1] * len(ids)
        if pad:
            padding = CONTEXT_LENGTH - len(ids)
            ids, mask = ids + [self.eos_id] * padding, mask + [0] * padding
        return ids, mask

    def tokenizer_json(self):
        special = [
            {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, c in ((self.bos_id, BOS), (self.eos_id, EOS))
        ]
        vocab = dict(self.vocab)
        vocab[BOS], vocab[EOS] = self.bos_id, self.eos_id
        return {
            "version": "1.0",
            "truncation": {"direction": "Right", "max_length": CONTEXT_LENGTH, "strategy": "LongestFirst", "stride": 0},
            "padding": {"strategy": {"Fixed": CONTEXT_LENGTH}, "direction": "Right", "pad_to_multiple_of": None,
                        "pad_id": self.eos_id, "pad_type_id": 0, "pad_token": EOS},
            "added_tokens": special,
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "NFC"},
                {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
                {"type": "Lowercase"},
            ]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": SPLIT_REGEX}, "behavior": "Removed", "invert": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
            ]},
            "post_processor": {"type": "RobertaProcessing", "sep": [EOS, self.eos_id], "cls": [BOS, self.bos_id],
                               "trim_offsets": False, "add_prefix_space": False},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": EOS, "continuing_subword_prefix": "",
                      "end_of_word_suffix": SUFFIX, "fuse_unk": False, "byte_fallback": False,
                      "ignore_merges": False, "vocab": vocab, "merges": [f"{a} {b}" for a, b in self.merges]},
        }

    def tokenizer_config_json(self):
        return {
            "add_prefix_space": False,
            "bos_token": BOS,
            "clean_up_tokenization_spaces": True,
            "do_lower_case": True,
            "eos_token": EOS,
            "errors": "replace",
            "model_max_length": CONTEXT_LENGTH,
            "pad_token": EOS,
            "tokenizer_class": "CLIPTokenizer",
            "unk_token": EOS,
        }

    @staticmethod
    def special_tokens_map_json():
        return {"bos_token": BOS, "eos_token": EOS, "pad_token": EOS, "unk_token": EOS}

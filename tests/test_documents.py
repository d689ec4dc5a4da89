"""Tests for coursekit.documents: deterministic documents whose label follows the key sentence."""

import hashlib

import pytest
import torch

from coursekit.data import BatchSampler, Vocab
from coursekit.documents import (
    ASPECT_WORDS,
    KEY_MARKER,
    NEGATIVE_WORDS,
    NEGATOR,
    NEUTRAL_WORDS,
    POSITIVE_WORDS,
    DocBatch,
    encode_documents,
    label_of,
    sentiment_documents,
    vote_accuracy,
)

SENTIMENT = {*POSITIVE_WORDS, *NEGATIVE_WORDS}


def test_same_seed_same_documents_other_seed_other_documents():
    a, b, c = (sentiment_documents(50, seed=s) for s in (3, 3, 4))
    assert a.docs == b.docs
    assert a.docs != c.docs
    assert torch.equal(a.batch().ids, b.batch().ids)


def test_label_follows_the_key_sentence_and_negation_flips_it():
    assert label_of(["the", "film", "was", "good"]) == 1
    assert label_of(["the", "film", "was", NEGATOR, "good"]) == 0
    assert label_of([NEGATOR, "awful", "and", "dull", "and", "good"]) == 1  # +1 -1 +1: majority positive
    assert label_of(["bad", "good"]) is None and label_of(["the", "plot"]) is None
    data = sentiment_documents(300, key_words=(1, 3), negation=0.5, seed=0)
    negated = 0
    for doc in data:
        key = doc.sentences[doc.key_sentence]
        assert label_of(key) == doc.label
        negated += NEGATOR in key
        for i, sentence in enumerate(doc.sentences):
            if i != doc.key_sentence:  # distractors: neutral words only
                assert set(sentence) <= set(NEUTRAL_WORDS)
                assert label_of(sentence) is None
        keys = [key[p] for p in doc.key_positions]
        assert keys and set(keys) <= {NEGATOR, *POSITIVE_WORDS, *NEGATIVE_WORDS}
        assert sum(w in POSITIVE_WORDS or w in NEGATIVE_WORDS for w in key) == sum(w != NEGATOR for w in keys)
    assert negated > 50  # negation really occurs
    labels = [d.label for d in data]
    assert sum(labels) == len(labels) // 2  # balanced


def test_key_sentence_position_is_spread_and_sizes_follow_the_ranges():
    data = sentiment_documents(400, sentences=(3, 6), words=(2, 5), seed=1)
    assert {len(d.sentences) for d in data} == {3, 4, 5, 6}
    assert {d.key_sentence for d in data} == set(range(6))
    assert all(2 <= len(s) <= 5 for d in data for i, s in enumerate(d.sentences) if i != d.key_sentence)


def test_batch_layout_masks_and_key_words():
    data = sentiment_documents(8, sentences=(2, 5), seed=2)
    batch = data.batch()
    B, N, L = batch.ids.shape
    assert (B, N) == (8, max(len(d.sentences) for d in data))
    assert batch.ids.dtype == torch.long and batch.key_words.dtype == torch.bool
    for b, doc in enumerate(data):
        assert batch.sentence_mask[b].tolist() == [i < len(doc.sentences) for i in range(N)]
        for n, sentence in enumerate(doc.sentences):
            assert data.vocab.decode(batch.ids[b, n]) == list(sentence)
            assert batch.word_mask[b, n].sum() == len(sentence)
        marked = batch.key_words[b].nonzero().tolist()
        assert marked == [[doc.key_sentence, p] for p in doc.key_positions]
    assert torch.equal(batch.labels, torch.tensor([d.label for d in data]))
    assert torch.equal(batch.key_sentence, torch.tensor([d.key_sentence for d in data]))
    moved = batch.to("cpu")
    assert isinstance(moved, DocBatch) and len(moved) == 8


def test_batch_sampler_gives_the_same_batch_for_the_same_step():
    data = sentiment_documents(40, seed=0)
    s1, s2 = BatchSampler(data, 8, seed=5), BatchSampler(data, 8, seed=5)
    for step in (0, 7, 3):
        assert torch.equal(s1(step).ids, s2(step).ids)
    assert not torch.equal(s1(0).ids, s1(1).ids)


def test_encode_documents_pads_and_maps_unknown_words():
    vocab = Vocab(["a", "b"])
    ids, lengths = encode_documents([[["a", "b", "a"]], [["b"], ["zzz", "a"]]], vocab)
    assert ids.shape == (2, 2, 3)
    assert lengths.tolist() == [[3, 0], [1, 2]]
    assert ids[1, 1, 0] == Vocab.unk_id and ids[0, 1].tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    "kwargs, phrase",
    [
        (dict(n=0), "n must be a positive int"),
        (dict(n=5, sentences=(3, 2)), "sentences must be a tuple (lo, hi)"),
        (dict(n=5, words=(0, 4)), "words must be a tuple (lo, hi)"),
        (dict(n=5, key_words=(2,)), "key_words must list odd positive ints"),
        (dict(n=5, negation=1.5), "negation must be a probability"),
        (dict(n=5, distractors="noisy"), "distractors must be one of"),
    ],
)
def test_bad_settings_raise_value_error(kwargs, phrase):
    with pytest.raises(ValueError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        sentiment_documents(**kwargs)


def test_bad_documents_raise_value_error():
    vocab = Vocab(["a"])
    with pytest.raises(ValueError, match="non-empty list of documents"):
        encode_documents([], vocab)
    with pytest.raises(ValueError, match="at least one word"):
        encode_documents([[["a"], []]], vocab)
    with pytest.raises(ValueError, match="empty selection"):
        sentiment_documents(4).batch([])


def test_default_documents_are_unchanged_by_the_misleading_option():
    """Pinned: the neutral-distractor documents every chapter result was measured on."""
    data = sentiment_documents(200, seed=0)
    text = "\n".join(f"{d.text}|{d.label}|{d.key_sentence}|{d.key_positions}" for d in data)
    assert hashlib.sha256(text.encode()).hexdigest() == "e2e1a52d86469a45ba0a96f64d7f553fd613206e6e282b1b5db62a9a47b75019"
    assert data.docs == sentiment_documents(200, seed=0, distractors="neutral").docs
    assert len(data.vocab) == 71 and KEY_MARKER not in data.vocab and not any(w in data.vocab for w in ASPECT_WORDS)
    assert vote_accuracy(data) == 1.0  # with neutral distractors, counting sentiment words is enough


def test_misleading_documents_are_deterministic():
    a, b, c = (sentiment_documents(40, distractors="misleading", seed=s) for s in (5, 5, 6))
    assert a.docs == b.docs and a.docs != c.docs
    assert torch.equal(a.batch().ids, b.batch().ids)
    assert KEY_MARKER in a.vocab and all(w in a.vocab for w in ASPECT_WORDS)
    assert Vocab.unk_id not in a.batch().ids  # every word is in the vocabulary


def test_misleading_label_follows_the_key_sentence_and_distractors_carry_sentiment():
    data = sentiment_documents(400, sentences=(4, 8), negation=0.5, distractors="misleading", seed=0)
    negated = agree = distractors = 0
    for doc in data:
        key = doc.sentences[doc.key_sentence]
        assert key[0] == KEY_MARKER and not set(key) & set(ASPECT_WORDS)
        assert label_of(key) == doc.label  # negation flips: label_of reads "not good" as negative
        negated += NEGATOR in key
        keys = [key[p] for p in doc.key_positions]  # the sentiment words and their "not", never the marker
        assert keys and set(keys) <= {NEGATOR, *SENTIMENT}
        assert sum(w in SENTIMENT for w in key) == sum(w != NEGATOR for w in keys)
        for i, sentence in enumerate(doc.sentences):
            if i != doc.key_sentence:  # "the popcorn ... not good": sentiment about something else
                assert sentence[0] == "the" and sentence[1] in ASPECT_WORDS and KEY_MARKER not in sentence
                assert label_of(sentence) is not None
                distractors += 1
                agree += label_of(sentence) == doc.label
    assert negated > 100
    assert sum(d.label for d in data) == len(data) // 2  # balanced
    assert 0.45 < agree / distractors < 0.55  # a distractor's polarity is a coin flip, whatever the label
    assert vote_accuracy(data) < 0.7  # counting sentiment over the whole document no longer finds the label


def test_misleading_batch_marks_the_key_words():
    data = sentiment_documents(6, distractors="misleading", seed=3)
    batch = data.batch()
    for b, doc in enumerate(data):
        assert batch.key_words[b].nonzero().tolist() == [[doc.key_sentence, p] for p in doc.key_positions]
        assert data.vocab.decode(batch.ids[b, doc.key_sentence, :1]) == [KEY_MARKER]


def test_word_counts_and_vote_accuracy():
    data = sentiment_documents(5, seed=4)
    counts = data.word_counts()
    assert counts.shape == (5, len(data.vocab))
    for b, doc in enumerate(data):
        words = [w for s in doc.sentences for w in s]
        assert counts[b].sum() == len(words)
        assert counts[b, data.vocab.encode(["the"])[0]] == words.count("the")
    doc = data[0]
    flipped = type(data)((type(doc)(doc.sentences, 1 - doc.label, doc.key_sentence, doc.key_positions),), data.vocab)
    assert vote_accuracy(flipped) == 0.0
    tie = type(data)((type(doc)((("good", "bad"),), 1, 0, (0, 1)),), data.vocab)
    assert vote_accuracy(tie) == 0.5  # a tie is a coin flip

"""coursekit.senses: the sense grammar (balanced, sense fixed by context, POS for every
token), the hand-written duck sentences, splits, nearest centroid and the linear probes."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
import torch

from coursekit.senses import (
    SENSES,
    all_tokens,
    at_positions,
    pca_2d,
    duck_sentences,
    nearest_centroid_accuracy,
    probe_layers,
    sense_sentences,
    stratified_split,
)

UPOS = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "NOUN", "NUM", "PART", "PRON", "PROPN", "SCONJ", "VERB"}


def test_sense_sentences_are_balanced_distinct_and_deterministic():
    data = sense_sentences(20)
    counts = Counter(s.label for s in data)
    assert set(counts) == {f"{w}:{s}" for w, senses in SENSES.items() for s in senses}
    assert set(counts.values()) == {20}
    assert len({s.tokens for s in data}) == len(data)
    assert sense_sentences(20) == data and sense_sentences(20, seed=1) != data
    for s in data:
        assert s.tokens[s.position] == s.word and len(s.tags) == len(s.tokens) and set(s.tags) <= UPOS
    # "duck" is a noun as the bird and the food, a verb as "to dodge"; "bark" a verb for the dog
    tags = {(s.word, s.sense): s.tags[s.position] for s in data}
    assert tags["duck", "dodge"] == "VERB" and tags["duck", "food"] == tags["duck", "bird"] == "NOUN"
    assert tags["bark", "dog"] == "VERB" and tags["bark", "tree"] == "NOUN"


def test_sense_is_fixed_by_context_by_construction():
    # Every sentence the grammar can make holds a context word that occurs with no other
    # sense of its ambiguous word: a lookup of context words alone names the sense.
    data = sense_sentences(55)  # the most every sense has: all of the smallest pool
    senses_of = defaultdict(set)
    for s in data:
        for i, w in enumerate(s.tokens):
            if i != s.position:
                senses_of[s.word, w].add(s.sense)
    for s in data:
        cues = [w for i, w in enumerate(s.tokens) if i != s.position and senses_of[s.word, w] == {s.sense}]
        assert cues, s.text


def test_sense_sentences_reject_bad_arguments():
    with pytest.raises(ValueError, match="n_per_sense must be at most 55"):
        sense_sentences(56)
    with pytest.raises(ValueError, match="words must be a non-empty selection"):
        sense_sentences(5, words=["goose"])
    with pytest.raises(ValueError, match="n_per_sense must be a positive int"):
        sense_sentences(0)
    assert {s.word for s in sense_sentences(3, words=["bank"])} == {"bank"}


def test_duck_sentences_are_real_balanced_and_point_at_duck():
    data = duck_sentences()
    assert Counter(s.sense for s in data) == {"bird": 12, "dodge": 12, "food": 12}
    assert all(s.tokens[s.position] == "duck" and s.tags is None for s in data)
    assert len({s.text for s in data}) == 36


def test_stratified_split_is_disjoint_balanced_and_respects_groups():
    labels = ["a"] * 10 + ["b"] * 6
    train, test = stratified_split(labels, 0.5, seed=0)
    assert sorted(train.tolist() + test.tolist()) == list(range(16))
    assert Counter(labels[i] for i in test.tolist()) == {"a": 5, "b": 3}
    groups = [i // 4 for i in range(16)]  # four sentences of four tokens
    train, test = stratified_split(labels, 0.5, seed=0, groups=groups)
    assert not {groups[i] for i in train.tolist()} & {groups[i] for i in test.tolist()}
    with pytest.raises(ValueError, match="test_fraction must be"):
        stratified_split(labels, 1.0)
    with pytest.raises(ValueError, match="at least two examples of every class"):
        stratified_split(["a", "a", "b"], 0.5)


def test_nearest_centroid_separates_clusters_and_a_static_vector_is_chance(one_thread):
    torch.manual_seed(0)
    labels = ["x"] * 20 + ["y"] * 20
    centres = torch.tensor([[3.0, 0.0], [0.0, 3.0]])
    feats = centres[[0] * 20 + [1] * 20] + 0.3 * torch.randn(40, 2)
    assert nearest_centroid_accuracy(feats, labels) == 1.0
    same = torch.ones(40, 2)  # one vector for every occurrence, as a static embedding gives
    assert nearest_centroid_accuracy(same, labels) == 0.5
    with pytest.raises(ValueError, match="features must be an \\(N, D\\) tensor with N = 40"):
        nearest_centroid_accuracy(torch.ones(39, 2), labels)


def test_probe_layers_finds_the_informative_layer_and_the_mix_weights_it(one_thread):
    torch.manual_seed(0)
    N = 120
    labels = [i % 3 for i in range(N)]
    y = torch.tensor(labels)
    noise = torch.randn(3, N, 4)
    layers = noise.clone()
    layers[1, :, 0] += 6 * (y == 0)  # layer 1 carries the label, layers 0 and 2 are noise
    layers[1, :, 1] += 6 * (y == 1)
    result = probe_layers(layers, labels, scalar_mix=True, steps=100, lr=0.1)
    assert result.best_layer == 1 and result.accuracies[1] > 0.9
    assert max(result.accuracies[0], result.accuracies[2]) < 0.6
    assert result.mix_accuracy > 0.9 and max(result.mix_weights) == result.mix_weights[1]
    assert result.n_train + result.n_test == N and result.classes == (0, 1, 2)
    assert probe_layers(layers, labels, steps=5) == probe_layers(layers, labels, steps=5)  # deterministic
    with pytest.raises(ValueError, match="layers must be an \\(L\\+1, N, D\\) tensor"):
        probe_layers(layers[0], labels)
    with pytest.raises(ValueError, match="labels must hold at least two classes"):
        probe_layers(layers, [0] * N)


def test_gathering_features_per_token_and_per_sentence():
    a, b = torch.arange(12.0).view(2, 3, 2), torch.arange(8.0).view(2, 2, 2) + 100  # (L+1, T, D)
    torch.testing.assert_close(at_positions([a, b], [2, 0]), torch.stack([a[:, 2], b[:, 0]], dim=1))
    assert all_tokens([a, b]).shape == (2, 5, 2)
    with pytest.raises(ValueError, match="of equal length"):
        at_positions([a], [0, 1])


def test_pca_2d_matches_torch_pca_up_to_sign():
    torch.manual_seed(0)
    x = torch.randn(30, 5) @ torch.diag(torch.tensor([5.0, 3.0, 1.0, 0.5, 0.1]))
    xy = pca_2d(x)
    _, _, V = torch.pca_lowrank(x, q=2, center=True, niter=10)
    ref = (x - x.mean(0)) @ V[:, :2]
    torch.testing.assert_close(xy.abs(), ref.abs(), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(pca_2d(x), xy)
    assert (xy.gather(0, xy.abs().argmax(0, keepdim=True)) > 0).all()
    with pytest.raises(ValueError, match="features must be an \\(N, D\\) tensor"):
        pca_2d(torch.ones(1, 3))

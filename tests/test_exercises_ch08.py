"""Chapter 8 checkers: each accepts a learner-style solution and another correct formulation,
rejects the stub, rejects each plausible mistake with that mistake's own hint, and turns a
learner's exception into feedback; the prediction's measurement is deterministic."""

import math

import pytest
import torch
import torch.nn.functional as F

from coursekit.elmo import ELMo, ElmoConfig, ScalarMix, elmo_layers
from coursekit.exercises import (
    check_context_prediction,
    check_elmo_vector,
    check_highway,
    check_nearest_centroid,
    check_nearest_words,
    check_scalar_mix,
    check_stlr,
)
from coursekit.exercises.ch08 import CONTEXT_CHOICES, CONTEXT_PROBE, measure_context

from checkresults import assert_not_yet, assert_passed

pytestmark = pytest.mark.usefixtures("one_thread")


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


# ----------------------------------------------------------------------------- nearest words
def nearest(vectors, words, word, k, *, normalise=True, keep_self=False, ascending=False):
    i = words.index(word)
    unit = vectors / vectors.norm(dim=1, keepdim=True) if normalise else vectors
    sims = unit @ unit[i]
    if not keep_self:
        sims[i] = float("inf") if ascending else -float("inf")
    order = sims.argsort(descending=not ascending)
    return [words[j] for j in order[:k]]


def nearest_by_sorting_pairs(vectors, words, word, k):
    """Another correct formulation: Python's sort over (similarity, word) pairs, with F.cosine_similarity."""
    q = vectors[words.index(word)]
    pairs = [(F.cosine_similarity(v, q, dim=0).item(), w) for v, w in zip(vectors, words) if w != word]
    return [w for _, w in sorted(pairs, reverse=True)[:k]]


def nearest_by_distance(vectors, words, word, k):
    i = words.index(word)
    d = (vectors - vectors[i]).norm(dim=1)
    d[i] = float("inf")
    return [words[j] for j in d.argsort()[:k]]


def test_nearest_words_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_nearest_words(nearest))
    assert_passed(check_nearest_words(nearest_by_sorting_pairs))
    assert_not_yet(check_nearest_words(stub), "haven't implemented")


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda v, w, word, k: nearest(v, w, word, k, keep_self=True), "starts with the word itself"),
        (lambda v, w, word, k: nearest(v, w, word, k, normalise=False), "ranked by the dot product"),
        (nearest_by_distance, "Euclidean distance"),
        (lambda v, w, word, k: nearest(v, w, word, k, ascending=True), "least similar"),
    ],
)
def test_nearest_words_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_nearest_words(fn), phrase)


def test_nearest_words_checker_wants_words_not_indices():
    def indices(vectors, words, word, k):
        unit = F.normalize(vectors, dim=1)
        sims = unit @ unit[words.index(word)]
        sims[words.index(word)] = -2
        return sims.topk(k).indices

    assert_not_yet(check_nearest_words(indices), "indices, not the words")
    assert_not_yet(check_nearest_words(lambda *args: indices(*args).tolist()), "indices, not the words")


# ----------------------------------------------------------------------------- nearest centroid
def nearest_centroid(train_x, train_labels, test_x, *, unit_first=True, unit_centroids=True, euclid=False,
                     indices=False):
    senses = sorted(set(train_labels))
    x = train_x / train_x.norm(dim=1, keepdim=True) if unit_first else train_x
    labels = torch.tensor([senses.index(lab) for lab in train_labels])
    centroids = torch.stack([x[labels == c].mean(dim=0) for c in range(len(senses))])
    if euclid:
        best = torch.cdist(test_x, centroids).argmin(dim=1)
    else:
        if unit_centroids:
            centroids = centroids / centroids.norm(dim=1, keepdim=True)
        best = (test_x / test_x.norm(dim=1, keepdim=True) @ centroids.T).argmax(dim=1)
    return best if indices else [senses[i] for i in best]


def nearest_centroid_by_dicts(train_x, train_labels, test_x):
    """Another correct formulation: sums in a dict, F.cosine_similarity, Python's max."""
    sums = {}
    for v, lab in zip(train_x, train_labels):
        sums[lab] = sums.get(lab, 0) + F.normalize(v, dim=0)  # the mean's direction is the sum's
    return [max(sums, key=lambda lab: F.cosine_similarity(v, sums[lab], dim=0).item()) for v in test_x]


def test_nearest_centroid_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_nearest_centroid(nearest_centroid))
    assert_passed(check_nearest_centroid(nearest_centroid_by_dicts))
    assert_not_yet(check_nearest_centroid(stub), "haven't implemented")


@pytest.mark.parametrize(
    "kw, phrase",
    [
        (dict(indices=True), "indices, not their names"),
        (dict(unit_first=False), "averaged the raw training vectors"),
        (dict(unit_centroids=False), "without normalising them"),
        (dict(euclid=True), "Euclidean distance"),
    ],
)
def test_nearest_centroid_checker_names_each_mistake(kw, phrase):
    assert_not_yet(check_nearest_centroid(lambda *args: nearest_centroid(*args, **kw)), phrase)


def test_nearest_centroid_checker_turns_a_key_error_into_feedback():
    def broken(train_x, train_labels, test_x):
        return [{"bird": 0}[lab] for lab in train_labels]  # a sense it does not know

    assert_not_yet(check_nearest_centroid(broken), "KeyError")


# ----------------------------------------------------------------------------- highway
def highway(x, W_h, b_h, W_t, b_t, *, swap=False, act=torch.relu, transpose=True, gate=torch.sigmoid):
    h = act(x @ (W_h.T if transpose else W_h) + b_h)
    t = gate(x @ (W_t.T if transpose else W_t) + b_t)
    return t * x + (1 - t) * h if swap else t * h + (1 - t) * x


def highway_with_linear(x, W_h, b_h, W_t, b_t):
    """Another correct formulation: F.linear and the carry form x + t * (H(x) - x)."""
    t = torch.sigmoid(F.linear(x, W_t, b_t))
    return x + t * (F.relu(F.linear(x, W_h, b_h)) - x)


def test_highway_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_highway(highway))
    assert_passed(check_highway(highway_with_linear))
    assert_not_yet(check_highway(stub), "haven't implemented")


@pytest.mark.parametrize(
    "kw, phrase",
    [
        (dict(swap=True), "gate is the wrong way round"),
        (dict(act=lambda z: z), "no nonlinearity"),
        (dict(act=torch.tanh), "uses tanh"),
        (dict(gate=lambda z: z), "no sigmoid"),
        (dict(transpose=False), "rather than by its transpose"),
    ],
)
def test_highway_checker_names_each_mistake(kw, phrase):
    assert_not_yet(check_highway(lambda *args: highway(*args, **kw)), phrase)


def test_highway_checker_turns_a_shape_error_into_feedback():
    def broken(x, W_h, b_h, W_t, b_t):
        return x @ torch.cat([W_h, W_t])  # (D,) @ (2D, D): mismatched shapes

    result = check_highway(broken)
    assert_not_yet(result)
    assert "RuntimeError" in repr(result) or "shape" in repr(result)


# ----------------------------------------------------------------------------- scalar mix
def scalar_mix(layers, s, gamma):
    w = torch.softmax(s, dim=0)
    return gamma * (w.view(-1, *[1] * (layers.dim() - 1)) * layers).sum(0)


def scalar_mix_tensordot(layers, s, gamma):
    """Another correct formulation: exp / sum, then a tensordot over the layer dimension."""
    w = s.exp() / s.exp().sum()
    return gamma * torch.tensordot(w, layers, dims=1)


def test_scalar_mix_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_scalar_mix(scalar_mix))
    assert_passed(check_scalar_mix(scalar_mix_tensordot))
    assert_not_yet(check_scalar_mix(stub), "haven't implemented")


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda layers, s, gamma: gamma * torch.tensordot(s, layers, dims=1), "weighted the layers by s itself"),
        (lambda layers, s, gamma: gamma * torch.tensordot(s / s.sum(), layers, dims=1), "divided s by its sum"),
        (lambda layers, s, gamma: scalar_mix(layers, s, 1.0), "gamma is missing"),
        (lambda layers, s, gamma: gamma * layers.mean(dim=0), "equal weights"),
    ],
)
def test_scalar_mix_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_scalar_mix(fn), phrase)


def test_scalar_mix_checker_explains_a_wrong_shape():
    # summing over the last dimension instead of the layers
    assert_not_yet(check_scalar_mix(lambda layers, s, gamma: gamma * (layers * torch.softmax(s, 0)[:, None, None]).sum(-1)),
                   "should have shape")


# ----------------------------------------------------------------------------- the ELMo vector (assembling)
def elmo_vector(token, forward, backward, s, gamma, *, mix=scalar_mix, order="fb", zero=False, flip=False,
                skip_token=False, top_only=False):
    first = torch.cat([token, torch.zeros_like(token) if zero else token], dim=-1)
    rest = []
    for f, b in zip(forward, backward):
        b = b.flip(0) if flip else b
        rest.append(torch.cat([f, b] if order == "fb" else [b, f], dim=-1))
    if top_only:
        return gamma * rest[-1]
    if skip_token:
        return mix(torch.stack(rest), s[1:], gamma)
    return mix(torch.stack([first] + rest), s, gamma)


def elmo_vector_by_halves(token, forward, backward, s, gamma):
    """Another correct formulation: mix each half separately (the mix is linear), with the learner's
    other scalar mix, and put the halves side by side."""
    left = torch.cat([token[None], forward])  # (L+1, T, P)
    right = torch.cat([token[None], backward])
    return torch.cat([scalar_mix_tensordot(left, s, gamma), scalar_mix_tensordot(right, s, gamma)], dim=-1)


def test_elmo_vector_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_elmo_vector(elmo_vector))
    assert_passed(check_elmo_vector(elmo_vector_by_halves))
    assert_not_yet(check_elmo_vector(stub), "haven't implemented")


@pytest.mark.parametrize(
    "kw, phrase",
    [
        (dict(order="bf"), "backward states first"),
        (dict(zero=True), "[x; 0]"),
        (dict(flip=True), "reversed the backward states in time"),
        (dict(skip_token=True), "only the LSTM layers"),
        (dict(top_only=True), "top layer only"),
    ],
)
def test_elmo_vector_checker_names_each_mistake(kw, phrase):
    assert_not_yet(check_elmo_vector(lambda *args: elmo_vector(*args, **kw)), phrase)


def test_elmo_vector_with_a_wrong_scalar_mix_is_caught_there():
    def unnormalised_mix(layers, s, gamma):
        return gamma * torch.tensordot(s, layers, dims=1)

    assert_not_yet(check_elmo_vector(lambda *args: elmo_vector(*args, mix=unnormalised_mix)), "raw s as weights",
                   "check_scalar_mix(my_scalar_mix)")


def test_elmo_vector_with_a_broken_scalar_mix_reports_the_exception():
    def my_scalar_mix(layers, s, gamma):
        raise NotImplementedError("Replace this line with your code")

    result = check_elmo_vector(lambda *args: elmo_vector(*args, mix=my_scalar_mix))
    assert_not_yet(result, "NotImplementedError")


def test_the_elmo_vector_reference_stacks_layers_as_the_elmo_model_does():
    """The checker's layer order is the model's: mixing ELMo's own output layers gives the same vector."""
    torch.manual_seed(0)
    config = ElmoConfig(filters=((1, 4), (2, 4)), projection_dim=6, lstm_dim=6, vocab_size=10, max_characters=8)
    model = ELMo(config)
    (layers,) = elmo_layers(model, ["a duck swam by"])  # (L+1, T, 2P)
    P = config.projection_dim
    token, forward, backward = layers[0, :, :P], layers[1:, :, :P], layers[1:, :, P:]
    assert torch.equal(layers[0, :, P:], token)
    s, gamma = torch.tensor([0.3, -1.0, 0.5]), 1.3
    want = check_elmo_vector.exercise.reference(token, forward, backward, s, gamma)
    mix = ScalarMix(3)
    with torch.no_grad():
        mix.scalars.copy_(s)
        mix.gamma.fill_(gamma)
        torch.testing.assert_close(want, mix(layers))


# ----------------------------------------------------------------------------- predict, then run
def test_the_context_measurement_is_deterministic_and_layer_0_is_static():
    first, second = measure_context(), measure_context()
    assert first == second and first.answer == "only the LSTM layers"
    assert "layer 0: 0.000" in first.evidence
    assert first.answer in CONTEXT_CHOICES


def test_the_context_probe_really_looks_at_duck():
    a, b = CONTEXT_PROBE["sentences"]
    i, j = CONTEXT_PROBE["positions"]
    assert a.split()[i] == b.split()[j] == "duck"


def test_context_prediction_checker_accepts_the_measured_answer_only():
    assert_passed(check_context_prediction(lambda: "only the LSTM layers"))
    assert_passed(check_context_prediction(lambda: " Only the LSTM layers "))
    for wrong in ("no layer", "only layer 0", "every layer"):
        assert_not_yet(check_context_prediction(lambda w=wrong: w), 'the experiment shows "only the LSTM layers"')
    assert_not_yet(check_context_prediction(lambda: "layers 1 and 2"), "not one of the answers")
    assert_not_yet(check_context_prediction(stub), "haven't implemented")


# ----------------------------------------------------------------------------- slanted triangular rates
def stlr(t, T, cut_frac, ratio, *, cut_fn=math.floor, clamp=True, span="paper", divide=True, lift=True):
    cut = cut_fn(T * cut_frac)
    n = cut * (1 / cut_frac - 1) if span == "paper" else T - cut
    t = t.float()
    p = torch.where(t < cut, t / cut, 1 - (t - cut) / n)
    if clamp:
        p = p.clamp(min=0)
    if not lift:
        return p
    return (1 + p * (ratio - 1)) / (ratio if divide else 1)


def stlr_by_loop(t, T, cut_frac, ratio):
    """Another correct formulation: a Python loop, floored with max(..., 1 / ratio)."""
    cut = int(T * cut_frac)
    out = []
    for step in t.tolist():
        if step < cut:
            p = step / cut
        else:
            p = 1 - (step - cut) / (cut * (1 / cut_frac - 1))
        out.append(max((1 + p * (ratio - 1)) / ratio, 1 / ratio))
    return torch.tensor(out)


def test_stlr_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_stlr(stlr))
    assert_passed(check_stlr(stlr_by_loop))
    assert_not_yet(check_stlr(stub), "haven't implemented")


@pytest.mark.parametrize(
    "kw, phrase",
    [
        (dict(clamp=False), "goes below eta_max / ratio"),
        (dict(cut_fn=lambda x: x), "not rounded down"),
        (dict(cut_fn=math.ceil), "rounded up"),
        (dict(span="T"), "decayed over T - cut"),
        (dict(divide=False), "not divided by ratio"),
        (dict(lift=False), "p itself"),
    ],
)
def test_stlr_checker_names_each_mistake(kw, phrase):
    assert_not_yet(check_stlr(lambda *args: stlr(*args, **kw)), phrase)


def test_stlr_checker_wants_a_tensor():
    assert_not_yet(check_stlr(lambda t, T, c, r: stlr_by_loop(t, T, c, r).tolist()), "torch.Tensor")


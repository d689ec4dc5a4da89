"""Chapter 3's checkers accept a learner-style solution, reject the stub, and name each plausible mistake."""

import math
from collections import namedtuple

import numpy as np
import pytest
import torch

from coursekit.attention import masked_softmax
from coursekit.exercises import NOT_YET, PASSED, CheckResult, check_attention_pooling, check_sentence_vectors, check_tvd_and_jsd


def assert_passed(result):
    assert isinstance(result, CheckResult) and result.passed, repr(result)
    assert repr(result).startswith(PASSED)


def assert_not_yet(result, *phrases):
    assert isinstance(result, CheckResult) and not result.passed, repr(result)
    text = repr(result)
    assert text.startswith(NOT_YET)
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not in:\n{text}"


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


# ---------------------------------------------------------------------------- attention pooling
def good_pooling(states, mask, W, b, u):
    scores = torch.tanh(states @ W.T + b) @ u
    weights = masked_softmax(scores, mask)
    return (weights[:, :, None] * states).sum(1), weights


def good_pooling_by_hand(states, mask, W, b, u):
    scores = (torch.tanh(torch.einsum("bsh,ah->bsa", states, W) + b) * u).sum(-1)
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1).nan_to_num(0.0)
    return torch.bmm(weights.unsqueeze(1), states).squeeze(1), weights


def test_attention_pooling_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_attention_pooling(good_pooling))
    assert_passed(check_attention_pooling(good_pooling_by_hand))
    assert_not_yet(check_attention_pooling(stub), "haven't implemented", "NotImplementedError")


Pooled = namedtuple("Pooled", "pooled weights")


def test_attention_pooling_accepts_other_correct_formulations():
    assert_passed(check_attention_pooling(lambda *args: Pooled(*good_pooling(*args))))
    assert_passed(check_attention_pooling(lambda s, m, W, b, u: good_pooling(s.double(), m, W.double(), b.double(), u.double())))


def _scores(states, W, b, u):
    return torch.tanh(states @ W.T + b) @ u


def _pooled(weights, states):
    return (weights[:, :, None] * states).sum(1), weights


def ignores_mask(s, m, W, b, u):
    return _pooled(torch.softmax(_scores(s, W, b, u), -1), s)


def zeroes_after_softmax(s, m, W, b, u):
    return _pooled(torch.softmax(_scores(s, W, b, u), -1) * m, s)


def softmax_over_batch(s, m, W, b, u):
    return _pooled(masked_softmax(_scores(s, W, b, u), m, dim=0), s)


def no_tanh(s, m, W, b, u):
    return _pooled(masked_softmax((s @ W.T + b) @ u, m), s)


def sums_over_h(s, m, W, b, u):
    weights = masked_softmax(_scores(s, W, b, u), m)
    return (weights[:, :, None] * s).sum(-1), weights


def mean_pooling(s, m, W, b, u):
    return _pooled(m / m.sum(-1, keepdim=True).clamp_min(1), s)


def nan_rows(s, m, W, b, u):
    return _pooled(torch.softmax(_scores(s, W, b, u).masked_fill(~m, float("-inf")), -1), s)


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (ignores_mask, "the mask is ignored"),
        (zeroes_after_softmax, "no longer sum to 1"),
        (softmax_over_batch, "over the batch (dim 0)"),
        (no_tanh, "missing the tanh"),
        (sums_over_h, "summed over the features H"),
        (mean_pooling, "that is mean pooling"),
        (nan_rows, "comes out as NaN"),
    ],
)
def test_attention_pooling_names_the_mistake(wrong, phrase):
    assert_not_yet(check_attention_pooling(wrong), phrase)


# ---------------------------------------------------------------------------- sentence vectors
def good_sentence_vectors(word_states, word_mask):
    B, N, L, D = word_states.shape
    x = word_states.reshape(B * N, L, D)  # fold
    m = word_mask.reshape(B * N, L, 1).float()
    pooled = (x * m).sum(1) / m.sum(1).clamp_min(1)  # (B*N, D)
    return pooled.view(B, N, D)  # unfold


def test_sentence_vectors_accepts_a_solution_and_rejects_the_stub():
    assert_passed(check_sentence_vectors(good_sentence_vectors))
    assert_not_yet(check_sentence_vectors(stub), "haven't implemented")


def sentence_vectors_einsum(word_states, word_mask):
    m = word_mask.to(word_states.dtype)
    return torch.einsum("bnld,bnl->bnd", word_states, m) / m.sum(-1, keepdim=True).clamp_min(1)


def test_sentence_vectors_accepts_other_correct_formulations():
    assert_passed(check_sentence_vectors(sentence_vectors_einsum))


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda x, m: x.mean(2), "padding included"),
        (lambda x, m: (x * m[..., None]).sum(2) / x.shape[2], "divided by L"),
        (lambda x, m: (x * m[..., None]).sum(2) / m.sum(2, keepdim=True), "come out as NaN"),
        (lambda x, m: good_sentence_vectors(x.transpose(1, 2).reshape(x.shape), m.transpose(1, 2).reshape(m.shape)),
         "transposed before reshaping"),
        (lambda x, m: (x * m[..., None]).sum(1) / m.sum(1)[..., None].clamp_min(1), "averaged over the sentences"),
    ],
)
def test_sentence_vectors_names_the_mistake(wrong, phrase):
    assert_not_yet(check_sentence_vectors(wrong), phrase)


# ---------------------------------------------------------------------------- TVD and JSD
def good_tvd_and_jsd(p, q):
    m = (p + q) / 2
    kl_pm = torch.xlogy(p, p).sum(-1) - torch.xlogy(p, m).sum(-1)
    kl_qm = torch.xlogy(q, q).sum(-1) - torch.xlogy(q, m).sum(-1)
    return 0.5 * (p - q).abs().sum(-1), 0.5 * kl_pm + 0.5 * kl_qm


def test_tvd_and_jsd_accepts_a_solution_and_rejects_the_stub():
    assert_passed(check_tvd_and_jsd(good_tvd_and_jsd))
    assert_not_yet(check_tvd_and_jsd(stub), "haven't implemented")


Distances = namedtuple("Distances", "tvd jsd")


def tvd_and_jsd_numpy(p, q):
    """Computed in NumPy (float64) and handed back with torch.tensor: the exercise asks for no dtype."""
    p, q = p.numpy().astype(np.float64), q.numpy().astype(np.float64)
    m = (p + q) / 2

    def kl(a, b):
        ratio = np.divide(a, b, where=a > 0, out=np.ones_like(a))  # 1 where a = 0: 0 log 0 = 0
        return np.sum(a * np.log(ratio), axis=-1)

    return torch.tensor(0.5 * np.abs(p - q).sum(-1)), torch.tensor(0.5 * kl(p, m) + 0.5 * kl(q, m))


def tvd_and_jsd_rows(p, q):
    """Row by row with Python floats, then torch.tensor(list): float32 from correct numbers."""
    tvd, jsd = [], []
    for pr, qr in zip(p.tolist(), q.tolist()):
        m = [(a + b) / 2 for a, b in zip(pr, qr)]
        tvd.append(0.5 * sum(abs(a - b) for a, b in zip(pr, qr)))
        jsd.append(sum(0.5 * a * math.log(a / c) for a, c in zip(pr, m) if a > 0)
                   + sum(0.5 * b * math.log(b / c) for b, c in zip(qr, m) if b > 0))
    return torch.tensor(tvd), torch.tensor(jsd)


@pytest.mark.parametrize("good", [lambda p, q: Distances(*good_tvd_and_jsd(p, q)), tvd_and_jsd_numpy, tvd_and_jsd_rows])
def test_tvd_and_jsd_accepts_other_correct_formulations(good):
    assert_passed(check_tvd_and_jsd(good))


def _jsd(p, q):
    return good_tvd_and_jsd(p, q)[1]


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda p, q: ((p - q).abs().sum(-1), _jsd(p, q)), "twice too large: it lies in [0, 2]"),
        (lambda p, q: (0.5 * (p - q).abs().sum(-1), _jsd(p, q) / math.log(2)), "in bits"),
        (lambda p, q: (0.5 * (p - q).abs().sum(-1), 2 * _jsd(p, q)), "without the halves"),
        (lambda p, q: (0.5 * (p - q).abs().sum(-1), 0.5 * (p * (2 * p / (p + q)).log()).sum(-1)
                       + 0.5 * (q * (2 * q / (p + q)).log()).sum(-1)), "NaN where a probability is 0"),
        (lambda p, q: (0.5 * (p - q).abs().sum(-1), (p * (p / q).log()).sum(-1)), "KL(p || q)"),
        (lambda p, q: (0.5 * (p - q).abs().sum(), _jsd(p, q).sum()), "summed over the batch"),
    ],
)
def test_tvd_and_jsd_names_the_mistake(wrong, phrase):
    assert_not_yet(check_tvd_and_jsd(wrong), phrase)

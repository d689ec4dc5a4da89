"""Chapter 3's checkers accept a learner-style solution, reject the stub, and name each plausible mistake."""

import math
from collections import namedtuple

import numpy as np
import pytest
import torch

from coursekit.attention import masked_softmax
from coursekit.classification import BiRNN, ClassifierConfig, DocumentClassifier, PermutationResult, permutation_experiment
from coursekit.exercises import (
    NOT_YET,
    PASSED,
    CheckResult,
    check_attention_pooling,
    check_document_vector,
    check_permutation_prediction,
    check_sentence_vectors,
    check_tvd_and_jsd,
)
from coursekit.exercises.ch03 import RARELY

from checkresults import assert_not_yet, assert_passed

pytestmark = pytest.mark.usefixtures("one_thread")


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


# ---------------------------------------------------------------------------- the HAN's document vector
def good_document_vector(word_states, word_mask, word_attention, sentence_rnn, sentence_attention):
    """The notebook's solution, built on the learner's (correct) attention pooling."""
    B, N, L, H = word_states.shape
    sentences, _ = good_pooling(word_states.reshape(B * N, L, H), word_mask.reshape(B * N, L), *word_attention)
    sentence_mask = word_mask.any(-1)
    states = sentence_rnn(sentences.view(B, N, H), sentence_mask.sum(-1))
    document, _ = good_pooling(states, sentence_mask, *sentence_attention)
    return document


def document_vector_one_by_one(word_states, word_mask, word_attention, sentence_rnn, sentence_attention):
    """No folding: each document on its own, cropped to its real sentences, with the by-hand pooling."""
    documents = []
    for states, mask in zip(word_states, word_mask):  # (N, L, H), (N, L)
        n = int(mask.any(-1).sum())
        sentences, _ = good_pooling_by_hand(states[:n], mask[:n], *word_attention)  # (n, H): one row per sentence
        encoded = sentence_rnn(sentences[None], torch.tensor([n]))  # (1, n, H)
        document, _ = good_pooling_by_hand(encoded, torch.ones(1, n, dtype=torch.bool), *sentence_attention)
        documents.append(document[0])
    return torch.stack(documents)


def test_document_vector_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_document_vector(good_document_vector))
    assert_passed(check_document_vector(document_vector_one_by_one))
    assert_not_yet(check_document_vector(stub), "haven't implemented")


def test_document_vector_is_the_document_classifiers():
    """The checker's reference is DocumentClassifier itself: a trained-from-scratch model's own pieces agree."""
    torch.manual_seed(0)
    model = DocumentClassifier(ClassifierConfig(vocab_size=20, emb_dim=8, hidden_size=6, attn_dim=4)).eval()
    ids = torch.tensor([[[5, 6, 7], [8, 0, 0], [9, 10, 0]], [[11, 12, 0], [13, 14, 15], [0, 0, 0]]])
    word_states, word_mask = model.encode_words(ids)

    def params(layer):
        return layer.proj.weight.detach(), layer.proj.bias.detach(), layer.context.detach()

    with torch.no_grad():
        mine = good_document_vector(word_states, word_mask, params(model.word_attention), model.sentence_rnn,
                                    params(model.sentence_attention))
        torch.testing.assert_close(model.out(mine), model(ids).logits)


def _slip(**kw):
    from coursekit.exercises.ch03 import _han

    return lambda *args: _han(*args, **kw)


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda ws, wm, wa, rnn, sa: good_document_vector(ws, wm, wa, rnn, wa), "word level's attention parameters"),
        (_slip(encoder=False), "sentence encoder was skipped"),
        (_slip(words="mean"), "plain means of their words"),
        (_slip(all_real=True, real_lengths=False), "padded sentences (no real word) count as real"),
        (_slip(real_lengths=False), "padded sentences (no real word) count as real"),
        (_slip(scrambled=True), "transposed before reshaping"),
        (lambda *args: (good_document_vector(*args), None), "more than the document vector"),
    ],
)
def test_document_vector_names_the_mistake(wrong, phrase):
    assert_not_yet(check_document_vector(wrong), phrase)


def test_document_vector_from_mean_pooled_words_is_named_even_when_written_by_hand():
    def mean_words(word_states, word_mask, word_attention, sentence_rnn, sentence_attention):
        m = word_mask[..., None].float()
        sentences = (word_states * m).sum(2) / m.sum(2).clamp_min(1)  # Exercise 2's sentence vectors
        sentence_mask = word_mask.any(-1)
        states = sentence_rnn(sentences, sentence_mask.sum(-1))
        return good_pooling(states, sentence_mask, *sentence_attention)[0]

    assert_not_yet(check_document_vector(mean_words), "plain means of their words", "my_attention_pooling")


# ---------------------------------------------------------------------------- predict: permuted weights
def my_permutation_prediction():
    raise NotImplementedError('return "never", "rarely" or "often"')


def test_permutation_experiment_is_seeded_and_leaves_the_global_rng_alone():
    state, threads = torch.random.get_rng_state(), torch.get_num_threads()
    first = permutation_experiment()
    assert torch.equal(torch.random.get_rng_state(), state) and torch.get_num_threads() == threads
    assert permutation_experiment() == first and isinstance(first, PermutationResult)
    assert first.n_test == 200 and 0 <= first.changed <= 1


def test_permutation_experiment_trains_a_model_that_finds_the_key_sentence():
    r = permutation_experiment()
    assert r.accuracy >= 0.9  # it learned the task...
    assert r.key_mass > 0.5  # ...by weighting the key sentence (uniform weights would give it 1/4 to 1/6)
    assert r.changed >= 2 * RARELY  # and shuffling those weights changes decisions: clearly "often"


def test_permutation_prediction_accepts_the_measured_answer_only():
    assert_passed(check_permutation_prediction(lambda: "often"))
    assert_passed(check_permutation_prediction(lambda: " Often "))
    assert_not_yet(check_permutation_prediction(my_permutation_prediction), "haven't implemented")
    for wrong in ("never", "rarely"):
        assert_not_yet(check_permutation_prediction(lambda: wrong), 'the experiment shows "often"', "Jain and Wallace")
    assert_not_yet(check_permutation_prediction(lambda: "sometimes"), 'Return one of "never", "rarely", "often"')


def test_encoder_none_is_a_han_without_birnns():
    cfg = ClassifierConfig(vocab_size=20, emb_dim=6, hidden_size=6, attn_dim=4, encoder="none")
    model = DocumentClassifier(cfg)
    assert not any(isinstance(m, BiRNN) for m in model.modules())
    ids = torch.tensor([[[5, 6, 7], [8, 0, 0]], [[9, 0, 0], [0, 0, 0]]])
    word_states, _ = model.encode_words(ids)
    torch.testing.assert_close(word_states, model.embed(ids))  # the states are the embeddings themselves
    enc = model.encode(ids)
    document, weights = model.document(enc)
    torch.testing.assert_close(model.classify(enc, weights), model(ids).logits)
    with pytest.raises(ValueError, match="emb_dim .* must equal hidden_size"):
        ClassifierConfig(vocab_size=20, emb_dim=8, hidden_size=6, encoder="none")
    with pytest.raises(ValueError, match="encoder must be one of"):
        ClassifierConfig(vocab_size=20, encoder="cnn")


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


# ---------------------------------------------------------------------------- measurements behind the chapter's verdicts
def test_key_on_top_needs_a_strictly_largest_weight_among_real_sentences():
    from coursekit.classification import key_on_top

    w = torch.tensor([[0.1, 0.6, 0.3, 0.0], [0.5, 0.5, 0.0, 0.0], [0.2, 0.3, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    key = torch.tensor([1, 0, 0, 0])
    # on top; a tie is not on top; a smaller weight is not; a one-sentence document is (padding never competes)
    assert key_on_top(w, key, mask).tolist() == [True, False, False, True]
    with pytest.raises(ValueError):
        key_on_top(w, key.float(), mask)


def test_evaluate_classifier_key_top_is_zero_for_mean_pooling():
    from coursekit.classification import evaluate_classifier
    from coursekit.documents import sentiment_documents

    data = sentiment_documents(12, sentences=(2, 5), seed=3)
    model = DocumentClassifier(ClassifierConfig.for_data(data, emb_dim=8, hidden_size=8, pooling="mean"))
    assert evaluate_classifier(model, data, batch_size=5)["key_top"] == 0.0  # uniform weights favour no sentence

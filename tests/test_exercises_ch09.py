"""Chapter 9 checkers: each accepts a learner-style solution and another correct formulation,
rejects the stub with the not-implemented message, and rejects each plausible mistake with
that mistake's own hint; the masking check is statistical (and stable across seeds); the
prediction's measurement is a deterministic count."""

import pytest
import torch
import torch.nn.functional as F

from coursekit.bert import BertModel, count_parameters, bert_base
from coursekit.exercises import (
    check_bert_embeddings,
    check_embedding_share_prediction,
    check_mask_tokens,
    check_mean_pool,
    check_nsp_loss,
    check_sentence_similarity,
)
from coursekit.exercises.ch09 import EMBEDDING_SHARE_CHOICES, measure_embedding_share

from checkresults import assert_not_yet, assert_passed


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


# ----------------------------------------------------------------------------- masking
def masking(input_ids, special_ids, mask_id, vocab_size, seed, *, special=True, p_mask=0.8, p_random=0.5,
            labels="chosen", choose=0.15, touch_unchosen=False):
    """A learner-style 80/10/10, with one thing done differently when asked."""
    g = torch.Generator().manual_seed(seed)
    is_special = torch.zeros_like(input_ids, dtype=torch.bool)
    for s in special_ids:
        is_special |= input_ids == s
    probs = torch.full(input_ids.shape, choose)
    if special:
        probs = probs.masked_fill(is_special, 0.0)
    chosen = torch.bernoulli(probs, generator=g).bool()
    out = input_ids.clone()
    to_mask = torch.bernoulli(torch.full(input_ids.shape, p_mask), generator=g).bool() & chosen
    out[to_mask] = mask_id
    to_random = torch.bernoulli(torch.full(input_ids.shape, p_random), generator=g).bool() & chosen & ~to_mask
    if touch_unchosen:
        to_random |= ~chosen & ~is_special & (torch.rand(input_ids.shape, generator=g) < 0.05)
    out[to_random] = torch.randint(vocab_size, input_ids.shape, generator=g)[to_random]
    if labels == "chosen":
        lab = torch.where(chosen, input_ids, -100)
    elif labels == "everywhere":
        lab = input_ids.clone()
    elif labels == "none":
        lab = torch.full_like(input_ids, -100)
    elif labels == "zero":
        lab = torch.where(chosen, input_ids, 0)
    else:  # the corrupted ids
        lab = torch.where(chosen, out, -100)
    return out, lab


def masking_by_one_uniform(input_ids, special_ids, mask_id, vocab_size, seed):
    """Another correct formulation: one uniform number per token decides everything."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(input_ids.shape, generator=g)
    ordinary = ~torch.isin(input_ids, torch.tensor(special_ids))
    chosen = (u < 0.15) & ordinary
    to_mask = chosen & (u < 0.12)
    to_random = chosen & (u >= 0.12) & (u < 0.135)
    out = torch.where(to_mask, torch.full_like(input_ids, mask_id), input_ids)
    out = torch.where(to_random, torch.randint(vocab_size, input_ids.shape, generator=g), out)
    return out, torch.where(chosen, input_ids, torch.full_like(input_ids, -100))


def test_mask_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_mask_tokens(masking))
    assert_passed(check_mask_tokens(masking_by_one_uniform))
    assert_not_yet(check_mask_tokens(stub), "haven't implemented")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mask_checker_is_stable_across_seeds(seed):
    assert_passed(check_mask_tokens(masking, seed=seed))
    assert_passed(check_mask_tokens(masking_by_one_uniform, seed=seed))


@pytest.mark.parametrize(
    "kw, phrase",
    [
        (dict(special=False), "special tokens"),
        (dict(p_mask=1.0), "100% [MASK]"),
        (dict(labels="everywhere"), "original id at every position"),
        (dict(labels="zero"), "-100"),
        (dict(labels="corrupted"), "corrupted ids"),
        (dict(p_random=0.1), "probability 0.1 / 0.2 = 0.5"),
        (dict(touch_unchosen=True), "carry no label"),
        (dict(choose=0.3), "probability 0.15"),
        (dict(labels="none"), "-100 everywhere"),
        (dict(p_mask=0.6), "became [MASK] is not 80%"),
        (dict(p_random=1.0), "not 10% each"),
    ],
)
def test_mask_checker_names_each_mistake(kw, phrase):
    assert_not_yet(check_mask_tokens(lambda *a: masking(*a, **kw)), phrase)


def test_mask_checker_wants_a_pair_and_untouched_inputs():
    assert_not_yet(check_mask_tokens(lambda *a: masking(*a)[0]), "(corrupted, labels)")

    def in_place(input_ids, special_ids, mask_id, vocab_size, seed):
        out, lab = masking(input_ids, special_ids, mask_id, vocab_size, seed)
        input_ids[:] = out
        return out, lab

    assert_not_yet(check_mask_tokens(in_place), "changed its input `input_ids` in place")


# ----------------------------------------------------------------------------- NSP loss
def nsp_by_hand(logits, labels):
    return -torch.log_softmax(logits, -1).gather(1, labels[:, None]).mean()


def test_nsp_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_nsp_loss(lambda logits, labels: F.cross_entropy(logits, labels)))
    assert_passed(check_nsp_loss(nsp_by_hand))
    assert_passed(check_nsp_loss(lambda logits, labels: torch.nn.CrossEntropyLoss(ignore_index=-100)(logits, labels)))
    assert_not_yet(check_nsp_loss(stub), "haven't implemented")


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda lg, lb: F.cross_entropy(lg, lb, ignore_index=0), "`ignore_index=0` is the known trap"),
        (lambda lg, lb: F.cross_entropy(lg, 1 - lb), "other way round"),
        (lambda lg, lb: F.cross_entropy(lg, lb, reduction="sum"), "sum over the batch"),
        (lambda lg, lb: F.cross_entropy(lg.softmax(-1), lb), "softmax before"),
        (lambda lg, lb: F.nll_loss(lg, lb), "log-probabilities"),
        (lambda lg, lb: F.binary_cross_entropy_with_logits(lg[:, 1], lb.float()), "sigmoid"),
    ],
)
def test_nsp_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_nsp_loss(fn), phrase)


def test_nsp_ignore_index_trap_hint_names_the_fix():
    result = check_nsp_loss(lambda lg, lb: F.cross_entropy(lg, lb, ignore_index=0))
    assert_not_yet(result, "IsNext", "Drop `ignore_index=0`")


# ----------------------------------------------------------------------------- embeddings
def embeddings(word, position, segment, ids, segments):
    T = ids.shape[1]
    x = word[ids] + position[torch.arange(T)] + segment[segments]
    return F.layer_norm(x, x.shape[-1:], eps=1e-12)


def embeddings_by_modules(word, position, segment, ids, segments):
    """Another correct formulation: embedding lookups and a LayerNorm module with its defaults removed."""
    x = F.embedding(ids, word) + F.embedding(torch.arange(ids.shape[1])[None], position) + F.embedding(segments, segment)
    mu = x.mean(-1, keepdim=True)
    var = x.var(-1, unbiased=False, keepdim=True)
    return (x - mu) / torch.sqrt(var + 1e-12)


def test_embeddings_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_bert_embeddings(embeddings))
    assert_passed(check_bert_embeddings(embeddings_by_modules))
    assert_not_yet(check_bert_embeddings(stub), "haven't implemented")


def ln(x):
    return F.layer_norm(x, x.shape[-1:], eps=1e-12)


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda w, p, s, ids, seg: w[ids] + p[torch.arange(ids.shape[1])] + s[seg], "not normalised"),
        (lambda w, p, s, ids, seg: ln(w[ids] + p[torch.arange(ids.shape[1])]), "segment embedding is missing"),
        (lambda w, p, s, ids, seg: ln(w[ids] + s[seg]), "position embedding is missing"),
        (lambda w, p, s, ids, seg: ln(w[ids] + p[ids] + s[seg]), "by token id"),
        (lambda w, p, s, ids, seg: ln(w[ids] + p[torch.arange(1, ids.shape[1] + 1)] + s[seg]), "start at 1"),
    ],
)
def test_embeddings_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_bert_embeddings(fn), phrase)


# ----------------------------------------------------------------------------- mean pooling
def mean_pool(hidden, mask):
    m = mask[..., None].to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1)


def mean_pool_by_rows(hidden, mask):
    """Another correct formulation: one row at a time."""
    return torch.stack([hidden[b][mask[b]].mean(0) for b in range(hidden.shape[0])])


def test_mean_pool_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_mean_pool(mean_pool))
    assert_passed(check_mean_pool(mean_pool_by_rows))
    assert_not_yet(check_mean_pool(stub), "haven't implemented")


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda h, m: (h * m[..., None]).sum(1) / h.shape[1], "divided by T"),
        (lambda h, m: h.mean(1), "padding included"),
        (lambda h, m: h[:, 0], "[CLS] pooling"),
        (lambda h, m: h.masked_fill(~m[..., None], float("-inf")).amax(1), "MAX pooling"),
        (lambda h, m: (h * (~m)[..., None]).sum(1) / (~m).sum(1, keepdim=True).clamp_min(1), "wrong way round"),
    ],
)
def test_mean_pool_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_mean_pool(fn), phrase)


# ----------------------------------------------------------------------------- sentence similarity (assembling)
def similarity(model, ids_a, mask_a, ids_b, mask_b):
    u = mean_pool(model(ids_a, key_padding_mask=mask_a).hidden, mask_a)
    v = mean_pool(model(ids_b, key_padding_mask=mask_b).hidden, mask_b)
    return F.cosine_similarity(u, v, dim=-1)


def similarity_by_normalising(model, ids_a, mask_a, ids_b, mask_b):
    """Another correct formulation: unit vectors, then a dot product; pooling by rows."""
    u = F.normalize(mean_pool_by_rows(model(ids_a, key_padding_mask=mask_a).hidden, mask_a), dim=-1)
    v = F.normalize(mean_pool_by_rows(model(ids_b, key_padding_mask=mask_b).hidden, mask_b), dim=-1)
    return (u * v).sum(-1)


def test_similarity_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_sentence_similarity(similarity))
    assert_passed(check_sentence_similarity(similarity_by_normalising))
    assert_not_yet(check_sentence_similarity(stub), "haven't implemented")


def test_similarity_checker_sees_an_unfinished_mean_pool():
    def my_mean_pool(hidden, mask):
        raise NotImplementedError("Replace this line with your code")

    def my_sentence_similarity(model, ids_a, mask_a, ids_b, mask_b):
        u = my_mean_pool(model(ids_a, key_padding_mask=mask_a).hidden, mask_a)
        v = my_mean_pool(model(ids_b, key_padding_mask=mask_b).hidden, mask_b)
        return F.cosine_similarity(u, v, dim=-1)

    assert_not_yet(check_sentence_similarity(my_sentence_similarity), "calls `my_mean_pool`, which is not implemented")


def vectors(model, ids, mask, pool="mean", model_mask=True):
    hidden = model(ids, key_padding_mask=mask if model_mask else None).hidden
    return {"mean": lambda: mean_pool(hidden, mask), "all": lambda: hidden.mean(1), "cls": lambda: hidden[:, 0]}[pool]()


@pytest.mark.parametrize(
    "kw, score, phrase",
    [
        (dict(model_mask=False), "cos", "did not pass the mask to the encoder"),
        (dict(pool="all"), "cos", "average the padding"),
        (dict(pool="cls"), "cos", "[CLS] state"),
        ({}, "dot", "dot product"),
        ({}, "dist", "Euclidean distance"),
    ],
)
def test_similarity_checker_names_each_mistake(kw, score, phrase):
    def fn(model, ids_a, mask_a, ids_b, mask_b):
        u, v = vectors(model, ids_a, mask_a, **kw), vectors(model, ids_b, mask_b, **kw)
        return {"cos": lambda: F.cosine_similarity(u, v, dim=-1), "dot": lambda: (u * v).sum(-1),
                "dist": lambda: (u - v).norm(dim=-1)}[score]()

    assert_not_yet(check_sentence_similarity(fn), phrase)


def test_similarity_case_model_is_a_real_bert():
    case = check_sentence_similarity.exercise.build_cases()[0]
    assert isinstance(case.args[0], BertModel) and not case.args[0].training


# ----------------------------------------------------------------------------- prediction
def test_embedding_share_is_measured_from_the_config():
    m = measure_embedding_share()
    assert m.answer == "about a fifth" and m.answer in EMBEDDING_SHARE_CHOICES
    cfg = bert_base()
    embed = (cfg.vocab_size + cfg.max_position_embeddings + cfg.type_vocab_size + 2) * cfg.hidden_size
    assert f"{embed:,}" in m.evidence and f"{count_parameters(cfg):,}" in m.evidence
    assert measure_embedding_share() == m  # deterministic


def test_embedding_share_prediction_checker():
    assert_passed(check_embedding_share_prediction(lambda: "about a fifth"))
    assert_passed(check_embedding_share_prediction(lambda: "  About a Fifth "))
    assert_not_yet(check_embedding_share_prediction(lambda: "under 10%"), 'shows "about a fifth"', "23,440,896")
    assert_not_yet(check_embedding_share_prediction(lambda: "a lot"), "not one of the answers")
    assert_not_yet(check_embedding_share_prediction(stub), "haven't implemented")

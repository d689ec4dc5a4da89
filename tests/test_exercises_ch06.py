"""Chapter 6 checkers: each accepts learner-style solutions, rejects the stub, and rejects each
plausible mistake with that mistake's own hint."""

import pytest
import torch
import torch.nn.functional as F

from checkresults import assert_not_yet, assert_passed
from coursekit.exercises import (
    check_bpe_merge,
    check_cache_prediction,
    check_generate,
    check_lm_loss,
    check_top_k_filter,
    check_top_p_filter,
)
from coursekit.exercises.ch06 import measure_cache_work

pytestmark = pytest.mark.usefixtures("one_thread")


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


# ----------------------------------------------------------------------------- the shifted loss
def good_lm_loss(logits, ids):
    B, T, V = logits.shape
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))


def lm_loss_by_hand(logits, ids):
    """log-softmax and a gather, in float64: another correct formulation."""
    logp = logits[:, :-1].double().log_softmax(-1)
    return -logp.gather(-1, ids[:, 1:, None]).mean()


def test_lm_loss_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_lm_loss(good_lm_loss))
    assert_passed(check_lm_loss(lm_loss_by_hand))
    assert_not_yet(check_lm_loss(stub), "haven't implemented")


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda lg, ids: F.cross_entropy(lg.flatten(0, 1), ids.flatten()), "no shift"),
        (lambda lg, ids: F.cross_entropy(lg[:, 1:].flatten(0, 1), ids[:, :-1].flatten()), "shifted the wrong way"),
        (lambda lg, ids: F.cross_entropy(lg[:, :-1].flatten(0, 1), ids[:, :-1].flatten()), "did not shift the targets"),
        (lambda lg, ids: F.cross_entropy(lg[:, :-1].flatten(0, 1), ids[:, 1:].flatten(), reduction="sum"), "the sum"),
        (lambda lg, ids: good_lm_loss(lg.softmax(-1), ids), "softmax before"),
    ],
)
def test_lm_loss_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_lm_loss(fn), phrase)


# ----------------------------------------------------------------------------- one BPE merge
def merge_with_a_while_loop(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if ids[i : i + 2] == list(pair):
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def merge_with_skip_flag(ids, pair, new_id):
    out, skip = [], False
    for a, b in zip(ids, ids[1:] + [None]):
        if skip:
            skip = False
        elif (a, b) == tuple(pair):
            out.append(new_id)
            skip = True
        else:
            out.append(a)
    return out


def test_bpe_merge_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_bpe_merge(merge_with_a_while_loop))
    assert_passed(check_bpe_merge(merge_with_skip_flag))
    assert_not_yet(check_bpe_merge(stub), "haven't implemented")


def merge_first_only(ids, pair, new_id):
    for i in range(len(ids) - 1):
        if (ids[i], ids[i + 1]) == tuple(pair):
            return ids[:i] + [new_id] + ids[i + 2 :]
    return list(ids)


def merge_overlapping(ids, pair, new_id):
    """Replaces every start of the pair, and drops a right neighbour that starts no pair of its own."""
    out, i = [], 0
    while i < len(ids):
        if (ids[i], ids[i + 1] if i + 1 < len(ids) else None) == tuple(pair):
            out.append(new_id)
            nxt = ids[i + 2] if i + 2 < len(ids) else None
            i += 1 if (ids[i + 1], nxt) == tuple(pair) else 2
        else:
            out.append(ids[i])
            i += 1
    return out


def merge_from_the_right(ids, pair, new_id):
    out, i = [], len(ids) - 1
    while i >= 0:
        if i >= 1 and (ids[i - 1], ids[i]) == tuple(pair):
            out.append(new_id)
            i -= 2
        else:
            out.append(ids[i])
            i -= 1
    return out[::-1]


def merge_keeping_second(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if ids[i : i + 2] == list(pair):
            out += [new_id, ids[i + 1]]
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (merge_first_only, "only the first occurrence"),
        (merge_overlapping, "overlap"),
        (merge_from_the_right, "scanned from the right"),
        (merge_keeping_second, "kept the pair's second symbol"),
    ],
)
def test_bpe_merge_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_bpe_merge(fn), phrase)


# ----------------------------------------------------------------------------- top-k
def good_top_k(logits, k):
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_k_by_sorting(logits, k):
    kth = logits.sort(dim=-1, descending=True).values[..., k - 1 : k]
    return torch.where(logits >= kth, logits, torch.full_like(logits, -float("inf")))


def test_top_k_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_top_k_filter(good_top_k))
    assert_passed(check_top_k_filter(top_k_by_sorting))
    assert_not_yet(check_top_k_filter(stub), "haven't implemented")


def top_k_by_index(logits, k):
    idx = torch.topk(logits, k, dim=-1).indices
    keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, idx, True)
    return logits.masked_fill(~keep, float("-inf"))


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda lg, k: lg.masked_fill(lg < torch.topk(lg, k, -1).values[..., -1:], 0.0), "to 0, not -inf"),
        (top_k_by_index, "tie at the k-th place"),
        (lambda lg, k: lg.masked_fill(lg > torch.topk(lg, k, -1, largest=False).values[..., -1:], float("-inf")),
         "k smallest"),
        (lambda lg, k: good_top_k(lg, min(k + 1, lg.shape[-1])), "one token too many"),
        (lambda lg, k: good_top_k(lg, k).softmax(-1), "probabilities"),
    ],
)
def test_top_k_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_top_k_filter(fn), phrase)


# ----------------------------------------------------------------------------- top-p
def good_top_p(logits, p):
    """Sort descending, keep while the mass before a token is below p, ties with the last kept one too."""
    values, _ = logits.sort(dim=-1, descending=True)
    probs = values.softmax(-1)
    keep = probs.cumsum(-1) - probs < p
    threshold = values.masked_fill(~keep, float("inf")).min(-1, keepdim=True).values  # smallest kept logit
    return logits.masked_fill(logits < threshold, float("-inf"))


def top_p_by_ascending_mass(logits, p):
    """transformers' formulation (ascending sort, remove mass <= 1 - p), with ties kept by a threshold."""
    asc = logits.sort(dim=-1).values
    removed = asc.softmax(-1).cumsum(-1) <= 1 - p
    removed[..., -1] = False
    threshold = asc.gather(-1, removed.sum(-1, keepdim=True))
    return logits.masked_fill(logits < threshold, float("-inf"))


def test_top_p_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_top_p_filter(good_top_p))
    assert_passed(check_top_p_filter(top_p_by_ascending_mass))
    assert_not_yet(check_top_p_filter(stub), "haven't implemented")


def top_p_learner(logits, p, *, crossing=True, sort=True, use_logits=False, descending=True, scatter=True, fill=None):
    if sort:
        values, idx = logits.sort(dim=-1, descending=descending)
    else:
        values, idx = logits, torch.arange(logits.shape[-1]).expand_as(logits)
    mass = values if use_logits else values.softmax(-1)
    cum = mass.cumsum(-1)
    remove = (cum - mass >= p) if crossing else (cum >= p)
    filtered = values.masked_fill(remove, float("-inf") if fill is None else fill)
    return torch.empty_like(logits).scatter(-1, idx, filtered) if scatter else filtered


@pytest.mark.parametrize(
    "kw, phrase",
    [
        (dict(crossing=False), "removed the token that crosses p"),
        (dict(sort=False), "without sorting"),
        (dict(use_logits=True), "logits themselves"),
        (dict(descending=False), "sorted ascending"),
        (dict(scatter=False), "in sorted order"),
        (dict(fill=0.0), "to 0, not -inf"),
        (dict(), "tie at the boundary"),  # index-based: right everywhere but at the tie
    ],
)
def test_top_p_checker_names_each_mistake(kw, phrase):
    assert_not_yet(check_top_p_filter(lambda lg, p: top_p_learner(lg, p, **kw)), phrase)


# ----------------------------------------------------------------------------- the assembled sampling loop
def sampling_loop(my_top_k_filter, my_top_p_filter, *, order="kp", scale="first", position=-1, cache=True,
                  feed="new", pick="sample"):
    """A learner's my_generate built from their filters, optionally with one mistake."""

    def my_generate(model, idx, max_new_tokens, temperature, top_k, top_p, seed):
        generator = torch.Generator().manual_seed(seed)
        kv = model.new_cache() if cache else None
        out, x = idx, idx
        with torch.no_grad():
            for _ in range(max_new_tokens):
                logits = model(x, cache=kv).logits[:, position]
                if scale == "first":
                    logits = logits / temperature
                for f in order:
                    logits = my_top_k_filter(logits, top_k) if f == "k" else my_top_p_filter(logits, top_p)
                if scale == "last":
                    logits = logits / temperature
                if pick == "sample":
                    nxt = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)
                else:
                    nxt = logits.argmax(-1, keepdim=True)
                out = torch.cat([out, nxt], dim=1)
                x = out if feed == "all" else nxt
        return out

    return my_generate


def test_generate_checker_accepts_loops_built_from_correct_filters_and_rejects_the_stub():
    assert_passed(check_generate(sampling_loop(good_top_k, good_top_p)))
    assert_passed(check_generate(sampling_loop(top_k_by_sorting, top_p_by_ascending_mass)))
    assert_not_yet(check_generate(stub), "haven't implemented")


@pytest.mark.parametrize(
    "kw, phrase",
    [
        (dict(order="pk"), "top-p before top-k"),
        (dict(scale="last"), "after the filters"),
        (dict(scale="none"), "left out the temperature"),
        (dict(position=0), "first position's logits"),
        (dict(feed="all"), "whole sequence again"),
        (dict(cache=False), "without the cache"),
        (dict(pick="argmax"), "argmax"),
    ],
)
def test_generate_checker_names_each_mistake(kw, phrase):
    assert_not_yet(check_generate(sampling_loop(good_top_k, good_top_p, **kw)), phrase)


# ----------------------------------------------------------------------------- predict, then run
def test_cache_prediction_is_measured_and_deterministic():
    first = measure_cache_work()
    assert first == measure_cache_work()
    assert first.answer == "about 4x" and "with the cache, 2.0 times" in first.evidence
    assert_passed(check_cache_prediction(lambda: "About 4x "))
    assert_not_yet(check_cache_prediction(lambda: "about 2x"), 'experiment shows "about 4x"')
    assert_not_yet(check_cache_prediction(lambda: 4), "not one of the answers")
    assert_not_yet(check_cache_prediction(stub), "haven't implemented")

"""Chapter 11 checkers: each accepts a learner-style solution and another correct formulation,
rejects the stub, and rejects each plausible mistake with that mistake's own hint; the
prediction's measurement is deterministic and names the binomial's peak."""

import math

import pytest
import torch

from coursekit.exercises.ch11 import (
    ROLLOUT_CHOICES,
    check_attention_entropy,
    check_best_offset,
    check_head_accuracy,
    check_rollout,
    check_rollout_prediction,
    check_word_attention,
    measure_previous_token_rollout,
    previous_token_attentions,
)

from checkresults import assert_not_yet, assert_passed


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


# ----------------------------------------------------------------------------- entropy
def entropy_clamped(a):
    return -(a * a.clamp_min(1e-12).log()).sum(-1)


def entropy_masked(a):
    """Another correct formulation: only the nonzero weights contribute."""
    logs = torch.where(a > 0, a.log(), torch.zeros_like(a))
    return -(a * logs).sum(dim=-1)


def test_entropy_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_attention_entropy(entropy_clamped))
    assert_passed(check_attention_entropy(entropy_masked))
    assert_passed(check_attention_entropy(lambda a: torch.distributions.Categorical(probs=a).entropy()))
    assert_not_yet(check_attention_entropy(stub), "haven't implemented")


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda a: -(a * a.log()).sum(-1), "NaN where a weight is exactly 0"),
        (lambda a: -(a * a.clamp_min(1e-12).log2()).sum(-1), "in bits"),
        (lambda a: (a * a.clamp_min(1e-12).log()).sum(-1), "minus sign is missing"),
        (lambda a: -(a * a.clamp_min(1e-12).log()).sum(-2), "summed over the queries"),
        (lambda a: entropy_clamped(a).mean(-1), "averaged over the queries too"),
    ],
)
def test_entropy_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_attention_entropy(fn), phrase)


def test_entropy_of_a_uniform_row_is_log_t():
    a = torch.full((3, 5, 5), 0.2)
    assert torch.allclose(check_attention_entropy.exercise.reference(a), torch.full((3, 5), math.log(5)))


# ----------------------------------------------------------------------------- word attention
def word_by_loops(attention, spans):
    W = len(spans)
    out = torch.zeros(*attention.shape[:-2], W, W)
    for v, (s, e) in enumerate(spans):
        for w, (s2, e2) in enumerate(spans):
            out[..., v, w] = attention[..., s:e, s2:e2].sum(-1).mean(-1)
    return out


def word_by_matrices(attention, spans):
    """Another correct formulation: membership matrices, columns summed, rows averaged."""
    T = attention.shape[-1]
    M = torch.zeros(len(spans), T)
    for w, (s, e) in enumerate(spans):
        M[w, s:e] = 1
    to_words = attention @ M.T  # (..., T, W)
    return (M / M.sum(1, keepdim=True)) @ to_words


def word_pooled(attention, spans, rows="mean", cols="sum"):
    pool = {"mean": lambda x, d: x.mean(d), "sum": lambda x, d: x.sum(d), "first": lambda x, d: x.narrow(d, 0, 1).squeeze(d)}
    col_pooled = torch.stack([pool[cols](attention[..., :, s:e], -1) for s, e in spans], -1)  # (..., T, W)
    return torch.stack([pool[rows](col_pooled[..., s:e, :], -2) for s, e in spans], -2)  # (..., W, W)


def test_word_attention_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_word_attention(word_by_loops))
    assert_passed(check_word_attention(word_by_matrices))
    assert_not_yet(check_word_attention(stub), "haven't implemented")


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda a, s: word_pooled(a, s, "mean", "mean"), "averaged the attended word's pieces too"),
        (lambda a, s: word_pooled(a, s, "sum", "sum"), "added the attending word's rows too"),
        (lambda a, s: word_pooled(a, s, "sum", "mean"), "swapped the two"),
        (lambda a, s: word_pooled(a, s, "first", "first"), "first piece"),
        (lambda a, s: word_by_loops(a, s).transpose(-1, -2), "transposed"),
    ],
)
def test_word_attention_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_word_attention(fn), phrase)


# ----------------------------------------------------------------------------- head accuracy (assembling)
def head_accuracy(attentions, spans, heads, *, word_fn=word_by_matrices, specials=False, down=False, root=False,
                  percent=False, per_sentence=False, keep_self=False):
    """A learner's solution, built on their word attention (``word_fn``), with switches for the mistakes."""
    right, total, accs = 0, 0, []
    for attention, sp, h in zip(attentions, spans, heads):
        word = word_fn(attention, sp)
        if specials:
            pred = word[1:-1].argmax(-1) - 1
        else:
            w = word[1:-1, 1:-1] * (1 if keep_self else 1 - torch.eye(len(h)))  # a word never predicts itself
            pred = w.argmax(0) if down else w.argmax(-1)
        has = torch.ones_like(h, dtype=torch.bool) if root else h >= 0
        right += int((pred[has] == h[has]).sum())
        total += int(has.sum())
        accs.append((pred[has] == h[has]).float().mean())
    acc = torch.stack(accs).mean() if per_sentence else torch.tensor(right / total)
    return 100 * acc if percent else acc


def head_accuracy_by_loops(attentions, spans, heads):
    """Another correct formulation: word by word, counting, float64."""
    right = total = 0
    for attention, sp, h in zip(attentions, spans, heads):
        word = word_pooled(attention, sp)
        for i, gold in enumerate(h.tolist()):
            if gold < 0:
                continue
            row = word[i + 1, 1:-1].clone()
            row[i] = float("-inf")  # never itself
            right += int(int(row.argmax()) == gold)
            total += 1
    return torch.tensor(right / total, dtype=torch.float64)


def test_head_accuracy_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_head_accuracy(head_accuracy))
    assert_passed(check_head_accuracy(head_accuracy_by_loops))
    assert_not_yet(check_head_accuracy(stub), "haven't implemented")


@pytest.mark.parametrize(
    "kw, phrase",
    [
        (dict(specials=True), "land on [CLS] or [SEP]"),
        (dict(down=True), "argmax down the columns"),
        (dict(root=True), "counted the root too"),
        (dict(keep_self=True), "predict itself"),
        (dict(word_fn=lambda a, s: word_pooled(a, s, "mean", "mean")), "check your `my_word_attention`"),
        (dict(word_fn=lambda a, s: word_pooled(a, s, "first", "first")), "check your `my_word_attention`"),
        (dict(per_sentence=True), "averaged the sentences' accuracies"),
        (dict(percent=True), "percentage"),
    ],
)
def test_head_accuracy_checker_names_each_mistake(kw, phrase):
    assert_not_yet(check_head_accuracy(lambda a, s, h: head_accuracy(a, s, h, **kw)), phrase)


def test_head_accuracy_cases_are_not_trivial():
    """The accuracies of the cases are neither all 0 nor all 1, so a wrong argmax shows."""
    accs = [float(check_head_accuracy.exercise.reference(*c.args)) for c in check_head_accuracy.exercise.build_cases()]
    assert 0 < min(accs) or max(accs) < 1
    assert len(set(accs)) > 1


# ----------------------------------------------------------------------------- best offset
def best_offset(offsets, max_offset):
    best, best_count = None, -1
    for k in range(-max_offset, max_offset + 1):
        if k == 0:
            continue
        count = int((offsets == k).sum())
        if count > best_count:
            best, best_count = k, count
    return best


def best_offset_counter(offsets, max_offset):
    """Another correct formulation: a Counter, ties to the smallest k."""
    from collections import Counter

    counts = Counter(int(o) for o in offsets if 0 < abs(int(o)) <= max_offset)
    top = max(counts.values())
    return min(k for k, n in counts.items() if n == top)


def test_best_offset_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_best_offset(best_offset))
    assert_passed(check_best_offset(best_offset_counter))
    assert_not_yet(check_best_offset(stub), "haven't implemented")


def candidates_best(offsets, ks):
    return max(ks, key=lambda k: int((offsets == k).sum()))


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda o, m: best_offset(-o, m), "wrong sign"),
        (lambda o, m: candidates_best(o, [k for k in range(m, -m - 1, -1) if k != 0]), "on a tie"),
        (lambda o, m: candidates_best(o, list(range(1, m + 1))), "only positive offsets"),
        (lambda o, m: candidates_best(o, [k for k in range(-m, m) if k != 0]), "stops one short"),
        (lambda o, m: int(torch.mode(o).values), "most common offset among the arcs"),
    ],
)
def test_best_offset_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_best_offset(fn), phrase)


# ----------------------------------------------------------------------------- rollout
def rollout(attentions):
    a = attentions.mean(1)
    T = a.shape[-1]
    r = torch.eye(T)
    for layer in a:
        r = (0.5 * layer + 0.5 * torch.eye(T)) @ r
    return r


def rollout_reduce(attentions):
    """Another correct formulation: the product written as a right fold with functools.reduce."""
    from functools import reduce

    a_hat = [(l + torch.eye(l.shape[-1])) / 2 for l in attentions.mean(dim=1)]
    return reduce(lambda acc, l: l @ acc, a_hat[1:], a_hat[0])


def test_rollout_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_rollout(rollout))
    assert_passed(check_rollout(rollout_reduce))
    assert_not_yet(check_rollout(stub), "haven't implemented")


def rollout_variant(attentions, *, res=True, reverse=False, last=False, mean=False, double=False):
    a = attentions.mean(1)
    T = a.shape[-1]
    a_hat = (a + torch.eye(T)) if double else (0.5 * a + 0.5 * torch.eye(T)) if res else a
    if last:
        return a_hat[-1]
    if mean:
        return a_hat.mean(0)
    r = a_hat[0]
    for layer in a_hat[1:]:
        r = r @ layer if reverse else layer @ r
    return r


@pytest.mark.parametrize(
    "kw, phrase",
    [
        (dict(res=False), "no residual"),
        (dict(reverse=True), "wrong order"),
        (dict(last=True), "only the last layer"),
        (dict(mean=True), "averaged the layers"),
        (dict(double=True), "without halving"),
    ],
)
def test_rollout_checker_names_each_mistake(kw, phrase):
    assert_not_yet(check_rollout(lambda a: rollout_variant(a, **kw)), phrase)


# ----------------------------------------------------------------------------- predict, then run
def test_previous_token_rollout_is_a_binomial_peaked_three_back():
    att = previous_token_attentions(6, 12)
    assert att.shape == (6, 1, 12, 12) and torch.equal(att.sum(-1), torch.ones(6, 1, 12))
    row = rollout(att)[-1]  # the learner-style rollout, independent of coursekit's
    expected = torch.zeros(12)
    for k in range(7):
        expected[11 - k] = math.comb(6, k) / 64
    torch.testing.assert_close(row, expected)
    m = measure_previous_token_rollout()
    assert m == measure_previous_token_rollout() and m.answer == "three tokens back" and m.answer in ROLLOUT_CHOICES
    assert "3 tokens back" in m.evidence


def test_rollout_prediction_checker():
    assert_passed(check_rollout_prediction(lambda: "three tokens back"))
    assert_passed(check_rollout_prediction(lambda: "  Three Tokens Back "))
    assert_not_yet(check_rollout_prediction(lambda: "on the previous token"), "three tokens back")
    assert_not_yet(check_rollout_prediction(lambda: "left"), "not one of the answers")
    assert_not_yet(check_rollout_prediction(stub), "haven't")

"""Chapter 7 checkers: each accepts a learner-style solution and another correct formulation,
rejects the stub, and rejects each plausible mistake with that mistake's own hint; the
prediction's measurement is a deterministic count."""

import pytest
import torch
import torch.nn.functional as F

from coursekit.efficient.experiments import attention_flops, count_flops, generation_costs
from coursekit.exercises import (
    check_causal_linear_attention,
    check_elu_feature_map,
    check_linear_scaling_prediction,
    check_sparsemax,
    check_strided_mask,
)
from coursekit.exercises.ch07 import measure_doubling

from checkresults import assert_not_yet, assert_passed


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


# ----------------------------------------------------------------------------- strided mask
def strided(n, stride, *, causal=True, local=True, every=True, absolute=False, transpose=False):
    i = torch.arange(n)
    d = i[:, None] - i[None, :]
    dist = d if causal else d.abs()
    a1 = (dist >= 0) & (dist <= stride)
    a2 = (dist >= 0) & ((i[None, :] % stride == 0) if absolute else (dist % stride == 0))
    m = (a1 if local else torch.zeros_like(a1)) | (a2 if every else torch.zeros_like(a2))
    return m.T if transpose else m


def strided_by_loops(n, stride):
    m = torch.zeros(n, n, dtype=torch.bool)
    for i in range(n):
        for j in range(max(0, i - stride), i + 1):
            m[i, j] = True
        for j in range(i, -1, -stride):
            m[i, j] = True
    return m


def test_strided_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_strided_mask(strided))
    assert_passed(check_strided_mask(strided_by_loops))
    assert_not_yet(check_strided_mask(stub), "haven't implemented")


@pytest.mark.parametrize(
    "kw, phrase",
    [
        (dict(causal=False), "read later keys"),
        (dict(every=False), "only the first head"),
        (dict(local=False), "only the second head"),
        (dict(absolute=True), "counted from position 0"),
        (dict(transpose=True), "transposed"),
    ],
)
def test_strided_checker_names_each_mistake(kw, phrase):
    assert_not_yet(check_strided_mask(lambda n, s: strided(n, s, **kw)), phrase)


def test_strided_checker_wants_a_bool_mask():
    assert_not_yet(check_strided_mask(lambda n, s: strided(n, s).float()), "torch.bool")


# ----------------------------------------------------------------------------- sparsemax
def sparsemax_sorted(z):
    s, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    cs = s.cumsum(-1)
    support = (1 + k * s > cs).sum(-1, keepdim=True)
    tau = (cs.gather(-1, support - 1) - 1) / support
    return torch.clamp(z - tau, min=0)


def sparsemax_bisection(z, iters=60):
    """Another correct formulation: find tau with sum([z - tau]_+) = 1 by bisection."""
    lo = z.max(-1, keepdim=True).values - 1
    hi = z.max(-1, keepdim=True).values
    for _ in range(iters):
        mid = (lo + hi) / 2
        too_low = (z - mid).clamp_min(0).sum(-1, keepdim=True) > 1
        lo, hi = torch.where(too_low, mid, lo), torch.where(too_low, hi, mid)
    p = (z - (lo + hi) / 2).clamp_min(0)
    return p / p.sum(-1, keepdim=True)


def sparsemax_entmax_package(z):
    from entmax import sparsemax

    return sparsemax(z, dim=-1)


def test_sparsemax_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_sparsemax(sparsemax_sorted))
    assert_passed(check_sparsemax(sparsemax_bisection))
    assert_passed(check_sparsemax(sparsemax_entmax_package))
    assert_not_yet(check_sparsemax(stub), "haven't implemented")


def ascending(z):
    s, _ = torch.sort(z, dim=-1)
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    cs = s.cumsum(-1)
    support = (1 + k * s > cs).sum(-1, keepdim=True).clamp_min(1)
    tau = (cs.gather(-1, support - 1) - 1) / support
    return torch.clamp(z - tau, min=0)


def no_minus_one(z):
    s, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    cs = s.cumsum(-1)
    support = (1 + k * s > cs).sum(-1, keepdim=True)
    return torch.clamp(z - cs.gather(-1, support - 1) / support, min=0)


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda z: F.softmax(z, dim=-1), "returned the softmax"),
        (lambda z: F.relu(z) / F.relu(z).sum(-1, keepdim=True), "there is no threshold"),
        (ascending, "increasing order"),
        (no_minus_one, "leaves out the '- 1'"),
        (lambda z: sparsemax_sorted(z.transpose(0, -1)).transpose(0, -1), "first dimension"),
    ],
)
def test_sparsemax_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_sparsemax(fn), phrase)


# ----------------------------------------------------------------------------- elu + 1
def test_feature_map_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_elu_feature_map(lambda x: F.elu(x) + 1))
    assert_passed(check_elu_feature_map(lambda x: torch.where(x > 0, x + 1, torch.exp(x))))
    assert_not_yet(check_elu_feature_map(stub), "haven't implemented")


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda x: F.elu(x), "without the + 1"),
        (lambda x: torch.relu(x) + 1, "relu(x) + 1"),
        (torch.exp, "used exp(x)"),
        (lambda x: x + 1, "returned x + 1"),
        (lambda x: F.elu(x + 1), "elu(x + 1)"),
    ],
)
def test_feature_map_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_elu_feature_map(fn), phrase)


# ----------------------------------------------------------------------------- causal linear attention (assembling)
def phi(x):
    return F.elu(x) + 1


def recurrent(q, k, v, *, feature=phi, read_first=False, normalise=True):
    fq, fk = feature(q), feature(k)
    S = torch.zeros(*q.shape[:-2], q.shape[-1], v.shape[-1])
    z = torch.zeros(*q.shape[:-2], q.shape[-1])
    outs = []
    for t in range(q.shape[-2]):
        if not read_first:
            S = S + torch.einsum("...d,...e->...de", fk[..., t, :], v[..., t, :])
            z = z + fk[..., t, :]
        num = torch.einsum("...d,...de->...e", fq[..., t, :], S)
        den = (fq[..., t, :] * z).sum(-1, keepdim=True)
        outs.append(num / den if normalise else num)
        if read_first:
            S = S + torch.einsum("...d,...e->...de", fk[..., t, :], v[..., t, :])
            z = z + fk[..., t, :]
    return torch.stack(outs, dim=-2)


def quadratic_masked(q, k, v):
    """Another correct formulation: the (T, T) kernel weights with a causal mask."""
    w = phi(q) @ phi(k).transpose(-2, -1)
    w = w * torch.ones(q.shape[-2], q.shape[-2]).tril()
    return (w / w.sum(-1, keepdim=True)) @ v


def test_linear_attention_checker_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_causal_linear_attention(recurrent))
    assert_passed(check_causal_linear_attention(quadratic_masked))
    assert_not_yet(check_causal_linear_attention(stub), "haven't implemented")


def full_sums(q, k, v):
    fq, fk = phi(q), phi(k)
    return (fq @ (fk.transpose(-2, -1) @ v)) / (fq * fk.sum(-2, keepdim=True)).sum(-1, keepdim=True)


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda q, k, v: recurrent(q, k, v, read_first=True), "before adding the current token"),
        (lambda q, k, v: recurrent(q, k, v, normalise=False), "no normaliser"),
        (full_sums, "not causal"),
        (lambda q, k, v: recurrent(q, k, v, feature=lambda x: x), "without the feature map"),
        (lambda q, k, v: recurrent(q, k, v, feature=torch.exp), "used exp as the feature map"),
    ],
)
def test_linear_attention_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_causal_linear_attention(fn), phrase)


# ----------------------------------------------------------------------------- predict, then run
def test_the_doubling_measurement_is_a_deterministic_count():
    first, second = measure_doubling(), measure_doubling()
    assert first == second and first.answer == "doubles"
    assert "x2.00" in first.evidence and "x4.00" in first.evidence


def test_prediction_checker_accepts_the_measured_answer_only():
    assert_passed(check_linear_scaling_prediction(lambda: "doubles"))
    assert_passed(check_linear_scaling_prediction(lambda: "  Doubles "))
    assert_not_yet(check_linear_scaling_prediction(lambda: "quadruples"), 'the experiment shows "doubles"')
    assert_not_yet(check_linear_scaling_prediction(lambda: "stays the same"), 'the experiment shows "doubles"')
    assert_not_yet(check_linear_scaling_prediction(lambda: "linear"), "not one of the answers")
    assert_not_yet(check_linear_scaling_prediction(stub), "haven't implemented")


# ----------------------------------------------------------------------------- the counts behind it
def test_count_flops_agrees_with_torchs_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode

    layer = torch.nn.Linear(8, 5)
    x = torch.randn(2, 3, 8)

    def fn(x):
        return layer(x) @ torch.randn(5, 4) + torch.bmm(torch.randn(6, 2, 3), torch.randn(6, 3, 7)).sum()

    with FlopCounterMode(display=False) as counter:
        fn(x)
    assert count_flops(fn, x) == counter.get_total_flops() > 0


def test_attention_flops_grow_as_the_algorithms_say():
    flops = attention_flops(("full", "linear", "blocked_local"), (64, 128), d=8, window=16)
    assert flops["full", 128] == 4 * flops["full", 64]
    assert flops["linear", 128] == 2 * flops["linear", 64]
    assert flops["blocked_local", 128] == 2 * flops["blocked_local", 64]
    assert flops["full", 64] == 2 * 2 * 64 * 64 * 8  # Q K^T and weights @ V, 2 FLOPs per multiply-add


def test_generation_costs_linear_state_stays_fixed_while_the_cache_grows():
    rows = generation_costs((4, 16), d=8, repeats=2)
    by = {(r["method"], r["t"]): r for r in rows}
    assert by["linear, recurrent", 4]["flops"] == by["linear, recurrent", 16]["flops"] > 0
    assert by["linear, recurrent", 4]["bytes_held"] == by["linear, recurrent", 16]["bytes_held"]
    assert by["softmax + KV cache", 16]["flops"] == 4 * by["softmax + KV cache", 4]["flops"]
    assert by["softmax + KV cache", 16]["bytes_held"] == 2 * 16 * 8 * 4


def test_generation_costs_count_every_multiply_add_of_both_steps():
    d = 8
    rows = generation_costs((4, d), d=d, repeats=1)
    by = {(r["method"], r["t"]): r["flops"] for r in rows}
    # softmax with t cached tokens: scores and weighted sum, 2 t d multiply-adds; linear: update and read, 2 d^2
    assert by["softmax + KV cache", 4] == 2 * 2 * 4 * d
    assert by["linear, recurrent", 4] == by["linear, recurrent", d] == 2 * 2 * d * d
    # the update is counted as the matrix product it is: the same count as an explicit (Dh, 1) @ (1, Dv)
    assert by["linear, recurrent", 4] - count_flops(lambda: torch.randn(1, d) @ torch.randn(d, d)) == count_flops(
        lambda: torch.randn(d, 1) @ torch.randn(1, d)
    )
    # with d cached tokens, the two steps do the same arithmetic
    assert by["softmax + KV cache", d] == by["linear, recurrent", d]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: attention_flops("full", (4,)), "kinds must be"),
        (lambda: attention_flops(("full",), ()), "lengths must be"),
        (lambda: attention_flops(("bogus",), (4,)), "kind must be one of"),
        (lambda: generation_costs((0,)), "each of lengths"),
        (lambda: generation_costs((4,), d=0), "d must be a positive int"),
    ],
)
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_scaling_rows_measure_every_kind_and_keep_the_profiler_quiet(capfd):
    from coursekit.efficient.experiments import scaling_rows

    rows = scaling_rows(("full", "linear"), (32, 64), d=8, repeats=1)
    assert [r.n for r in rows["full"]] == [32, 64] and rows["linear"][0].kind == "linear"
    assert rows["full"][1].peak_bytes >= 2 * 64 * 64 * 4  # the scores and weights of n = 64
    assert "profiler_start" not in capfd.readouterr().err
    with pytest.raises(ValueError, match="kinds must be"):
        scaling_rows("full", (32,))

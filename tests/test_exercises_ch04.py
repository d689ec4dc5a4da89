"""Tests for the chapter 4 checkers: each accepts a learner-style solution, rejects the
stub, and rejects each plausible wrong answer with that mistake's hint; the assembled
multi-head attention also matches torch.nn.MultiheadAttention, and the "predict, then run"
question is checked against its measurement."""

import math
from collections import namedtuple

import pytest
import torch

from coursekit.exercises import (
    NOT_YET,
    PASSED,
    CheckResult,
    check_causal_mask,
    check_hopfield_update,
    check_multi_head_attention,
    check_scaled_dot_product_attention,
    check_scaling_prediction,
    check_split_heads,
)
from coursekit.attention import causal_mask
from coursekit.exercises.ch04 import multi_head_attention_reference

from checkresults import assert_not_yet, assert_passed

pytestmark = pytest.mark.usefixtures("one_thread")


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


# ---------------------------------------------------------------------------- scaled dot-product attention
def attention_like(scale="sqrt", fill=float("-inf"), invert=False, use_mask=True, dim=-1, zero_masked=True):
    def my_scaled_dot_product_attention(q, k, v, mask):
        d_k = q.shape[-1]
        factor = {"sqrt": 1 / math.sqrt(d_k), "none": 1.0, "d_k": 1 / d_k, "S": 1 / math.sqrt(k.shape[-2]), "times": math.sqrt(d_k)}[scale]
        scores = torch.matmul(q, k.transpose(-2, -1)) * factor
        keep = ~mask if invert else mask
        if use_mask:
            scores = scores.masked_fill(~keep, fill)
        weights = torch.softmax(scores, dim=dim)
        if use_mask and zero_masked:
            weights = weights.masked_fill(~keep, 0.0)
        return torch.matmul(weights, v), weights

    return my_scaled_dot_product_attention


def test_sdpa_accepts_a_solution():
    assert_passed(check_scaled_dot_product_attention(attention_like()))
    assert_passed(check_scaled_dot_product_attention(attention_like(), seed=3))


def test_sdpa_rejects_the_stub():
    assert_not_yet(check_scaled_dot_product_attention(stub), "haven't implemented `stub`")


Attended = namedtuple("Attended", "out weights")


def sdpa_float64(q, k, v, mask):
    return attention_like()(q.double(), k.double(), v.double(), mask)


@pytest.mark.parametrize("good", [lambda *args: Attended(*attention_like()(*args)), sdpa_float64])
def test_sdpa_accepts_other_correct_formulations(good):
    assert_passed(check_scaled_dot_product_attention(good))


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (attention_like(scale="none"), "Divide the scores by sqrt(d_k)"),
        (attention_like(scale="d_k"), "instead of sqrt(d_k)"),
        (attention_like(scale="S"), "not `k.shape[-2]`"),
        (attention_like(scale="times"), "multiplied the scores by sqrt(d_k)"),
        (attention_like(invert=True), "your mask is inverted"),
        (attention_like(use_mask=False), "the mask has no effect"),
        (attention_like(dim=-2), "normalises over the queries"),
        (attention_like(zero_masked=False), "comes out as NaN"),
    ],
)
def test_sdpa_names_the_mistake(wrong, phrase):
    assert_not_yet(check_scaled_dot_product_attention(wrong), phrase)


def test_sdpa_returning_only_the_output_is_explained():
    assert_not_yet(check_scaled_dot_product_attention(lambda q, k, v, m: attention_like()(q, k, v, m)[0]), "should return a tuple of 2 values")


# ---------------------------------------------------------------------------- split heads
def good_split_heads(x, n_heads):
    B, T, D = x.shape
    return x.view(B, T, n_heads, D // n_heads).transpose(1, 2)


def good_split_heads_einops_style(x, n_heads):
    B, T, D = x.shape
    return torch.stack(x.chunk(n_heads, dim=-1), dim=1)  # (B, H, T, Dh)


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda x, n_heads: x.view(x.shape[0], n_heads, x.shape[1], -1), "`.transpose(1, 2)`"),
        (lambda x, n_heads: x.view(*x.shape[:2], n_heads, -1), "heads are not in front of the positions"),
        (lambda x, n_heads: x.view(*x.shape[:2], -1, n_heads).permute(0, 3, 1, 2), "interleaved features"),
        (lambda x, n_heads: x.view(*x.shape[:2], n_heads, -1).permute(0, 2, 3, 1), "the last two axes are swapped"),
    ],
)
def test_split_heads_names_the_mistake(wrong, phrase):
    assert_not_yet(check_split_heads(wrong), phrase)


def test_split_heads_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_split_heads(good_split_heads))
    assert_passed(check_split_heads(good_split_heads_einops_style))
    assert_not_yet(check_split_heads(stub), "haven't implemented")


# ---------------------------------------------------------------------------- causal mask
def test_causal_mask_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_causal_mask(lambda T: torch.tril(torch.ones(T, T, dtype=torch.bool))))
    assert_passed(check_causal_mask(lambda T: torch.arange(T)[None, :] <= torch.arange(T)[:, None]))
    assert_not_yet(check_causal_mask(stub), "haven't implemented")


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda T: torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1), "*including* i"),
        (lambda T: torch.arange(T)[None, :] <= torch.arange(T)[:, None] + 1, "one step into the future"),
        (lambda T: torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1), "'True = masked' convention"),
        (lambda T: torch.triu(torch.ones(T, T, dtype=torch.bool)), "that is the lower triangle"),
        (lambda T: torch.zeros(T, T).masked_fill(torch.ones(T, T).triu(1).bool(), float("-inf")), "additive mask"),
    ],
)
def test_causal_mask_names_the_mistake(wrong, phrase):
    assert_not_yet(check_causal_mask(wrong), phrase)


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda T: torch.tril(torch.ones(T, T)), "right pattern, but as a float tensor of 1.0 and 0.0"),
        (lambda T: torch.tril(torch.ones(T, T, dtype=torch.long)), "right pattern, but as an integer tensor"),
        (lambda T: torch.tril(torch.ones(T, T)).masked_fill(torch.ones(T, T).triu(1).bool(), 7.0),
         "should have dtype torch.bool, but yours has torch.float32"),
    ],
)
def test_causal_mask_of_another_dtype_gets_a_hint_for_what_it_is(wrong, phrase):
    result = check_causal_mask(wrong)
    assert_not_yet(result, phrase, "`dtype=torch.bool`")
    assert "-inf" not in repr(result) and "additive" not in repr(result)


# ---------------------------------------------------------------------------- Hopfield update
def good_hopfield_update(state, stored, beta):
    X = stored.T  # (d, N): the paper's layout, patterns as columns
    return (X @ torch.softmax(beta * X.T @ state.T, dim=0)).T


def test_hopfield_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_hopfield_update(good_hopfield_update))
    assert_passed(check_hopfield_update(lambda s, x, b: torch.nn.functional.scaled_dot_product_attention(s, x, x, scale=b)))
    assert_not_yet(check_hopfield_update(stub), "haven't implemented")


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda s, x, b: torch.softmax(s @ x.T, -1) @ x, "beta has no effect"),
        (lambda s, x, b: torch.softmax(s @ x.T / b, -1) @ x, "*inverse* temperature"),
        (lambda s, x, b: torch.softmax(s @ x.T * s.shape[-1] ** -0.5, -1) @ x, "the Transformer's default"),
        (lambda s, x, b: torch.softmax(b * s @ x.T, 0) @ x, "runs over the states"),
        (lambda s, x, b: torch.softmax(b * s @ x.T, -1), "`p @ stored`"),
        (lambda s, x, b: b * s @ x.T @ x, "has no softmax"),
    ],
)
def test_hopfield_names_the_mistake(wrong, phrase):
    assert_not_yet(check_hopfield_update(wrong), phrase)


# ---------------------------------------------------------------------------- multi-head attention, assembled
def learner_mha(x, W_q, W_k, W_v, W_o, n_heads, mask):
    """What the notebook's solution does: the learner's split, attention and merge."""
    B, T, D = x.shape
    q, k, v = (good_split_heads(x @ W, n_heads) for W in (W_q, W_k, W_v))  # (B, H, T, Dh)
    heads, _ = attention_like()(q, k, v, mask)  # (B, H, T, Dh)
    return heads.transpose(1, 2).reshape(B, T, D) @ W_o


def learner_mha_einsum(x, W_q, W_k, W_v, W_o, n_heads, mask):
    """Another correct formulation: per-head weight slices and einsum, no reshapes of activations."""
    D = x.shape[-1]
    Dh = D // n_heads
    Wq, Wk, Wv = (W.view(D, n_heads, Dh) for W in (W_q, W_k, W_v))  # (D, H, Dh): head h owns columns h*Dh..
    q, k, v = (torch.einsum("btd,dhe->bhte", x, W) for W in (Wq, Wk, Wv))
    scores = torch.einsum("bhte,bhse->bhts", q, k) / math.sqrt(Dh)
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    heads = torch.einsum("bhts,bhse->bthe", weights, v)  # (B, T, H, Dh)
    return torch.einsum("bthe,heo->bto", heads, W_o.view(n_heads, Dh, D))


def test_mha_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_multi_head_attention(learner_mha))
    assert_passed(check_multi_head_attention(learner_mha, seed=5))
    assert_passed(check_multi_head_attention(learner_mha_einsum))
    assert_not_yet(check_multi_head_attention(stub), "haven't implemented")


def test_the_learner_style_mha_equals_torch_multihead_attention():
    """The checker's reference is coursekit's module; the same answer must come out of torch's own."""
    g = torch.Generator().manual_seed(0)
    B, T, D, H = 2, 5, 12, 3
    x = torch.randn(B, T, D, generator=g)
    W_q, W_k, W_v, W_o = (torch.randn(D, D, generator=g) / math.sqrt(D) for _ in range(4))
    ref = torch.nn.MultiheadAttention(D, H, bias=False, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([W_q.T, W_k.T, W_v.T]))  # nn.Linear layout: x @ weight.T
        ref.out_proj.weight.copy_(W_o.T)
        mask = causal_mask(T)
        want, _ = ref(x, x, x, attn_mask=~mask, need_weights=False)  # torch: True = may NOT attend
        lengths = torch.tensor([5, 3])
        keep = torch.arange(T)[None, :] < lengths[:, None]  # (B, S), True = real token
        want_pad, _ = ref(x, x, x, key_padding_mask=~keep, need_weights=False)
    torch.testing.assert_close(learner_mha(x, W_q, W_k, W_v, W_o, H, mask), want)
    torch.testing.assert_close(learner_mha(x, W_q, W_k, W_v, W_o, H, keep[:, None, None, :]), want_pad)
    torch.testing.assert_close(multi_head_attention_reference(x, W_q, W_k, W_v, W_o, H, mask), want)


def _mha_slip(*, transpose=False, out_proj=True, merge=True, split=True, scale_by_model=False, mask_used=True):
    def my_multi_head_attention(x, W_q, W_k, W_v, W_o, n_heads, mask):
        B, T, D = x.shape
        Ws = [W.T if transpose else W for W in (W_q, W_k, W_v, W_o)]
        q, k, v = torch.matmul(x, Ws[0]), torch.matmul(x, Ws[1]), torch.matmul(x, Ws[2])
        if split:
            q, k, v = (good_split_heads(t, n_heads) for t in (q, k, v))
            m = mask
        else:
            m = mask[:, 0] if mask.dim() == 4 else mask
        scores = q @ k.transpose(-2, -1) / math.sqrt(D if scale_by_model else q.shape[-1])
        if mask_used:
            scores = scores.masked_fill(~m, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v
        if split:
            out = out.transpose(1, 2).reshape(B, T, D) if merge else out.reshape(B, T, D)
        return out @ Ws[3] if out_proj else out

    return my_multi_head_attention


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (_mha_slip(out_proj=False), "without the output projection"),
        (_mha_slip(merge=False), "`out.transpose(1, 2)`"),
        (_mha_slip(transpose=True), "transposed weights"),
        (_mha_slip(split=False), "there is only one head"),
        (_mha_slip(scale_by_model=True), "not 1/sqrt(Dh)"),
        (_mha_slip(mask_used=False), "the mask has no effect"),
    ],
)
def test_mha_names_the_mistake(wrong, phrase):
    assert_not_yet(check_multi_head_attention(wrong), phrase)


def test_mha_returning_the_weights_too_is_explained():
    assert_not_yet(check_multi_head_attention(lambda *args: (learner_mha(*args), None)), "tuple")


# ---------------------------------------------------------------------------- predict, then run: no 1/sqrt(d_k)
def test_the_scaling_prediction_is_measured_and_checked():
    measured = check_scaling_prediction.prediction.measure()
    assert measured.answer == "peakier" and "d_k = 256" in measured.evidence
    assert_passed(check_scaling_prediction(lambda: "peakier"))
    assert_passed(check_scaling_prediction(lambda: " Peakier "))
    for wrong in ("flatter", "unchanged"):
        assert_not_yet(check_scaling_prediction(lambda: wrong), f'You predicted "{wrong}"', "standard deviation grows")
    assert_not_yet(check_scaling_prediction(lambda: "sharper"), 'Return one of "flatter", "peakier", "unchanged"')


def test_the_scaling_prediction_stub_is_not_implemented():
    def my_scaling_prediction():
        # YOUR CODE HERE
        raise NotImplementedError('return "flatter", "peakier" or "unchanged"')

    assert_not_yet(check_scaling_prediction(my_scaling_prediction), "haven't implemented")


def test_the_scaling_experiment_is_deterministic_and_fast():
    import time

    start = time.perf_counter()
    first = check_scaling_prediction.prediction.measure()
    assert time.perf_counter() - start < 0.5
    assert check_scaling_prediction.prediction.measure() == first


# ---------------------------------------------------------------------------- every checker
@pytest.mark.parametrize(
    "check, good",
    [
        (check_scaled_dot_product_attention, attention_like()),
        (check_split_heads, good_split_heads),
        (check_causal_mask, lambda T: torch.ones(T, T, dtype=torch.bool).tril()),
        (check_hopfield_update, good_hopfield_update),
        (check_multi_head_attention, learner_mha),
        (check_scaling_prediction, lambda: "peakier"),
    ],
)
def test_checkers_leave_the_global_rng_alone(check, good):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    assert_passed(check(good))
    assert torch.equal(torch.get_rng_state(), before)

"""Chapter 5 checkers: each accepts a learner-style solution, rejects the stub, and
rejects each plausible mistake with that mistake's own hint."""

import pytest
import torch
import torch.nn.functional as F

from coursekit.exercises import (
    NOT_YET,
    PASSED,
    check_placement_prediction,
    check_pre_norm_block,
    check_rms_norm,
    check_sinusoidal_encoding,
    check_swiglu,
    check_warmup_lr,
)
from coursekit.exercises.ch05 import PLACEMENT_PROBE, measure_placement
from coursekit.transformer import Block, BlockConfig


from checkresults import assert_not_yet, assert_passed

def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


# ----------------------------------------------------------------------------- sinusoidal encoding
def pe_like(*, swap=False, concat=False, exponent=lambda i, d: 2 * i / d, per_column=False, transpose=False):
    def my_sinusoidal_encoding(T, d_model):
        pos = torch.arange(T, dtype=torch.float32)[:, None]
        if per_column:
            a = pos / 10000 ** (torch.arange(d_model) / d_model)
            out = a.sin()
            out[:, 1::2] = a[:, 1::2].cos()
            return out
        i = torch.arange(d_model // 2, dtype=torch.float32)
        a = pos / 10000 ** exponent(i, d_model)
        s, c = (a.cos(), a.sin()) if swap else (a.sin(), a.cos())
        out = torch.cat([s, c], 1) if concat else torch.stack([s, c], -1).flatten(1)
        return out.T if transpose else out

    return my_sinusoidal_encoding


def test_sinusoidal_checker_accepts_a_solution_and_rejects_the_stub():
    assert_passed(check_sinusoidal_encoding(pe_like()))
    assert_not_yet(check_sinusoidal_encoding(stub), "haven't implemented")


def test_sinusoidal_checker_keeps_the_float32_the_exercise_asks_for():
    """The stub's docstring asks for float32, so a float64 matrix is the one dtype mistake it reports."""
    result = check_sinusoidal_encoding(lambda T, d: pe_like()(T, d).double())
    assert_not_yet(result, "should have dtype torch.float32 (float)", "torch.float64")


@pytest.mark.parametrize(
    "kw, phrase",
    [
        (dict(swap=True), "sines and cosines are swapped"),
        (dict(concat=True), "not interleaved"),
        (dict(exponent=lambda i, d: i / d), "10000^(i/d_model)"),
        (dict(per_column=True), "each column j has its own frequency"),
        (dict(transpose=True), "transposed"),
    ],
)
def test_sinusoidal_checker_names_each_mistake(kw, phrase):
    assert_not_yet(check_sinusoidal_encoding(pe_like(**kw)), phrase)


# ----------------------------------------------------------------------------- RMSNorm
def good_rms(x, weight, eps):
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps) * weight


def test_rms_checker_accepts_a_solution_and_rejects_the_stub():
    assert_passed(check_rms_norm(good_rms))
    assert_not_yet(check_rms_norm(stub), "haven't implemented")


@pytest.mark.parametrize(
    "good",
    [
        lambda x, w, eps: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w,
        lambda x, w, eps: F.rms_norm(x, (x.shape[-1],), w, eps),
        lambda x, w, eps: good_rms(x.double(), w.double(), eps),
    ],
)
def test_rms_checker_accepts_other_correct_formulations(good):
    assert_passed(check_rms_norm(good))


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda x, w, eps: good_rms(x - x.mean(-1, keepdim=True), w, eps), "that is LayerNorm"),
        (lambda x, w, eps: x / (x.pow(2).mean(-1, keepdim=True).sqrt() + eps) * w, "outside the square root"),
        (lambda x, w, eps: good_rms(x, torch.ones_like(w), eps), "forgot the learned gain"),
        (lambda x, w, eps: x / torch.sqrt(x.pow(2).sum(-1, keepdim=True) + eps) * w, "*sum* of squares"),
        (lambda x, w, eps: x / torch.sqrt(x.var(-1, keepdim=True) + eps) * w, "standard deviation"),
        (lambda x, w, eps: x / torch.sqrt(x.pow(2).mean(0, keepdim=True) + eps) * w, "first dimension"),
    ],
)
def test_rms_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_rms_norm(fn), phrase)


# ----------------------------------------------------------------------------- warm-up
def good_lr(step, d_model, warmup_steps):
    return d_model**-0.5 * torch.minimum(step**-0.5, step * warmup_steps**-1.5)


def test_warmup_checker_accepts_a_solution_and_rejects_the_stub():
    assert_passed(check_warmup_lr(good_lr))
    assert_not_yet(check_warmup_lr(stub), "haven't implemented")


def lr_from_a_list(step, d_model, warmup_steps):
    """Python floats put back with torch.tensor: float32 from correct numbers (the exercise asks for no dtype)."""
    return torch.tensor([d_model**-0.5 * min(s**-0.5, s * warmup_steps**-1.5) for s in step.tolist()])


def test_warmup_checker_accepts_other_correct_formulations():
    assert_passed(check_warmup_lr(lr_from_a_list))
    assert_passed(check_warmup_lr(lambda s, d, w: good_lr(s.float(), d, w)))


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda s, d, w: d**-0.5 * torch.maximum(s**-0.5, s * w**-1.5), "max of the two terms"),
        (lambda s, d, w: good_lr(s + 1, d, w), "one step ahead"),
        (lambda s, d, w: d**-0.5 * torch.minimum((s - 1).clamp(min=1e-30) ** -0.5, (s - 1) * w**-1.5), "one step behind"),
        (lambda s, d, w: d**-0.5 * torch.minimum(s**-0.5, s * w**-0.5), "warmup_steps ** -0.5"),
        (lambda s, d, w: torch.minimum(s**-0.5, s * w**-1.5), "left out the factor"),
    ],
)
def test_warmup_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_warmup_lr(fn), phrase)


# ----------------------------------------------------------------------------- SwiGLU
def good_swiglu(x, W_gate, W_up, W_down):
    gate = x @ W_gate.T
    return (gate * torch.sigmoid(gate) * (x @ W_up.T)) @ W_down.T


def down_not_transposed(x, W_gate, W_up, W_down):  # apart from the phrase, so the traceback can't quote it
    return (F.silu(x @ W_gate.T) * (x @ W_up.T)) @ W_down


def test_swiglu_checker_accepts_a_solution_and_rejects_the_stub():
    assert_passed(check_swiglu(good_swiglu))
    assert_not_yet(check_swiglu(stub), "haven't implemented")


def test_swiglu_checker_accepts_other_correct_formulations():
    assert_passed(check_swiglu(lambda x, g, u, d: (F.silu(x @ g.T) * (x @ u.T)) @ d.T))
    assert_passed(check_swiglu(lambda x, g, u, d: F.linear(F.silu(F.linear(x, g)) * F.linear(x, u), d)))


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (lambda x, g, u, d: (torch.sigmoid(x @ g.T) * (x @ u.T)) @ d.T, "original GLU"),
        (lambda x, g, u, d: (F.relu(x @ g.T) * (x @ u.T)) @ d.T, "ReGLU"),
        (lambda x, g, u, d: (F.silu(x @ u.T) * (x @ g.T)) @ d.T, "wrong branch"),
        (lambda x, g, u, d: F.silu(x @ g.T) @ d.T, "no gating"),
        (down_not_transposed, "without transposing"),
    ],
)
def test_swiglu_checker_names_each_mistake(fn, phrase):
    assert_not_yet(check_swiglu(fn), phrase)


# ----------------------------------------------------------------------------- pre-norm block (assembling)
def my_rms_norm(x, weight, eps):
    return x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight


def my_swiglu(x, W_gate, W_up, W_down):
    return (F.silu(x @ W_gate.T) * (x @ W_up.T)) @ W_down.T


def block_like(*, post=False, residual=True, ffn_norm=True, one_head=False, interleaved=False, sqrt_d=False,
               causal=False, swap=False, w_o=True, layer_norm=False, normed_residual=False, sdpa=False):
    """A learner's block written the way the notebook's solution is, with one thing changed."""

    def my_pre_norm_block(x, attn, ffn, norms, n_heads, eps):
        W_q, W_k, W_v, W_o = attn
        g1, g2 = norms[::-1] if swap else norms
        B, T, D = x.shape
        H = 1 if one_head else n_heads
        Dh = D // H
        norm = (lambda t, g, e: F.layer_norm(t, (D,), g, None, e)) if layer_norm else my_rms_norm

        def heads(t):
            if interleaved:
                return t.view(B, T, Dh, H).permute(0, 3, 1, 2)
            return t.view(B, T, H, Dh).transpose(1, 2)

        def attend(h):
            q, k, v = heads(h @ W_q.T), heads(h @ W_k.T), heads(h @ W_v.T)
            if sdpa:
                out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
            else:
                scores = q @ k.transpose(-2, -1) / (D if sqrt_d else Dh) ** 0.5
                if causal:
                    scores = scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
                out = scores.softmax(-1) @ v
            out = out.permute(0, 2, 3, 1) if interleaved else out.transpose(1, 2)
            out = out.reshape(B, T, D)
            return out @ W_o.T if w_o else out

        if post:
            x = norm(x + attend(x), g1, eps)
            return norm(x + my_swiglu(x, *ffn), g2, eps)
        h = norm(x, g1, eps)
        if not residual:
            return my_swiglu(norm(attend(h), g2, eps), *ffn)
        x = (h if normed_residual else x) + attend(h)
        h2 = norm(x, g2, eps) if ffn_norm else x
        return (h2 if normed_residual else x) + my_swiglu(h2, *ffn)

    return my_pre_norm_block


def test_pre_norm_block_checker_accepts_a_solution_and_rejects_the_stub():
    assert_passed(check_pre_norm_block(block_like()))
    assert_not_yet(check_pre_norm_block(stub), "haven't implemented")


def block_from_modules(x, attn, ffn, norms, n_heads, eps):
    """Another correct formulation: coursekit's own parts, each with a learner's weights."""
    from coursekit.attention import MultiHeadAttention
    from coursekit.transformer import FeedForward, RMSNorm

    D = x.shape[-1]
    mha, ffn_mod = MultiHeadAttention(D, n_heads, bias=False), FeedForward(D, ffn[0].shape[0], "swiglu", bias=False)
    n1, n2 = RMSNorm(D, eps), RMSNorm(D, eps)
    with torch.no_grad():
        for lin, W in zip((mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj), attn):
            lin.weight.copy_(W)
        for lin, W in zip((ffn_mod.gate, ffn_mod.up, ffn_mod.down), ffn):
            lin.weight.copy_(W)
        n1.weight.copy_(norms[0]), n2.weight.copy_(norms[1])
        x = x + mha(n1(x), need_weights=True)[0]  # the from-scratch path this time
        return x + ffn_mod(n2(x))


def test_pre_norm_block_checker_accepts_other_correct_formulations():
    assert_passed(check_pre_norm_block(block_like(sdpa=True)))  # torch's fused attention on the split heads
    assert_passed(check_pre_norm_block(block_from_modules))
    assert_passed(check_pre_norm_block(lambda *a: block_like()(*a).double()))  # float64 is fine


@pytest.mark.parametrize(
    "kw, phrase",
    [
        (dict(post=True), "post-norm block of 2017"),
        (dict(residual=False), "no residual connection"),
        (dict(normed_residual=True), "residual path carries the normalised x"),
        (dict(ffn_norm=False), "FFN reads x without its norm"),
        (dict(swap=True), "two gains are swapped"),
        (dict(layer_norm=True), "that is LayerNorm"),
        (dict(one_head=True), "only one head"),
        (dict(interleaved=True), "every n_heads-th feature"),
        (dict(sqrt_d=True), "1/sqrt(D), the model width"),
        (dict(causal=True), "causal mask"),
        (dict(causal=True, sdpa=True), "causal mask"),
        (dict(w_o=False), "without the output projection"),
    ],
)
def test_pre_norm_block_checker_names_each_mistake(kw, phrase):
    assert_not_yet(check_pre_norm_block(block_like(**kw)), phrase)


def test_pre_norm_block_reference_is_coursekits_block():
    """The checker's reference is Block itself: its output equals a Block with the same weights."""
    spec = check_pre_norm_block.exercise
    x, attn, ffn, norms, H, eps = spec.build_cases(0)[0].args
    torch.manual_seed(0)
    block = Block(BlockConfig(d_model=x.shape[-1], n_heads=H, d_ff=ffn[0].shape[0], ffn="swiglu", norm="rmsnorm",
                              norm_first=True, bias=False, norm_eps=eps))
    with torch.no_grad():
        for module, W in [(block.self_attn.q_proj, attn[0]), (block.self_attn.k_proj, attn[1]),
                          (block.self_attn.v_proj, attn[2]), (block.self_attn.out_proj, attn[3]),
                          (block.ffn.gate, ffn[0]), (block.ffn.up, ffn[1]), (block.ffn.down, ffn[2]),
                          (block.norm1, norms[0]), (block.norm2, norms[1])]:
            module.weight.copy_(W)
        torch.testing.assert_close(spec.reference(*spec.build_cases(0)[0].args), block(x)[0])
        torch.testing.assert_close(block_like()(x, attn, ffn, norms, H, eps), block(x)[0], rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- predict: post-norm without warm-up
def my_placement_prediction():
    # YOUR CODE HERE
    raise NotImplementedError('return "diverges", "trains slower" or "trains the same"')


def test_placement_measurement_is_deterministic_and_says_post_norm_trains_slower():
    a, b = measure_placement(), measure_placement()
    assert a == b
    assert a.answer == "trains slower", a.evidence
    assert f"lr {PLACEMENT_PROBE.lr:g}" in a.evidence


def test_placement_prediction_checker():
    """Each call that gets a valid answer runs the experiment (about half a second), so two of them."""
    assert_passed(check_placement_prediction(lambda: "  Trains Slower "))
    assert_not_yet(check_placement_prediction(lambda: "diverges"), 'the experiment shows "trains slower"')
    assert_not_yet(check_placement_prediction(lambda: "explodes"), 'Return one of "diverges"')
    assert_not_yet(check_placement_prediction(my_placement_prediction), "haven't implemented")

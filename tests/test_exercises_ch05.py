"""Chapter 5 checkers: each accepts a learner-style solution, rejects the stub, and
rejects each plausible mistake with that mistake's own hint."""

import pytest
import torch
import torch.nn.functional as F

from coursekit.exercises import NOT_YET, PASSED, check_rms_norm, check_sinusoidal_encoding, check_swiglu, check_warmup_lr


def assert_passed(result):
    assert result.passed and repr(result).startswith(PASSED), repr(result)


def assert_not_yet(result, *phrases):
    text = repr(result)
    assert not result.passed and text.startswith(NOT_YET), text
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not in:\n{text}"


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

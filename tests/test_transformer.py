"""Tests for coursekit.transformer's parts: positions (sinusoidal values, rotary invariants),
norms (vs torch and the hand formula), FFN variants, the warm-up schedule, the config and
the parameter count from a config alone (vs the built model and the paper's Table 3)."""

import math
from dataclasses import FrozenInstanceError, replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursekit.transformer import (
    FFNS,
    FeedForward,
    LayerNorm,
    LearnedPositions,
    RMSNorm,
    RotaryEmbedding,
    SinusoidalPositions,
    Transformer,
    TransformerConfig,
    WarmupSchedule,
    count_parameters,
    llama_style,
    matched_d_ff,
    sinusoidal_encoding,
    transformer_base,
    transformer_big,
    warmup_lr,
    warmup_scheduler,
)

pytestmark = pytest.mark.usefixtures("one_thread")


# ----------------------------------------------------------------------------- positions
def test_sinusoidal_matches_the_papers_formula_entry_by_entry():
    T, D = 7, 10
    pe = sinusoidal_encoding(T, D)
    assert pe.shape == (T, D) and pe.dtype == torch.float32
    for pos in range(T):
        for i in range(D // 2):
            angle = pos / 10000 ** (2 * i / D)
            assert pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_sinusoidal_offset_is_a_rotation_so_dot_products_depend_on_distance_only():
    pe = sinusoidal_encoding(50, 16, dtype=torch.float64)
    gram = pe @ pe.T  # PE_p . PE_q = sum_i cos((p - q) w_i)
    for k in (1, 3, 7):
        diag = torch.diagonal(gram, offset=k)
        torch.testing.assert_close(diag, diag[0].expand_as(diag))


def test_sinusoidal_positions_add_to_embeddings_and_check_width():
    x = torch.zeros(2, 5, 8)
    torch.testing.assert_close(SinusoidalPositions(8)(x), sinusoidal_encoding(5, 8).expand(2, 5, 8))
    with pytest.raises(ValueError, match="must have shape"):
        SinusoidalPositions(8)(torch.zeros(2, 5, 6))
    with pytest.raises(ValueError, match="d_model must be even"):
        sinusoidal_encoding(5, 7)


def test_learned_positions_add_a_row_per_position_and_stop_at_max_len():
    torch.manual_seed(0)
    pos = LearnedPositions(4, max_len=6)
    x = torch.randn(3, 5, 4)
    torch.testing.assert_close(pos(x), x + pos.table.weight[:5])
    with pytest.raises(ValueError, match="max_len=6"):
        pos(torch.randn(1, 7, 4))


def test_rotary_keeps_norms_and_leaves_position_zero_alone():
    torch.manual_seed(0)
    rot = RotaryEmbedding(8)
    x = torch.randn(2, 3, 6, 8)  # (B, H, T, Dh)
    y = rot(x)
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(y[..., 0, :], x[..., 0, :])
    assert not torch.allclose(y[..., 1:, :], x[..., 1:, :])


def test_rotary_scores_depend_only_on_the_relative_offset():
    torch.manual_seed(0)
    rot = RotaryEmbedding(8)
    q, k = torch.randn(8), torch.randn(8)
    T = 12
    qs, ks = rot(q.expand(T, 8)), rot(k.expand(T, 8))  # the same vectors at every position
    scores = qs @ ks.T  # (T, T): score of query position m with key position n
    for offset in (-3, 0, 2, 5):
        diag = torch.diagonal(scores, offset=offset)
        torch.testing.assert_close(diag, diag[0].expand_as(diag), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(torch.diagonal(scores, 0)[0], torch.diagonal(scores, 3)[0])


def test_rotary_rejects_the_wrong_width():
    with pytest.raises(ValueError, match=r"Dh=8"):
        RotaryEmbedding(8)(torch.randn(2, 5, 6))
    with pytest.raises(ValueError, match="d_head must be even"):
        RotaryEmbedding(7)


# ----------------------------------------------------------------------------- norms
def test_layernorm_matches_torch_with_copied_parameters():
    torch.manual_seed(0)
    ours, theirs = LayerNorm(6), nn.LayerNorm(6)
    with torch.no_grad():
        theirs.weight.normal_(), theirs.bias.normal_()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(3, 4, 6) * 5 + 2
    torch.testing.assert_close(ours(x), theirs(x))


def test_rmsnorm_matches_the_hand_formula_and_torch():
    torch.manual_seed(0)
    norm = RMSNorm(6, eps=1e-6)
    with torch.no_grad():
        norm.weight.normal_()
    x = torch.randn(3, 4, 6) * 3 + 1
    hand = x / torch.sqrt((x**2).mean(-1, keepdim=True) + 1e-6) * norm.weight
    torch.testing.assert_close(norm(x), hand)
    assert not torch.allclose(norm(x), LayerNorm(6)(x) * norm.weight)  # no re-centring
    if hasattr(nn, "RMSNorm"):
        theirs = nn.RMSNorm(6, eps=1e-6)
        theirs.load_state_dict(norm.state_dict())
        torch.testing.assert_close(norm(x), theirs(x))


def test_norms_reject_the_wrong_width():
    with pytest.raises(ValueError, match=r"\(\.\.\., 6\)"):
        RMSNorm(6)(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"\(\.\.\., 6\)"):
        LayerNorm(6)(torch.ones(2, 6, dtype=torch.long))


# ----------------------------------------------------------------------------- FFN
def test_relu_ffn_is_the_papers_eq_2():
    torch.manual_seed(0)
    ffn = FeedForward(6, 10, "relu")
    x = torch.randn(2, 3, 6)
    want = torch.clamp(x @ ffn.up.weight.T + ffn.up.bias, min=0) @ ffn.down.weight.T + ffn.down.bias
    torch.testing.assert_close(ffn(x), want)


@pytest.mark.parametrize("kind, act", [("glu", torch.sigmoid), ("reglu", F.relu), ("geglu", F.gelu), ("swiglu", F.silu)])
def test_gated_ffns_are_shazeers_variants(kind, act):
    torch.manual_seed(0)
    ffn = FeedForward(6, 8, kind, bias=False)
    x = torch.randn(2, 3, 6)
    W, V, W2 = ffn.gate.weight.T, ffn.up.weight.T, ffn.down.weight.T
    torch.testing.assert_close(ffn(x), (act(x @ W) * (x @ V)) @ W2)


def test_matched_d_ff_keeps_the_parameter_count_of_the_plain_ffn():
    plain = sum(p.numel() for p in FeedForward(96, 384, "relu", bias=False).parameters())
    for kind in FFNS:
        n = sum(p.numel() for p in FeedForward(96, matched_d_ff(384, kind), kind, bias=False).parameters())
        assert n == plain, kind  # 2/3 * 384 = 256 exactly
    assert matched_d_ff(2048, "swiglu") == 1365 and matched_d_ff(2048, "gelu") == 2048
    with pytest.raises(ValueError, match="ffn must be one of"):
        FeedForward(4, 8, "tanh")


# ----------------------------------------------------------------------------- schedule
def test_warmup_rate_rises_linearly_peaks_at_warmup_then_decays_as_inverse_sqrt():
    d, w = 512, 4000
    rates = [warmup_lr(s, d, w) for s in range(1, 3 * w)]
    peak = max(range(len(rates)), key=rates.__getitem__) + 1
    assert peak == w
    assert rates[w - 1] == pytest.approx((d * w) ** -0.5)
    assert warmup_lr(2, d, w) == pytest.approx(2 * warmup_lr(1, d, w))  # linear warm-up
    assert warmup_lr(4 * w, d, w) == pytest.approx(warmup_lr(w, d, w) / 2)  # 1/sqrt(step) decay
    with pytest.raises(ValueError, match="step must be a positive int"):
        warmup_lr(0, d, w)


def test_warmup_scheduler_drives_an_optimizer_with_the_paper_rates():
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=123.0)
    sched = warmup_scheduler(opt, d_model=16, warmup_steps=5, scale=2.0)
    seen = []
    for _ in range(8):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx([2.0 * warmup_lr(s, 16, 5) for s in range(1, 9)])
    assert max(range(8), key=seen.__getitem__) == 4  # the 5th optimiser step, paper step 5
    state = sched.state_dict()  # a callable object, not a lambda: saved with the scheduler
    assert state["lr_lambdas"][0] == {"d_model": 16, "warmup_steps": 5, "scale": 2.0}
    with pytest.raises(ValueError, match="scale must be > 0"):
        WarmupSchedule(16, 5, scale=0.0)


# ----------------------------------------------------------------------------- config and parameter count
CONFIGS = [
    dict(),
    dict(norm_first=True, ffn="gelu", positions="learned"),
    dict(ffn="swiglu", norm="rmsnorm", bias=False, positions="rotary", norm_first=True),
    dict(share_embeddings=True, tgt_vocab_size=11, tie_output=False, n_layers=3, positions="none"),
    dict(tie_output=False, bias=False, norm="layernorm", ffn="geglu"),
]


@pytest.mark.parametrize("kw", CONFIGS, ids=range(len(CONFIGS)))
def test_parameter_count_from_the_config_equals_the_built_model(kw):
    cfg = TransformerConfig(**{**dict(src_vocab_size=11, tgt_vocab_size=13, d_model=16, n_heads=2, d_ff=24, max_len=20), **kw})
    model = Transformer(cfg)
    assert count_parameters(cfg).total == sum(p.numel() for p in model.parameters())


def test_parameter_count_of_the_papers_base_and_big_models():
    """Table 3: base 65M, big 213M. With one shared 37000-token embedding matrix (source, target and
    pre-softmax, Sec. 3.4) the formula gives 63.1M and 214.3M: -2.9% and +0.6% (the paper rounds and
    does not give its exact vocabulary size; see the chapter)."""
    base, big = count_parameters(transformer_base()), count_parameters(transformer_big())
    assert base.embeddings == 37000 * 512 and base.positions == 0
    assert base.encoder == 6 * (4 * (512 * 512 + 512) + (2 * 512 * 2048 + 2048 + 512) + 2 * 2 * 512)
    assert base.total == 63_119_496 and big.total == 214_282_376
    assert abs(base.total / 65e6 - 1) < 0.04 and abs(big.total / 213e6 - 1) < 0.01
    llama = count_parameters(llama_style(transformer_base()))
    assert abs(llama.total / base.total - 1) < 0.01  # same budget, different block


def test_config_is_frozen_and_rejects_bad_values_naming_them():
    cfg = TransformerConfig(10, 10)
    with pytest.raises(FrozenInstanceError):
        cfg.d_model = 3
    for kw, match in [
        (dict(d_model=30, n_heads=4), "divisible by n_heads"),
        (dict(ffn="tanh"), "ffn must be one of"),
        (dict(norm="batchnorm"), "norm must be one of"),
        (dict(positions="alibi"), "positions must be one of"),
        (dict(dropout=1.0), r"dropout must be in \[0, 1\)"),
        (dict(positions="rotary", d_model=12, n_heads=4), "even head width"),
        (dict(share_embeddings=True, tgt_vocab_size=12), "src_vocab_size == tgt_vocab_size"),
        (dict(n_layers=0), "n_layers must be a positive int"),
    ]:
        with pytest.raises(ValueError, match=match):
            replace(cfg, **kw)
    with pytest.raises(ValueError, match="TransformerConfig"):
        count_parameters({"d_model": 4})


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(d_model="64"), r"d_model must be a positive int, got '64'"),
        (dict(dropout="0.1"), r"dropout must be a real number in \[0, 1\), got '0.1' \(str\)"),
        (dict(norm_eps=None), r"norm_eps must be a real number > 0, got None \(NoneType\)"),
        (dict(norm_eps=0.0), r"norm_eps must be > 0, got 0.0"),
        (dict(max_len=0), r"max_len must be a positive int, got 0"),
        (dict(norm_first="yes"), r"norm_first must be True or False, got 'yes'"),
        (dict(bias=1), r"bias must be True or False, got 1"),
        (dict(n_heads=2.0), r"n_heads must be a positive int, got 2.0"),
    ],
)
def test_config_rejects_wrong_types_naming_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        TransformerConfig(10, 10, **kw)


def test_config_accepts_numpy_numbers():
    import numpy as np

    cfg = TransformerConfig(np.int64(10), np.int32(10), d_model=np.int64(32), dropout=np.float32(0.1), norm_eps=np.float64(1e-6))
    assert cfg.block.d_model == 32 and count_parameters(cfg).total == sum(p.numel() for p in Transformer(cfg).parameters())


# ----------------------------------------------------------------------------- rotary against transformers
def test_rotary_equals_transformers_llama_rotary_after_the_layout_permutation():
    """transformers' LLaMA rotates feature i with feature i + Dh/2 ("rotate_half"); ours rotates
    the interleaved pairs (2i, 2i+1), as the RoFormer paper writes it. Permuting the head's
    features with half_to_interleaved maps one onto the other exactly."""
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

    from coursekit.transformer import half_to_interleaved

    Dh, H_, T, offset = 8, 2, 5, 3
    config = LlamaConfig(hidden_size=Dh * H_, num_attention_heads=H_, head_dim=Dh, rope_theta=10000.0, max_position_embeddings=64)
    theirs = LlamaRotaryEmbedding(config)
    torch.manual_seed(0)
    q, k = torch.randn(2, H_, T, Dh), torch.randn(2, H_, T, Dh)  # rotate-half layout
    positions = torch.arange(offset, offset + T)[None, :].expand(2, T)
    cos, sin = theirs(q, positions)
    q_ref, k_ref = apply_rotary_pos_emb(q, k, cos, sin)
    perm = half_to_interleaved(Dh)
    ours = RotaryEmbedding(Dh)
    torch.testing.assert_close(ours(q[..., perm], offset)[..., torch.argsort(perm)], q_ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours(k[..., perm], offset)[..., torch.argsort(perm)], k_ref, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(ours(q, offset), q_ref, atol=1e-3)  # without the permutation they differ


def test_half_to_interleaved_is_a_permutation_pairing_i_with_i_plus_half():
    from coursekit.transformer import half_to_interleaved

    assert half_to_interleaved(6).tolist() == [0, 3, 1, 4, 2, 5]
    with pytest.raises(ValueError, match="d_head must be even"):
        half_to_interleaved(5)

"""coursekit.gpt's model: equivalence with transformers' GPT2LMHeadModel both ways, the config
round trip, the causal mask, the KV cache against the full pass, generation, training, and
bad inputs. transformers is a test dependency: imported inside the tests that compare."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from coursekit.gpt import (
    GPT, GPTConfig, KVCache, count_parameters, from_hf_gpt2, from_hf_openai_gpt, lm_loss, to_hf_gpt2,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: two threads on a busy machine are far slower

TINY = GPTConfig(vocab_size=101, n_positions=64, n_embd=32, n_layer=2, n_head=4)


def tiny_hf(seed: int = 0, **kwargs):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    cfg = GPT2Config(
        vocab_size=101, n_positions=64, n_embd=32, n_layer=2, n_head=4, bos_token_id=100, eos_token_id=100, **kwargs
    )
    return GPT2LMHeadModel(cfg).eval()


def tiny_gpt(seed: int = 0, **kwargs) -> GPT:
    torch.manual_seed(seed)
    return GPT(dataclasses.replace(TINY, **kwargs)).eval()


def ids(B: int = 2, T: int = 12, V: int = 101, seed: int = 1) -> torch.Tensor:
    return torch.randint(V, (B, T), generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- transformers equivalence
@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
def test_gpt2lmheadmodel_weights_load_into_coursekit_and_give_the_same_logits(attn_implementation):
    hf = tiny_hf(attn_implementation=attn_implementation)
    model = from_hf_gpt2(hf).eval()
    x = ids()
    torch.testing.assert_close(model(x).logits, hf(x).logits, atol=1e-5, rtol=1e-5)


def test_coursekit_weights_load_into_gpt2lmheadmodel_and_give_the_same_logits_and_attentions():
    model = tiny_gpt(seed=3, n_inner=48)  # a non-default FFN width too
    hf = to_hf_gpt2(model)
    hf.set_attn_implementation("eager")  # returns attention weights
    x = ids(B=1, T=9)
    ours, theirs = model(x, need_weights=True), hf(x, output_attentions=True)
    torch.testing.assert_close(ours.logits, theirs.logits, atol=1e-5, rtol=1e-5)
    assert len(ours.attentions) == len(theirs.attentions) == 2
    for a, b in zip(ours.attentions, theirs.attentions):
        assert a.shape == (1, 4, 9, 9)
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    assert hf.lm_head.weight.data_ptr() == hf.transformer.wte.weight.data_ptr()  # still tied


def test_round_trip_through_transformers_keeps_every_weight():
    model = tiny_gpt(seed=4)
    back = from_hf_gpt2(to_hf_gpt2(model))
    for (name, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items()):
        torch.testing.assert_close(a, b, atol=0, rtol=0, msg=name)


def test_gradients_match_gpt2lmheadmodel():
    hf = tiny_hf(seed=5)
    model = from_hf_gpt2(hf)
    assert not model.training and not hf.training  # the config's dropout 0.1 is off in eval mode
    x = ids(T=10)
    ours = lm_loss(model, x[:, :-1], x[:, 1:])
    theirs = hf(x[:, :-1], labels=x[:, :-1]).loss  # transformers shifts the labels itself
    theirs_manual = torch.nn.functional.cross_entropy(hf(x[:, :-1]).logits.flatten(0, 1), x[:, 1:].flatten())
    torch.testing.assert_close(ours, theirs_manual, atol=1e-5, rtol=1e-5)
    assert torch.isfinite(theirs)
    ours.backward()
    theirs_manual.backward()
    torch.testing.assert_close(model.wte.weight.grad, hf.transformer.wte.weight.grad, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(
        model.stack.layers[0].ffn.up.weight.grad, hf.transformer.h[0].mlp.c_fc.weight.grad.T, atol=1e-5, rtol=1e-4
    )


def test_openai_gpt_weights_load_into_a_post_norm_coursekit_gpt_and_give_the_same_logits():
    from transformers import OpenAIGPTConfig, OpenAIGPTLMHeadModel

    torch.manual_seed(0)
    hf = OpenAIGPTLMHeadModel(OpenAIGPTConfig(vocab_size=101, n_positions=64, n_embd=32, n_layer=2, n_head=4)).eval()
    model = from_hf_openai_gpt(hf)
    assert model.config.norm_placement == "post" and isinstance(model.stack.norm, torch.nn.Identity)
    x = ids()
    torch.testing.assert_close(model(x).logits, hf(x).logits, atol=1e-5, rtol=1e-5)
    assert count_parameters(model.config) == sum(p.numel() for p in hf.parameters())


def test_config_round_trip_through_gpt2config():
    cfg = GPTConfig(vocab_size=77, n_positions=40, n_embd=48, n_layer=3, n_head=6, n_inner=100,
                    layer_norm_epsilon=1e-6, resid_pdrop=0.1, embd_pdrop=0.2, attn_pdrop=0.3, initializer_range=0.01)
    hf_cfg = cfg.to_hf()
    assert (hf_cfg.n_embd, hf_cfg.n_layer, hf_cfg.n_head, hf_cfg.n_inner, hf_cfg.activation_function) == (48, 3, 6, 100, "gelu_new")
    assert GPTConfig.from_hf(hf_cfg) == cfg
    assert GPTConfig.from_hf(tiny_hf().config) == dataclasses.replace(TINY, resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1)


def test_configs_transformers_cannot_hold_or_coursekit_cannot_compute_are_refused():
    from transformers import GPT2Config

    with pytest.raises(ValueError, match="norm_placement='pre'"):
        GPTConfig(norm_placement="post").to_hf()
    with pytest.raises(ValueError, match="scale_attn_by_inverse_layer_idx must be False"):
        GPTConfig.from_hf(GPT2Config(scale_attn_by_inverse_layer_idx=True))
    with pytest.raises(ValueError, match="cfg must be a transformers.GPT2Config, got dict"):
        GPTConfig.from_hf({})
    with pytest.raises(ValueError, match="hf_model must be a transformers.GPT2LMHeadModel, got GPT"):
        from_hf_gpt2(tiny_gpt())


def test_coursekit_gpt_imports_transformers_only_inside_functions():
    import ast
    from pathlib import Path

    import coursekit.gpt

    files = sorted(Path(coursekit.gpt.__file__).parent.glob("*.py"))
    assert len(files) >= 7
    inside = 0
    for path in files:
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        for node in top:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert not any(n.split(".")[0] == "transformers" for n in names), f"{path.name} imports transformers at import"
        inside += sum(isinstance(n, ast.ImportFrom) and n.module == "transformers" for n in ast.walk(tree))
    assert inside >= 3  # to_hf, from_hf, the conversions: imported where they are needed


# ----------------------------------------------------------------------------- architecture
def test_parameter_count_equals_numel_of_ours_and_of_gpt2lmheadmodel_with_tied_weights_once():
    from transformers import GPT2LMHeadModel

    for cfg in (TINY, dataclasses.replace(TINY, n_inner=40, n_layer=3), GPTConfig(vocab_size=50, n_positions=8, n_embd=24, n_head=2)):
        model = GPT(cfg)
        n = sum(p.numel() for p in model.parameters())
        assert count_parameters(cfg) == n
        assert sum(p.numel() for p in GPT2LMHeadModel(cfg.to_hf()).parameters()) == n
    post = GPTConfig(norm_placement="post", bias=False)
    assert count_parameters(post) == sum(p.numel() for p in GPT(post).parameters())


def test_output_layer_is_the_token_embedding():
    model = tiny_gpt()
    x = ids(T=5)
    out = model.stack(x, is_causal=True).hidden
    torch.testing.assert_close(model(x).logits, out @ model.wte.weight.T)
    assert not any(p.shape == model.wte.weight.shape and p is not model.wte.weight for p in model.parameters())


def test_gpt2_initialisation_scales_the_residual_projections_by_one_over_sqrt_2L():
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=64, n_positions=32, n_embd=256, n_layer=8, n_head=4)
    model = GPT(cfg)
    std = lambda t: t.std().item()  # noqa: E731
    block = model.stack.layers[0]
    assert std(block.self_attn.q_proj.weight) == pytest.approx(0.02, rel=0.05)
    assert std(block.ffn.up.weight) == pytest.approx(0.02, rel=0.05)
    assert std(block.self_attn.out_proj.weight) == pytest.approx(0.02 / math.sqrt(16), rel=0.05)
    assert std(block.ffn.down.weight) == pytest.approx(0.02 / math.sqrt(16), rel=0.05)
    assert std(model.wte.weight) == pytest.approx(0.02, rel=0.05) and std(model.wpe.weight) == pytest.approx(0.02, rel=0.1)
    assert block.ffn.up.bias.abs().max() == 0 and (block.norm1.weight == 1).all()
    assert block.cfg.ffn == "gelu_tanh" and block.cfg.norm_first


def test_causal_mask_hides_the_future():
    model = tiny_gpt()
    x = ids(B=1, T=10)
    for t in (0, 4, 8):
        y = x.clone()
        y[0, t + 1] = (y[0, t + 1] + 1) % 101  # change token t + 1
        a, b = model(x).logits, model(y).logits
        torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1], atol=0, rtol=0)
        assert not torch.allclose(a[:, t + 1], b[:, t + 1])


def test_the_full_pass_goes_to_scaled_dot_product_attention_with_is_causal_and_no_mask():
    from torch.overrides import TorchFunctionMode

    class Record(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.calls = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func is torch.nn.functional.scaled_dot_product_attention:
                self.calls.append((kwargs.get("is_causal"), kwargs.get("attn_mask")))
            return func(*args, **kwargs)

    model = tiny_gpt()
    with Record() as full:
        model(ids(T=6))
    assert full.calls == [(True, None), (True, None)]  # one per layer: the fused causal kernel
    cache = model.new_cache()
    model(ids(T=5), cache=cache)
    with Record() as step:
        model(ids(T=1), cache=cache)
    assert step.calls == [(False, None), (False, None)]  # one query sees all 6 keys: no mask at all


def test_attention_weights_are_causal_and_sum_to_one():
    (a0, a1) = tiny_gpt()(ids(B=1, T=6), need_weights=True).attentions
    assert a0.shape == (1, 4, 6, 6)
    assert (a0.triu(1) == 0).all() and (a1.triu(1) == 0).all()
    torch.testing.assert_close(a0.sum(-1), torch.ones(1, 4, 6))


def test_gpt1_is_post_norm_without_a_final_norm():
    model = tiny_gpt(norm_placement="post", activation_function="gelu")  # exact GELU: another FFN kind
    assert isinstance(model.stack.norm, torch.nn.Identity) and not model.stack.layers[0].cfg.norm_first
    assert model.stack.layers[0].cfg.ffn == "gelu"
    assert model(ids()).logits.shape == (2, 12, 101)


# ----------------------------------------------------------------------------- KV cache
@pytest.mark.parametrize("prefix", [1, 5])
def test_cached_decoding_gives_the_full_pass_logits_at_every_step(prefix):
    model = tiny_gpt(seed=2)
    x = ids(B=3, T=16)
    full = model(x).logits  # (B, T, V)
    cache = model.new_cache()
    with torch.no_grad():
        first = model(x[:, :prefix], cache=cache)
        assert first.cache is cache and cache.length == prefix
        torch.testing.assert_close(first.logits, full[:, :prefix], atol=1e-5, rtol=1e-5)
        for t in range(prefix, 16):
            step = model(x[:, t : t + 1], cache=cache).logits  # (B, 1, V)
            torch.testing.assert_close(step[:, 0], full[:, t], atol=1e-5, rtol=1e-5)
    assert cache.length == 16 and len(cache) == 2


def test_multihead_attention_with_a_cache_layer_and_rotary_positions_equals_the_full_causal_pass():
    from coursekit.attention import MultiHeadAttention
    from coursekit.gpt import KVCacheLayer
    from coursekit.transformer import RotaryEmbedding

    torch.manual_seed(0)
    mha, rotary = MultiHeadAttention(16, 2), RotaryEmbedding(8)
    x = torch.randn(2, 7, 16)
    full, _ = mha(x, is_causal=True, rotary=rotary)
    layer = KVCacheLayer(capacity=7)
    parts = [mha(x[:, :4], is_causal=True, rotary=rotary, kv_cache=layer)[0]]  # T = S = 4: the fused kernel
    parts.append(mha(x[:, 4:6], is_causal=True, rotary=rotary, position_offset=4, kv_cache=layer)[0])  # T=2, S=6
    parts.append(mha(x[:, 6:], is_causal=True, rotary=rotary, position_offset=6, kv_cache=layer)[0])  # T=1, S=7
    torch.testing.assert_close(torch.cat(parts, 1), full, atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="the cache holds at most capacity=7 positions"):
        mha(x[:, :1], is_causal=True, kv_cache=layer)


def test_cached_attention_weights_span_the_cached_keys():
    model = tiny_gpt()
    x = ids(B=1, T=7)
    full = model(x, need_weights=True).attentions
    cache = model.new_cache()
    model(x[:, :6], cache=cache)
    last = model(x[:, 6:], cache=cache, need_weights=True).attentions
    assert last[0].shape == (1, 4, 1, 7)
    for a, b in zip(last, full):
        torch.testing.assert_close(a[:, :, 0], b[:, :, 6], atol=1e-6, rtol=1e-5)


def test_cropped_cache_decodes_as_if_the_cropped_positions_never_came():
    model = tiny_gpt(seed=9)
    x, y = ids(B=1, T=8), ids(B=1, T=8, seed=5)
    cache = model.new_cache()
    model(x, cache=cache)
    cache.crop(5)
    assert cache.length == 5
    got = model(y[:, 5:], cache=cache).logits  # positions 5..7 after x's first five tokens
    want = model(torch.cat([x[:, :5], y[:, 5:]], 1)).logits[:, 5:]
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="length must be"):
        cache.crop(9)


def test_cache_refuses_more_than_n_positions():
    model = tiny_gpt(n_positions=8)
    cache = model.new_cache()
    model(ids(T=6, V=101), cache=cache)
    with pytest.raises(ValueError, match=r"idx must have at most n_positions=8 positions, got T=3 after 6 cached"):
        model(ids(T=3), cache=cache)
    with pytest.raises(ValueError, match="cache must be a KVCache"):
        model(ids(), cache=[None, None])
    assert isinstance(cache, KVCache) and cache.nbytes() == 2 * 2 * 2 * 4 * 8 * 8 * 4


# ----------------------------------------------------------------------------- generation
def test_greedy_generation_equals_an_argmax_loop_with_and_without_the_cache():
    model = tiny_gpt(seed=6)
    x = ids(B=2, T=3)
    loop = x
    for _ in range(8):
        loop = torch.cat([loop, model(loop).logits[:, -1].argmax(-1, keepdim=True)], 1)
    torch.testing.assert_close(model.generate(x, 8, greedy=True), loop)
    torch.testing.assert_close(model.generate(x, 8, greedy=True, use_cache=False), loop)


def test_sampled_generation_is_reproducible_and_the_same_with_the_cache():
    model = tiny_gpt(seed=7)
    x = ids(B=2, T=2)
    kw = dict(temperature=0.8, top_k=20, top_p=0.9)
    a = model.generate(x, 10, generator=torch.Generator().manual_seed(0), **kw)
    b = model.generate(x, 10, generator=torch.Generator().manual_seed(0), use_cache=False, **kw)
    torch.testing.assert_close(a, b)
    assert a.shape == (2, 12) and (a[:, :2] == x).all()


def test_generation_past_n_positions_slides_the_window_the_same_way_with_and_without_cache():
    model = tiny_gpt(seed=8, n_positions=6)
    x = ids(B=1, T=4)
    a, b = model.generate(x, 7, greedy=True), model.generate(x, 7, greedy=True, use_cache=False)
    torch.testing.assert_close(a, b)
    assert a.shape == (1, 11) and model.training is False


def test_generate_restores_training_mode():
    model = tiny_gpt().train()
    model.generate(ids(T=2), 2, greedy=True)
    assert model.training


# ----------------------------------------------------------------------------- training
def test_overfits_one_tiny_batch():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=16, n_positions=16, n_embd=16, n_layer=1, n_head=2))
    x = torch.randint(16, (1, 13), generator=torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-2)
    losses = []
    for _ in range(20):
        loss = model.loss(x[:, :-1], x[:, 1:])
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[0] > math.log(16) - 0.3  # starts near uniform: GPT-2's small initial weights
    assert losses[-1] < 0.1  # 12 next tokens memorised


def test_lm_loss_ignores_ignore_index_targets():
    model = tiny_gpt()
    x = ids(T=8)
    t = x.roll(-1, 1)
    masked = t.clone()
    masked[:, -1] = -100
    logits = model(x).logits
    want = torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), t[:, :-1].flatten())
    torch.testing.assert_close(lm_loss(model, x, masked), want)


# ----------------------------------------------------------------------------- bad input
def test_bad_inputs_raise_valueerror_naming_the_argument():
    model = tiny_gpt()
    with pytest.raises(ValueError, match=r"idx must be in \[0, 101\), got values in \[0, 101\]"):
        model(torch.tensor([[0, 101]]))
    with pytest.raises(ValueError, match=r"idx must be in \[0, 101\)"):
        model(torch.tensor([[-1, 3]]))
    with pytest.raises(ValueError, match="idx must have dtype torch.int64, got torch.float32"):
        model(torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"idx must have shape \(B, T\), got a 1-d tensor"):
        model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="idx must have at most n_positions=64 positions, got T=65"):
        model(torch.zeros(1, 65, dtype=torch.long))
    with pytest.raises(ValueError, match=r"targets must have shape \(B, T\) with T=5"):
        lm_loss(model, ids(T=5), ids(T=4))
    with pytest.raises(ValueError, match="max_new_tokens must be"):
        model.generate(ids(T=2), -1)
    with pytest.raises(ValueError, match="config must be a GPTConfig, got dict"):
        GPT({})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_embd=30, n_head=4), "n_embd must be divisible by n_head, got n_embd=30, n_head=4"),
        (dict(activation_function="swish"), "activation_function must be one of"),
        (dict(norm_placement="middle"), "norm_placement must be one of"),
        (dict(resid_pdrop=1.0), "resid_pdrop"),
        (dict(n_inner=0), "n_inner must be a positive int"),
        (dict(vocab_size=0), "vocab_size must be a positive int"),
    ],
)
def test_bad_configs_raise_valueerror_naming_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GPTConfig(**kwargs)

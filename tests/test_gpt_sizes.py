"""coursekit.gpt.sizes: the config-only parameter count against real models (ours and
transformers' GPT-1 and GPT-2), and the size table against the papers' rounded figures."""

from __future__ import annotations

import pytest
import torch

from coursekit.gpt import GPT, GPT_SIZES, GPTConfig, count_parameters, parameter_breakdown, size_table

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: two threads on a busy machine are far slower


def numel(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # parameters() yields tied weights once


def test_count_equals_numel_of_our_model_and_of_transformers_openai_gpt_for_a_post_norm_config():
    from transformers import OpenAIGPTConfig, OpenAIGPTLMHeadModel

    cfg = GPTConfig(vocab_size=50, n_positions=16, n_embd=32, n_layer=3, n_head=4, norm_placement="post",
                    activation_function="gelu")
    hf = OpenAIGPTConfig(vocab_size=50, n_positions=16, n_embd=32, n_layer=3, n_head=4)
    assert count_parameters(cfg) == numel(GPT(cfg)) == numel(OpenAIGPTLMHeadModel(hf))


def test_published_configs_match_transformers_defaults_for_gpt1_and_gpt2_small():
    from transformers import GPT2Config, OpenAIGPTConfig

    for hf, name in ((OpenAIGPTConfig(), "GPT-1"), (GPT2Config(), "GPT-2 small")):
        cfg = GPT_SIZES[name].config
        assert (hf.vocab_size, hf.n_positions, hf.n_embd, hf.n_layer, hf.n_head) == (
            cfg.vocab_size, cfg.n_positions, cfg.n_embd, cfg.n_layer, cfg.n_head
        ), name


# sum(p.numel()) of transformers' models built from these configs on the meta device
# (OpenAIGPTLMHeadModel for GPT-1, GPT2LMHeadModel for GPT-2), computed when this test was
# written; building them here takes seconds, so the figures are kept.
TRANSFORMERS_NUMEL = {
    "GPT-1": 116_534_784,
    "GPT-2 small": 124_439_808,
    "GPT-2 medium": 354_823_168,
    "GPT-2 large": 774_030_080,
    "GPT-2 XL": 1_557_611_200,
}


@pytest.mark.parametrize("name", list(GPT_SIZES))
def test_count_at_every_published_size_equals_transformers_model(name):
    assert count_parameters(GPT_SIZES[name].config) == TRANSFORMERS_NUMEL[name]


def test_released_gpt2_sizes_are_124m_355m_774m_1558m():
    rows = {r["model"]: r for r in size_table()}
    got = [round(rows[n]["parameters"] / 1e6) for n in ("GPT-2 small", "GPT-2 medium", "GPT-2 large", "GPT-2 XL")]
    assert got == [124, 355, 774, 1558]
    assert rows["GPT-2 small"]["parameters"] == 124_439_808


def test_papers_figures_are_the_counts_with_gpt1s_vocabulary_and_not_without_positions():
    for row in size_table():
        if row["published"] is None:
            continue
        assert row["parameters"] > row["published"]
        assert round(row["with_gpt1_vocab"] / 1e6) == row["published"] / 1e6, row["model"]
        assert round(row["without_positions"] / 1e6) != row["published"] / 1e6, row["model"]


def test_breakdown_sums_to_the_count_and_gpt1_has_no_final_norm():
    gpt1 = parameter_breakdown(GPT_SIZES["GPT-1"].config)
    small = parameter_breakdown(GPT_SIZES["GPT-2 small"].config)
    assert gpt1["final_norm"] == 0 and small["final_norm"] == 2 * 768
    assert small["blocks"] == 12 * (12 * 768**2 + 13 * 768)
    assert sum(small.values()) == count_parameters(GPT_SIZES["GPT-2 small"].config)
    with pytest.raises(ValueError, match="config must be a GPTConfig, got dict"):
        count_parameters({})


def test_gpt1_config_is_post_norm_with_tanh_gelu():
    cfg = GPT_SIZES["GPT-1"].config
    assert cfg.norm_placement == "post" and cfg.activation_function == "gelu_new"
    assert GPT_SIZES["GPT-1"].published is None
    assert isinstance(cfg, GPTConfig)

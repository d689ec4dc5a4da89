"""coursekit.bert.sizes: the config-only parameter count against real models (ours and
transformers'), BERT-base/large against the paper's rounded figures, and bad arguments."""

from __future__ import annotations

import dataclasses

import pytest

from coursekit.bert import (
    BERT_SIZES, BertConfig, BertModel, bert_base, bert_large, count_parameters, parameter_breakdown, round_significant,
    size_table,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_published_configs_are_transformers_defaults_for_bert_base():
    from transformers import BertConfig as HFBertConfig

    assert BertConfig.from_hf(HFBertConfig()) == bert_base()
    large = bert_large()
    assert (large.num_hidden_layers, large.hidden_size, large.num_attention_heads, large.intermediate_size) == (24, 1024, 16, 4096)


# sum(p.numel()) of transformers' BertModel and BertForPreTraining built from these configs on the
# meta device, computed when this test was written; building them here takes seconds, so the
# figures are kept (test_bert.py checks the count against transformers' models at tiny sizes).
TRANSFORMERS_NUMEL = {
    ("BERT-base", "encoder"): 109_482_240,
    ("BERT-base", "pretraining"): 110_106_428,
    ("BERT-large", "encoder"): 335_141_888,
    ("BERT-large", "pretraining"): 336_226_108,
}


@pytest.mark.parametrize("name, model", list(TRANSFORMERS_NUMEL))
def test_count_at_each_published_size_equals_transformers_model(name, model):
    assert count_parameters(BERT_SIZES[name].config, model=model) == TRANSFORMERS_NUMEL[name, model]


def test_papers_110m_and_340m_are_the_exact_counts_rounded_to_two_significant_figures():
    for row in size_table():
        assert row["rounded"] == row["rounded_with_heads"] == row["published"], row["model"]
        assert row["parameters"] != row["published"]
    large = next(r for r in size_table() if r["model"] == "BERT-large")
    assert round_significant(large["parameters"], 3) == 335_000_000  # three figures would have said 335M


def test_breakdown_sums_to_the_count_and_matches_the_per_layer_formula():
    c = bert_base()
    H, F = 768, 3072
    parts = parameter_breakdown(c, model="pretraining")
    assert parts["layers"] == 12 * (4 * (H * H + H) + 2 * H * F + F + H + 4 * H)
    assert parts["word_embeddings"] == 30522 * H and parts["embedding_projection"] == 0
    assert parts["mlm_head"] == H * H + H + 2 * H + 30522 and parts["nsp_head"] == 2 * H + 2
    assert sum(parts.values()) == count_parameters(c, model="pretraining")
    albert_like = parameter_breakdown(dataclasses.replace(c, embedding_size=128))
    assert albert_like["word_embeddings"] == 30522 * 128 and albert_like["embedding_projection"] == 128 * H + H


def test_count_of_a_small_config_equals_numel_of_our_model():
    cfg = BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=3, num_attention_heads=2, intermediate_size=20)
    assert count_parameters(cfg) == sum(p.numel() for p in BertModel(cfg).parameters())


def test_bad_arguments_raise_valueerror():
    with pytest.raises(ValueError, match="config must be a coursekit BertConfig, got dict"):
        count_parameters({})
    with pytest.raises(ValueError, match="model must be one of"):
        count_parameters(bert_base(), model="decoder")
    with pytest.raises(ValueError, match="num_labels must be a positive int, got 0"):
        count_parameters(bert_base(), model="classification", num_labels=0)
    with pytest.raises(ValueError, match="n must be a positive int, got 0"):
        round_significant(0)
    assert round_significant(109_482_240) == 110_000_000 and round_significant(149, 1) == 100

"""coursekit.bert.family_sizes: the config-only counts against transformers' models built from
tiny configs (BertModel, RobertaModel, AlbertModel, DistilBertModel, XLNetModel), the sharing
arithmetic, the published table and its computed notes, and bad arguments."""

from __future__ import annotations

import pytest
import torch

from coursekit.bert import bert_base, bert_large, count_parameters
from coursekit.bert.family_sizes import (
    ALBERT_TABLE3, FAMILY_SIZES, EncoderSize, XLNetSize, albert_table3, count_family, encoder_parameter_breakdown,
    explain, family_table, significant_figures, xlnet_parameter_breakdown,
)

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dict(vocab_size=50, hidden_size=16, num_hidden_layers=3, num_attention_heads=2, intermediate_size=24,
            max_position_embeddings=20)


def numel(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # shared parameters are yielded once


def test_bert_count_is_coursekit_bert_sizes():
    assert count_family(FAMILY_SIZES["BERT-base"].size) == count_parameters(bert_base())
    assert count_family(FAMILY_SIZES["BERT-large"].size) == count_parameters(bert_large())


def test_bert_and_roberta_counts_equal_transformers_models():
    from transformers import BertConfig, BertModel, RobertaConfig, RobertaModel

    assert count_family(EncoderSize(**TINY)) == numel(BertModel(BertConfig(**TINY)))
    roberta = EncoderSize(**{**TINY, "max_position_embeddings": 22}, type_vocab_size=1)
    cfg = RobertaConfig(**{**TINY, "max_position_embeddings": 22}, type_vocab_size=1, pad_token_id=1)
    assert count_family(roberta) == numel(RobertaModel(cfg))
    assert count_family(roberta, pooler=False) == numel(RobertaModel(cfg, add_pooling_layer=False))


@pytest.mark.parametrize("E", [8, 16])
def test_albert_count_equals_transformers_albert_model(E):
    from transformers import AlbertConfig, AlbertModel

    size = EncoderSize(**TINY, embedding_size=E, sharing="all", projection_when_equal=True)
    model = AlbertModel(AlbertConfig(**TINY, embedding_size=E))
    assert count_family(size) == numel(model)
    parts = encoder_parameter_breakdown(size)
    assert parts["embedding_projection"] == numel(model.encoder.embedding_hidden_mapping_in)
    assert parts["layers"] == numel(model.encoder.albert_layer_groups)


def test_albert_projection_only_when_e_differs_from_h_by_default():
    size = EncoderSize(**TINY, embedding_size=16)
    assert encoder_parameter_breakdown(size)["embedding_projection"] == 0
    assert encoder_parameter_breakdown(EncoderSize(**TINY, embedding_size=8))["embedding_projection"] == 8 * 16 + 16


def test_distilbert_count_equals_transformers_distilbert_model():
    from transformers import DistilBertConfig, DistilBertModel

    size = EncoderSize(**TINY, type_vocab_size=0, pooler=False)
    cfg = DistilBertConfig(vocab_size=50, dim=16, n_layers=3, n_heads=2, hidden_dim=24, max_position_embeddings=20)
    assert count_family(size) == numel(DistilBertModel(cfg))


def test_xlnet_count_equals_transformers_xlnet_model():
    from transformers import XLNetConfig, XLNetModel

    size = XLNetSize(vocab_size=50, d_model=16, n_layer=3, n_head=2, d_inner=24)
    model = XLNetModel(XLNetConfig(vocab_size=50, d_model=16, n_layer=3, n_head=2, d_inner=24))
    assert count_family(size) == numel(model)
    parts = xlnet_parameter_breakdown(size)
    assert parts["layers"] == numel(model.layer) and parts["mask_emb"] == model.mask_emb.numel()


def test_sharing_stores_one_copy_of_what_is_shared():
    counts = {s: encoder_parameter_breakdown(EncoderSize(**TINY, sharing=s))["layers"] for s in
              ("none", "all", "attention", "ffn")}
    L = TINY["num_hidden_layers"]
    assert counts["none"] == L * counts["all"]
    H = TINY["hidden_size"]
    attention = 4 * (H * H + H) + 2 * H
    assert counts["none"] - counts["attention"] == (L - 1) * attention
    assert counts["none"] - counts["ffn"] == (L - 1) * (counts["all"] - attention)


def test_family_table_rows_and_notes():
    rows = {r["model"]: r for r in family_table()}
    assert set(rows) == set(FAMILY_SIZES)
    assert rows["BERT-base"]["counted"] == 109_482_240 and rows["BERT-base"]["note"].startswith("rounds to the paper's")
    assert rows["RoBERTa-base"]["counted"] == 124_645_632  # RobertaModel with its pooler
    assert rows["DistilBERT"]["counted"] == 66_362_880 and rows["DistilBERT"]["without_pooler"] is None
    assert "only without the pooler" in rows["BERT-base (ALBERT's count)"]["note"]
    assert "unexplained" in rows["ALBERT-xxlarge"]["note"]
    assert rows["XLNet-large"]["note"].startswith("no figure")
    # XLNet-large's count is close to BERT-large's, as the paper says ("similar model size")
    assert abs(rows["XLNet-large"]["counted"] / rows["BERT-large"]["counted"] - 1) < 0.1


def test_albert_table3_every_figure_rounds_with_or_without_the_pooler():
    rows = albert_table3()
    assert [(r["setting"], r["E"]) for r in rows] == list(ALBERT_TABLE3)
    for r in rows:
        assert r["note"].startswith("rounds to the paper's"), r
    shared = [r for r in rows if r["setting"] == "all-shared"]
    assert all("only without" not in r["note"] for r in shared)
    assert [r["counted"] for r in rows if r["E"] == 768 and r["setting"] == "not-shared"] == [109_081_344]


def test_significant_figures_and_explain():
    assert [significant_figures(n) for n in (110_000_000, 60_000_000, 235_000_000, 12_000_000)] == [2, 1, 3, 2]
    assert explain(109_482_240, 110_000_000).startswith("rounds to the paper's")
    assert "only without the pooler" in explain(109_081_344, 108_000_000, without_pooler=108_490_752)
    assert "differs by -12.4M" in explain(222_595_584, 235_000_000)
    assert explain(5_000_000, None).startswith("no figure")


@pytest.mark.parametrize("kw, match", [
    (dict(sharing="some"), "sharing"),
    (dict(type_vocab_size=-1), "type_vocab_size"),
    (dict(embedding_size=0), "embedding_size"),
    (dict(pooler=1), "pooler"),
    (dict(hidden_size=0), "hidden_size"),
])
def test_bad_encoder_size(kw, match):
    with pytest.raises(ValueError, match=match):
        EncoderSize(**{**TINY, **kw})


def test_bad_arguments():
    with pytest.raises(ValueError, match="d_model must be divisible"):
        XLNetSize(d_model=10, n_head=3)
    with pytest.raises(ValueError, match="size must be an EncoderSize"):
        encoder_parameter_breakdown(XLNetSize())
    with pytest.raises(ValueError, match="size must be an XLNetSize"):
        xlnet_parameter_breakdown(EncoderSize(**TINY))
    with pytest.raises(ValueError, match="counted"):
        explain(0, 10)

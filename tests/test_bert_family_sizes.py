"""coursekit.bert.family_sizes: the published configurations counted by coursekit.bert.sizes
(which tests/test_bert_variants.py checks against transformers' models), XLNet's count against
transformers' XLNetModel built from a tiny config, the published table and its computed notes,
and bad arguments."""

from __future__ import annotations

import pytest
import torch

from coursekit.bert import bert_base, bert_large, count_parameters
from coursekit.bert.family_sizes import (
    ALBERT_TABLE3, ALBERT_TABLE4, FAMILY_SIZES, XLNetSize, albert_table3, albert_table4, count_family, explain, family_table, significant_figures,
    xlnet_parameter_breakdown,
)
from coursekit.bert.variants import AlbertConfig, albert_base

pytestmark = pytest.mark.usefixtures("one_thread")


def numel(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # shared parameters are yielded once


def test_counts_are_coursekit_bert_sizes_of_the_variant_configs():
    assert count_family(FAMILY_SIZES["BERT-base"].size) == count_parameters(bert_base())
    assert count_family(FAMILY_SIZES["BERT-large"].size) == count_parameters(bert_large())
    for p in FAMILY_SIZES.values():
        if not isinstance(p.size, XLNetSize):
            assert count_family(p.size) == count_parameters(p.size), p.name
    assert isinstance(FAMILY_SIZES["ALBERT-base"].size, AlbertConfig)
    assert FAMILY_SIZES["ALBERT-base"].size == albert_base()  # the released config, exactly


def test_pooler_can_be_left_out():
    c = bert_base()
    assert count_family(c) - count_family(c, pooler=False) == 768 * 768 + 768
    d = FAMILY_SIZES["DistilBERT"].size
    assert count_family(d, pooler=False) == count_family(d)  # DistilBERT has none


def test_xlnet_count_equals_transformers_xlnet_model():
    from transformers import XLNetConfig, XLNetModel

    size = XLNetSize(vocab_size=50, d_model=16, n_layer=3, n_head=2, d_inner=24)
    model = XLNetModel(XLNetConfig(vocab_size=50, d_model=16, n_layer=3, n_head=2, d_inner=24))
    assert count_family(size) == numel(model)
    parts = xlnet_parameter_breakdown(size)
    assert parts["layers"] == numel(model.layer) and parts["mask_emb"] == model.mask_emb.numel()


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


def test_albert_table4_sharing_strategies():
    rows = albert_table4()
    assert [(r["share"], r["E"]) for r in rows] == list(ALBERT_TABLE4)
    by = {(r["share"], r["E"]): r for r in rows}
    assert all(r["note"].startswith("rounds to the paper's") for r in rows)
    # sharing only the attention stores 11 fewer attention sublayers than not sharing at all
    H = 768
    assert by["none", 768]["counted"] - by["attention", 768]["counted"] == 11 * (4 * (H * H + H) + 2 * H)
    assert by["all", 128]["counted"] == count_family(FAMILY_SIZES["ALBERT-base"].size)


def test_significant_figures_and_explain():
    assert [significant_figures(n) for n in (110_000_000, 60_000_000, 235_000_000, 12_000_000)] == [2, 1, 3, 2]
    assert explain(109_482_240, 110_000_000).startswith("rounds to the paper's")
    assert "only without the pooler" in explain(109_081_344, 108_000_000, without_pooler=108_490_752)
    assert "differs by -12.4M" in explain(222_595_584, 235_000_000)
    assert explain(5_000_000, None).startswith("no figure")


def test_bad_arguments():
    with pytest.raises(ValueError, match="d_model must be divisible"):
        XLNetSize(d_model=10, n_head=3)
    with pytest.raises(ValueError, match="size must be an XLNetSize"):
        xlnet_parameter_breakdown(bert_base())
    with pytest.raises(ValueError, match="config must be a coursekit BertConfig"):
        count_family({"hidden_size": 768})
    with pytest.raises(ValueError, match="pooler"):
        count_family(bert_base(), pooler=0)
    with pytest.raises(ValueError, match="counted"):
        explain(0, 10)

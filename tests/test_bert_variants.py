"""coursekit.bert.variants: RoBERTa, ALBERT and DistilBERT as BERT plus a difference. Each model
equals transformers' (hidden states, pooled output, attentions with the eager attention) both
ways on tiny random configs; the configs round-trip through transformers'; RoBERTa's position
rule; ALBERT's three sharing modes; distil_init; parameter counts from the config equal numel
of our models and transformers'; the differences table; bad inputs. transformers is a test
dependency: imported inside the tests that compare."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from coursekit.bert import BertConfig, BertModel, count_parameters, parameter_breakdown
from coursekit.bert.variants import (
    AlbertConfig, AlbertForPreTraining, AlbertModel, DistilBertConfig, DistilBertModel, RobertaConfig, RobertaModel,
    albert_base, distil_init, distilbert_base, from_hf_variant, layer_groups, roberta_base, roberta_position_ids,
    share_layers, sop_pairs, to_hf_variant, variant_differences,
)

pytestmark = pytest.mark.usefixtures("one_thread")

SIZES = dict(vocab_size=97, hidden_size=32, num_attention_heads=4, intermediate_size=48)
CONFIGS = {
    "roberta": RobertaConfig(**SIZES, num_hidden_layers=2, max_position_embeddings=26),
    "albert": AlbertConfig(**SIZES, num_hidden_layers=3, embedding_size=12, max_position_embeddings=24),
    "albert_groups": AlbertConfig(**SIZES, num_hidden_layers=4, num_hidden_groups=2, embedding_size=12,
                                  max_position_embeddings=24),
    "distilbert": DistilBertConfig(**SIZES, num_hidden_layers=2, max_position_embeddings=24),
    "distilbert_sin": DistilBertConfig(**SIZES, num_hidden_layers=1, max_position_embeddings=24, sinusoidal_pos_embds=True),
}
MODELS = {RobertaConfig: RobertaModel, AlbertConfig: AlbertModel, DistilBertConfig: DistilBertModel}
TOL = dict(atol=2e-6, rtol=1e-5)


def tiny(key: str, seed: int = 0):
    torch.manual_seed(seed)
    config = CONFIGS[key]
    return MODELS[type(config)](config).eval()


def batch(config, B: int = 3, T: int = 9, seed: int = 1):
    """ids (B, T) avoiding the pad id, the last row padded after 5 tokens; the mask; segments or None."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, config.vocab_size, (B, T), generator=g)
    ids[-1, 5:] = config.pad_token_id
    mask = ids != config.pad_token_id
    types = None if not config.type_vocab_size else torch.randint(0, config.type_vocab_size, (B, T), generator=g)
    return ids, mask, types


def hf_outputs(hf, ids, mask, types):
    kwargs = {} if types is None else {"token_type_ids": types}
    with torch.no_grad():
        return hf(ids, attention_mask=mask.long(), output_hidden_states=True, output_attentions=True, **kwargs)


# ----------------------------------------------------------------------------- transformers equivalence
@pytest.mark.parametrize("key", list(CONFIGS))
def test_variant_equals_transformers_hidden_states_pooled_and_attentions(key):
    model = tiny(key)
    ids, mask, types = batch(model.config)
    with torch.no_grad():
        ours = model(ids, token_type_ids=types, key_padding_mask=mask, need_weights=True)
    theirs = hf_outputs(to_hf_variant(model, attn_implementation="eager"), ids, mask, types)
    assert type(to_hf_variant(model)).__name__ == type(model).__name__
    assert len(ours.hidden_states) == len(theirs.hidden_states) == model.config.num_hidden_layers + 1
    for a, b in zip(ours.hidden_states, theirs.hidden_states):
        torch.testing.assert_close(a, b, **TOL)
    for a, b in zip(ours.attentions, theirs.attentions, strict=True):
        torch.testing.assert_close(a, b, **TOL)
    if model.config.has_pooler:
        torch.testing.assert_close(ours.pooled, theirs.pooler_output, **TOL)
    else:
        assert ours.pooled is None and getattr(theirs, "pooler_output", None) is None


@pytest.mark.parametrize("key", list(CONFIGS))
def test_variant_from_transformers_copies_every_weight_and_output(key):
    from transformers import AlbertModel as HFAlbert, DistilBertModel as HFDistil, RobertaModel as HFRoberta

    config = CONFIGS[key]
    cls = {RobertaConfig: HFRoberta, AlbertConfig: HFAlbert, DistilBertConfig: HFDistil}[type(config)]
    torch.manual_seed(3)
    hf = cls(config.to_hf()).eval()
    ours = from_hf_variant(hf)
    assert type(ours) is MODELS[type(config)] and ours.config == config
    ids, mask, types = batch(config)
    with torch.no_grad():
        got = ours(ids, token_type_ids=types, key_padding_mask=mask).hidden
    torch.testing.assert_close(got, hf_outputs(hf, ids, mask, types).last_hidden_state, **TOL)
    back = to_hf_variant(ours).state_dict()
    for name, tensor in hf.state_dict().items():
        assert torch.equal(back[name], tensor), name


def test_albert_pretraining_heads_equal_transformers_mlm_and_sop():
    torch.manual_seed(0)
    model = AlbertForPreTraining(CONFIGS["albert_groups"]).eval()
    ids, mask, types = batch(model.config)
    hf = to_hf_variant(model)
    with torch.no_grad():
        ours = model(ids, token_type_ids=types, key_padding_mask=mask)
        theirs = hf(ids, attention_mask=mask.long(), token_type_ids=types)
    torch.testing.assert_close(ours.mlm_logits, theirs.prediction_logits, **TOL)
    torch.testing.assert_close(ours.nsp_logits, theirs.sop_logits, **TOL)
    assert model.sop is model.nsp and model.sop.dropout.p == hf.sop_classifier.dropout.p == 0.1
    assert type(from_hf_variant(hf)) is AlbertForPreTraining


# ----------------------------------------------------------------------------- configs
def test_configs_round_trip_through_transformers_and_use_its_names():
    for config in CONFIGS.values():
        hf = config.to_hf()
        assert type(config).from_hf(hf) == config
    hf = CONFIGS["distilbert"].to_hf()
    assert (hf.dim, hf.n_layers, hf.n_heads, hf.hidden_dim) == (32, 2, 4, 48)
    assert CONFIGS["albert_groups"].to_hf().num_hidden_groups == 2


def test_published_configs_match_transformers_defaults_where_they_should():
    from transformers import AlbertConfig as HFAlbert

    assert roberta_base().max_position_embeddings == 514 and roberta_base().max_tokens == 512
    assert albert_base().to_hf().embedding_size == HFAlbert().embedding_size == 128
    assert distilbert_base().to_hf().n_layers == 6


# ----------------------------------------------------------------------------- RoBERTa's positions
def test_roberta_positions_count_real_tokens_from_the_pad_id_plus_one():
    ids = torch.tensor([[0, 5, 6, 2, 1, 1], [1, 1, 0, 7, 2, 1]])
    assert roberta_position_ids(ids, 1).tolist() == [[2, 3, 4, 5, 1, 1], [1, 1, 2, 3, 4, 1]]
    model = tiny("roberta")
    assert model.config.max_tokens == 26 - 2
    model(torch.full((1, 24), 5))  # 24 tokens use positions 2 .. 25
    with pytest.raises(ValueError, match="max_position_embeddings"):
        model(torch.full((1, 25), 5))
    assert float(model.embeddings.position_embeddings.weight[1].detach().abs().sum()) == 0.0


def test_roberta_left_padding_changes_nothing_for_the_real_tokens():
    model = tiny("roberta")
    ids = torch.tensor([[5, 6, 7, 8]])
    left = torch.tensor([[1, 1, 5, 6, 7, 8]])
    with torch.no_grad():
        plain = model(ids).hidden
        padded = model(left, key_padding_mask=left != 1).hidden[:, 2:]
    torch.testing.assert_close(plain, padded, **TOL)


# ----------------------------------------------------------------------------- ALBERT's sharing
def test_albert_sharing_modes_tie_what_they_say_and_count_it():
    base = dataclasses.replace(CONFIGS["albert"], num_hidden_layers=4)
    for share, (attn, ffn) in {"all": (1, 1), "attention": (1, 4), "ffn": (4, 1)}.items():
        config = dataclasses.replace(base, share=share)
        model = AlbertModel(config)
        blocks = model.encoder.layers
        assert len({id(b.self_attn) for b in blocks}) == attn and len({id(b.ffn) for b in blocks}) == ffn
        assert len({id(b.norm1) for b in blocks}) == attn and len({id(b.norm2) for b in blocks}) == ffn
        assert sum(p.numel() for p in model.parameters()) == count_parameters(config)
    unshared = dataclasses.replace(base, num_hidden_groups=4)
    assert count_parameters(unshared) == sum(p.numel() for p in AlbertModel(unshared).parameters())
    assert layer_groups(6, 4) == [0, 0, 1, 2, 2, 3]  # transformers' int(i / (L / G))
    assert [int(i / (6 / 4)) for i in range(6)] == layer_groups(6, 4)


def test_albert_shared_layers_get_one_gradient_sum():
    torch.manual_seed(0)
    model = AlbertModel(CONFIGS["albert"])
    model(batch(model.config)[0]).hidden.sum().backward()
    w = model.encoder.layers[0].ffn.up.weight
    assert w is model.encoder.layers[2].ffn.up.weight and w.grad is not None


def test_albert_shared_gradients_equal_transformers():
    from coursekit.bert.variants import albert_hf_names

    torch.manual_seed(0)
    model = AlbertModel(CONFIGS["albert_groups"])
    hf = to_hf_variant(model).train()
    ids, mask, types = batch(model.config)
    w = torch.randn(ids.shape + (model.config.hidden_size,), generator=torch.Generator().manual_seed(2))
    (model(ids, token_type_ids=types, key_padding_mask=mask).hidden * w).sum().backward()  # a loss that is not a LayerNorm invariant
    (hf(ids, attention_mask=mask.long(), token_type_ids=types).last_hidden_state * w).sum().backward()
    theirs = dict(hf.named_parameters())
    shared = model.encoder.layers[0].self_attn.q_proj.weight
    assert shared is model.encoder.layers[1].self_attn.q_proj.weight and float(shared.grad.abs().max()) > 1e-3
    for name, ours in albert_hf_names(model).items():
        if not name.startswith("pooler"):  # unused by this loss: no gradient on either side
            torch.testing.assert_close(ours.grad, theirs[name].grad, atol=1e-5, rtol=1e-4)


def test_albert_without_whole_layer_sharing_is_refused_by_transformers_conversion():
    model = AlbertModel(dataclasses.replace(CONFIGS["albert"], share="ffn"))
    with pytest.raises(ValueError, match="share must be 'all'"):
        to_hf_variant(model)
    with pytest.raises(ValueError, match="embedding_size must differ"):
        dataclasses.replace(CONFIGS["albert"], embedding_size=None).to_hf()


def test_sop_pairs_keep_both_sentences_and_swap_about_half():
    docs = [[f"d{d} s{i}" for i in range(6)] for d in range(40)]
    pairs = sop_pairs(docs, torch.Generator().manual_seed(0))
    assert len(pairs) == 40 * 5
    for p in pairs:
        (d, i), (e, j) = p.a_at, p.b_at
        assert d == e and abs(i - j) == 1 and p.label == int(i > j) and p.a == docs[d][i] and p.b == docs[e][j]
    assert 0.4 < sum(p.label for p in pairs) / len(pairs) < 0.6
    assert [p.label for p in sop_pairs(docs, torch.Generator().manual_seed(0), swap_prob=0.0)] == [0] * 200
    with pytest.raises(ValueError, match="swap_prob"):
        sop_pairs(docs, torch.Generator(), swap_prob=1.5)
    with pytest.raises(ValueError, match="docs must be a list of documents"):
        sop_pairs("one sentence", torch.Generator())


# ----------------------------------------------------------------------------- DistilBERT
def test_distil_init_copies_every_other_teacher_layer_and_the_embeddings():
    torch.manual_seed(0)
    teacher = BertModel(BertConfig(**SIZES, num_hidden_layers=4, max_position_embeddings=24))
    student = distil_init(teacher, DistilBertModel(CONFIGS["distilbert"]))
    for j, i in enumerate((0, 2)):
        for (n, a), b in zip(student.encoder.layers[j].state_dict().items(), teacher.encoder.layers[i].state_dict().values()):
            assert torch.equal(a, b), n
    assert torch.equal(student.embeddings.word_embeddings.weight, teacher.embeddings.word_embeddings.weight)
    other = distil_init(teacher, DistilBertModel(CONFIGS["distilbert"]), layers=(1, 3))
    assert torch.equal(other.encoder.layers[1].ffn.up.weight, teacher.encoder.layers[3].ffn.up.weight)
    # the student reads the same tokens as the teacher minus segments: its embeddings differ only by segment A's row
    ids = batch(student.config)[0]
    with torch.no_grad():
        e_t = teacher.embeddings.tokens(ids) + teacher.embeddings.token_type_embeddings.weight[0]
        torch.testing.assert_close(teacher.embeddings.norm(e_t), teacher(ids).hidden_states[0])
        torch.testing.assert_close(student.embeddings.norm(student.embeddings.tokens(ids)), student(ids).hidden_states[0])


def test_distilbert_sinusoidal_positions_equal_transformers_and_stay_fixed():
    from transformers import DistilBertModel as HFDistil

    model = tiny("distilbert_sin")
    torch.manual_seed(0)
    hf = HFDistil(CONFIGS["distilbert_sin"].to_hf())
    torch.testing.assert_close(model.embeddings.position_embeddings.weight, hf.embeddings.position_embeddings.weight)
    assert not model.embeddings.position_embeddings.weight.requires_grad


# ----------------------------------------------------------------------------- sizes
@pytest.mark.parametrize("key", list(CONFIGS))
def test_count_parameters_equals_numel_of_ours_and_transformers(key):
    model = tiny(key)
    hf = to_hf_variant(model)
    assert count_parameters(model.config) == sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in hf.parameters())


def test_pretraining_counts_equal_transformers_pretraining_and_masked_lm_models():
    from transformers import AlbertForPreTraining as HFA, DistilBertForMaskedLM as HFD, RobertaForMaskedLM as HFR

    for key, cls in (("albert_groups", HFA), ("roberta", HFR), ("distilbert", HFD)):
        config = CONFIGS[key]
        assert count_parameters(config, model="pretraining") == sum(p.numel() for p in cls(config.to_hf()).parameters()), key
    assert "sop_head" in parameter_breakdown(CONFIGS["albert"], model="pretraining")
    assert count_parameters(CONFIGS["albert"], model="pretraining") == sum(
        p.numel() for p in AlbertForPreTraining(CONFIGS["albert"]).parameters())


def test_published_sizes_from_configs():
    """roberta-base 124.6M and distilbert 66.4M as transformers' models count them; ALBERT-base 11.7M."""
    assert count_parameters(roberta_base()) == 124_645_632
    assert count_parameters(distilbert_base()) == 66_362_880
    assert count_parameters(albert_base()) == 11_683_584


# ----------------------------------------------------------------------------- the differences table
def test_variant_differences_name_each_change():
    rows = {r["model"]: r for r in variant_differences()}
    assert set(rows) == {"RoBERTa", "ALBERT", "DistilBERT"}
    r = rows["RoBERTa"]
    assert r["config"]["type_vocab_size"] == (2, 1) and r["config"]["pad_token_id"] == (0, 1)
    assert r["replaced"] == ["encoder.embed: BertEmbeddings -> RobertaEmbeddings"] and not r["removed"]
    a = rows["ALBERT"]
    assert a["added"] == ["encoder.embed.projection"] and a["shared"] == ["encoder.layers.1 is encoder.layers.0"]
    assert a["config"]["sentence_head"] == ("nsp", "sop")
    d = rows["DistilBERT"]
    assert set(d["removed"]) == {"encoder.embed.token_type_embeddings", "encoder.layers.1", "pooler"}
    assert d["config"]["has_pooler"] == (True, False) and d["parameters"][1] < d["parameters"][0]


# ----------------------------------------------------------------------------- bad inputs
def test_bad_inputs_raise_value_errors_naming_the_argument():
    with pytest.raises(ValueError, match="pad_token_id"):
        RobertaConfig(pad_token_id=None)
    with pytest.raises(ValueError, match="max_position_embeddings"):
        RobertaConfig(max_position_embeddings=2)
    with pytest.raises(ValueError, match="num_hidden_groups"):
        AlbertConfig(num_hidden_layers=2, num_hidden_groups=3)
    with pytest.raises(ValueError, match="share"):
        AlbertConfig(share="norms")
    with pytest.raises(ValueError, match="type_vocab_size"):
        DistilBertConfig(type_vocab_size=2)
    with pytest.raises(ValueError, match="config must be a coursekit RobertaConfig"):
        RobertaModel(BertConfig())
    with pytest.raises(ValueError, match="position_offset must not be given"):
        tiny("roberta")(torch.ones(1, 4, dtype=torch.long), position_offset=0)
    with pytest.raises(ValueError, match="config must be a coursekit AlbertConfig"):
        AlbertModel(BertConfig())
    with pytest.raises(ValueError, match="token_type_ids must be None"):
        tiny("distilbert")(torch.ones(1, 4, dtype=torch.long), token_type_ids=torch.zeros(1, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="layers must be 2 teacher layer indices"):
        distil_init(BertModel(BertConfig(**SIZES, max_position_embeddings=24)), tiny("distilbert"), layers=(0, 5))
    with pytest.raises(ValueError, match="student's vocab_size must equal the teacher's 512"):
        distil_init(BertModel(BertConfig()), tiny("distilbert"))
    with pytest.raises(ValueError, match="teacher must be a coursekit BertModel"):
        distil_init(tiny("distilbert"), tiny("distilbert"))
    with pytest.raises(ValueError, match="layers must be an nn.ModuleList"):
        share_layers([torch.nn.Linear(2, 2)])
    with pytest.raises(ValueError, match="model must be a coursekit RobertaModel"):
        to_hf_variant(BertModel(BertConfig()))
    with pytest.raises(ValueError, match="hf_model must be a transformers"):
        from_hf_variant(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="layer_norm_eps must be 1e-12"):
        dataclasses.replace(CONFIGS["distilbert"], layer_norm_eps=1e-5).to_hf()
    with pytest.raises(ValueError, match="type_vocab_size must be >= 1"):
        BertConfig(type_vocab_size=0).to_hf()

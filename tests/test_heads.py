"""coursekit.heads: parses, word-level attention, head patterns, syntax heads, gradients, rollout."""

import math

import pytest
import torch

from coursekit.bert import BertConfig, BertForPreTraining, BertModel
from coursekit.heads import (CLARK_TABLE1, GRAMMAR_RELATIONS, ROOT, EncodedSentence, Parse, SentenceAttention,
                             analysis_model, arc_table, attention_gradients, attention_rollout, encode_words,
                             grammar_parses, head_patterns, importance_by_kind, masked_batch, mlm_objective,
                             offset_accuracy, sentence_attentions, sentence_objective, silver_info, silver_parses,
                             split_halves, syntax_heads, word_attention)
from coursekit.wordpiece import SPECIAL_TOKENS, WordPiece

WORDS = ["the", "dog", "sees", "a", "cat", ".", "un", "##seen", "cats", "big"]


def tiny_wordpiece() -> WordPiece:
    return WordPiece([*SPECIAL_TOKENS, *WORDS])


def tiny_config(vocab_size: int) -> BertConfig:
    return BertConfig(vocab_size=vocab_size, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=24, max_position_embeddings=32)


def random_attention(*lead, T, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(*lead, T, T, generator=g), -1)


# ------------------------------------------------------------------ parses
def test_parse_rejects_two_roots_cycles_and_bad_lengths():
    with pytest.raises(ValueError, match="exactly one root"):
        Parse(("a", "b"), (ROOT, ROOT), ("ROOT", "ROOT"), ("X", "X"))
    with pytest.raises(ValueError, match="cycle through word"):
        Parse(("a", "b", "c"), (ROOT, 2, 1), ("ROOT", "x", "x"), ("X",) * 3)
    with pytest.raises(ValueError, match="heads must have one entry per word"):
        Parse(("a", "b"), (ROOT,), ("ROOT", "x"), ("X", "X"))
    with pytest.raises(ValueError, match=r"heads\[0\] must be -1 or another word's index"):
        Parse(("a", "b"), (0, ROOT), ("x", "ROOT"), ("X", "X"))


def test_grammar_parses_are_gold_by_construction():
    parses = grammar_parses(60, seed=3)
    assert parses == grammar_parses(60, seed=3) and parses != grammar_parses(60, seed=4)
    for p in parses:
        assert set(p.relations) <= set(GRAMMAR_RELATIONS)
        for d, h, r in p.arcs():
            if r in ("det", "amod"):  # English: determiners and adjectives precede their noun
                assert h > d and p.pos[h] in ("NN", "NNS") and p.words[d] not in ("that", "not")
            if r == "pobj":
                assert p.relations[h] == "prep" and p.words[h] in ("near", "with", "in")
            if r in ("aux", "neg"):
                assert p.words[d] in ("does", "do", "did", "not") and p.relations[h] in ("ROOT", "relcl")
        assert p.relations[p.heads.index(ROOT)] == "ROOT" and p.pos[p.heads.index(ROOT)].startswith("VB")
    with pytest.raises(ValueError, match="lengths must be"):
        grammar_parses(5, lengths=(1, 40))


def test_grammar_parse_of_a_known_shape():
    # find a plain transitive sentence "det noun verb det noun" and check every arc
    p = next(p for p in grammar_parses(200, seed=0, lengths=(5, 5)) if p.pos[:2] == ("DT", "NN") and p.pos[3:] == ("DT", "NN"))
    assert p.heads == (1, 2, ROOT, 4, 2) and p.relations == ("det", "nsubj", "ROOT", "det", "dobj")
    assert p.pos[2] in ("VBZ", "VBD")


def test_silver_parses_are_shipped_valid_and_labelled_silver():
    parses = silver_parses()
    info = silver_info()
    assert len(parses) == info["selection"]["n"] == 300
    assert "SILVER" in info["about"] and "PSF" in info["licence"] and "MIT" in info["licence"]
    assert all(6 <= len(p.words) and p.words[-1] == "." for p in parses)  # Parse() validated each tree
    rels = {r for p in parses for r in p.relations}
    assert {"nsubj", "dobj", "det", "amod", "prep", "pobj"} <= rels


# ------------------------------------------------------------------ word-level attention
def test_word_attention_hand_computed():
    a = torch.tensor([[0.1, 0.2, 0.3, 0.4],
                      [0.5, 0.1, 0.1, 0.3],
                      [0.3, 0.3, 0.2, 0.2],
                      [0.0, 0.5, 0.5, 0.0]])
    w = word_attention(a, [(0, 1), (1, 3), (3, 4)])  # token 1 and 2 are one word
    expected = torch.tensor([[0.1, 0.5, 0.4],      # TO the split word: 0.2 + 0.3
                             [0.4, 0.35, 0.25],    # FROM it: mean of rows 1 and 2
                             [0.0, 1.0, 0.0]])
    torch.testing.assert_close(w, expected)


def test_word_attention_preserves_row_sums_and_rejects_bad_spans():
    a = random_attention(2, 3, T=7)
    w = word_attention(a, [(0, 1), (1, 4), (4, 5), (5, 7)])
    assert w.shape == (2, 3, 4, 4)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match="spans must partition the 7 tokens"):
        word_attention(a, [(0, 1), (1, 4)])
    with pytest.raises(ValueError, match="attention must have shape"):
        word_attention(torch.ones(3, 4), [(0, 4)])


def test_encode_words_keeps_each_words_pieces():
    wp = tiny_wordpiece()
    e = encode_words(wp, ["the", "unseen", "cats"])
    assert e.tokens == ("[CLS]", "the", "un", "##seen", "cats", "[SEP]")
    assert e.spans == ((0, 1), (1, 2), (2, 4), (4, 5), (5, 6))


def test_sentence_attentions_batched_equals_alone():
    torch.manual_seed(0)
    wp = tiny_wordpiece()
    model = BertModel(tiny_config(wp.vocab_size)).eval()
    parses = [Parse(("the", "dog", "sees", "a", "cat", "."), (1, 2, ROOT, 4, 2, 2), ("det", "nsubj", "ROOT", "det", "dobj", "punct"), ("DT", "NN", "VBZ", "DT", "NN", ".")),
              Parse(("unseen", "cats"), (1, ROOT), ("amod", "ROOT"), ("JJ", "NNS"))]
    both = sentence_attentions(model, wp, parses, batch_size=2)
    alone = sentence_attentions(model, wp, parses[1:], batch_size=1)
    assert both[1].words.shape == (2, 2, 4, 4) and both[0].parse is parses[0]
    torch.testing.assert_close(both[1].tokens, alone[0].tokens)
    torch.testing.assert_close(both[1].words.sum(-1), torch.ones(2, 2, 4))


# ------------------------------------------------------------------ head patterns
def _sentence(att_tokens: torch.Tensor, tokens, parse=None) -> SentenceAttention:
    T = len(tokens)
    enc = EncodedSentence(tuple(range(T)), tuple((i, i + 1) for i in range(T)), tuple(tokens))
    return SentenceAttention(parse, enc, att_tokens, word_attention(att_tokens, enc.spans))


def test_head_patterns_on_known_maps():
    tokens = ["[CLS]", "a", "b", ".", "[SEP]"]
    T = len(tokens)
    uniform = torch.full((T, T), 1 / T)
    to_sep = torch.zeros(T, T)
    to_sep[:, -1] = 1
    prev = torch.zeros(T, T)
    prev[0, 0] = 1
    prev[torch.arange(1, T), torch.arange(T - 1)] = 1
    att = torch.stack([uniform, to_sep, prev])[None]  # (L=1, A=3, T, T)
    h = head_patterns([_sentence(att, tokens)])
    torch.testing.assert_close(h.cls[0], torch.tensor([1 / T, 0.0, 2 / T]))  # prev: rows 0 and 1 -> [CLS]
    torch.testing.assert_close(h.sep[0], torch.tensor([1 / T, 1.0, 0.0]))
    torch.testing.assert_close(h.punct[0], torch.tensor([1 / T, 0.0, 1 / T]))
    torch.testing.assert_close(h.prev[0], torch.tensor([(T - 1) / T ** 2, 0.0, (T - 1) / T]))
    torch.testing.assert_close(h.entropy[0], torch.tensor([math.log(T), 0.0, 0.0]))
    torch.testing.assert_close(h.cls_entropy[0], torch.tensor([math.log(T), 0.0, 0.0]))
    assert h.queries == T and len(h.records()) == 3


# ------------------------------------------------------------------ syntax heads
def _chain(n: int) -> Parse:
    """Every word's head is the next word: a constant offset of +1."""
    return Parse(tuple(f"w{i}" for i in range(n)), tuple(list(range(1, n)) + [ROOT]),
                 tuple(["dep"] * (n - 1) + ["ROOT"]), ("X",) * n)


def _pointer(T: int, shift: int) -> torch.Tensor:
    """Word-level map (with [CLS]/[SEP]) where each word attends to the word ``shift`` away."""
    m = torch.zeros(T, T)
    m[0, 0] = m[-1, -1] = 1
    for i in range(1, T - 1):
        j = i + shift
        m[i, j if 1 <= j <= T - 2 else i] = 1
    return m


def test_offset_baseline_is_exact_on_constant_offset_sentences():
    sents = []
    for n in (4, 5, 6, 7, 5, 6):
        T = n + 2
        att = torch.stack([torch.stack([_pointer(T, +1), _pointer(T, -1)])])  # (L=1, A=2, T, T)
        sents.append(_sentence(att, ["[CLS]", *[f"w{i}" for i in range(n)], "[SEP]"], _chain(n)))
    res = syntax_heads(sents, min_arcs=1)
    row = next(r for r in res if r.relation == "dep")
    assert row.offset == 1 and row.baseline == 1.0
    assert (row.layer, row.head, row.direction, row.accuracy) == (0, 0, "dep->head", 1.0)
    assert offset_accuracy(torch.tensor([1, 1, 2]), 1) == pytest.approx(2 / 3)
    from coursekit.heads import head_predictions
    # next word; the last word looks only at itself, which is excluded: an all-zero row, argmax 0
    assert head_predictions(sents[0], 0, 0) == [1, 2, 3, 0]
    assert head_predictions(sents[0], 0, 1) == [0, 0, 1, 2]
    # head->dep, Clark et al.'s transpose: the previous-token head (1) names each dependent's next
    # word as the word that attends to it most, so it too gets every +1 arc right
    table = arc_table(sents)
    assert bool(table.correct[:, 1, 0, 1].all()) and not bool(table.correct[:, 0, 0, 1].any())
    assert row.gain_se == 0.0 and not row.clear  # head and offset both always right: no gain
    with pytest.raises(ValueError, match="head must be"):
        head_predictions(sents[0], 0, 2)


def test_split_halves_are_disjoint_and_cover():
    a, b = split_halves(11, seed=5)
    assert len(a) == 5 and len(b) == 6
    assert sorted(torch.cat([a, b]).tolist()) == list(range(11))
    with pytest.raises(ValueError, match="n must be"):
        split_halves(1)


def test_head_selection_never_sees_the_test_half():
    # head 0 is right on the select half only, head 1 on the test half only: selection must pick
    # head 0 and report its (zero) test accuracy, not head 1's
    n_sent = 10
    select, test = split_halves(n_sent, seed=0)
    sents = []
    for s in range(n_sent):
        T = 7
        good, bad = _pointer(T, +1), _pointer(T, -1)
        heads = [good, bad] if s in select.tolist() else [bad, good]
        sents.append(_sentence(torch.stack(heads)[None], ["[CLS]", *["w"] * 5, "[SEP]"], _chain(5)))
    row = next(r for r in syntax_heads(sents, min_arcs=1, directions=("dep->head",)) if r.relation == "dep")
    assert (row.layer, row.head, row.select_accuracy, row.accuracy) == (0, 0, 1.0, 0.0)
    table = arc_table(sents)
    assert table.correct.shape == (len(table.relation), 2, 1, 2)
    assert row.gain == -1.0 and row.gain_se == 0.0 and not row.clear  # the +1 offset is always right


def test_gain_standard_error_is_paired_over_test_arcs():
    # head 0 is right on the even sentences only, the +1 offset always: per test arc the paired
    # difference is 0 (even sentence) or -1 (odd), and gain_se is its standard error
    n_sent, n_words = 10, 5
    sents = []
    for s in range(n_sent):
        T = n_words + 2
        att = _pointer(T, +1) if s % 2 == 0 else _pointer(T, -1)
        sents.append(_sentence(att[None, None], ["[CLS]", *["w"] * n_words, "[SEP]"], _chain(n_words)))
    row = next(r for r in syntax_heads(sents, min_arcs=1, directions=("dep->head",)) if r.relation == "dep")
    _, test = split_halves(n_sent, seed=0)
    diff = torch.tensor([0.0 if s % 2 == 0 else -1.0 for s in test.tolist() for _ in range(n_words - 1)])
    assert row.offset == 1 and row.baseline == 1.0
    assert row.gain == pytest.approx(float(diff.mean()))
    assert row.gain_se == pytest.approx(float(diff.std()) / len(diff) ** 0.5) and row.gain_se > 0
    with pytest.raises(ValueError, match="directions must be drawn from"):
        syntax_heads(sents, directions=("left",))


def test_clark_table_rows_are_well_formed():
    for rel, (acc, head, base, offset) in CLARK_TABLE1.items():
        assert 0 < base <= 100 and 0 < acc <= 100 and offset != 0
        layer, h = (int(x) for x in head.split("-"))
        assert 1 <= layer <= 12 and 1 <= h <= 12


# ------------------------------------------------------------------ rollout
def test_rollout_of_identity_is_identity_and_hand_computed():
    eye = torch.eye(4).expand(3, 2, 4, 4)  # L=3, A=2
    torch.testing.assert_close(attention_rollout(eye), torch.eye(4).expand(3, 4, 4))
    a1 = torch.tensor([[0.0, 1.0], [0.0, 1.0]])  # both look at token 1
    r = attention_rollout([a1[None], a1[None]])
    h = torch.tensor([[0.5, 0.5], [0.0, 1.0]])  # 0.5 A + 0.5 I
    torch.testing.assert_close(r[0], h)
    torch.testing.assert_close(r[1], h @ h)
    torch.testing.assert_close(attention_rollout(random_attention(3, 2, T=5)).sum(-1), torch.ones(3, 5))
    with pytest.raises(ValueError, match="residual must be"):
        attention_rollout(eye, residual=1.5)


# ------------------------------------------------------------------ gradients
def test_masked_batch_masks_words_only_and_per_sentence():
    wp = tiny_wordpiece()
    sents = [["the", "dog", "sees", "a", "cat"], ["big", "cats"]]
    x, ids, real, masked, tokens = masked_batch(wp, sents, mask_prob=0.15, seed=1)
    assert masked.sum(1).min() >= 1 and not masked[:, 0].any()
    assert not (masked & ~real).any() and not masked[1, 3]  # [SEP] of the short sentence
    x1, _, _, m1, _ = masked_batch(wp, sents[:1], seed=1)
    torch.testing.assert_close(m1[0], masked[0, :m1.shape[1]])


def test_attention_gradients_are_per_sentence_and_cover_every_weight():
    torch.manual_seed(0)
    wp = tiny_wordpiece()
    model = BertForPreTraining(tiny_config(wp.vocab_size)).eval()
    sents = [["the", "dog", "sees", "a", "cat", "."], ["big", "cats"]]
    run = attention_gradients(mlm_objective(model), wp, sents, seed=0)
    alone = attention_gradients(mlm_objective(model), wp, sents[:1], seed=0)
    n = len(alone.tokens[0])
    torch.testing.assert_close(run.gradients[1][0, :, :n, :n], alone.gradients[1][0], atol=1e-6, rtol=1e-4)
    imp = importance_by_kind(run)
    assert imp["gradient_sep"].shape == (2,) and (imp["gradient_other"] > 0).all()
    torch.testing.assert_close(sum(imp[f"mass_{k}"] for k in ("sep", "cls", "punct", "other")), torch.ones(2))
    enc_model = BertModel(tiny_config(wp.vocab_size)).eval()
    g = attention_gradients(sentence_objective(enc_model), wp, sents)
    assert all(t.shape == a.shape for t, a in zip(g.gradients, g.attentions)) and g.loss >= 0


def test_analysis_model_checks_its_arguments():
    with pytest.raises(ValueError, match="fallback_steps must be"):
        analysis_model(fallback_steps=0)
    with pytest.raises(ValueError, match="path must be a directory holding"):
        analysis_model("/nonexistent-dir", fallback=False)


# ------------------------------------------------------------------ one-call experiments
def _tiny_analysis_model(pretraining: bool):
    from coursekit.heads import AnalysisModel

    torch.manual_seed(0)
    wp = tiny_wordpiece()
    cls = BertForPreTraining if pretraining else BertModel
    cfg = BertConfig(vocab_size=wp.vocab_size, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=24, max_position_embeddings=128)
    return AnalysisModel(cls(cfg).eval(), wp, "random weights (test)", "tiny", pretraining)


def test_analyse_heads_and_sep_gradients_run_end_to_end():
    from coursekit.heads import analyse_heads, sep_gradients

    res = analyse_heads(_tiny_analysis_model(False), n_silver=8, n_grammar=8, min_arcs=1)
    assert len(res.silver) == 8 and res.patterns.cls.shape == (2, 2) and res.name == "tiny"
    assert res.silver_syntax[0].relation == "all" and res.grammar_syntax[0].relation == "all"
    for pretraining, word in ((True, "masked-LM"), (False, "sentence vector")):
        g = sep_gradients(_tiny_analysis_model(pretraining), n=3)
        assert word in g.objective and set(g.gradient) == {"sep", "cls", "punct", "other"}
        assert g.attention["sep"].shape == (2,)


def test_compare_with_clark_maps_labels_and_uses_one_based_heads():
    from coursekit.heads import RelationResult, compare_with_clark

    rows = compare_with_clark([RelationResult("compound", 20, 20, 2, 8, "dep->head", 0.8, 0.75, 1, 0.5),
                               RelationResult("acl", 20, 20, 0, 0, "dep->head", 0.5, 0.5, 1, 0.5)])
    assert len(rows) == 1  # acl is not in Clark et al.'s table
    r = rows[0]
    assert (r["relation"], r["ours_head"], r["ours"], r["clark"], r["clark_head"]) == ("nn", "3-9", 75.0, 70.4, "4-10")


def test_attention_flow_of_one_layer_is_its_residual_attention_and_of_identity_is_identity():
    from coursekit.heads import attention_flow

    a = random_attention(1, 2, T=4, seed=3)  # L=1, A=2
    a_hat = 0.5 * a.mean(1)[0] + 0.5 * torch.eye(4)  # one layer: the only path is the direct edge
    torch.testing.assert_close(attention_flow(a), a_hat)
    torch.testing.assert_close(attention_flow(torch.eye(3).expand(2, 2, 3, 3)), torch.eye(3))
    only = attention_flow(a, outputs=[1])
    torch.testing.assert_close(only[1], a_hat[1])
    assert only[0].abs().sum() == 0
    with pytest.raises(ValueError, match="outputs must be"):
        attention_flow(a, outputs=[9])

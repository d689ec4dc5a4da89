"""Chapter 9's experiments (coursekit.bert.experiments): the LTR reading really is left to right,
the masking presets really mask as named, both fine-tuning arms share architecture and data, the
probes' data hold what they claim, and the explorer's table is consistent with fill_mask."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from coursekit.bert import BertForPreTraining, BertForSequenceClassification
from coursekit.bert.experiments import (
    FinetuneResult,
    PretrainRun,
    classifier_from,
    direction_probe,
    encoder_states,
    fill_mask,
    fill_mask_table,
    fill_masks,
    finetune_vs_scratch,
    grammar_sentences,
    ltr_logits,
    ltr_loss,
    masking_probe,
    mlm_score,
    pretrain_tiny_bert,
    right_cue_sentences,
    sbert_finetune,
    sentence_vectors,
    similar_pairs,
    similarity_matrix,
    tiny_config,
    word_order_data,
)
from coursekit.bert.experiments.pretrain import _stream
from coursekit.bert.experiments.sentences import _auc
from coursekit.pretraining import encode_examples
from coursekit.senses import SENSES
from coursekit.wordpiece import train_wordpiece


@pytest.fixture(scope="module")
def tok():
    """A small WordPiece vocabulary of the grammar (the words whole): fast to train."""
    return train_wordpiece(["\n".join(grammar_sentences("train") + grammar_sentences("test"))], 300)


def tiny(tok, seed=0):
    torch.manual_seed(seed)
    return BertForPreTraining(tiny_config(tok, hidden_size=16, num_attention_heads=2, intermediate_size=32,
                                          num_hidden_layers=2)).eval()


@pytest.fixture(scope="module")
def run(tok):
    """A real (very short) pretraining run on 120 grammar sentences."""
    g = grammar_sentences("train")
    cfg = tiny_config(tok, hidden_size=16, num_attention_heads=2, intermediate_size=32)
    return pretrain_tiny_bert(cfg, tokenizer=tok, steps=12, batch_size=16, eval_every=6, sentences=(g[::3], g[1::40]),
                              max_length=24, progress=False)


@torch.no_grad()
def test_ltr_reading_cannot_see_to_the_right(tok):
    model = tiny(tok)
    ids = torch.tensor([tok.encode_pair("the white duck swam across the pond").input_ids])
    changed = ids.clone()
    changed[0, 5] = tok.vocab["bank"]
    for causal in (True, False):
        a = encoder_states(model, ids, causal=causal)
        b = encoder_states(model, changed, causal=causal)
        left = max(float((x[0, :5] - y[0, :5]).abs().max()) for x, y in zip(a, b))  # no grad needed
        if causal:  # positions before the change are exactly as they were, in every layer
            assert left == 0.0
            assert float((a[-1][0, 5] - b[-1][0, 5]).abs().max()) > 1e-4
        else:  # the bidirectional reading of the same weights does see it
            assert left > 1e-4
    torch.testing.assert_close(encoder_states(model, ids)[-1], model.bert(ids).hidden)


def test_ltr_loss_is_the_shifted_cross_entropy_and_ignores_padding(tok):
    model = tiny(tok)
    b = tok.encode_batch(["the duck swam", "we sat on the bank of the river"])
    ids, mask = b.input_ids, b.attention_mask
    logits = ltr_logits(model, ids, mask.bool())
    want = F.cross_entropy(logits[1, :-1], ids[1, 1:])  # the full row: every next token
    alone = ltr_loss(model, ids[1:], mask[1:])
    torch.testing.assert_close(alone, want)
    n0 = int(mask[0].sum())  # the padded row: its loss over its real tokens only
    torch.testing.assert_close(ltr_loss(model, ids[:1, :n0], mask[:1, :n0]),
                               F.cross_entropy(ltr_logits(model, ids[:1, :n0])[0, :-1], ids[0, 1:n0]))
    both = ltr_loss(model, ids, mask)
    expect = (F.cross_entropy(logits[0, :n0 - 1], ids[0, 1:n0], reduction="sum")
              + F.cross_entropy(logits[1, :-1], ids[1, 1:], reduction="sum")) / (n0 - 1 + ids.shape[1] - 1)
    torch.testing.assert_close(both, expect)


@pytest.mark.parametrize("masking", ["100/0/0", "80/10/10"])
def test_training_stream_masks_as_the_preset_says(tok, masking):
    ex = encode_examples(tok, grammar_sentences("train"), max_length=24)
    batches = [next(it) for it in [_stream(ex, "mlm", masking, 64, 6, 0)] for _ in range(6)]
    chosen = torch.cat([(b.labels != -100).flatten() for b in batches])
    is_mask = torch.cat([(b.input_ids == tok.mask_id).flatten() for b in batches])
    kept = torch.cat([(b.input_ids == b.labels).flatten() for b in batches])
    assert 0.10 < chosen.float().mean() / torch.cat([b.attention_mask.flatten() for b in batches]).float().mean() < 0.20
    share = is_mask[chosen].float().mean()
    if masking == "100/0/0":
        assert share == 1.0 and not bool(kept[chosen].any())  # every chosen token is [MASK], none kept
    else:
        assert 0.7 < share < 0.9 and 0.03 < kept[chosen].float().mean() < 0.2
    assert not bool(is_mask[~chosen].any())  # nothing else is masked
    ltr = next(_stream(ex, "ltr", masking, 8, 1, 0))  # the LM reads the text as written: nothing chosen
    assert bool((ltr.labels == -100).all()) and not bool((ltr.input_ids == tok.mask_id).any())


def test_mlm_score_by_kind(tok):
    model = tiny(tok)
    ex = encode_examples(tok, grammar_sentences("test"), max_length=24)
    s = mlm_score(model, ex, repeats=3)
    assert s.n == sum(s.counts.values()) and s.counts["same"] > 0 and s.counts["random"] > 0
    weighted = sum(s.by_kind[k] * s.counts[k] for k in s.counts) / s.n
    assert abs(weighted - s.accuracy) < 1e-6
    only_mask = mlm_score(model, ex, mask_frac=1.0, random_frac=0.0)
    assert only_mask.counts["same"] == only_mask.counts["random"] == 0
    assert mlm_score(model, ex, repeats=3) == s  # seeded: the same draws every time
    the = tok.vocab["the"]
    guess = mlm_score(model, ex, repeats=3, constant=the)
    labels = [int(i) for i, k in zip(ex.input_ids.repeat(3, 1).flatten(), ex.special_tokens_mask.repeat(3, 1).flatten())
              if k == 0]
    assert s.constant_accuracy is None and 0 < guess.constant_accuracy < 1
    assert abs(guess.constant_accuracy - labels.count(the) / len(labels)) < 0.1  # about the share of "the"


def test_pretrain_run_learns_and_repeats(tok, run):
    assert isinstance(run, PretrainRun) and run.objective == "mlm" and run.held_out is not None
    losses = run.history.curve("loss", "train")[1]
    assert losses[-1] < losses[0]
    steps, acc = run.history.curve("accuracy", "eval")
    assert steps[0] == 0 and steps[-1] == 12 and run.accuracy == acc[-1]
    assert run.tokenizer.tokens_by_id[run.frequent_token] == "the"  # the grammar's most frequent word
    assert run.held_out.constant_accuracy is not None
    g = grammar_sentences("train")
    again = pretrain_tiny_bert(run.model.config, tokenizer=tok, steps=12, batch_size=16, eval_every=6,
                               sentences=(g[::3], g[1::40]), max_length=24, progress=False)
    for (n, p), q in zip(run.model.state_dict().items(), again.model.state_dict().values()):
        torch.testing.assert_close(p, q, msg=n)


def test_pretrain_with_nsp_sums_both_losses_on_sentence_pairs(tok):
    from coursekit.pretraining import encode_examples as enc, nsp_pairs
    from coursekit.bert.experiments.pretrain import _mlm_step_loss, _stream
    from coursekit.bert import mlm_loss, nsp_loss

    g = grammar_sentences("train")
    docs = [g[k:k + 4] for k in range(0, 80, 4)]  # 20 "documents" of 4 sentences
    cfg = tiny_config(tok, hidden_size=16, num_attention_heads=2, intermediate_size=32)
    r = pretrain_tiny_bert(cfg, tokenizer=tok, nsp=True, steps=4, batch_size=8, eval_every=2, max_length=48,
                           sentences=(docs, docs[:6]), progress=False)
    assert "nsp_accuracy" in r.history.rows[-1] and 0.0 <= r.history.last("nsp_accuracy") <= 1.0
    ex = enc(tok, nsp_pairs(docs, torch.Generator().manual_seed(0)), max_length=48)
    batch = next(_stream(ex, "mlm", "80/10/10", 8, 1, 0))
    assert batch.next_sentence_label is not None and bool((batch.token_type_ids == 1).any())
    chosen = batch.labels != -100
    out = r.model(batch.input_ids, token_type_ids=batch.token_type_ids, key_padding_mask=batch.attention_mask.bool(),
                  mlm_positions=chosen)
    torch.testing.assert_close(_mlm_step_loss(r.model, batch),
                               mlm_loss(out.mlm_logits, batch.labels[chosen]) + nsp_loss(out.nsp_logits, batch.next_sentence_label))
    with pytest.raises(ValueError, match="nsp"):
        pretrain_tiny_bert(cfg, tokenizer=tok, nsp=True, objective="ltr")


def test_pretrain_rejects_bad_arguments(tok, run):
    with pytest.raises(ValueError, match="objective"):
        pretrain_tiny_bert(tokenizer=tok, objective="clm")
    with pytest.raises(ValueError, match="masking"):
        pretrain_tiny_bert(tokenizer=tok, masking="50/50/0")
    with pytest.raises(ValueError, match="vocab_size"):
        pretrain_tiny_bert(tiny_config(tok, vocab_size=tok.vocab_size + 1), tokenizer=tok)
    with pytest.raises(ValueError, match="max_length"):
        pretrain_tiny_bert(tiny_config(tok), tokenizer=tok, max_length=65)
    with pytest.raises(ValueError, match="tokenizer must be a WordPiece"):
        pretrain_tiny_bert(tokenizer="bert-base-uncased")
    with pytest.raises(ValueError, match="tokenizer must be a WordPiece"):
        sentence_vectors(run.model, None, ["the duck swam"])
    with pytest.raises(ValueError, match="arms"):
        direction_probe({}, tok)
    with pytest.raises(ValueError, match="each arm"):
        direction_probe({"x": "not a model"}, tok)


def test_pretrained_and_scratch_classifiers_differ_only_in_starting_weights(run):
    cfg = run.model.config
    pre, scratch = classifier_from(run, cfg, seed=3), classifier_from(None, cfg, seed=3)
    assert type(pre) is type(scratch) is BertForSequenceClassification
    a, b = pre.state_dict(), scratch.state_dict()
    assert [(k, v.shape) for k, v in a.items()] == [(k, v.shape) for k, v in b.items()]
    for k, v in run.model.bert.state_dict().items():
        torch.testing.assert_close(a["bert." + k], v)  # the pretrained encoder, copied
    torch.testing.assert_close(a["classifier.weight"], b["classifier.weight"])  # the same new head
    layer = next(k for k in a if k.startswith("bert.encoder.layers.0.") and k.endswith("weight") and a[k].dim() == 2)
    assert not torch.equal(a[layer], b[layer])  # the scratch encoder starts from BERT's random initialisation
    with pytest.raises(ValueError, match="same config"):
        classifier_from(run, tiny_config(run.tokenizer))


def test_word_order_pairs_differ_by_one_swap_of_neighbours(tok):
    texts, y = word_order_data(tok, grammar_sentences("test"), seed=1)
    assert y.tolist() == [1, 0] * (len(texts) // 2)
    for a, b in zip(texts[::2], texts[1::2]):
        wa, wb = a.split(), b.split()
        diff = [i for i in range(len(wa)) if wa[i] != wb[i]]
        assert len(diff) == 2 and diff[1] == diff[0] + 1 and sorted(wa) == sorted(wb)


def test_finetune_vs_scratch_runs_both_arms_on_the_same_data(run):
    g = grammar_sentences("train")
    r = finetune_vs_scratch(run, n_labels=(8, 16), steps=2, batch_size=8, data=(g[:20], g[20:30]))
    assert isinstance(r, FinetuneResult) and r.n_labels == (8, 16) and r.n_test == 20
    assert all(0.0 <= a <= 1.0 for a in r.pretrained + r.scratch)
    assert [row["start"] for row in r.rows()] == ["pretrained", "from scratch"] * 2
    with pytest.raises(ValueError, match="n_labels"):
        finetune_vs_scratch(run, n_labels=(100,), data=(g[:20], g[20:30]))


def test_finetune_arms_differ_in_nothing_but_the_starting_encoder(run):
    """Give the "pretrained" arm exactly the encoder the scratch arm starts from: with the same data,
    steps, minibatches and head, the two must then end with the same accuracy."""
    cfg = run.model.config
    twin = BertForPreTraining(cfg)
    twin.bert.load_state_dict(classifier_from(None, cfg, seed=0).bert.state_dict())
    fake = PretrainRun(twin, run.tokenizer, None, "mlm", "80/10/10", 0, None, 0.0, 0.0, 0)
    for (k, a), b in zip(classifier_from(fake, cfg).state_dict().items(), classifier_from(None, cfg).state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)  # the two arms now start from the same weights
    g = grammar_sentences("train")
    r = finetune_vs_scratch(fake, n_labels=(8, 16), steps=3, batch_size=8, data=(g[:20], g[20:30]))
    assert r.pretrained == r.scratch


def test_right_cue_sentences_put_every_cue_to_the_right():
    cut, labels, full, positions = right_cue_sentences()
    assert len(cut) == len(labels) == len(full) == len(positions) > 300
    for c, y, f, p in zip(cut, labels, full, positions):
        word = y.split(":")[0]
        assert c.split()[0] == word and len(c.split()) > 1 and f.split()[p:] == c.split()


def test_ltr_states_at_the_word_ignore_everything_after_it(tok):
    """Read left to right, the cut sentences' states at the word depend on the word alone: the probe
    cannot beat knowing the word, while the bidirectional reading of the same weights can."""
    model = tiny(tok)
    from coursekit.bert.experiments.transfer import _word_states

    cut, labels, _, _ = right_cue_sentences(8)
    states = _word_states(model, tok, cut, [0] * len(cut), causal=True)[-1]
    for word in SENSES:
        rows = states[[i for i, y in enumerate(labels) if y.startswith(word + ":")]]
        torch.testing.assert_close(rows, rows[:1].expand_as(rows))
    r = direction_probe({"ltr": PretrainRun(model, tok, None, "ltr", "80/10/10", 0, None, 0.0, 0.0, 0), "bi": model}, tok,
                        n_per_sense=8, probe_steps=50)
    assert r.n_sentences == len(cut)
    assert r.right_cue["ltr"] <= r.chance + 1e-6 < r.right_cue["bi"]


def test_masking_probe_scores_each_arm_on_the_same_draws(run):
    r = masking_probe({"a": run, "b": run}, held_out=grammar_sentences("test")[:30], repeats=2, n_per_sense=5,
                      probe_seeds=(0, 1), finetune_seeds=(0,), probe_fraction=0.5, probe_steps=20, finetune_labels=8,
                      finetune_steps=2)
    assert r.held_out["a"] == r.held_out["b"] and r.feature["a"] == r.feature["b"] and len(r.feature["a"]) == 2
    assert len(r.finetuned["a"]) == 1 and r.n_probe_test > 0 and r.n_finetune_test > 0
    mean, sd = r.mean_sd([0.5, 0.7])
    assert abs(mean - 0.6) < 1e-12 and abs(sd - 0.1414213562) < 1e-9 and r.mean_sd([0.3]) == (0.3, 0.0)
    assert set(r.held_out["a"].by_kind) == {"mask", "same", "random"}
    with pytest.raises(ValueError, match="masked-LM"):
        masking_probe({"ltr": PretrainRun(run.model, run.tokenizer, None, "ltr", "80/10/10", 0, None, 0.0, 0.0, 0)})


def test_similar_pairs_labels():
    texts, pairs = similar_pairs("test")
    n = len(texts) // 9
    label = [f"{w}:{s}" for w, senses in SENSES.items() for s in senses for _ in range(n)]
    assert len(label) == len(texts)
    for i, j, y in pairs:
        assert label[i].split(":")[0] == label[j].split(":")[0] and y == int(label[i] == label[j])
    assert {y for _, _, y in pairs} == {0, 1}


def test_auc_is_the_mann_whitney_statistic():
    g = torch.Generator().manual_seed(0)
    s = torch.randint(0, 5, (40,), generator=g).float()  # ties included
    y = torch.randint(0, 2, (40,), generator=g)
    pos, neg = s[y == 1].tolist(), s[y == 0].tolist()
    want = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg) / (len(pos) * len(neg))
    assert abs(_auc(s, y) - want) < 1e-12


@pytest.mark.parametrize("objective", ["classification", "cosine"])
def test_sbert_finetune_trains_a_copy(run, objective):
    before = {k: v.clone() for k, v in run.model.bert.state_dict().items()}
    pairs = [similar_pairs(split) for split in ("train", "test")]
    small = [(texts[::3], [(i // 3, j // 3, y) for i, j, y in p if i % 3 == 0 and j % 3 == 0]) for texts, p in pairs]
    r = sbert_finetune(run, objective=objective, steps=2, batch_size=8, pairs=small)
    assert len(r.losses) == 2 and all(torch.isfinite(torch.tensor(r.losses)))
    assert set(r.auc) == {(w, p) for w in ("before", "after") for p in ("mean", "cls")}
    for k, v in run.model.bert.state_dict().items():  # the run's own model is untouched
        torch.testing.assert_close(v, before[k])
    assert r.auc["before", "mean"] != r.auc["after", "mean"]


def test_sentence_vectors_mean_pooling_ignores_padding(tok):
    model = tiny(tok)
    texts = ["the duck swam", "we sat on the bank of the river"]
    both = sentence_vectors(model, tok, texts)
    torch.testing.assert_close(both[0], sentence_vectors(model, tok, texts[:1])[0])
    torch.testing.assert_close(both.norm(dim=-1), torch.ones(2))
    cls = sentence_vectors(model, tok, texts, pooling="cls", normalize=False)
    torch.testing.assert_close(cls[1], model.bert(torch.tensor([tok.encode_pair(texts[1]).input_ids])).hidden[0, 0])


def test_fill_mask_table_agrees_with_fill_mask(tok):
    model = tiny(tok)
    sentence = "the white duck swam across the pond"
    rows = fill_mask_table(model, tok, [sentence], k=3)
    tokens = tok.tokens(sentence)
    assert len(rows) == 3 * len(tokens) and all(r["tokens"] == tokens for r in rows)
    for position in range(len(tokens)):
        mine = [(r["prediction"], r["probability"]) for r in rows if r["position"] == position]
        assert [r["rank"] for r in rows if r["position"] == position] == [1, 2, 3]
        alone = fill_mask(model, tok, sentence, position, k=3)  # one row instead of a batch: float rounding only
        assert [t for t, _ in mine] == [t for t, _ in alone]
        torch.testing.assert_close(torch.tensor([p for _, p in mine]), torch.tensor([p for _, p in alone]))
        assert mine[0][1] >= mine[1][1] >= mine[2][1]
    masked = sentence.replace("duck", "[MASK]")
    at = tokens.index("duck")
    assert fill_mask(model, tok, masked, k=3) == fill_mask(model, tok, sentence, at, k=3)
    with pytest.raises(ValueError, match="exactly one"):
        fill_mask(model, tok, sentence)
    two = fill_masks(model, tok, "the [MASK] duck swam across the [MASK]", k=3)  # both in one pass
    assert [len(x) for x in two] == [3, 3] and fill_masks(model, tok, sentence) == []
    one = fill_masks(model, tok, masked, k=3)
    assert [t for t, _ in one[0]] == [t for t, _ in fill_mask(model, tok, masked, k=3)]


def test_similarity_matrix_falls_back_and_says_so(run):
    s = similarity_matrix(["the duck swam", "we sat on the bank"], ["a", "b"], fallback=run, use_minilm=False)
    assert "tiny BERT" in s.source and s.matrix.shape == (2, 2)
    torch.testing.assert_close(s.matrix, s.matrix.T)
    torch.testing.assert_close(s.matrix.diagonal(), torch.ones(2))
    with pytest.raises(ValueError, match="labels"):
        similarity_matrix(["a", "b"], ["x"], fallback=run, use_minilm=False)

"""coursekit.pretraining: BERT's masked-LM and next-sentence data, checked statistically and
against transformers' DataCollatorForLanguageModeling (same seed: same tensors) and
BertForPreTraining's argument conventions (test extras, imported here)."""

from __future__ import annotations

import math

import pytest
import torch

from coursekit.corpus import corpus_docs
from coursekit.pretraining import (
    MASKING_PRESETS,
    Examples,
    NspPair,
    corpus_sentences,
    encode_examples,
    mask_tokens,
    nsp_pairs,
    pretraining_batches,
    split_sentences,
)
from coursekit.wordpiece import bert_tokenizer, train_wordpiece

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: one intra-op thread is fastest


def within(observed: float, p: float, n: int, z: float = 4.5) -> bool:
    """Is a proportion over n Bernoulli(p) trials within z binomial standard deviations of p?"""
    return abs(observed - p) <= z * math.sqrt(p * (1 - p) / n)


@pytest.fixture(scope="module")
def wp():
    return train_wordpiece(corpus_docs("train")[:300], 800)


@pytest.fixture(scope="module")
def sentences():
    return corpus_sentences("train")


@pytest.fixture(scope="module")
def batch(wp):
    """Real sentences, padded: ~4k tokens with [CLS], [SEP] and [PAD] among them."""
    lines = [s for doc in corpus_sentences("val")[:200] for s in doc][:160]
    return wp.encode_batch(lines[:80], lines[80:], max_length=48)


def test_split_sentences_rules():
    text = ("Return the path. Use os.path.join for that, e.g. Join(a, b). See Dr. Who and J. Smith.\n"
            "A second paragraph has no full stop\nIs it true? Yes! \"Quoted.\" (Bracketed.) 3 items.")
    assert split_sentences(text) == [
        "Return the path.", "Use os.path.join for that, e.g. Join(a, b).", "See Dr. Who and J. Smith.",
        "A second paragraph has no full stop", "Is it true?", "Yes!", "\"Quoted.\"", "(Bracketed.)", "3 items.",
    ]
    assert split_sentences("lower case after. a stop does not split") == ["lower case after. a stop does not split"]
    assert split_sentences("") == [] and split_sentences("\n\n") == []


def test_corpus_sentences_cover_the_text(sentences):
    docs = corpus_docs("train")
    assert len(sentences) == len([d for d in docs if d.strip()])
    assert sum(len(d) for d in sentences) > 2 * len(sentences)  # most documents have several sentences
    joined = " ".join(sentences[0])
    assert joined.replace(" ", "") == docs[0].replace("\n", "").replace(" ", "")


@pytest.mark.parametrize("preset", list(MASKING_PRESETS))
def test_mask_tokens_equals_transformers_collator_with_the_same_seed(wp, tmp_path, preset):
    from transformers import DataCollatorForLanguageModeling

    wp.save(tmp_path)
    tok = bert_tokenizer(tmp_path)
    mask, same, rnd = MASKING_PRESETS[preset]
    collator = DataCollatorForLanguageModeling(tok, mlm_probability=0.15, mask_replace_prob=mask,
                                               random_replace_prob=rnd, seed=7)
    lines = [s for doc in corpus_sentences("val")[:60] for s in doc][:64]
    features = [tok(line, truncation=True, max_length=40) for line in lines]
    theirs = collator(features)
    padded = wp.encode_batch(lines, max_length=40)
    assert torch.equal(padded.input_ids, tok.pad(features, return_tensors="pt")["input_ids"])
    ours = mask_tokens(padded.input_ids, vocab_size=wp.vocab_size, mask_id=wp.mask_id,
                       generator=torch.Generator().manual_seed(7), special_ids=wp.special_ids,
                       mlm_probability=0.15, mask_frac=mask, random_frac=rnd)
    assert torch.equal(ours.labels, theirs["labels"])
    assert torch.equal(ours.input_ids, theirs["input_ids"])
    assert int(ours.chosen.sum()) > 20


def test_whole_word_masking_equals_transformers_with_its_word_rule(wp, tmp_path):
    """Recent transformers (5.23 here) mask whole words with whole_word_mask=True in
    DataCollatorForLanguageModeling, words found from character offsets (tokens with no gap
    between them form one word, so "don't" is one word there and three in BERT's ##
    rule), and it forces 100% [MASK]. Given its word ids, coursekit draws the same.
    Older versions (Colab's 5.18) still have the separate DataCollatorForWholeWordMask."""
    import inspect

    import transformers
    from transformers import DataCollatorForLanguageModeling

    if "whole_word_mask" not in inspect.signature(DataCollatorForLanguageModeling).parameters:
        pytest.skip(f"transformers {transformers.__version__}: DataCollatorForLanguageModeling has no "
                    "whole_word_mask (this version has DataCollatorForWholeWordMask instead)")
    wp.save(tmp_path)
    tok = bert_tokenizer(tmp_path)
    lines = [s for doc in corpus_sentences("val")[:60] for s in doc][:48]
    enc = tok(lines, padding=True, return_offsets_mapping=True, return_special_tokens_mask=True, return_tensors="pt")
    with pytest.warns(UserWarning, match="Random token replacement is not supported"):
        collator = DataCollatorForLanguageModeling(tok, whole_word_mask=True, seed=3)
    collator.generator = torch.Generator().manual_seed(3)  # what its first call does with seed=3
    ids, labels = collator.torch_mask_tokens(enc["input_ids"].clone(), special_tokens_mask=enc["special_tokens_mask"],
                                             offset_mapping=enc["offset_mapping"])
    word_ids, _ = DataCollatorForLanguageModeling._calc_word_ids_and_prob_mask(
        enc["offset_mapping"].numpy(), enc["special_tokens_mask"].numpy())
    ours = mask_tokens(enc["input_ids"], vocab_size=wp.vocab_size, mask_id=wp.mask_id,
                       generator=torch.Generator().manual_seed(3), special_mask=enc["special_tokens_mask"],
                       mask_frac=1.0, random_frac=0.0, word_ids=torch.from_numpy(word_ids).long())
    assert torch.equal(ours.labels, labels) and torch.equal(ours.input_ids, ids)
    # the two word rules differ on punctuation inside a word
    assert len(set(wp.encode_pair("don't").word_ids[1:-1])) == 3


def test_mask_tokens_rates_over_many_tokens():
    g = torch.Generator().manual_seed(0)
    V, mask_id = 1000, 4
    ids = torch.randint(5, V, (200, 400), generator=g)  # 80k ordinary tokens
    ids[:, 0], ids[:, -1] = 2, 3  # [CLS] ... [SEP]
    ids[:50, 300:-1] = 0  # padding
    before = ids.clone()
    m = mask_tokens(ids, vocab_size=V, mask_id=mask_id, generator=g, special_ids=(0, 2, 3))
    assert torch.equal(ids, before)  # the input is not changed in place
    eligible = ~((ids == 0) | (ids == 2) | (ids == 3))
    n = int(eligible.sum())
    chosen = m.chosen
    assert not bool(chosen[~eligible].any())  # specials and padding never chosen
    assert within(int(chosen.sum()) / n, 0.15, n)
    assert torch.equal(m.labels[chosen], ids[chosen]) and bool((m.labels[~chosen] == -100).all())
    assert torch.equal(m.input_ids[~chosen], ids[~chosen])
    k = int(chosen.sum())
    to_mask = (m.input_ids == mask_id) & chosen
    kept = (m.input_ids == ids) & chosen
    other = chosen & ~to_mask & ~kept
    assert within(int(to_mask.sum()) / k, 0.8 + 0.1 / V, k)  # a random draw can land on [MASK]
    assert within(int(other.sum()) / k, 0.1 * (1 - 2 / V), k)  # ... or on the original token
    assert within(int(kept.sum()) / k, 0.1 + 0.1 / V, k)


@pytest.mark.parametrize("preset", ["100/0/0", "0/20/80"])
def test_presets_give_their_shares(preset):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(5, 5000, (200, 400), generator=g)
    mask, same, rnd = MASKING_PRESETS[preset]
    assert mask + same + rnd == pytest.approx(1.0)
    m = mask_tokens(ids, vocab_size=5000, mask_id=4, generator=g, mask_frac=mask, random_frac=rnd)
    k = int(m.chosen.sum())
    to_mask = int(((m.input_ids == 4) & m.chosen).sum()) / k
    kept = int(((m.input_ids == ids) & m.chosen).sum()) / k
    if mask == 1.0:
        assert to_mask == 1.0 and kept == 0.0
    else:  # a random id can be [MASK] or the original token, 1 in 5000 each
        assert within(to_mask, mask + rnd / 5000, k) and within(kept, same + rnd / 5000, k)


def test_whole_word_masking_chooses_words_together(wp, batch):
    big = torch.cat([batch.input_ids] * 8)
    words = torch.cat([batch.word_ids] * 8)
    m = mask_tokens(big, vocab_size=wp.vocab_size, mask_id=wp.mask_id, generator=torch.Generator().manual_seed(2),
                    special_ids=wp.special_ids, word_ids=words)
    # a word's pieces are neighbours: wherever a token continues the word before it, both agree
    cont = (words[:, 1:] == words[:, :-1]) & (words[:, 1:] >= 0)
    assert torch.equal(m.chosen[:, 1:][cont], m.chosen[:, :-1][cont])
    assert not bool(m.chosen[words < 0].any())
    starts = (words >= 0) & torch.cat([torch.ones_like(cont[:, :1]), ~cont], 1)  # first piece of each word
    n_words = int(starts.sum())
    assert within(int(m.chosen[starts].sum()) / n_words, 0.15, n_words)
    multi = int(((batch.word_ids[:, 1:] == batch.word_ids[:, :-1]) & (batch.word_ids[:, 1:] >= 0)).sum())
    assert multi > 20  # the test sees words of several pieces


def test_nsp_pairs_are_half_random_and_true_pairs_are_consecutive(sentences):
    sentences = sentences[:1000]
    pairs = nsp_pairs(sentences, torch.Generator().manual_seed(0))
    assert len(pairs) == sum(len(d) - 1 for d in sentences) > 2000
    labels = [p.label for p in pairs]
    assert within(sum(labels) / len(labels), 0.5, len(labels))
    for p in pairs:
        d, i = p.a_at
        assert p.a == sentences[d][i]
        e, j = p.b_at
        assert p.b == sentences[e][j]
        if p.label == 0:
            assert (e, j) == (d, i + 1)
        else:
            assert e != d
    again = nsp_pairs(sentences, torch.Generator().manual_seed(0))
    assert again == pairs
    assert all(p.label == 0 for p in nsp_pairs(sentences[:50], torch.Generator(), random_prob=0.0))


def test_batches_static_vs_dynamic_masking(wp, sentences):
    pairs = nsp_pairs(sentences[:120], torch.Generator().manual_seed(0))
    ex = encode_examples(wp, pairs, max_length=40)
    assert isinstance(ex, Examples) and len(ex) == len(pairs)
    assert torch.equal(ex.next_sentence_label, torch.tensor([p.label for p in pairs]))

    def masks(masking, copies=1):
        out = []
        for b in pretraining_batches(ex, len(ex), generator=torch.Generator().manual_seed(0), epochs=3,
                                     masking=masking, static_copies=copies, shuffle=False):
            out.append(b.labels)
        return out

    dynamic, static, two = masks("dynamic"), masks("static"), masks("static", 2)
    assert not torch.equal(dynamic[0], dynamic[1])  # a new mask each epoch
    assert torch.equal(static[0], static[1]) and torch.equal(static[1], static[2])  # masked once
    assert torch.equal(two[0], two[2]) and not torch.equal(two[0], two[1])  # copies in turn


def test_batches_fit_bert_for_pretraining(wp, sentences):
    from transformers import BertConfig, BertForPreTraining

    pairs = nsp_pairs(sentences[:40], torch.Generator().manual_seed(1))
    ex = encode_examples(wp, pairs, max_length=32)
    batches = list(pretraining_batches(ex, 16, generator=torch.Generator().manual_seed(1), whole_word=True))
    assert sum(b.input_ids.shape[0] for b in batches) == len(pairs)
    b = batches[0]
    B, T = b.input_ids.shape
    assert T == int(b.attention_mask.sum(1).max()) <= 32
    assert b.token_type_ids.shape == b.labels.shape == (B, T) and b.next_sentence_label.shape == (B,)
    assert not bool((b.labels[b.attention_mask == 0] != -100).any())
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=wp.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64)
    out = BertForPreTraining(cfg)(input_ids=b.input_ids, token_type_ids=b.token_type_ids, attention_mask=b.attention_mask,
                                  labels=b.labels, next_sentence_label=b.next_sentence_label)
    logits, nsp = out.prediction_logits, out.seq_relationship_logits
    ce = torch.nn.functional.cross_entropy
    expected = ce(logits.view(-1, wp.vocab_size), b.labels.view(-1)) + ce(nsp, b.next_sentence_label)
    torch.testing.assert_close(out.loss, expected)  # -100 ignored, 0 = is next: the same conventions
    single = encode_examples(wp, ["one text", "another text here"], max_length=16)
    (sb,) = pretraining_batches(single, 4, generator=torch.Generator())
    assert single.next_sentence_label is None and sb.next_sentence_label is None
    assert bool((sb.token_type_ids == 0).all())


def test_bad_arguments_raise_value_errors(wp):
    ids = torch.zeros(2, 5, dtype=torch.long)
    g = torch.Generator()
    with pytest.raises(ValueError, match="input_ids must have dtype torch.int64"):
        mask_tokens(ids.float(), vocab_size=10, mask_id=4, generator=g)
    with pytest.raises(ValueError, match="mask_frac \\+ random_frac must be at most 1"):
        mask_tokens(ids, vocab_size=10, mask_id=4, generator=g, mask_frac=0.8, random_frac=0.3)
    with pytest.raises(ValueError, match="generator must be a torch.Generator"):
        mask_tokens(ids, vocab_size=10, mask_id=4, generator=0)
    with pytest.raises(ValueError, match="mask_id must be an int"):
        mask_tokens(ids, vocab_size=10, mask_id=10, generator=g)
    with pytest.raises(ValueError, match="word_ids must have shape"):
        mask_tokens(ids, vocab_size=10, mask_id=4, generator=g, word_ids=torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="at least 2 documents"):
        nsp_pairs([["a", "b"]], g)
    with pytest.raises(ValueError, match="an empty document"):
        nsp_pairs([["a", "b"], []], g)
    with pytest.raises(ValueError, match="masking must be one of"):
        next(pretraining_batches(encode_examples(wp, ["a"]), 2, generator=g, masking="once"))
    with pytest.raises(ValueError, match="items must be all NspPair or all str"):
        encode_examples(wp, ["a", NspPair("a", "b", 0, (0, 0), (0, 1))])

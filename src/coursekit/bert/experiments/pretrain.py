"""Pretraining the chapter's tiny BERT: its WordPiece vocabulary and text (the corpus's
docstrings and the sense grammar's sentences), the masked-LM and left-to-right objectives on one
encoder, held-out scores, and the training run (Devlin et al. 2019, Sec. 3.1, Appendix A.2; Table 5's
"LTR & No NSP" model).

Legend: B batch, T tokens (with [CLS] and [SEP]), V vocabulary, H hidden size, L layers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...corpus import corpus_docs
from ...pretraining import (MASKING_PRESETS, Examples, corpus_sentences, encode_examples, mask_tokens, nsp_pairs,
                            pretraining_batches)
from ...senses import sense_sentences
from ...train import History, fit
from ...utils import check_bool, check_choice, check_int, check_positive, check_real, check_tensor
from ...wordpiece import WordPiece, train_wordpiece
from ..config import BertConfig
from ..model import BertForPreTraining, BertForSequenceClassification, BertModel, mlm_loss, nsp_loss

__all__ = [
    "GRAMMAR_REPEATS",
    "OBJECTIVES",
    "corpus_wordpiece",
    "grammar_sentences",
    "tiny_config",
    "encoder_states",
    "ltr_logits",
    "ltr_loss",
    "MlmScore",
    "mlm_score",
    "PretrainRun",
    "pretrain_tiny_bert",
]

OBJECTIVES = ("mlm", "ltr")


# ----------------------------------------------------------------------------- data and model
GRAMMAR_REPEATS = 30  # copies of the grammar's training sentences in the pretraining text (about half of it)


@lru_cache(maxsize=4)
def corpus_wordpiece(vocab_size: int = 2000, grammar_repeats: int = GRAMMAR_REPEATS) -> WordPiece:
    """The chapter's WordPiece vocabulary: :func:`coursekit.wordpiece.train_wordpiece` (frequency
    score) on the text the chapter's model pretrains on, the corpus's training documents and the
    sense grammar's training sentences (:func:`grammar_sentences`) ``grammar_repeats`` times, as in
    :func:`pretrain_tiny_bert`; cached (the same object on every call; ~1 s once)."""
    check_int("vocab_size", vocab_size, min=200)
    check_int("grammar_repeats", grammar_repeats, min=0)
    return train_wordpiece(corpus_docs("train") + ["\n".join(grammar_sentences("train"))] * grammar_repeats, vocab_size)


GRAMMAR_TEST_PER_SENSE = 15  # sentences per sense held out of pretraining, for the downstream tests


def grammar_sentences(split: str = "train") -> list[str]:
    """The sense grammar's sentences (:func:`coursekit.senses.sense_sentences`, 55 per sense, seed 0)
    as text: ``"test"`` the first 15 of each sense (never pretrained on), ``"train"`` the other 40."""
    check_choice("split", split, ("train", "test"))
    by_label: dict[str, list[str]] = {}
    for s in sense_sentences(55, seed=0):
        by_label.setdefault(s.label, []).append(s.text)
    k = GRAMMAR_TEST_PER_SENSE
    return [t for group in by_label.values() for t in (group[:k] if split == "test" else group[k:])]


@lru_cache(maxsize=8)
def _corpus_examples(tokenizer: WordPiece, split: str, max_length: int, grammar_repeats: int = 0) -> Examples:
    sentences = [s for doc in corpus_sentences(split) for s in doc]
    if grammar_repeats:
        sentences += grammar_sentences("train") * grammar_repeats
    return encode_examples(tokenizer, sentences, max_length=max_length)


def _check_tokenizer(tokenizer: object) -> WordPiece:
    if not isinstance(tokenizer, WordPiece):
        raise ValueError(f"tokenizer must be a WordPiece, got {type(tokenizer).__name__}")
    return tokenizer


def tiny_config(tokenizer: WordPiece, **overrides) -> BertConfig:
    """The chapter's tiny BERT for ``tokenizer``'s vocabulary: 2 layers, width 64, 4 heads, FFN 256,
    64 positions, no dropout (a run of a few hundred steps does not overfit); ``overrides`` replace
    any field (e.g. the GPU configuration's width and depth)."""
    _check_tokenizer(tokenizer)
    fields = dict(vocab_size=tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=256, max_position_embeddings=64, pad_token_id=tokenizer.pad_id)
    fields.update(overrides)
    return BertConfig(**fields)


def _bert(model: nn.Module) -> BertModel:
    if isinstance(model, BertModel):
        return model
    if isinstance(model, (BertForPreTraining, BertForSequenceClassification)):
        return model.bert
    raise ValueError(f"model must be a coursekit BertModel, BertForPreTraining or BertForSequenceClassification, "
                     f"got {type(model).__name__}")


def encoder_states(
    model: nn.Module,
    input_ids: torch.Tensor,
    *,
    key_padding_mask: torch.Tensor | None = None,
    causal: bool = False,
) -> tuple[torch.Tensor, ...]:
    """Every layer's states, L + 1 tensors (B, T, H) (embeddings first), of a BERT encoder run
    bidirectionally, or with ``causal=True`` left to right (position t sees positions <= t: the
    "LTR" model of Table 5, the same weights under a causal mask). ``key_padding_mask`` (B, T) bool,
    True at real tokens (right padding)."""
    bert = _bert(model)
    if not causal:
        return bert(input_ids, key_padding_mask=key_padding_mask).hidden_states
    check_tensor("input_ids", input_ids, shape=("B", "T"), dtype=torch.long)
    if input_ids.shape[1] > bert.config.max_position_embeddings:
        raise ValueError(f"input_ids must have at most {bert.config.max_position_embeddings} positions, "
                         f"got {input_ids.shape[1]}")
    out = bert.encoder(input_ids, key_padding_mask=key_padding_mask, is_causal=True, need_hidden_states=True)
    return out.hidden_states


def ltr_logits(model: BertForPreTraining, input_ids: torch.Tensor, key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Left-to-right LM logits (B, T, V): the encoder under a causal mask, then the (tied) MLM head;
    row t scores the token at t + 1."""
    if not isinstance(model, BertForPreTraining):
        raise ValueError(f"model must be a BertForPreTraining, got {type(model).__name__}")
    hidden = encoder_states(model, input_ids, key_padding_mask=key_padding_mask, causal=True)[-1]  # (B, T, H)
    return model.mlm(hidden, model.bert.embeddings.word_embeddings.weight)


def ltr_loss(model: BertForPreTraining, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over the real tokens after the first (GPT's objective, Radford
    et al. 2018, Eq. 1): logits at t against input_ids[:, t + 1], padding targets ignored."""
    if not isinstance(model, BertForPreTraining):
        raise ValueError(f"model must be a BertForPreTraining, got {type(model).__name__}")
    real = attention_mask.bool()
    hidden = encoder_states(model, input_ids, key_padding_mask=real, causal=True)[-1][:, :-1]  # (B, T-1, H)
    has_next = real[:, 1:]  # (B, T-1): the positions whose next token is a real one
    logits = model.mlm(hidden[has_next], model.bert.embeddings.word_embeddings.weight)  # (N, V): only where scored
    return F.cross_entropy(logits, input_ids[:, 1:][has_next])


# ----------------------------------------------------------------------------- held-out scores
@dataclass(frozen=True)
class MlmScore:
    """Held-out masked-LM scores at the chosen positions: ``accuracy`` (top-1), ``loss`` (nats),
    ``n`` positions; ``by_kind``: accuracy where the input token was ``"mask"`` ([MASK]),
    ``"same"`` (kept) or ``"random"`` (replaced), with ``counts`` of each; ``constant_accuracy``: that
    of always guessing one token (a baseline; see :func:`mlm_score`'s ``constant``), or None."""

    accuracy: float
    loss: float
    n: int
    by_kind: dict
    counts: dict
    constant_accuracy: float | None = None


@torch.no_grad()
def mlm_score(
    model: BertForPreTraining,
    examples: Examples,
    *,
    seed: int = 1,
    mask_frac: float = 0.8,
    random_frac: float = 0.1,
    repeats: int = 1,
    constant: int | None = None,
    batch_size: int = 256,
) -> MlmScore:
    """Masked-LM accuracy and loss on ``examples`` (:func:`coursekit.pretraining.encode_examples`),
    masked with ``torch.Generator().manual_seed(seed)`` (so every model is scored on the same
    draws), 15% chosen and ``mask_frac`` / ``random_frac`` as in :func:`~coursekit.pretraining.mask_tokens`;
    ``repeats`` > 1 scores that many independently masked copies of every example (more positions
    of each kind for a small set). ``constant``: a token id whose accuracy as the guess at every
    position is reported too (e.g. the most frequent token of the training text)."""
    if not isinstance(model, BertForPreTraining):
        raise ValueError(f"model must be a BertForPreTraining, got {type(model).__name__}")
    check_positive("batch_size", batch_size)
    check_positive("repeats", repeats)
    if repeats > 1:
        examples = Examples(*(t.repeat(repeats, 1) for t in (examples.input_ids, examples.token_type_ids,
                              examples.attention_mask, examples.word_ids, examples.special_tokens_mask)),
                            None, examples.vocab_size, examples.mask_id)
    masked = mask_tokens(examples.input_ids, vocab_size=examples.vocab_size, mask_id=examples.mask_id,
                         generator=torch.Generator().manual_seed(seed), special_mask=examples.special_tokens_mask,
                         special_ids=(examples.mask_id,), mask_frac=mask_frac, random_frac=random_frac)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    hits, losses, kinds = [], [], []
    for rows in torch.arange(len(examples)).split(batch_size):
        ids, labels = masked.input_ids[rows], masked.labels[rows]
        T = int(examples.attention_mask[rows].sum(1).max())
        ids, labels, real = ids[:, :T], labels[:, :T], examples.attention_mask[rows, :T].bool()
        chosen = labels != -100  # (b, T)
        out = model(ids.to(device), token_type_ids=examples.token_type_ids[rows, :T].to(device),
                    key_padding_mask=real.to(device), mlm_positions=chosen.to(device))
        target = labels[chosen].to(device)
        losses.append(F.cross_entropy(out.mlm_logits, target, reduction="none").cpu())
        hits.append((out.mlm_logits.argmax(-1) == target).cpu())
        inp, orig = ids[chosen], examples.input_ids[rows, :T][chosen]
        kinds.append(torch.where(inp == examples.mask_id, 0, torch.where(inp == orig, 1, 2)))
    model.train(was_training)
    hit, loss, kind = torch.cat(hits).float(), torch.cat(losses), torch.cat(kinds)
    const = None if constant is None else float((masked.labels[masked.labels != -100] == constant).float().mean())
    names = ("mask", "same", "random")
    by_kind = {k: float(hit[kind == i].mean()) if bool((kind == i).any()) else float("nan") for i, k in enumerate(names)}
    counts = {k: int((kind == i).sum()) for i, k in enumerate(names)}
    return MlmScore(float(hit.mean()), float(loss.mean()), int(hit.numel()), by_kind, counts, const)


@torch.no_grad()
def _ltr_score(model: BertForPreTraining, examples: Examples, batch_size: int = 256) -> tuple[float, float]:
    """(next-token accuracy, loss) over the real tokens of ``examples``."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    hits, losses = [], []
    for rows in torch.arange(len(examples)).split(batch_size):
        T = int(examples.attention_mask[rows].sum(1).max())
        ids, real = examples.input_ids[rows, :T].to(device), examples.attention_mask[rows, :T].bool().to(device)
        logits = ltr_logits(model, ids, real)[:, :-1]
        keep = real[:, 1:]
        target = ids[:, 1:][keep]
        losses.append(F.cross_entropy(logits[keep], target, reduction="none").cpu())
        hits.append((logits[keep].argmax(-1) == target).cpu())
    model.train(was_training)
    return float(torch.cat(hits).float().mean()), float(torch.cat(losses).mean())


# ----------------------------------------------------------------------------- pretraining
@dataclass(frozen=True)
class PretrainRun:
    """One pretraining run: the trained ``model`` (:class:`~coursekit.bert.BertForPreTraining`, eval
    mode), its ``tokenizer``, the ``history`` (train rows ``loss``; eval rows ``loss`` and
    ``accuracy`` on the held-out sentences: masked-LM for ``objective="mlm"``, next-token for
    ``"ltr"``), the ``masking`` preset, ``held_out`` (the final :class:`MlmScore`, None for LTR),
    ``seconds`` of training (evaluations included), the parameter count, and ``frequent_token``, the
    id of the training text's most frequent ordinary token (``held_out.constant_accuracy`` is the
    accuracy of always guessing it: what knowing only token frequencies gives)."""

    model: BertForPreTraining
    tokenizer: WordPiece
    history: History
    objective: str
    masking: str
    steps: int
    held_out: MlmScore | None
    accuracy: float
    seconds: float
    parameters: int
    frequent_token: int | None = None

    def records(self, **extra) -> list[dict]:
        """The history's rows (eval rows as split "held-out"), for :func:`coursekit.viz.training_curves`."""
        return [{**r, "split": "held-out" if r["split"] == "eval" else r["split"], **extra} for r in self.history.rows]


def _stream(examples: Examples, objective: str, masking: str, batch_size: int, steps: int, seed: int):
    """The training batches (an iterator of :class:`~coursekit.pretraining.PretrainingBatch`): dynamic
    masking with the preset's shares for the masked LM; nothing chosen (labels all -100, inputs as
    written) for the left-to-right LM, whose targets are the next tokens."""
    mask_frac, _, random_frac = MASKING_PRESETS[masking]
    epochs = math.ceil(steps * batch_size / len(examples)) + 1
    return pretraining_batches(examples, batch_size, generator=torch.Generator().manual_seed(seed), epochs=epochs,
                               drop_last=True, mlm_probability=0.15 if objective == "mlm" else 0.0,
                               mask_frac=mask_frac, random_frac=random_frac)


def _mlm_step_loss(model: BertForPreTraining, batch) -> torch.Tensor:
    """The masked-LM loss, plus the NSP loss when the batch has next-sentence labels (Appendix A.2:
    the sum of the two means)."""
    chosen = batch.labels != -100
    out = model(batch.input_ids, token_type_ids=batch.token_type_ids, key_padding_mask=batch.attention_mask.bool(),
                mlm_positions=chosen)
    loss = mlm_loss(out.mlm_logits, batch.labels[chosen])
    if batch.next_sentence_label is not None:
        loss = loss + nsp_loss(out.nsp_logits, batch.next_sentence_label)
    return loss


@torch.no_grad()
def _nsp_accuracy(model: BertForPreTraining, examples: Examples, batch_size: int = 256) -> float:
    """Next-sentence accuracy on ``examples`` (pairs with labels), inputs unmasked."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    hits = []
    for rows in torch.arange(len(examples)).split(batch_size):
        T = int(examples.attention_mask[rows].sum(1).max())
        out = model(examples.input_ids[rows, :T].to(device), token_type_ids=examples.token_type_ids[rows, :T].to(device),
                    key_padding_mask=examples.attention_mask[rows, :T].bool().to(device))
        hits.append((out.nsp_logits.argmax(-1).cpu() == examples.next_sentence_label[rows]))
    model.train(was_training)
    return float(torch.cat(hits).float().mean())


def _ltr_step_loss(model: BertForPreTraining, batch) -> torch.Tensor:
    return ltr_loss(model, batch.input_ids, batch.attention_mask)


def pretrain_tiny_bert(
    config: BertConfig | None = None,
    *,
    tokenizer: WordPiece | None = None,
    objective: str = "mlm",
    masking: str = "80/10/10",
    steps: int = 800,
    batch_size: int = 32,
    lr: float = 2e-3,
    warmup: int = 30,
    max_length: int = 32,
    eval_every: int = 100,
    eval_sentences: int = 400,
    seed: int = 0,
    grammar_repeats: int = GRAMMAR_REPEATS,
    nsp: bool = False,
    sentences: tuple[Sequence[str], Sequence[str]] | None = None,
    device: torch.device | str | None = None,
    progress: bool | None = None,
) -> PretrainRun:
    """Pretrain a BERT (default :func:`tiny_config` of :func:`corpus_wordpiece`) on the corpus's
    sentences and the sense grammar's (``grammar_repeats`` copies of its training sentences), one
    sentence per input (``[CLS] s [SEP]``, cut to ``max_length``), no NSP unless ``nsp``.

    ``objective="mlm"``: the masked LM with dynamic masking (a new mask each time a sentence is
    fed), 15% chosen and ``masking`` one of :data:`coursekit.pretraining.MASKING_PRESETS`
    ("80/10/10", "100/0/0", ...). ``objective="ltr"``: the same model as a left-to-right LM (causal
    mask, every next token predicted, nothing masked), Table 5's "LTR & No NSP". Adam (betas 0.9,
    0.98), ``warmup`` steps of linear warm-up then linear decay to 0 over ``steps`` (BERT's schedule),
    gradients clipped at 1, :func:`coursekit.train.fit` as the loop; batches and initialisation
    from ``seed``. Held-out: the first ``eval_sentences`` validation sentences, scored every
    ``eval_every`` steps on one fixed mask (:func:`mlm_score`). ``sentences`` = (train, held-out)
    lists of str replaces the corpus (tests). ``device`` (default CPU): where it trains.

    ``nsp=True`` (masked LM only) adds next sentence prediction (Sec. 3.1, Task #2): the inputs are
    then pairs ``[CLS] A [SEP] B [SEP]`` of the corpus's docstring sentences
    (:func:`coursekit.pretraining.nsp_pairs`, B the next sentence or, half of the time, a random one;
    the grammar, which has no documents, is left out), the loss is the sum of the two, and the eval
    rows add ``nsp_accuracy`` on held-out pairs. Use a ``max_length`` that holds two sentences (64).
    With ``nsp``, ``sentences`` = (train, held-out) lists of documents, each a list of sentences.
    """
    check_choice("objective", objective, OBJECTIVES)
    check_choice("masking", masking, tuple(MASKING_PRESETS))
    for name, value in (("steps", steps), ("batch_size", batch_size), ("eval_every", eval_every),
                        ("eval_sentences", eval_sentences)):
        check_positive(name, value)
    check_int("warmup", warmup, min=0)
    check_int("max_length", max_length, min=4)
    check_real("lr", lr, low=0.0, low_open=True)
    check_int("seed", seed)
    check_int("grammar_repeats", grammar_repeats, min=0)
    check_bool("nsp", nsp)
    if nsp and objective != "mlm":
        raise ValueError(f"nsp=True needs objective='mlm', got objective={objective!r}")
    tokenizer = corpus_wordpiece() if tokenizer is None else _check_tokenizer(tokenizer)
    config = tiny_config(tokenizer) if config is None else config
    if not isinstance(config, BertConfig):
        raise ValueError(f"config must be a BertConfig, got {type(config).__name__}")
    if config.vocab_size != tokenizer.vocab_size:
        raise ValueError(f"config.vocab_size must equal the tokenizer's vocab_size {tokenizer.vocab_size}, got {config.vocab_size}")
    if max_length > config.max_position_embeddings:
        raise ValueError(f"max_length must be at most config.max_position_embeddings={config.max_position_embeddings}, got {max_length}")
    if nsp:
        docs = (corpus_sentences("train"), corpus_sentences("val")) if sentences is None else sentences
        train_ex, held_ex = (encode_examples(tokenizer, nsp_pairs(d, torch.Generator().manual_seed(seed)),
                                             max_length=max_length) for d in docs)
    elif sentences is None:
        train_ex = _corpus_examples(tokenizer, "train", max_length, grammar_repeats)
        held_ex = _corpus_examples(tokenizer, "val", max_length)
    else:
        train_ex = encode_examples(tokenizer, list(sentences[0]), max_length=max_length)
        held_ex = encode_examples(tokenizer, list(sentences[1]), max_length=max_length)
    held_ex = _subset(held_ex, min(eval_sentences, len(held_ex)))
    device = torch.device(device) if device is not None else torch.device("cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertForPreTraining(config).to(device)
    batches = _stream(train_ex, objective, masking, batch_size, steps, seed)

    def evaluate(m: nn.Module) -> dict[str, float]:
        if objective == "ltr":
            acc, loss = _ltr_score(m, held_ex)
            return {"loss": loss, "accuracy": acc}
        s = mlm_score(m, held_ex)
        return {"loss": s.loss, "accuracy": s.accuracy, **({"nsp_accuracy": _nsp_accuracy(m, held_ex)} if nsp else {})}

    t0 = time.perf_counter()
    start = evaluate(model)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, warmup)) * max(0.0, 1.0 - s / steps))
    history = fit(model, opt, lambda step: next(batches), _mlm_step_loss if objective == "mlm" else _ltr_step_loss,
                  steps, eval_fn=evaluate, eval_every=eval_every, log_every=max(1, min(eval_every, steps) // 4),
                  scheduler=sched, desc=f"BERT ({objective})", device=device, progress=progress)
    history.rows.insert(0, {"step": 0, "split": "eval", **start})
    counts = torch.bincount(train_ex.input_ids[train_ex.special_tokens_mask == 0], minlength=tokenizer.vocab_size)
    counts[list(tokenizer.special_ids)] = 0
    frequent = int(counts.argmax())
    held = mlm_score(model, held_ex, constant=frequent) if objective == "mlm" else None
    seconds = time.perf_counter() - t0
    model.eval()
    return PretrainRun(model, tokenizer, history, objective, masking, steps, held, history.last("accuracy"),
                       seconds, sum(p.numel() for p in model.parameters()), frequent)


def _subset(examples: Examples, n: int) -> Examples:
    nsp = examples.next_sentence_label
    return Examples(examples.input_ids[:n], examples.token_type_ids[:n], examples.attention_mask[:n],
                    examples.word_ids[:n], examples.special_tokens_mask[:n], None if nsp is None else nsp[:n],
                    examples.vocab_size, examples.mask_id)

"""Sentences and masks: sentence vectors (mean pooling or [CLS]), a small Sentence-BERT siamese
fine-tune (Reimers & Gurevych 2019, Sec. 3), fill-the-mask predictions for the chapter's explorer,
and the similarity matrix of real sentences under all-MiniLM-L6-v2 (or the chapter's model).

Legend: B batch, T tokens, H hidden size, N sentences, K top predictions.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...senses import SENSES, duck_sentences
from ...utils import check_bool, check_choice, check_int, check_positive, check_real
from ...wordpiece import WordPiece
from ..model import BertForPreTraining, BertModel, mean_pool
from .pretrain import PretrainRun, _bert, _check_tokenizer, grammar_sentences
from .transfer import _encode

__all__ = [
    "sentence_vectors",
    "similar_pairs",
    "SbertResult",
    "sbert_finetune",
    "fill_mask",
    "fill_masks",
    "fill_mask_table",
    "Similarity",
    "similarity_sentences",
    "similarity_matrix",
]


# ----------------------------------------------------------------------------- sentence embeddings
def sentence_vectors(
    model: nn.Module, tokenizer: WordPiece, texts: Sequence[str], *, pooling: str = "mean", normalize: bool = True,
    batch_size: int = 128, max_length: int | None = None,
) -> torch.Tensor:
    """One vector per text, (N, H): the last layer's states mean-pooled over the real tokens
    (``pooling="mean"``, Sentence-BERT's default and all-MiniLM-L6-v2's) or the ``[CLS]`` state
    (``"cls"``), unit-normalised when ``normalize`` (then a dot product is the cosine)."""
    check_choice("pooling", pooling, ("mean", "cls"))
    _check_tokenizer(tokenizer)
    bert = _bert(model)
    device = next(bert.parameters()).device
    out = []
    for k in range(0, len(texts), batch_size):
        ids, real = _encode(tokenizer, texts[k:k + batch_size], max_length or bert.config.max_position_embeddings)
        h = bert(ids.to(device), key_padding_mask=real.to(device)).hidden  # (b, T, H)
        out.append(mean_pool(h, real.to(device)) if pooling == "mean" else h[:, 0])
    v = torch.cat(out)
    return F.normalize(v, dim=-1) if normalize else v


def similar_pairs(split: str = "train") -> tuple[list[str], list[tuple[int, int, int]]]:
    """Sentence pairs whose similarity is known, from the sense grammar (:func:`grammar_sentences`):
    every pair of sentences with the same ambiguous word, label 1 if it has the same sense in both,
    0 if not. Returns (sentences, pairs (i, j, label))."""
    check_choice("split", split, ("train", "test"))
    texts = grammar_sentences(split)
    n = len(texts) // sum(len(s) for s in SENSES.values())
    labels = [f"{w}:{s}" for w, senses in SENSES.items() for s in senses for _ in range(n)]
    pairs = [(i, j, int(labels[i] == labels[j])) for i in range(len(texts)) for j in range(i + 1, len(texts))
             if labels[i].split(":")[0] == labels[j].split(":")[0]]
    return texts, pairs


def _auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """ROC AUC: the chance that a random positive scores above a random negative (ties count half)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    diff = pos[:, None] - neg[None, :]
    return float((diff > 0).double().mean() + 0.5 * (diff == 0).double().mean())


@torch.no_grad()
def _separation(model: nn.Module, tokenizer: WordPiece, texts, pairs, pooling: str) -> tuple[float, float]:
    """(ROC AUC, mean cosine of same-sense pairs minus different-sense pairs) of the cosine similarity."""
    bert = _bert(model)
    was = bert.training
    bert.eval()
    v = sentence_vectors(bert, tokenizer, texts, pooling=pooling)
    bert.train(was)
    idx = torch.tensor(pairs)
    cos = (v[idx[:, 0]] * v[idx[:, 1]]).sum(-1)
    y = idx[:, 2]
    return _auc(cos, y), float(cos[y == 1].mean() - cos[y == 0].mean())


@dataclass(frozen=True)
class SbertResult:
    """Held-out pairs (:func:`similar_pairs` ``"test"``): how well the cosine of two sentence vectors
    separates same-sense from different-sense pairs, as ROC AUC (0.5 = no better than chance, 1 =
    every same-sense pair above every other) and as the gap between the two groups' mean cosines,
    before and after the siamese fine-tune, for mean pooling and for the ``[CLS]`` state; the
    fine-tuned ``model`` (a :class:`~coursekit.bert.BertModel`), ``objective``, ``losses``, ``seconds``."""

    auc: dict
    gap: dict
    model: BertModel
    objective: str
    losses: tuple[float, ...]
    n_pairs: int
    seconds: float

    def rows(self) -> list[dict]:
        return [{"when": when, "pooling": pooling, "auc": self.auc[when, pooling], "gap": self.gap[when, pooling]}
                for when, pooling in self.auc]


def sbert_finetune(
    run: PretrainRun | nn.Module,
    tokenizer: WordPiece | None = None,
    *,
    objective: str = "classification",
    steps: int = 60,
    batch_size: int = 32,
    lr: float = 5e-4,
    seed: int = 0,
    pairs: Sequence | None = None,
) -> SbertResult:
    """A small Sentence-BERT fine-tune (Reimers & Gurevych 2019, Sec. 3) on :func:`similar_pairs`:
    a copy of ``run``'s encoder embeds both sentences of a pair (siamese: one encoder, mean pooling)
    into u and v; ``objective="classification"``: softmax(W [u; v; |u - v|]) over {different sense,
    same sense} with cross-entropy (their NLI objective, 2 classes here); ``"cosine"``: the mean
    squared error between cos(u, v) and the label (their regression objective). Each step draws
    ``batch_size`` training pairs, half of each label. The separation on the held-out pairs is
    measured before and after (:class:`SbertResult`), with mean pooling and with ``[CLS]``.
    ``pairs`` = ((train texts, train pairs), (test texts, test pairs)) replaces :func:`similar_pairs`."""
    check_choice("objective", objective, ("classification", "cosine"))
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        check_positive(name, value)
    check_real("lr", lr, low=0.0, low_open=True)
    if isinstance(run, PretrainRun):
        tokenizer = run.tokenizer if tokenizer is None else tokenizer
    _check_tokenizer(tokenizer)
    t0 = time.perf_counter()
    bert = copy.deepcopy(_bert(run.model if isinstance(run, PretrainRun) else run))
    device = next(bert.parameters()).device
    (train_texts, train_pairs), (test_texts, test_pairs) = pairs or (similar_pairs("train"), similar_pairs("test"))
    auc, gap = {}, {}
    for pooling in ("mean", "cls"):
        auc["before", pooling], gap["before", pooling] = _separation(bert, tokenizer, test_texts, test_pairs, pooling)
    ids, real = _encode(tokenizer, train_texts, bert.config.max_position_embeddings)
    ids, real = ids.to(device), real.to(device)
    H = bert.config.hidden_size
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = nn.Linear(3 * H, 2).to(device)  # W_t: (u, v, |u - v|) -> 2 classes
    opt = torch.optim.Adam(list(bert.parameters()) + list(head.parameters()), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    by_label = [torch.tensor([p for p in train_pairs if p[2] == y]) for y in (0, 1)]
    losses = []
    bert.train()
    for _ in range(steps):
        batch = torch.cat([g[torch.randint(0, len(g), (batch_size // 2,), generator=gen)] for g in by_label])
        rows = torch.cat([batch[:, 0], batch[:, 1]]).to(device)  # both sides through the one encoder
        T = int(real[rows].sum(1).max())
        h = bert(ids[rows, :T], key_padding_mask=real[rows, :T]).hidden
        u, v = mean_pool(h, real[rows, :T]).chunk(2)  # (b, H) each
        y = batch[:, 2].to(device)
        if objective == "classification":
            loss = F.cross_entropy(head(torch.cat([u, v, (u - v).abs()], -1)), y)
        else:
            loss = F.mse_loss(F.cosine_similarity(u, v, dim=-1), y.float())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    bert.eval()
    for pooling in ("mean", "cls"):
        auc["after", pooling], gap["after", pooling] = _separation(bert, tokenizer, test_texts, test_pairs, pooling)
    return SbertResult(auc, gap, bert, objective, tuple(losses), len(train_pairs), time.perf_counter() - t0)


# ----------------------------------------------------------------------------- fill the mask
def _masked_lm(model, tokenizer, k: int) -> tuple[BertForPreTraining, WordPiece]:
    """(model, tokenizer) from a PretrainRun (its own tokenizer unless one is given) or a model."""
    if isinstance(model, PretrainRun):
        model, tokenizer = model.model, tokenizer or model.tokenizer
    if not isinstance(model, BertForPreTraining):
        raise ValueError(f"model must be a BertForPreTraining or a PretrainRun, got {type(model).__name__}")
    check_positive("k", k)
    return model, _check_tokenizer(tokenizer)


@torch.no_grad()
def _top_k(model: BertForPreTraining, tokenizer: WordPiece, x: torch.Tensor, chosen: torch.Tensor, k: int):
    """x (n, T) long with the masks in place, chosen (n, T) bool: the top-k (token, probability) list
    of each chosen position, in row-major order."""
    device = next(model.parameters()).device
    was = model.training
    model.eval()
    probs = model(x.to(device), mlm_positions=chosen.to(device)).mlm_logits.softmax(-1).cpu()  # (N, V)
    model.train(was)
    top = probs.topk(min(k, probs.shape[-1]), dim=-1)
    return [[(tokenizer.tokens_by_id[i], float(p)) for p, i in zip(pv.tolist(), iv.tolist())]
            for pv, iv in zip(top.values, top.indices)]


def _one_at_a_time(model: BertForPreTraining, tokenizer: WordPiece, ids: list[int], at: list[int], k: int):
    """For each position in ``at`` (indices into ``ids``, [CLS] included): that token alone masked,
    one batch row each -> one top-k list per position."""
    rows = torch.arange(len(at))
    x = torch.tensor([ids] * len(at))  # (n, T)
    x[rows, torch.tensor(at)] = tokenizer.mask_id
    chosen = torch.zeros_like(x, dtype=torch.bool)
    chosen[rows, torch.tensor(at)] = True
    return _top_k(model, tokenizer, x, chosen, k)


def fill_mask(model: BertForPreTraining | PretrainRun, tokenizer: WordPiece | None, sentence: str,
              position: int | None = None, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` most probable tokens, with their probabilities, for one masked position of
    ``sentence``: the literal ``[MASK]`` in it (``position=None``), or the token at index
    ``position`` of ``tokenizer.tokens(sentence)`` (no ``[CLS]``), replaced by ``[MASK]``."""
    model, tokenizer = _masked_lm(model, tokenizer, k)
    ids = tokenizer.encode_pair(sentence).input_ids  # [CLS] ... [SEP]
    if position is None:
        at = [t for t, i in enumerate(ids) if i == tokenizer.mask_id]
        if len(at) != 1:
            raise ValueError(f"sentence must hold exactly one [MASK] when position is None, got {len(at)}")
        t = at[0]
    else:
        check_int("position", position, min=0, max=len(ids) - 3)
        t = position + 1
    return _one_at_a_time(model, tokenizer, ids, [t], k)[0]


def fill_masks(model: BertForPreTraining | PretrainRun, tokenizer: WordPiece | None, text: str,
               k: int = 5) -> list[list[tuple[str, float]]]:
    """Every literal ``[MASK]`` of ``text`` filled at once (one forward pass, as BERT predicts all
    masked positions together): for each, in order, the ``k`` most probable (token, probability)."""
    model, tokenizer = _masked_lm(model, tokenizer, k)
    ids = torch.tensor([tokenizer.encode_pair(text).input_ids])  # (1, T)
    chosen = ids == tokenizer.mask_id
    return _top_k(model, tokenizer, ids, chosen, k) if bool(chosen.any()) else []


def fill_mask_table(model: BertForPreTraining | PretrainRun, tokenizer: WordPiece | None, sentences: Sequence[str],
                    k: int = 5) -> list[dict]:
    """The fill-the-mask explorer's data: for every sentence and every one of its tokens (no
    ``[CLS]``/``[SEP]``), that token masked alone and the ``k`` best predictions. Rows
    ``{"sentence", "tokens" (its WordPiece tokens), "position" (index into tokens), "rank" (1 = best),
    "prediction", "probability"}``; the true token is ``tokens[position]``."""
    model, tokenizer = _masked_lm(model, tokenizer, k)
    rows = []
    for sentence in sentences:
        ids = tokenizer.encode_pair(sentence).input_ids
        tokens = [tokenizer.tokens_by_id[i] for i in ids[1:-1]]
        for position, top in enumerate(_one_at_a_time(model, tokenizer, ids, list(range(1, len(ids) - 1)), k)):
            rows += [{"sentence": sentence, "tokens": tokens, "position": position, "rank": r + 1, "prediction": tok,
                      "probability": p} for r, (tok, p) in enumerate(top)]
    return rows


# ----------------------------------------------------------------------------- similarity of real sentences
@dataclass(frozen=True)
class Similarity:
    """Cosine similarities (N, N) of ``sentences`` (their ``labels``, e.g. the sense of "duck") under
    the model named by ``source``."""

    sentences: tuple[str, ...]
    labels: tuple[str, ...]
    matrix: torch.Tensor
    source: str

    def rows(self) -> list[dict]:
        """One row per (i, j): for a heatmap."""
        return [{"i": i, "j": j, "a": a, "b": b, "cosine": float(self.matrix[i, j])}
                for i, a in enumerate(self.sentences) for j, b in enumerate(self.sentences)]


def similarity_sentences(per_sense: int = 3) -> tuple[list[str], list[str]]:
    """Real sentences with "duck" (:func:`coursekit.senses.duck_sentences`), the first ``per_sense``
    of each sense: (texts, senses)."""
    check_positive("per_sense", per_sense)
    by: dict[str, list[str]] = {}
    for s in duck_sentences():
        by.setdefault(s.sense, []).append(" ".join(s.tokens))
    picked = [(t, sense) for sense, texts in by.items() for t in texts[:per_sense]]
    return [t for t, _ in picked], [s for _, s in picked]


@torch.no_grad()
def similarity_matrix(
    sentences: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    *,
    fallback: PretrainRun | None = None,
    path=None,
    allow_download: bool = False,
    use_minilm: bool = True,
) -> Similarity:
    """Cosine similarities of ``sentences`` (default :func:`similarity_sentences`) under
    all-MiniLM-L6-v2 (:func:`coursekit.bert.load_minilm`: mean pooling, then unit length, as the
    sentence-transformers model does), or, when MiniLM is found nowhere, under ``fallback``'s encoder
    (the chapter's model, mean pooling); ``use_minilm=False`` goes straight to the fallback.
    ``source`` says which was used, and why."""
    from ..pretrained import load_minilm

    if sentences is None:
        sentences, labels = similarity_sentences()
    labels = tuple(labels) if labels is not None else tuple("" for _ in sentences)
    if len(labels) != len(sentences):
        raise ValueError(f"labels must have one entry per sentence ({len(sentences)}), got {len(labels)}")
    check_bool("use_minilm", use_minilm)
    if fallback is not None and not isinstance(fallback, PretrainRun):
        raise ValueError(f"fallback must be a PretrainRun or None, got {type(fallback).__name__}")
    try:
        if not use_minilm:
            raise FileNotFoundError("not asked for (use_minilm=False)")
        pre = load_minilm(path, allow_download=allow_download)
        model, tokenizer = pre.model, WordPiece.load(pre.vocab_path)
        source = f"all-MiniLM-L6-v2 from {pre.source}"
    except FileNotFoundError as error:
        if fallback is None:
            raise
        model, tokenizer = fallback.model.bert, fallback.tokenizer
        source = f"the chapter's tiny BERT (all-MiniLM-L6-v2 not used: {error})"
    was = model.training
    model.eval()
    v = sentence_vectors(model, tokenizer, list(sentences), max_length=128)
    model.train(was)
    return Similarity(tuple(sentences), labels, v @ v.T, source)

"""What pretraining buys, measured: fine-tuning against the same model from scratch, Table 5's
MLM vs left-to-right comparison as a token-level probe whose cue lies to the right, and Appendix
C.2's masking ablation (Devlin et al. 2019, Sec. 5.1 and Appendix C.2).

Legend: B batch, T tokens, H hidden size, L layers, N sentences.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...pretraining import encode_examples
from ...senses import SENSES, at_positions, probe_layers, sense_sentences
from ...utils import check_int, check_positive, check_real
from ...wordpiece import WordPiece, pad_encoded
from ..config import BertConfig
from ..model import BertForPreTraining, BertForSequenceClassification, BertModel
from .pretrain import PretrainRun, _check_tokenizer, encoder_states, grammar_sentences, mlm_score

__all__ = [
    "word_order_data",
    "classifier_from",
    "FinetuneResult",
    "finetune_vs_scratch",
    "right_cue_sentences",
    "DirectionResult",
    "direction_probe",
    "MaskingResult",
    "masking_probe",
]


# ----------------------------------------------------------------------------- fine-tuning
def word_order_data(
    tokenizer: WordPiece, sentences: Sequence[str], *, seed: int = 0, min_words: int = 4, max_words: int = 24
) -> tuple[list[str], torch.Tensor]:
    """A word-order task (CoLA's acceptability at toy scale, as Chapter 8's ULMFiT experiment): every
    sentence of ``min_words``..``max_words`` words (``tokenizer.words``), in a seeded shuffle, gives
    two examples written back with single spaces: as it is (label 1), then with two neighbouring,
    different words swapped (label 0). Only the order differs, so a bag of words cannot answer.
    Returns (texts, labels (N,) long), the two versions of a sentence side by side."""
    check_int("seed", seed)
    rng = random.Random(seed)
    pool = [w for w in (tokenizer.words(s) for s in sentences) if min_words <= len(w) <= max_words]
    rng.shuffle(pool)
    texts, labels = [], []
    for words in pool:
        spots = [i for i in range(len(words) - 1) if words[i] != words[i + 1]]
        if not spots:
            continue
        i = rng.choice(spots)
        swapped = words[:i] + [words[i + 1], words[i]] + words[i + 2:]
        texts += [" ".join(words), " ".join(swapped)]
        labels += [1, 0]
    if not texts:
        raise ValueError(f"sentences must hold a sentence of {min_words} to {max_words} words, got none")
    return texts, torch.tensor(labels, dtype=torch.long)


def classifier_from(
    pretrained: BertForPreTraining | PretrainRun | None, config: BertConfig, *, num_labels: int = 2, seed: int = 0
) -> BertForSequenceClassification:
    """A :class:`~coursekit.bert.BertForSequenceClassification` of ``config``: initialised with
    ``seed`` (BERT's initialisation), then, unless ``pretrained`` is None, its encoder (embeddings,
    layers, pooler) replaced by a copy of the pretrained one. The same architecture either way: only
    the starting weights differ."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clf = BertForSequenceClassification(config, num_labels)
    if pretrained is not None:
        source = pretrained.model if isinstance(pretrained, PretrainRun) else pretrained
        if not isinstance(source, BertForPreTraining):
            raise ValueError(f"pretrained must be a BertForPreTraining, a PretrainRun or None, got {type(source).__name__}")
        if source.config != config:
            raise ValueError("pretrained must have the same config as the classifier")
        clf.bert.load_state_dict(source.bert.state_dict())
    return clf


def _encode(tokenizer: WordPiece, texts: Sequence[str], max_length: int):
    b = pad_encoded([tokenizer.encode_pair(t, max_length=max_length) for t in texts], tokenizer.pad_id)
    return b.input_ids, b.attention_mask.bool()


@torch.no_grad()
def _classify(model: BertForSequenceClassification, ids: torch.Tensor, real: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    model.eval()
    device = next(model.parameters()).device
    out = [model(i.to(device), key_padding_mask=r.to(device)).logits.argmax(-1).cpu()
           for i, r in zip(ids.split(batch_size), real.split(batch_size))]
    return torch.cat(out)


def _train_classifier(model: BertForSequenceClassification, ids, real, y, *, steps: int, lr: float, batch_size: int,
                      seed: int) -> None:
    """Adam, linear warm-up over a tenth of the steps then linear decay (BERT's fine-tuning), random
    minibatches from ``seed``."""
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / steps))
    model.train()
    for _ in range(steps):
        rows = torch.randint(0, len(y), (min(batch_size, len(y)),), generator=gen)
        T = int(real[rows].sum(1).max())
        logits = model(ids[rows, :T].to(device), key_padding_mask=real[rows, :T].to(device)).logits
        loss = F.cross_entropy(logits, y[rows].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    model.eval()


@dataclass(frozen=True)
class FinetuneResult:
    """Held-out accuracy of the pretrained and the from-scratch classifier (same architecture, same
    labelled examples, same steps and seed) for each number of labels: ``pretrained[i]`` and
    ``scratch[i]`` with ``n_labels[i]``; ``n_test`` held-out examples; ``seconds``."""

    n_labels: tuple[int, ...]
    pretrained: tuple[float, ...]
    scratch: tuple[float, ...]
    n_test: int
    seconds: float

    def rows(self) -> list[dict]:
        """One row per (labels, start), for a chart or a table."""
        return [{"labels": n, "start": start, "accuracy": acc}
                for n, p, s in zip(self.n_labels, self.pretrained, self.scratch)
                for start, acc in (("pretrained", p), ("from scratch", s))]


def finetune_vs_scratch(
    run: PretrainRun,
    *,
    n_labels: Sequence[int] = (100, 400),
    steps: int = 80,
    lr: float = 5e-4,
    batch_size: int = 32,
    max_length: int = 32,
    seed: int = 0,
    data: tuple[Sequence[str], Sequence[str]] | None = None,
    pretrained_only: bool = False,
) -> FinetuneResult:
    """Fine-tune ``run``'s pretrained encoder on the word-order task (:func:`word_order_data`:
    labelled examples from the corpus's training sentences, ``n_test`` test examples from its
    held-out documents), and train the same architecture from BERT's initialisation on the same
    examples with the same steps, rate and minibatches (:func:`classifier_from`). For each
    ``n`` in ``n_labels`` the first ``n`` examples of one labelled pool are used. ``data`` =
    (train sentences, test sentences) replaces the grammar (tests); ``pretrained_only`` skips the
    from-scratch arm (its accuracies are then NaN)."""
    if not isinstance(run, PretrainRun):
        raise ValueError(f"run must be a PretrainRun, got {type(run).__name__}")
    if not len(n_labels):
        raise ValueError("n_labels must hold at least one number of labels")
    for n in n_labels:
        check_positive("n_labels entry", n)
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        check_positive(name, value)
    check_real("lr", lr, low=0.0, low_open=True)
    t0 = time.perf_counter()
    tok = run.tokenizer
    train_s, test_s = data if data is not None else (grammar_sentences("train"), grammar_sentences("test"))
    pool_texts, pool_y = word_order_data(tok, train_s, seed=seed)
    test_texts, test_y = word_order_data(tok, test_s, seed=seed + 1)
    if max(n_labels) > len(pool_y):
        raise ValueError(f"n_labels must be at most {len(pool_y)} (the labelled pool), got {max(n_labels)}")
    pool_ids, pool_real = _encode(tok, pool_texts, max_length)
    test_ids, test_real = _encode(tok, test_texts, max_length)
    device = next(run.model.parameters()).device
    pre, scr = [], []
    for n in n_labels:
        for start, out in ((run, pre), (None, scr)):
            if start is None and pretrained_only:
                out.append(float("nan"))
                continue
            clf = classifier_from(start, run.model.config, num_labels=2, seed=seed).to(device)
            _train_classifier(clf, pool_ids[:n], pool_real[:n], pool_y[:n], steps=steps, lr=lr, batch_size=batch_size,
                              seed=seed)
            out.append(float((_classify(clf, test_ids, test_real) == test_y).float().mean()))
    return FinetuneResult(tuple(int(n) for n in n_labels), tuple(pre), tuple(scr), len(test_y), time.perf_counter() - t0)


# ----------------------------------------------------------------------------- Table 5: direction
def right_cue_sentences(n_per_sense: int = 55, seed: int = 0) -> tuple[list[str], list[str], list[str], list[int]]:
    """The sense grammar (:func:`coursekit.senses.sense_sentences`) for a token-level task whose cue
    lies to the right: every sentence in which the ambiguous word is not the last word, cut to start
    at that word ("the white duck swam across the pond" -> "duck swam across the pond"), so that all
    that decides its sense follows it. Returns (cut texts, labels ``"word:sense"``, the full texts,
    the word's index in each full text)."""
    cut, labels, full, positions = [], [], [], []
    for s in sense_sentences(n_per_sense, seed=seed):
        if s.position == len(s.tokens) - 1:
            continue
        cut.append(" ".join(s.tokens[s.position:]))
        labels.append(s.label)
        full.append(s.text)
        positions.append(s.position)
    return cut, labels, full, positions


@torch.no_grad()
def _word_states(model: nn.Module, tokenizer: WordPiece, texts: Sequence[str], word_index: Sequence[int], *,
                 causal: bool, batch_size: int = 256) -> torch.Tensor:
    """Every layer's state at the first piece of word ``word_index[i]`` of ``texts[i]``: (L+1, N, H)."""
    device = next(model.parameters()).device
    encs = [tokenizer.encode_pair(t) for t in texts]
    at = [e.word_ids.index(w) for e, w in zip(encs, word_index)]
    was_training = model.training
    model.eval()
    out = []
    for k in range(0, len(encs), batch_size):
        b = pad_encoded(encs[k:k + batch_size], tokenizer.pad_id)
        states = encoder_states(model, b.input_ids.to(device), key_padding_mask=b.attention_mask.bool().to(device),
                                causal=causal)
        out.append(at_positions(torch.stack(states, 1).cpu(), at[k:k + batch_size]))  # (L+1, b, H)
    model.train(was_training)
    return torch.cat(out, 1)


def _arm(value) -> tuple[nn.Module, bool]:
    if isinstance(value, PretrainRun):
        return value.model, value.objective == "ltr"
    if isinstance(value, (BertModel, BertForPreTraining)):
        return value, False
    raise ValueError(f"each arm must be a PretrainRun or a coursekit BERT model, got {type(value).__name__}")


@dataclass(frozen=True)
class DirectionResult:
    """Held-out accuracy of a linear probe on each arm's last-layer state at the ambiguous word:
    ``right_cue[name]`` on the cut sentences (every cue to the right), ``full[name]`` on the whole
    sentences (cues on either side); ``chance``: the accuracy of knowing the word and nothing else
    (always guessing its most common sense among these sentences); ``n_sentences``; ``seconds``."""

    right_cue: dict
    full: dict
    chance: float
    n_sentences: int
    seconds: float

    def rows(self) -> list[dict]:
        return [{"model": name, "sentences": which, "accuracy": acc}
                for which, d in (("cue to the right", self.right_cue), ("whole sentence", self.full))
                for name, acc in d.items()]


def direction_probe(arms: dict, tokenizer: WordPiece, *, n_per_sense: int = 55, seed: int = 0,
                    probe_steps: int = 200) -> DirectionResult:
    """Table 5 at toy scale, as a feature-based token-level task. ``arms``: name -> a
    :class:`PretrainRun` (an ``"ltr"`` run is read under its causal mask, as the paper kept the
    left-only constraint at fine-tuning) or an untrained BERT (read bidirectionally). For each arm,
    :func:`coursekit.senses.probe_layers` (a linear probe, held-out split with ``seed``) on the last
    layer's state at the ambiguous word of :func:`right_cue_sentences` and of the full sentences."""
    if not isinstance(arms, dict) or not arms:
        raise ValueError("arms must be a non-empty dict name -> PretrainRun or BERT model")
    _check_tokenizer(tokenizer)
    t0 = time.perf_counter()
    cut, labels, full, positions = right_cue_sentences(n_per_sense, seed)
    right, whole = {}, {}
    for name, value in arms.items():
        model, causal = _arm(value)
        for texts, where, out in ((cut, [0] * len(cut), right), (full, positions, whole)):
            states = _word_states(model, tokenizer, texts, where, causal=causal)
            out[name] = probe_layers([states[-1]], labels, seed=seed, steps=probe_steps).accuracies[0]
    counts = Counter(labels)  # knowing the word only: always its most common sense in these sentences
    chance = sum(max(c for y, c in counts.items() if y.split(":")[0] == w) for w in SENSES) / len(labels)
    return DirectionResult(right, whole, chance, len(labels), time.perf_counter() - t0)


# ----------------------------------------------------------------------------- Appendix C.2: masking
@dataclass(frozen=True)
class MaskingResult:
    """Per arm (its masking preset as the key): ``held_out[name]``, the :class:`MlmScore` on held-out
    sentences corrupted 80/10/10 (accuracy where the input was [MASK], kept, or random);
    ``feature[name]``, a linear probe's held-out accuracy for the ambiguous word's sense from frozen
    features of unmasked sentences (the last layers concatenated, as the paper's feature-based NER
    concatenates the last four), one value per probe split seed; ``finetuned[name]``, the held-out
    accuracy of the word-order classifier fine-tuned from it (:func:`finetune_vs_scratch`), one value
    per fine-tuning seed; ``n_probe_test`` and ``n_finetune_test``, the test examples behind each
    value; ``seconds``. :meth:`mean_sd` summarises a tuple."""

    held_out: dict
    feature: dict
    finetuned: dict
    n_probe_test: int
    n_finetune_test: int
    seconds: float

    @staticmethod
    def mean_sd(values) -> tuple[float, float]:
        """(mean, sample standard deviation; 0 for one value)."""
        t = torch.tensor(list(values), dtype=torch.float64)
        return float(t.mean()), float(t.std()) if len(t) > 1 else 0.0

    def rows(self) -> list[dict]:
        return [{"masking": name, "input token was": kind, "accuracy": acc}
                for name, s in self.held_out.items() for kind, acc in s.by_kind.items()]


def masking_probe(arms: dict, *, held_out: Sequence[str] | None = None, repeats: int = 10, n_per_sense: int = 55,
                  seed: int = 0, probe_seeds: Sequence[int] = (0, 1, 2, 3, 4), finetune_seeds: Sequence[int] = (0, 1, 2),
                  last_layers: int = 4, probe_fraction: float = 0.1, probe_steps: int = 200, finetune_labels: int = 400,
                  finetune_steps: int = 80, max_length: int = 32) -> MaskingResult:
    """Appendix C.2 at toy scale: ``arms`` name -> :class:`PretrainRun` (masked-LM runs, e.g.
    "80/10/10" and "100/0/0" with the same budget). Each is scored (1) by :func:`mlm_score` on the
    grammar's test sentences (never pretrained on; or the texts ``held_out``), all arms on the same
    80/10/10 corruption (``repeats`` masked copies of each sentence); (2) feature-based: a linear
    probe (:func:`coursekit.senses.probe_layers`) on the concatenated last ``last_layers`` layers
    (all there are, if fewer) at the ambiguous word of the sense grammar's full, unmasked sentences
    (``n_per_sense`` per sense, drawn with ``seed``; most of them are pretraining sentences), trained
    on a ``probe_fraction`` of them (so that the features, not the probe's data, decide), once per
    split seed in ``probe_seeds``; and (3) fine-tuned on the word-order task, once per seed in
    ``finetune_seeds``."""
    if not isinstance(arms, dict) or not arms:
        raise ValueError("arms must be a non-empty dict name -> PretrainRun")
    check_positive("last_layers", last_layers)
    if not len(probe_seeds) or not len(finetune_seeds):
        raise ValueError("probe_seeds and finetune_seeds must each hold at least one seed")
    t0 = time.perf_counter()
    scores, feature, finetuned = {}, {}, {}
    data = sense_sentences(n_per_sense, seed=seed)
    labels = [s.label for s in data]
    n_probe = n_test = 0
    for name, run in arms.items():
        if not isinstance(run, PretrainRun) or run.objective != "mlm":
            raise ValueError(f"arms[{name!r}] must be a masked-LM PretrainRun")
        tok = run.tokenizer
        texts = grammar_sentences("test") if held_out is None else list(held_out)
        examples = encode_examples(tok, texts, max_length=max_length)
        scores[name] = mlm_score(run.model, examples, repeats=repeats)
        states = _word_states(run.model, tok, [s.text for s in data], [s.position for s in data], causal=False)
        feats = torch.cat(list(states[1:][-last_layers:]), dim=-1)  # (N, k*H): the last k layers side by side
        probes = [probe_layers([feats], labels, seed=sd, steps=probe_steps, test_fraction=1 - probe_fraction)
                  for sd in probe_seeds]
        feature[name] = tuple(p.accuracies[0] for p in probes)
        n_probe = probes[0].n_test
        tuned = [finetune_vs_scratch(run, n_labels=(finetune_labels,), steps=finetune_steps, seed=sd,
                                     pretrained_only=True) for sd in finetune_seeds]
        finetuned[name] = tuple(r.pretrained[0] for r in tuned)
        n_test = tuned[0].n_test
    return MaskingResult(scores, feature, finetuned, n_probe, n_test, time.perf_counter() - t0)

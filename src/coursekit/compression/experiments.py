"""Chapter 10's compression runs on one tiny fine-tuned BERT: the chapter-9 tiny BERT pretrained
once (per process), fine-tuned on chapter 9's word-order task, then compressed by every method of
this package, each point measured for parameters, bytes, held-out accuracy and CPU latency.

Legend: N examples, T tokens, L layers, A heads per layer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import torch
from torch import nn

from ..bert.experiments.pretrain import PretrainRun, corpus_wordpiece, grammar_sentences, pretrain_tiny_bert, tiny_config
from ..bert.experiments.transfer import _encode, _train_classifier, classifier_from, word_order_data
from ..bert.model import BertForSequenceClassification
from ..utils import check_int, check_positive
from .distill import DISTILBERT_WEIGHTS, distill_student, student_from_teacher
from .heads import HeadGates, head_gate_values, head_importance, heads_to_prune, pruned_head_parameters
from .lowrank import low_rank
from .measure import accuracy, latency_ms, model_bytes, parameter_count
from .pruning import PRUNE_SCOPES, magnitude_prune
from .quantize import dynamic_int8, quantize_weights
from .sharing import share_all_layers

__all__ = ["TinyTask", "finetuned_task", "tiny_task", "head_pruning_curve", "compression_results", "pareto_front"]


@dataclass(frozen=True)
class TinyTask:
    """A fine-tuned classifier and its data: ``model`` (eval mode), train and test
    (input_ids (N, T), key_padding_mask (N, T) bool, labels (N,)), the ``run`` it was fine-tuned
    from, its test ``accuracy`` and ``seconds`` (fine-tuning, plus pretraining when
    :func:`tiny_task` did it)."""

    model: BertForSequenceClassification
    train: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    run: PretrainRun
    accuracy: float
    seconds: float


def finetuned_task(run: PretrainRun, *, n_labels: int = 720, steps: int = 300, lr: float = 1e-3,
                   batch_size: int = 32, max_length: int = 32, n_test: int | None = None, seed: int = 0) -> TinyTask:
    """Fine-tune ``run``'s encoder on chapter 9's word-order task
    (:func:`coursekit.bert.experiments.word_order_data`: the grammar's training sentences, the first
    ``n_labels`` examples; test on its held-out sentences, the first ``n_test`` examples or all) as
    :func:`~coursekit.bert.experiments.finetune_vs_scratch` does, and keep the model."""
    if not isinstance(run, PretrainRun):
        raise ValueError(f"run must be a PretrainRun, got {type(run).__name__}")
    check_positive("n_labels", n_labels)
    if n_test is not None:
        check_positive("n_test", n_test)
    t0 = time.perf_counter()
    tok = run.tokenizer
    texts, y = word_order_data(tok, grammar_sentences("train"), seed=seed)
    test_texts, test_y = word_order_data(tok, grammar_sentences("test"), seed=seed + 1)
    ids, real = _encode(tok, texts[:n_labels], max_length)
    train = (ids, real, y[:n_labels])
    test_texts, test_y = test_texts[:n_test], test_y[:n_test]
    test = (*_encode(tok, test_texts, max_length), test_y)
    clf = classifier_from(run, run.model.config, num_labels=2, seed=seed)
    _train_classifier(clf, *train, steps=steps, lr=lr, batch_size=batch_size, seed=seed)
    return TinyTask(clf.eval(), train, test, run, accuracy(clf, *test), time.perf_counter() - t0)


@lru_cache(maxsize=2)
def tiny_task(*, layers: int = 2, hidden: int = 64, heads: int = 4, pretrain_steps: int = 800, batch_size: int = 32,
              lr: float = 2e-3, finetune_steps: int = 300, finetune_lr: float = 1e-3, n_labels: int = 720,
              seed: int = 0, device: str | None = None) -> TinyTask:
    """Pretrain chapter 9's tiny BERT (:func:`~coursekit.bert.experiments.pretrain_tiny_bert` with
    :func:`~coursekit.bert.experiments.tiny_config`: ``layers``, ``hidden`` width, ``heads``, FFN
    4 * hidden) and fine-tune it (:func:`finetuned_task`, ``finetune_steps`` at ``finetune_lr``);
    cached, so a process pretrains once for the same arguments (the same object is returned).
    ``device``: where the pretraining runs (default CPU); the fine-tuned classifier and everything
    measured on it stay on the CPU, whose latency the chapter reports."""
    t0 = time.perf_counter()
    wp = corpus_wordpiece()
    cfg = tiny_config(wp, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                      intermediate_size=4 * hidden)
    run = pretrain_tiny_bert(cfg, tokenizer=wp, steps=pretrain_steps, batch_size=batch_size, lr=lr,
                             eval_every=pretrain_steps, seed=seed, device=device, progress=False)
    task = finetuned_task(run, n_labels=n_labels, steps=finetune_steps, lr=finetune_lr, seed=seed)
    return TinyTask(task.model, task.train, task.test, run, task.accuracy, time.perf_counter() - t0)


def _check_task(task: object) -> TinyTask:
    if not isinstance(task, TinyTask):
        raise ValueError(f"task must be a TinyTask, got {type(task).__name__}")
    return task


def head_pruning_curve(task: TinyTask, *, random_draws: int = 3, seed: int = 0,
                       importance: torch.Tensor | None = None) -> list[dict]:
    """Michel et al.'s pruning curve (Sec. 4.2) at toy scale: for n = 0 .. L*A heads pruned, the test accuracy when the
    n least important heads (:func:`~.heads.head_importance` on the training examples) are gated
    off, and the mean over ``random_draws`` random choices of n heads. Rows ``{"pruned", "share",
    "order" ("importance" or "random"), "accuracy"}``."""
    _check_task(task)
    check_positive("random_draws", random_draws)
    model = task.model
    imp = head_importance(model, *task.train) if importance is None else importance
    total = imp.numel()
    gen = torch.Generator().manual_seed(seed)
    rows = []
    with HeadGates(model) as gates:
        for n in range(total + 1):
            gates.values = head_gate_values(heads_to_prune(imp, n))
            rows.append({"pruned": n, "share": n / total, "order": "importance", "accuracy": accuracy(model, *task.test)})
            accs = []
            for _ in range(random_draws):
                gates.values = head_gate_values(heads_to_prune(imp, n, order="random", generator=gen))
                accs.append(accuracy(model, *task.test))
            rows.append({"pruned": n, "share": n / total, "order": "random", "accuracy": sum(accs) / len(accs)})
    return rows


class _Gated(nn.Module):
    """A model with fixed head gates (for timing and scoring as one module)."""

    def __init__(self, model: nn.Module, values: torch.Tensor):
        super().__init__()
        self.model = model
        self.values = values

    def forward(self, *args, **kwargs):
        with HeadGates(self.model, self.values):
            return self.model(*args, **kwargs)


def compression_results(
    task: TinyTask,
    *,
    sparsities: Sequence[float] = (0.3, 0.5, 0.7, 0.9),
    head_shares: Sequence[float] = (0.25, 0.5, 0.75),
    ranks: Sequence[int] = (1, 2, 4, 8, 16),
    quant_bits: Sequence[int] = (8, 4),
    distill_steps: int = 120,
    seed: int = 0,
    latency_rounds: int = 11,
    latency_examples: int = 64,
) -> list[dict]:
    """Every method on ``task``'s fine-tuned model, one row per point:
    ``{"method", "setting", "params", "bytes", "accuracy", "latency_ms", "trained_steps", "measured"}``.
    ``trained_steps``: steps of training after compression (``distill_steps`` for the students and
    the shared model, 0 for the one-shot methods); ``measured``: True when bytes and latency are those
    of the model as it runs, False when either is computed (sparse storage, heads counted as removed
    but timed gated, weights counted at a width they are not stored in).

    - "original": the fine-tuned model.
    - "magnitude pruning": :func:`~.pruning.magnitude_prune` at each of ``sparsities``, global and
      per layer; bytes stored sparse (:func:`~.measure.model_bytes`), params = non-zero.
    - "head pruning": the ``head_shares`` of heads with least Michel et al. importance gated off;
      params and bytes without those heads' rows and columns (latency: gated, not removed).
    - "low rank (SVD)": :func:`~.lowrank.low_rank` of attention and FFN at each of ``ranks``.
    - "distillation": a student of every other layer, DistilBERT-initialised and trained for
      ``distill_steps`` on :func:`~.distill.distill_student`'s triple loss; "student from scratch": the same
      student and training from BERT's random initialisation; "student, labels only": the
      teacher-initialised student trained on the task's labels alone (weights (0, 1, 0)), so that
      distillation's soft targets are compared with no soft targets at the same initialisation.
    - "sharing (ALBERT)": all layers one block (the layers' mean), trained as the student (the
      teacher's depth: same compute, one layer's parameters).
    - "quantisation": :func:`~.quantize.quantize_weights` at each of ``quant_bits`` (settings
      "int8 (simulated)", ...), and :func:`~.quantize.dynamic_int8` ("int8 (torch dynamic)"),
      where torch has it.

    Accuracy on the test split; latency: one forward pass over its first ``latency_examples``
    examples, every model timed in alternation (:func:`~.measure.latency_ms`)."""
    _check_task(task)
    check_int("seed", seed)
    teacher = task.model
    entries: list[tuple[str, str, nn.Module, int, int, int, bool]] = []  # ..., params, bytes, trained, measured

    def add(method, setting, model, params=None, size=None, trained=0, measured=True):
        entries.append((method, setting, model, parameter_count(model) if params is None else params,
                        model_bytes(model) if size is None else size, trained, measured))

    add("original", "fine-tuned", teacher)
    for scope in PRUNE_SCOPES:
        for s in sparsities:
            m = magnitude_prune(teacher, s, scope=scope)
            add("magnitude pruning", f"{scope} {s:.0%}", m, parameter_count(m, nonzero=True), model_bytes(m, sparse=True),
                measured=False)
    imp = head_importance(teacher, *task.train)
    for share in head_shares:
        n = int(round(share * imp.numel()))
        gone = pruned_head_parameters(teacher, n)
        add("head pruning", f"{n} of {imp.numel()} heads", _Gated(teacher, head_gate_values(heads_to_prune(imp, n))),
            parameter_count(teacher) - gone, model_bytes(teacher) - 4 * gone, measured=False)
    for r in ranks:
        add("low rank (SVD)", f"rank {r}", low_rank(teacher, r))
    train = task.train
    arms = (("distillation", True, DISTILBERT_WEIGHTS), ("student from scratch", False, DISTILBERT_WEIGHTS),
            ("student, labels only", True, (0.0, 1.0, 0.0)))
    for method, init, weights in arms:
        student = student_from_teacher(teacher, copy_weights=init, seed=seed)
        distill_student(student, teacher, *train, steps=distill_steps, weights=weights, seed=seed)
        add(method, f"{student.config.num_hidden_layers} of {teacher.config.num_hidden_layers} layers", student,
            trained=distill_steps)
    shared = share_all_layers(teacher)
    distill_student(shared, teacher, *train, steps=distill_steps, seed=seed)
    add("sharing (ALBERT)", f"1 block x {teacher.config.num_hidden_layers}", shared, trained=distill_steps)
    for b in quant_bits:
        m, widths = quantize_weights(teacher, b)
        add("quantisation", f"int{b} (simulated)", m, size=model_bytes(m, bits=widths), measured=False)
    dyn = dynamic_int8(teacher)
    if dyn is not None:
        add("quantisation", "int8 (torch dynamic)", dyn[0], parameter_count(teacher), dyn[1])
    names = [f"{i}" for i in range(len(entries))]
    k = latency_examples
    ms = latency_ms(dict(zip(names, (e[2] for e in entries))), task.test[0][:k], task.test[1][:k], rounds=latency_rounds)
    return [{"method": method, "setting": setting, "params": int(params), "bytes": int(size),
             "accuracy": accuracy(model, *task.test), "latency_ms": ms[name], "trained_steps": int(trained),
             "measured": bool(measured)}
            for name, (method, setting, model, params, size, trained, measured) in zip(names, entries)]


def pareto_front(rows: Sequence[dict], *, x: str = "bytes", y: str = "accuracy") -> list[dict]:
    """The rows no other row beats: none has ``x`` <= and ``y`` >= with one of them strict (smaller
    is better for ``x``, larger for ``y``). Sorted by ``x``."""
    rows = list(rows)
    for r in rows:
        if not isinstance(r, dict) or x not in r or y not in r:
            raise ValueError(f"rows must be dicts with keys {x!r} and {y!r}, got {r!r}")
    front = [r for r in rows if not any(o[x] <= r[x] and o[y] >= r[y] and (o[x] < r[x] or o[y] > r[y]) for o in rows)]
    return sorted(front, key=lambda r: (r[x], -r[y]))

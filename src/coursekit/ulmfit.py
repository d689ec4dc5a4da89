"""ULMFiT's fine-tuning recipe, and its sample-efficiency claim at toy scale (Chapter 8).

Howard & Ruder (2018), "Universal Language Model Fine-tuning for Text Classification",
ACL, https://arxiv.org/abs/1801.06146:

- Sec. 3.2, Eq. 3, slanted triangular learning rates (STLR)::

      cut = floor(T * cut_frac)
      p   = t / cut                                     if t < cut
            1 - (t - cut) / (cut * (1 / cut_frac - 1))  otherwise
      eta_t = eta_max * (1 + p * (ratio - 1)) / ratio

  with cut_frac = 0.1 and ratio = 32 in the paper. It is ``OneCycleLR`` with linear
  annealing, two phases, ``div_factor = ratio`` and ``final_div_factor = 1``, *if*
  ``total_steps = T + 1`` and ``pct_start = (cut + 1) / (T + 1)`` (:func:`onecycle_settings`):
  Eq. 3 runs over t = 0..T (T + 1 values) and peaks at t = cut, while OneCycleLR's phase
  ends at step ``pct_start * total_steps - 1``. With the naive ``total_steps = T``,
  ``pct_start = cut_frac`` it peaks one step early and ends one step early (a test
  measures the gap). When ``T * cut_frac`` is not an integer Eq. 3's decay reaches
  ``eta_max / ratio`` before t = T and would then go below it (negative for large
  ratios); :class:`SlantedTriangular` stops it at ``eta_max / ratio``.
- Sec. 3.2, discriminative fine-tuning: each layer its own rate,
  ``eta^{l-1} = eta^l / 2.6`` (:func:`discriminative_param_groups`).
- Sec. 3.3, gradual unfreezing: first the last layer group, then one more group per
  epoch, until all are trained (:func:`unfreeze_top`).
- Sec. 5 ("Low-shot learning"), Fig. 3: with 100 labelled examples, ULMFiT matches
  training from scratch on 10x (IMDb) and 20x (AG) more data, and, when it may also read
  the task's unlabelled examples, up to 100x more (the abstract's claim). :func:`sample_efficiency` makes
  the comparison at toy scale: a word-level LSTM language model trained on the unlabelled
  sentences of :mod:`coursekit.senses` (the paper's "target task LM fine-tuning" on all the
  task's text, as in its semi-supervised setting, here without a general-domain stage), then
  fine-tuned with 50, 100 or 200 labels on a word-order task (``task="order"``: is the
  sentence as made, or are two neighbouring words swapped?; ``task="sense"`` names the
  sense instead), against the same classifier trained from scratch.

Legend: B sentences, T tokens, E embedding width, H LSTM width, C classes, V vocabulary.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .senses import sense_sentences
from .utils import check_choice, check_int, check_positive, check_real

__all__ = [
    "stlr",
    "SlantedTriangular",
    "stlr_scheduler",
    "onecycle_settings",
    "discriminative_param_groups",
    "unfreeze_top",
    "LSTMClassifier",
    "SampleEfficiency",
    "sample_efficiency",
]


def _check_stlr(total_steps: object, cut_frac: object, ratio: object) -> int:
    check_positive("total_steps", total_steps)
    check_real("cut_frac", cut_frac, low=0.0, high=1.0, low_open=True, high_open=True)
    check_real("ratio", ratio, low=1.0)
    cut = math.floor(total_steps * cut_frac)
    if cut < 1:
        raise ValueError(f"total_steps * cut_frac must be at least 1 (cut = floor(T * cut_frac) > 0), got {total_steps} * {cut_frac}")
    return cut


def stlr(t: int, total_steps: int, cut_frac: float = 0.1, ratio: float = 32.0) -> float:
    """Eq. 3 divided by eta_max: the factor at iteration ``t`` (0..T) of ``total_steps`` = T,
    never below ``1 / ratio``."""
    cut = _check_stlr(total_steps, cut_frac, ratio)
    check_int("t", t, min=0)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return (1 + max(p, 0.0) * (ratio - 1)) / ratio


@dataclass(frozen=True)
class SlantedTriangular:
    """STLR as a ``LambdaLR`` factor (the optimiser's ``lr`` is eta_max). A callable object
    rather than a lambda, so the scheduler's state_dict can save it."""

    total_steps: int
    cut_frac: float = 0.1  # paper: 0.1
    ratio: float = 32.0  # paper: 32

    def __post_init__(self):
        _check_stlr(self.total_steps, self.cut_frac, self.ratio)

    def __call__(self, step: int) -> float:
        return stlr(step, self.total_steps, self.cut_frac, self.ratio)


def stlr_scheduler(
    optimizer: torch.optim.Optimizer, total_steps: int, cut_frac: float = 0.1, ratio: float = 32.0
) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR following STLR; each parameter group's ``lr`` is its own eta_max (so
    discriminative rates keep their ratios)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, SlantedTriangular(total_steps, cut_frac, ratio))


def onecycle_settings(total_steps: int, cut_frac: float = 0.1, ratio: float = 32.0) -> dict:
    """Keyword arguments (besides the optimiser and ``max_lr``) under which
    ``torch.optim.lr_scheduler.OneCycleLR`` gives Eq. 3's rates at t = 0..T, when
    ``T * cut_frac`` is an integer (see the module docstring for the off-by-one)."""
    cut = _check_stlr(total_steps, cut_frac, ratio)
    return dict(
        total_steps=total_steps + 1, pct_start=(cut + 1) / (total_steps + 1), anneal_strategy="linear",
        three_phase=False, div_factor=ratio, final_div_factor=1.0, cycle_momentum=False,
    )


def _params(layer: nn.Module | Iterable[nn.Parameter]) -> list[nn.Parameter]:
    return list(layer.parameters()) if isinstance(layer, nn.Module) else list(layer)


def discriminative_param_groups(
    layers: Sequence[nn.Module | Iterable[nn.Parameter]], lr: float, decay: float = 2.6
) -> list[dict]:
    """One optimiser parameter group per layer, listed bottom to top: the top layer gets
    ``lr``, the one below ``lr / decay``, and so on (``eta^{l-1} = eta^l / 2.6``)."""
    check_real("lr", lr, low=0.0, low_open=True)
    check_real("decay", decay, low=0.0, low_open=True)
    if not len(layers):
        raise ValueError("layers must hold at least one layer (bottom to top)")
    L = len(layers)
    return [{"params": _params(layer), "lr": lr / decay ** (L - 1 - l)} for l, layer in enumerate(layers)]


def unfreeze_top(layers: Sequence[nn.Module | Iterable[nn.Parameter]], n_top: int) -> None:
    """Gradual unfreezing, one stage: the top ``n_top`` layers (of ``layers``, bottom to top)
    train, the rest are frozen (``requires_grad``). Stage k of the paper is ``n_top = k``."""
    check_int("n_top", n_top, min=1, max=len(layers))
    for l, layer in enumerate(layers):
        for p in _params(layer):
            p.requires_grad_(l >= len(layers) - n_top)


# ------------------------------------------------------------------ the toy experiment
class LSTMClassifier(nn.Module):
    """A word-level LSTM language model that becomes a classifier: embedding (V, E), one
    LSTM (E -> H), an LM head (H -> V) and a classifier head on concat pooling (the last
    state, the max and the mean over time, ULMFiT Sec. 3.3) -> C classes.
    ``layer_groups`` lists (embedding, LSTM, classifier head) bottom to top."""

    def __init__(self, vocab_size: int, n_classes: int, emb_dim: int = 32, hidden: int = 64):
        super().__init__()
        for name, value in [("vocab_size", vocab_size), ("n_classes", n_classes), ("emb_dim", emb_dim), ("hidden", hidden)]:
            check_positive(name, value)
        self.embed = nn.Embedding(vocab_size, emb_dim, padding_idx=0)
        self.lstm = nn.LSTM(emb_dim, hidden, batch_first=True)
        self.lm_head = nn.Linear(hidden, vocab_size)
        self.head = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    @property
    def layer_groups(self) -> list[nn.Module]:
        return [self.embed, self.lstm, self.head]

    def states(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) long, 0 = padding at the end -> LSTM states (B, T, H)."""
        return self.lstm(self.embed(ids))[0]

    def lm_logits(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T, V): position t predicts token t + 1."""
        return self.lm_head(self.states(ids))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) long -> class logits (B, C)."""
        B, T = ids.shape
        h = self.states(ids)  # (B, T, H)
        real = (ids != 0)[..., None]  # (B, T, 1)
        lengths = real.sum(1).clamp_min(1)  # (B, 1)
        last = h[torch.arange(B, device=ids.device), lengths[:, 0] - 1]  # (B, H)
        mx = h.masked_fill(~real, float("-inf")).amax(1)  # (B, H)
        mean = (h * real).sum(1) / lengths  # (B, H)
        return self.head(torch.cat([last, mx, mean], dim=-1))


@dataclass(frozen=True)
class SampleEfficiency:
    """Held-out accuracy by number of labelled examples: ``pretrained[i]`` and ``scratch[i]``
    with ``n_labels[i]`` labels (means over ``seeds``), and the wall-clock ``seconds``."""

    n_labels: tuple[int, ...]
    pretrained: tuple[float, ...]
    scratch: tuple[float, ...]
    n_test: int
    n_unlabelled: int
    lm_perplexity: float
    seconds: float


def _with_swaps(sentences: list, seed: int) -> list:
    """Each sentence as made and a copy with two neighbouring words swapped (a different
    word order), as ``SenseSentence``s whose ``sense`` is ``"as made"`` or ``"swapped"``."""
    from dataclasses import replace

    rng = random.Random(seed)
    out = []
    for s in sentences:
        toks = list(s.tokens)
        while True:
            i = rng.randrange(len(toks) - 1)
            if toks[i] != toks[i + 1]:
                break
        toks[i], toks[i + 1] = toks[i + 1], toks[i]
        out += [replace(s, sense="as made"), replace(s, tokens=tuple(toks), sense="swapped")]
    return out


def _pad(rows: list[list[int]]) -> torch.Tensor:
    T = max(len(r) for r in rows)
    return torch.tensor([r + [0] * (T - len(r)) for r in rows], dtype=torch.long)


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def _finetune(model: LSTMClassifier, x: torch.Tensor, y: torch.Tensor, *, steps: int, lr: float, ulmfit: bool,
              batch_size: int, gen: torch.Generator) -> None:
    """ULMFiT's recipe (discriminative rates, STLR, gradual unfreezing over three equal
    stages) or, for the model from scratch, every layer at ``lr`` under the same STLR."""
    groups = model.layer_groups
    params = discriminative_param_groups(groups, lr) if ulmfit else model.parameters()
    opt = torch.optim.Adam(params, lr=lr, betas=(0.7, 0.99))  # paper, Sec. 4: beta1 = 0.7, beta2 = 0.99
    sched = stlr_scheduler(opt, steps)
    model.train()
    for step in range(steps):
        if ulmfit:
            unfreeze_top(groups, min(len(groups), 1 + step * len(groups) // steps))
        idx = torch.randint(0, len(y), (min(batch_size, len(y)),), generator=gen).to(y.device)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    unfreeze_top(groups, len(groups))


def sample_efficiency(
    n_labels: Sequence[int] = (50, 100, 200),
    *,
    seeds: Sequence[int] = (0,),
    lm_steps: int = 200,
    finetune_steps: int = 80,
    n_test_per_sense: int = 15,
    task: str = "order",
    lr: float = 1e-2,
    batch_size: int = 32,
    emb_dim: int = 32,
    hidden: int = 64,
    device: torch.device | str | None = None,
) -> SampleEfficiency:
    """ULMFiT Fig. 3 at toy scale; returns held-out accuracies of the pretrained and the
    from-scratch classifier for each number of labels.

    Text: every distinct sentence :func:`coursekit.senses.sense_sentences` makes, up to 55
    per sense; ``n_test_per_sense`` per sense are held out, the rest are the unlabelled text
    a word-level LSTM language model trains on (``lm_steps`` Adam steps; the held-out
    sentences are never read) and the pool the labelled examples are drawn from.
    ``task="order"`` (default): acceptability, as CoLA asks it at toy scale: each sentence
    as made (label 1) or with two neighbouring words swapped (0), so a bag of words cannot
    answer and word order must be read. ``task="sense"``: name the sense (``"duck:food"``,
    9 classes); each sense has cue words of its own, so 50 labels already suffice and
    pretraining has little to add. For each ``n`` in ``n_labels`` and each seed, the
    pretrained LM is fine-tuned with ULMFiT's recipe and a fresh copy of the same
    architecture is trained from scratch, both for ``finetune_steps`` steps of
    ``batch_size``; accuracies are averaged over ``seeds``. CPU default: ~5-10 s; ``device``
    (default CPU) is where the models train.
    """
    if not len(n_labels) or not len(seeds):
        raise ValueError("n_labels and seeds must each hold at least one value")
    for n in n_labels:
        check_positive("n_labels entry", n)
    for s in seeds:
        check_int("seed", s)
    for name, value in [("lm_steps", lm_steps), ("finetune_steps", finetune_steps), ("n_test_per_sense", n_test_per_sense),
                        ("batch_size", batch_size)]:
        check_positive(name, value)
    check_real("lr", lr, low=0.0, low_open=True)
    check_choice("task", task, ("order", "sense"))
    device = torch.device(device) if device is not None else torch.device("cpu")
    t0 = time.perf_counter()
    data = sense_sentences(55, seed=0)  # 55 per sense: the most every sense has
    by_label: dict[str, list] = {}
    for s in data:
        by_label.setdefault(s.label, []).append(s)
    test = [s for group in by_label.values() for s in group[:n_test_per_sense]]
    pool = [s for group in by_label.values() for s in group[n_test_per_sense:]]
    if max(n_labels) > len(pool):
        raise ValueError(f"n_labels must be at most {len(pool)} (the sentences left after the test set), got {max(n_labels)}")
    words = sorted({w for s in data for w in s.tokens})
    vocab = {w: i + 1 for i, w in enumerate(words)}  # 0 = padding
    classes = sorted(by_label)
    encode = lambda ss: _pad([[vocab[w] for w in s.tokens] for s in ss])  # noqa: E731
    label = lambda ss: torch.tensor([classes.index(s.label) for s in ss])  # noqa: E731
    x_text = encode(pool)  # the unlabelled text the language model reads: sentences as the grammar makes them
    if task == "order":  # acceptability: the sentence as made (1) or with two neighbouring words swapped (0)
        classes = [0, 1]
        test, pool = _with_swaps(test, 1), _with_swaps(pool, 2)
        label = lambda ss: torch.tensor([s.sense == "as made" for s in ss], dtype=torch.long)  # noqa: E731
    x_test, y_test = encode(test).to(device), label(test).to(device)
    x_pool, y_pool = encode(pool).to(device), label(pool).to(device)
    x_text = x_text.to(device)

    # 1. the language model, on the unlabelled pool (next word; padding ignored)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        lm = LSTMClassifier(len(vocab) + 1, len(classes), emb_dim, hidden).to(device)
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(lm.parameters(), lr=lr)
    lm.train()
    for _ in range(lm_steps):
        b = x_text[torch.randint(0, len(x_text), (batch_size,), generator=gen).to(device)]
        logits = lm.lm_logits(b[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), b[:, 1:].reshape(-1), ignore_index=0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    lm.eval()
    with torch.no_grad():
        held_out = encode([s for s in test if s.sense != "swapped"]).to(device)  # sentences as made
        logits = lm.lm_logits(held_out[:, :-1])
        ppl = math.exp(float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), held_out[:, 1:].reshape(-1), ignore_index=0)))
    lm_state = {k: v.clone() for k, v in lm.state_dict().items()}

    # 2. fine-tune with n labels, against the same model from scratch
    pre, scr = [], []
    for n in n_labels:
        accs = {True: [], False: []}
        for seed in seeds:
            chosen = torch.tensor(random.Random(seed).sample(range(len(pool)), n), device=device)
            for pretrained in (True, False):
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed + 1)
                    model = LSTMClassifier(len(vocab) + 1, len(classes), emb_dim, hidden).to(device)
                if pretrained:
                    model.load_state_dict({k: v for k, v in lm_state.items() if not k.startswith("head.")}, strict=False)
                g = torch.Generator().manual_seed(seed)
                _finetune(model, x_pool[chosen], y_pool[chosen], steps=finetune_steps, lr=lr, ulmfit=pretrained,
                          batch_size=batch_size, gen=g)
                accs[pretrained].append(_accuracy(model, x_test, y_test))
        pre.append(sum(accs[True]) / len(seeds))
        scr.append(sum(accs[False]) / len(seeds))
    return SampleEfficiency(tuple(n_labels), tuple(pre), tuple(scr), len(test), len(x_text), ppl, time.perf_counter() - t0)

"""A small ELMo: a character CNN and two LSTM language models, one per direction (Chapter 8).

Peters, Neumann, Iyyer, Gardner, Clark, Lee & Zettlemoyer (2018), "Deep contextualized word
representations", NAACL, https://arxiv.org/abs/1802.05365.

- Sec. 3.1: a biLM: a forward LM ``p(t_k | t_1..t_{k-1})`` and a backward LM
  ``p(t_k | t_{k+1}..t_N)``, trained jointly; the token representation and the softmax
  layer are shared by the two directions, while each direction has its own LSTMs.
- Sec. 3.2, Eq. 1: ``ELMo_k = gamma * sum_j s_j h_{k,j}``, the layers mixed with
  softmax-normalised weights ``s`` and a scale ``gamma`` (:class:`ScalarMix`).
- Sec. 3.4: the token representation is a character CNN (Kim et al., 2016; Jozefowicz et
  al., 2016) with highway layers (Srivastava et al., 2015) and a linear projection; the
  LSTMs have projections (LSTMP: ``nn.LSTM(proj_size=...)``) and a residual connection
  from the first to the second layer. The published model: 2 layers, 4096 cells, 512
  projections, 2048 character filters, 2 highway layers (:data:`PUBLISHED`, from the
  options file ``elmo_2x4096_512_2048cnn_2xhighway_options.json``). Not reproduced here:
  the cell and projection clipping at 3, dropout, and the sampled softmax over the large
  vocabulary. Added here: batch normalisation in the character CNN (``ElmoConfig.char_norm``),
  without which the short CPU run learns nothing but word frequencies.

Layer 0 of :func:`elmo_layers` is the token representation written twice (``[x; x]``, as
AllenNLP does), so every layer has the same width 2P as the LSTM layers ``[h_fwd; h_bwd]``.

Legend: B sentences, T tokens, W characters per token, E character embedding width,
F character filters (all widths together), P projection width, H LSTM cells, L LSTM
layers, V output vocabulary.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .rnn import reverse_within_length
from .utils import check_bool, check_int, check_positive, check_real, check_tensor, eval_mode, plain_numbers
from .wordvectors import corpus_sentences, tokenize

__all__ = [
    "ElmoConfig",
    "PUBLISHED",
    "CharVocab",
    "CharCNN",
    "Highway",
    "ELMo",
    "BiLMOutput",
    "ScalarMix",
    "count_parameters",
    "ParameterCount",
    "ElmoRun",
    "train_elmo",
    "elmo_layers",
]

BOUNDARY = "<s>"  # between sentences in training, around each sentence in elmo_layers
UNK = "<unk>"
_N_CHARACTERS = 262  # character ids CharVocab produces: 0 padding, 1-256 bytes, 257-259 marks, 2 unused


@dataclass(frozen=True)
class ElmoConfig:
    """A biLM's sizes. Defaults are CPU-sized (trains in ~15 s on one thread);
    :data:`PUBLISHED` is the released model."""

    n_characters: int = 262  # paper: 262 (256 bytes + bow, eow, bos, eos, padding + 1 for masking)
    char_dim: int = 16  # paper: 16
    filters: tuple[tuple[int, int], ...] = ((1, 16), (2, 16), (3, 32), (4, 32))  # paper: see PUBLISHED
    n_highway: int = 1  # paper: 2
    projection_dim: int = 64  # paper: 512
    lstm_dim: int = 64  # paper: 4096 (cells per direction and layer); > projection_dim makes it an LSTMP
    n_layers: int = 2  # paper: 2
    residual: bool = True  # paper: a residual connection from the first to the second layer
    max_characters: int = 16  # paper: 50 (including the begin- and end-of-word characters)
    vocab_size: int = 2000  # softmax size; paper: 793,471 (the 1B Word Benchmark's vocabulary)
    # Not in the paper: batch normalisation over the batch's distinct words after the max-pool.
    # Max-pooled random filters give nearly the same vector for every word at first; without it a
    # 15-second run learns only word frequencies (loss stuck at the unigram entropy). Paper: False.
    char_norm: bool = True

    def __post_init__(self):
        plain_numbers(self)
        for name in ("n_characters", "char_dim", "n_highway", "projection_dim", "lstm_dim", "n_layers", "vocab_size"):
            check_int(name, getattr(self, name), min=0 if name == "n_highway" else 1)
        check_int("n_characters", self.n_characters, min=_N_CHARACTERS)
        check_bool("residual", self.residual)
        check_bool("char_norm", self.char_norm)
        if not isinstance(self.filters, tuple) or not self.filters or not all(
            isinstance(f, tuple) and len(f) == 2 for f in self.filters
        ):
            raise ValueError(f"filters must be a non-empty tuple of (width, count) pairs, got {self.filters!r}")
        for width, count in self.filters:
            check_positive("filter width", width)
            check_positive("filter count", count)
        if self.lstm_dim < self.projection_dim:
            raise ValueError(
                f"lstm_dim must be >= projection_dim ({self.projection_dim}; equal means no projection), got {self.lstm_dim}"
            )
        widest = max(w for w, _ in self.filters)
        check_int("max_characters", self.max_characters, min=max(3, widest))

    @property
    def n_filters(self) -> int:
        return sum(c for _, c in self.filters)


PUBLISHED = ElmoConfig(
    filters=((1, 32), (2, 32), (3, 64), (4, 128), (5, 256), (6, 512), (7, 1024)),
    n_highway=2, projection_dim=512, lstm_dim=4096, n_layers=2, max_characters=50, vocab_size=793_471, char_norm=False,
)


class CharVocab:
    """Words -> character ids, as in ELMo: UTF-8 bytes shifted by one (0 is padding),
    then five special characters; every word is wrapped in begin/end-of-word marks and cut
    to fit. The sentence boundary ``<s>`` is a word of its own special character."""

    PAD, BOW, EOW, BOUNDARY_CHAR = 0, 257, 258, 259
    SIZE = _N_CHARACTERS

    def __init__(self, max_characters: int):
        check_int("max_characters", max_characters, min=3)
        self.max_characters = max_characters

    def encode(self, words: Sequence[str]) -> torch.Tensor:
        """(n,) words -> (n, W) long character ids, W = max_characters."""
        W = self.max_characters
        rows = []
        for word in words:
            inner = [self.BOUNDARY_CHAR] if word == BOUNDARY else [b + 1 for b in word.encode("utf-8")[: W - 2]]
            rows.append([self.BOW, *inner, self.EOW] + [self.PAD] * (W - 2 - len(inner)))
        return torch.tensor(rows, dtype=torch.long).view(len(rows), W)


class Highway(nn.Module):
    """Srivastava, Greff & Schmidhuber (2015), https://arxiv.org/abs/1505.00387, as AllenNLP
    writes it: ``y = g * x + (1 - g) * relu(W_h x)``, ``g = sigmoid(W_g x)``, one (F, 2F) linear
    map per layer. The carry gate's bias starts at 1, so a new layer starts close to passing
    its input through (the paper's transform-gate bias of -1, written as a carry gate)."""

    def __init__(self, dim: int, n_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(dim, 2 * dim) for _ in range(n_layers))
        for layer in self.layers:
            nn.init.constant_(layer.bias[dim:], 1.0)  # the gate's half

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            h, g = layer(x).chunk(2, dim=-1)
            g = torch.sigmoid(g)
            x = g * x + (1 - g) * F.relu(h)
        return x


class CharCNN(nn.Module):
    """Characters (B, T, W) long -> token representations (B, T, P): embed each character,
    convolve each filter width over the word, max-pool over positions, ReLU, (batch norm, see
    ``ElmoConfig.char_norm``), highway, project. In eval mode each word's vector depends on its
    characters only; in training the batch norm's statistics come from the batch's words."""

    def __init__(self, config: ElmoConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.n_characters, config.char_dim, padding_idx=CharVocab.PAD)
        self.convs = nn.ModuleList(nn.Conv1d(config.char_dim, n, w) for w, n in config.filters)
        self.norm = nn.BatchNorm1d(config.n_filters) if config.char_norm else nn.Identity()
        self.highway = Highway(config.n_filters, config.n_highway)
        self.proj = nn.Linear(config.n_filters, config.projection_dim)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        B, T, W = chars.shape
        # A word's representation depends on its characters only: compute it once per distinct word.
        words, inverse = torch.unique(chars.view(B * T, W), dim=0, return_inverse=True)  # (U, W), (B*T,)
        x = self.embed(words).transpose(1, 2)  # (U, E, W)
        pooled = [conv(x).amax(dim=-1) for conv in self.convs]  # each (U, filters of that width)
        h = self.norm(F.relu(torch.cat(pooled, dim=-1)))  # (U, F)
        return self.proj(self.highway(h))[inverse].view(B, T, -1)  # (B, T, P)


@dataclass(frozen=True, eq=False)
class BiLMOutput:
    """``layers`` (L+1, B, T, 2P): layer 0 the token representation twice, layer j the
    forward and backward LSTM states; ``forward_logits`` / ``backward_logits`` (B, T, V):
    position t's prediction of token t+1 (forward) and of token t-1 (backward)."""

    layers: torch.Tensor
    forward_logits: torch.Tensor
    backward_logits: torch.Tensor


class ELMo(nn.Module):
    """The biLM: one character CNN and one softmax shared by two directions, each with its
    own stack of ``n_layers`` projected LSTMs (residual between layers)."""

    def __init__(self, config: ElmoConfig = ElmoConfig()):
        super().__init__()
        if not isinstance(config, ElmoConfig):
            raise ValueError(f"config must be an ElmoConfig, got {type(config).__name__}")
        self.config = config
        P, H = config.projection_dim, config.lstm_dim
        self.token = CharCNN(config)

        def stack() -> nn.ModuleList:  # LSTMP when there are more cells than outputs; else a plain LSTM (faster on CPU)
            proj = P if H > P else 0
            return nn.ModuleList(nn.LSTM(P, H, proj_size=proj, batch_first=True) for _ in range(config.n_layers))

        self.forward_lstms, self.backward_lstms = stack(), stack()
        self.softmax = nn.Linear(P, config.vocab_size)  # shared by both directions

    def _run(self, lstms: nn.ModuleList, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for j, lstm in enumerate(lstms):
            h, _ = lstm(x)  # (B, T, P)
            if self.config.residual and j > 0:
                h = h + x  # residual from the layer below (AllenNLP: every layer but the first)
            outs.append(h)
            x = h
        return outs

    def forward(self, chars: torch.Tensor, lengths: torch.Tensor | None = None) -> BiLMOutput:
        """``chars`` (B, T, W) long character ids (:class:`CharVocab`); ``lengths`` (B,) long,
        real tokens per row (None: all T). Padding sits at the end of each row and never
        reaches a real position in either direction."""
        dims = check_tensor("chars", chars, shape=("B", "T", self.config.max_characters), dtype=torch.long)
        B, T = dims["B"], dims["T"]
        if lengths is None:
            lengths = torch.full((B,), T, dtype=torch.long, device=chars.device)
        check_tensor("lengths", lengths, shape=("B",), dtype=torch.long, dims=dims)
        x = self.token(chars)  # (B, T, P)
        fwd = self._run(self.forward_lstms, x)
        bwd = [reverse_within_length(h, lengths) for h in self._run(self.backward_lstms, reverse_within_length(x, lengths))]
        layers = [torch.cat([x, x], dim=-1)] + [torch.cat([f, b], dim=-1) for f, b in zip(fwd, bwd)]
        return BiLMOutput(torch.stack(layers), self.softmax(fwd[-1]), self.softmax(bwd[-1]))  # (L+1, B, T, 2P)


class ScalarMix(nn.Module):
    """Eq. 1: ``gamma * sum_j softmax(s)_j * h_j`` over ``n_layers`` layers. ``s`` starts at
    zero (equal weights) and ``gamma`` at one, as in AllenNLP."""

    def __init__(self, n_layers: int):
        super().__init__()
        check_positive("n_layers", n_layers)
        self.scalars = nn.Parameter(torch.zeros(n_layers))
        self.gamma = nn.Parameter(torch.ones(()))

    @property
    def weights(self) -> torch.Tensor:
        """The normalised layer weights ``s`` (n_layers,), summing to one."""
        return torch.softmax(self.scalars, dim=0)

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        """``layers`` (n_layers, ..., D) -> (..., D)."""
        if not isinstance(layers, torch.Tensor) or layers.dim() < 2 or layers.shape[0] != self.scalars.numel():
            got = tuple(layers.shape) if isinstance(layers, torch.Tensor) else type(layers).__name__
            raise ValueError(f"layers must be a tensor of shape ({self.scalars.numel()}, ..., D), got {got}")
        w = self.weights.view(-1, *[1] * (layers.dim() - 1))  # (n_layers, 1, ..., 1)
        return self.gamma * (w * layers).sum(0)


@dataclass(frozen=True)
class ParameterCount:
    """Parameters by part: character CNN (embedding, convolutions, highway, projection),
    LSTMs (both directions) and the shared softmax; ``total`` includes the softmax only
    when it was asked for."""

    char_cnn: int
    lstm: int
    softmax: int
    total: int


def count_parameters(config: ElmoConfig, *, softmax: bool = True, lstm_biases: int = 2) -> ParameterCount:
    """The parameter count from the config alone. ``lstm_biases=2`` counts torch's LSTM
    (``bias_ih`` and ``bias_hh``: this module's :class:`ELMo`, whose ``numel`` it equals);
    ``lstm_biases=1`` counts the original TensorFlow LSTMP cell (one bias per gate). The
    published 93.6M (AllenNLP's model table) is ``count_parameters(PUBLISHED, softmax=False,
    lstm_biases=1)``: the released weights hold no softmax (it alone is 793,471 x 512 plus bias)."""
    if not isinstance(config, ElmoConfig):
        raise ValueError(f"config must be an ElmoConfig, got {type(config).__name__}")
    check_bool("softmax", softmax)
    check_int("lstm_biases", lstm_biases, min=1, max=2)
    c = config
    Fn, P, H = c.n_filters, c.projection_dim, c.lstm_dim
    char = c.n_characters * c.char_dim + sum(w * c.char_dim * n + n for w, n in c.filters)
    char += c.n_highway * (Fn * 2 * Fn + 2 * Fn) + Fn * P + P + (2 * Fn if c.char_norm else 0)
    # input and recurrent weights, biases, projection (none when H == P: a plain LSTM)
    per_lstm = 4 * H * (P + P) + lstm_biases * 4 * H + (H * P if H > P else 0)
    lstm = 2 * c.n_layers * per_lstm
    soft = c.vocab_size * P + c.vocab_size
    return ParameterCount(char, lstm, soft, char + lstm + (soft if softmax else 0))


# ------------------------------------------------------------------ training on the corpus
@dataclass(frozen=True, eq=False)
class ElmoRun:
    """A trained biLM: ``model``, its output ``vocab`` (``vocab[0]`` is ``<unk>``), the
    training loss every ``log_every`` steps, wall-clock ``seconds`` and the held-out
    perplexity (both directions, geometric mean) on the corpus's validation split."""

    model: ELMo
    chars: CharVocab
    vocab: tuple[str, ...]
    losses: tuple[float, ...]
    seconds: float
    val_perplexity: float


def _stream(sentences: Sequence[Sequence[str]]) -> list[str]:
    out = [BOUNDARY]
    for s in sentences:
        out += [*s, BOUNDARY]
    return out


class _Encoded:
    """A token stream as word-type ids, each type's characters, and each type's output id."""

    def __init__(self, tokens: list[str], chars: CharVocab, vocab: dict[str, int]):
        types = sorted(set(tokens))
        index = {w: i for i, w in enumerate(types)}
        self.ids = torch.tensor([index[w] for w in tokens], dtype=torch.long)  # (N,)
        self.type_chars = chars.encode(types)  # (n_types, W)
        self.type_targets = torch.tensor([vocab.get(w, 0) for w in types], dtype=torch.long)

    def windows(self, starts: torch.Tensor, T: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self.ids[starts[:, None] + torch.arange(T + 2)]  # (B, T+2)
        return self.type_chars[idx[:, 1:-1]], self.type_targets[idx]  # (B, T, W), (B, T+2)


def _lm_loss(model: ELMo, chars: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy of the forward LM (predicting targets[:, 2:]) and the backward LM
    (predicting targets[:, :-2]) for windows whose inputs are targets[:, 1:-1]."""
    out = model(chars)
    V = out.forward_logits.shape[-1]
    f = F.cross_entropy(out.forward_logits.reshape(-1, V), targets[:, 2:].reshape(-1))
    b = F.cross_entropy(out.backward_logits.reshape(-1, V), targets[:, :-2].reshape(-1))
    return f, b


def train_elmo(
    config: ElmoConfig = ElmoConfig(),
    *,
    steps: int = 300,
    batch_size: int = 16,
    block_size: int = 24,
    lr: float = 3e-3,
    seed: int = 0,
    log_every: int = 25,
    val_windows: int = 64,
    device: torch.device | str | None = None,
    sentences: tuple[Sequence[Sequence[str]], Sequence[Sequence[str]]] | None = None,
) -> ElmoRun:
    """Train the biLM on :func:`coursekit.wordvectors.corpus_sentences` ("train") with Adam,
    ``steps`` batches of ``batch_size`` random windows of ``block_size`` words (sentences
    joined by ``<s>``); the output vocabulary is the ``config.vocab_size - 1`` most frequent
    training words plus ``<unk>``. Seeded; the CPU default takes ~15 s on one thread.
    ``sentences`` = (train, validation) lists of tokenized sentences replaces the corpus."""
    for name, value in [("steps", steps), ("batch_size", batch_size), ("block_size", block_size),
                        ("log_every", log_every), ("val_windows", val_windows)]:
        check_positive(name, value)
    check_real("lr", lr, low=0.0, low_open=True)
    check_int("seed", seed)
    device = torch.device(device) if device is not None else torch.device("cpu")
    train_s, val_s = sentences if sentences is not None else (corpus_sentences("train"), corpus_sentences("val"))
    train_tokens, val_tokens = _stream(train_s), _stream(val_s)
    for name, stream in [("training", train_tokens), ("validation", val_tokens)]:
        if len(stream) < block_size + 3:
            raise ValueError(f"the {name} text must hold more than block_size + 2 = {block_size + 2} tokens, got {len(stream)}")
    freq = Counter(w for w in train_tokens)
    words = [UNK] + sorted(freq, key=lambda w: (-freq[w], w))[: config.vocab_size - 1]
    vocab = {w: i for i, w in enumerate(words)}
    chars = CharVocab(config.max_characters)
    train, val = _Encoded(train_tokens, chars, vocab), _Encoded(val_tokens, chars, vocab)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ELMo(config).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses, running, count = [], 0.0, 0
    t0 = time.perf_counter()
    model.train()
    for step in range(1, steps + 1):
        starts = torch.randint(0, len(train.ids) - block_size - 2, (batch_size,), generator=gen)
        x, y = train.windows(starts, block_size)
        f, b = _lm_loss(model, x.to(device), y.to(device))
        loss = (f + b) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running, count = running + loss.item(), count + 1
        if step % log_every == 0 or step == steps:
            losses.append(running / count)
            running, count = 0.0, 0
    seconds = time.perf_counter() - t0
    ppl = _perplexity(model, val, block_size=block_size, max_windows=val_windows)
    return ElmoRun(model, chars, tuple(words), tuple(losses), seconds, ppl)


@torch.no_grad()
def _perplexity(model: ELMo, data: _Encoded, *, block_size: int, max_windows: int) -> float:
    """exp of the mean held-out cross-entropy of both directions over ``max_windows``
    evenly spaced windows (``<unk>`` counts as a word, as usual for a capped vocabulary)."""
    device = next(model.parameters()).device
    n = len(data.ids) - block_size - 2
    starts = torch.linspace(0, n - 1, min(max_windows, n)).long()
    with eval_mode(model):
        x, y = data.windows(starts, block_size)
        f, b = _lm_loss(model, x.to(device), y.to(device))
    return math.exp(float(f + b) / 2)


@torch.no_grad()
def elmo_layers(model: ELMo | ElmoRun, sentences: Sequence[Sequence[str] | str]) -> list[torch.Tensor]:
    """Every layer's vector for every token: one (L+1, T, 2P) tensor per sentence (T its
    tokens; a string is tokenized with :func:`coursekit.wordvectors.tokenize`). Each sentence
    is wrapped in ``<s>`` on both sides, as in training; the boundaries are not returned.
    Layer 0 is the context-free character CNN, layers 1..L the biLSTM."""
    if isinstance(model, ElmoRun):
        model = model.model
    if not isinstance(model, ELMo):
        raise ValueError(f"model must be an ELMo or an ElmoRun (from train_elmo), got {type(model).__name__}")
    if isinstance(sentences, str) or not len(sentences):
        raise ValueError("sentences must be a non-empty sequence of sentences (strings or lists of words)")
    toks = [tokenize(s) if isinstance(s, str) else list(s) for s in sentences]
    if any(not t for t in toks):
        raise ValueError("sentences must each hold at least one token")
    device = next(model.parameters()).device
    vocab = CharVocab(model.config.max_characters)
    lengths = torch.tensor([len(t) + 2 for t in toks])
    T = int(lengths.max())
    chars = torch.zeros(len(toks), T, vocab.max_characters, dtype=torch.long)  # (B, T, W)
    for i, t in enumerate(toks):
        chars[i, : len(t) + 2] = vocab.encode([BOUNDARY, *t, BOUNDARY])
    with eval_mode(model):
        layers = model(chars.to(device), lengths.to(device)).layers  # (L+1, B, T, 2P)
    return [layers[:, i, 1 : len(t) + 1].cpu() for i, t in enumerate(toks)]

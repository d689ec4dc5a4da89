"""Attention as pooling: document classifiers over a BiLSTM (Chapter 3).

Papers, and the part of each this module implements:

- Raffel & Ellis (2015), *Feed-Forward Networks with Attention Can Solve Some
  Long-Term Memory Problems*, arXiv:1512.08756, Sec. 2 ("feed-forward
  attention"): a learned score per step ``e_t = a(h_t)``, ``alpha = softmax(e)``,
  ``c = sum_t alpha_t h_t``: no query from a decoder, just a learned function.
- Zhou et al. (2016), *Attention-Based Bidirectional Long Short-Term Memory
  Networks for Relation Classification* (Att-BLSTM), ACL, doi:10.18653/v1/P16-2034,
  Sec. 3.3: such pooling over a BiLSTM's outputs, instead of keeping only its
  last state (their score is ``w . tanh(h_t)``; :class:`AttentionPooling` over
  :class:`BiRNN` adds HAN's projection).
- Yang et al. (2016), *Hierarchical Attention Networks for Document
  Classification*, NAACL, doi:10.18653/v1/N16-1174, Sec. 2 (Eqs. 5-11): a word
  encoder and word attention with a learned context vector ``u_w`` make one
  vector per sentence; a sentence encoder and sentence attention with ``u_s``
  make the document vector; a linear layer classifies it
  (:class:`DocumentClassifier` with ``pooling="attention"``).
- Jain & Wallace (2019), *Attention is not Explanation*, NAACL,
  arXiv:1902.10186, Sec. 4 (counterfactual attention weights): the permuted
  and adversarial weights of :func:`permute_weights` and
  :func:`adversarial_weights`, scored with :func:`total_variation` and
  :func:`js_divergence`; :func:`permutation_experiment` runs the permutation
  test on a model small enough to train in a fraction of a second.

``pooling="mean"`` and ``"max"`` replace both attention layers by mean or max
pooling over the same encoders, so a comparison changes one thing.
``encoder="none"`` removes both BiRNNs: the word states are the embeddings and
the sentence states the sentence vectors, so no position sees another.

Legend: B batch (documents), N sentences, L words per sentence, E embedding
width, H hidden width (both directions), A attention width, C classes.
Masks are boolean, True = a real word / sentence (may be attended).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .attention import masked_softmax
from .documents import DocBatch, DocumentData, sentiment_documents
from .rnn import CELLS, BiRNN
from .utils import check_choice, check_ids, check_positive, check_tensor, eval_mode, plain_numbers

__all__ = [
    "POOLINGS",
    "ENCODERS",
    "ClassifierConfig",
    "ClassifierOutput",
    "Encoded",
    "AttentionPooling",
    "pool",
    "DocumentClassifier",
    "classification_loss",
    "evaluate_classifier",
    "key_on_top",
    "bag_of_words_accuracy",
    "total_variation",
    "js_divergence",
    "permute_weights",
    "move_mass_off",
    "adversarial_weights",
    "PermutationResult",
    "permutation_experiment",
    "BiRNN",  # defined in coursekit.rnn, shared with the seq2seq encoder
]

POOLINGS = ("attention", "mean", "max")
ENCODERS = ("birnn", "none")  # "none": no BiRNNs, so every state sees only its own word or sentence


@dataclass(frozen=True)
class ClassifierConfig:
    """A hierarchical document classifier. Vary it with ``dataclasses.replace``."""

    vocab_size: int
    n_classes: int = 2
    emb_dim: int = 32  # HAN: 200 (word2vec); a 70-word vocabulary needs far less
    hidden_size: int = 64  # both directions together; HAN: 2 x 50 (GRU)
    attn_dim: int = 32  # width of u_it = tanh(W h_it + b); HAN: 100
    cell: str = "lstm"  # "lstm" (Zhou et al.'s BiLSTM) or "gru" (HAN's)
    pooling: str = "attention"  # "attention" (HAN), "mean" or "max" at both levels
    encoder: str = "birnn"  # "birnn" (HAN) or "none": pooling straight over the embeddings (an ablation)

    def __post_init__(self):
        plain_numbers(self)
        for name in ("vocab_size", "emb_dim", "hidden_size", "attn_dim"):
            check_positive(name, getattr(self, name))
        check_positive("n_classes", self.n_classes)
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {self.n_classes}")
        check_choice("cell", self.cell, CELLS)
        check_choice("pooling", self.pooling, POOLINGS)
        check_choice("encoder", self.encoder, ENCODERS)
        if self.encoder == "birnn" and self.hidden_size % 2:
            raise ValueError(f"hidden_size must be even (hidden_size/2 per direction), got {self.hidden_size}")
        if self.encoder == "none" and self.emb_dim != self.hidden_size:
            raise ValueError(f"encoder='none' passes the embeddings on: emb_dim ({self.emb_dim}) must equal "
                             f"hidden_size ({self.hidden_size})")

    @classmethod
    def for_data(cls, data: DocumentData, **kwargs) -> "ClassifierConfig":
        return cls(vocab_size=len(data.vocab), **kwargs)


@dataclass(frozen=True)
class ClassifierOutput:
    """``logits`` (B, C); ``word_weights`` (B, N, L): each sentence's pooling weights over its
    words; ``sentence_weights`` (B, N): the document's over its sentences. Both are zero at
    padding and sum to 1 over the real entries. For max pooling a weight is the share of the
    H features whose maximum sits at that position."""

    logits: torch.Tensor
    word_weights: torch.Tensor
    sentence_weights: torch.Tensor


@dataclass(frozen=True)
class Encoded:
    """What the sentence-level pooling reads: ``states`` (B, N, H) from the sentence encoder
    (zero at padded sentences), ``mask`` (B, N), and the word-level ``word_weights`` (B, N, L)."""

    states: torch.Tensor
    mask: torch.Tensor
    word_weights: torch.Tensor


class AttentionPooling(nn.Module):
    """Feed-forward attention with a learned context vector (HAN Eqs. 5-7 and 8-10).

    ``u_t = tanh(W h_t + b)``, ``e_t = u_t . u_ctx``, ``alpha = masked_softmax(e)``,
    ``pooled = sum_t alpha_t h_t``. ``u_ctx`` (Yang et al.'s ``u_w`` / ``u_s``) is a
    learned query that does not depend on the input: "which step is informative?".
    """

    def __init__(self, dim: int, attn_dim: int = 32):
        super().__init__()
        self.proj = nn.Linear(dim, attn_dim)
        self.context = nn.Parameter(torch.randn(attn_dim) / attn_dim**0.5)

    def scores(self, states: torch.Tensor) -> torch.Tensor:
        """states (..., S, H) -> scores (..., S)."""
        return torch.tanh(self.proj(states)) @ self.context

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """states (..., S, H), mask (..., S) bool -> pooled (..., H), weights (..., S)."""
        return pool(states, mask, "attention", self.scores(states))


def pool(
    states: torch.Tensor, mask: torch.Tensor, how: str, scores: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pool ``states`` (..., S, H) over S where ``mask`` (..., S) is True -> (pooled (..., H), weights (..., S)).

    - ``"attention"``: weights = masked_softmax(``scores``), pooled = sum_s w_s h_s;
    - ``"mean"``: weights = 1 / (number of real steps), the same sum;
    - ``"max"``: pooled = the elementwise max over real steps; weights[s] = the
      share of the H features whose max is at step s.

    A row with no real step pools to zeros with zero weights (a padded sentence).
    """
    check_choice("how", how, POOLINGS)
    dims = check_tensor("states", states, dtype="float")
    if states.dim() < 2:
        raise ValueError(f"states must have shape (..., S, H), got {tuple(states.shape)}")
    check_tensor("mask", mask, shape=tuple(states.shape[:-1]), dtype=torch.bool, dims=dims)
    if how == "attention":
        if scores is None:
            raise ValueError("pool(..., 'attention') needs scores of shape (..., S)")
        check_tensor("scores", scores, shape=tuple(states.shape[:-1]), dtype="float")
        weights = masked_softmax(scores, mask)
    elif how == "mean":
        weights = mask / mask.sum(-1, keepdim=True).clamp_min(1)
    else:
        filled = states.masked_fill(~mask[..., None], float("-inf"))
        pooled, where = filled.max(dim=-2)  # (..., H) each: the value and the step it came from
        any_real = mask.any(-1, keepdim=True)  # (..., 1)
        pooled = torch.where(any_real, pooled, torch.zeros_like(pooled))
        # count, for each step, the features whose max is there: (..., S), without a (..., H, S) one-hot
        weights = torch.zeros_like(states[..., 0]).scatter_add_(-1, where, torch.ones_like(pooled)) / states.shape[-1]
        return pooled, weights * any_real
    weights = weights.to(states.dtype)
    return (weights[..., None] * states).sum(-2), weights  # (..., S, 1) * (..., S, H) -> (..., H)


class DocumentClassifier(nn.Module):
    """The Hierarchical Attention Network (Yang et al. 2016) and its mean/max-pooling twins.

    ``forward(ids (B, N, L) long, 0 = padding) -> ClassifierOutput``. Words ->
    embedding -> word BiRNN -> pooling over each sentence's words -> sentence
    vectors (B, N, H) -> sentence BiRNN -> pooling over the sentences ->
    document vector (B, H) -> linear -> logits (B, C). With ``encoder="none"``
    the two BiRNNs are left out.
    """

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        self.cfg = cfg
        H = cfg.hidden_size
        self.embed = nn.Embedding(cfg.vocab_size, cfg.emb_dim, padding_idx=0)
        if cfg.encoder == "birnn":
            self.word_rnn = BiRNN(cfg.emb_dim, H, cfg.cell)
            self.sentence_rnn = BiRNN(H, H, cfg.cell)
        if cfg.pooling == "attention":
            self.word_attention = AttentionPooling(H, cfg.attn_dim)  # context vector u_w
            self.sentence_attention = AttentionPooling(H, cfg.attn_dim)  # context vector u_s
        self.out = nn.Linear(H, cfg.n_classes)

    def _pool(self, states, mask, attention_name):
        if self.cfg.pooling == "attention":
            return getattr(self, attention_name)(states, mask)
        return pool(states, mask, self.cfg.pooling)

    def encode(self, ids: torch.Tensor) -> Encoded:
        """Everything below the sentence-level pooling: ids (B, N, L) -> :class:`Encoded`."""
        word_states, word_mask = self.encode_words(ids)
        return self.encode_sentences(word_states, word_mask)

    def encode_words(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The word encoder: ids (B, N, L) -> word states (B, N, L, H), zero at padding, and the word mask (B, N, L)."""
        check_tensor("ids", ids, shape=("B", "N", "L"), dtype=torch.long)
        check_ids("ids", ids, self.cfg.vocab_size)
        B, N, L = ids.shape
        H = self.cfg.hidden_size
        word_mask = ids != 0  # (B, N, L)
        lengths = word_mask.sum(-1)  # (B, N)
        sentence_mask = lengths > 0  # (B, N)
        if not bool(sentence_mask.any(-1).all()):
            raise ValueError("every document needs at least one word; a row of ids is all padding")
        for name, m, n in (("words", word_mask, lengths), ("sentences", sentence_mask, sentence_mask.sum(-1))):
            if not torch.equal(m, torch.arange(m.shape[-1], device=ids.device) < n[..., None]):
                raise ValueError(f"ids must be right-padded: real {name} first, then padding (id 0), got a gap")
        if self.cfg.encoder == "none":
            return self.embed(ids), word_mask  # (B, N, L, E = H); the padding embedding is 0
        # Fold the documents into one batch of sentences, and run the word encoder on the real ones only.
        flat_ids, flat_len, real = ids.view(B * N, L), lengths.view(B * N), sentence_mask.view(B * N)
        word_states = self.embed.weight.new_zeros(B * N, L, H)  # (B*N, L, H); padded sentences stay 0
        word_states[real] = self.word_rnn(self.embed(flat_ids[real]), flat_len[real])  # (R, L, H)
        return word_states.view(B, N, L, H), word_mask  # unfold

    def encode_sentences(self, word_states: torch.Tensor, word_mask: torch.Tensor) -> Encoded:
        """Word pooling, then the sentence encoder: word states (B, N, L, H) and mask (B, N, L) -> :class:`Encoded`.

        Real sentences come first in every document (right padding), so each document's
        length is its number of sentences with at least one real word.
        """
        dims = check_tensor("word_states", word_states, shape=("B", "N", "L", self.cfg.hidden_size), dtype="float")
        check_tensor("word_mask", word_mask, shape=("B", "N", "L"), dtype=torch.bool, dims=dims)
        B, N, L, H = word_states.shape
        sentence_mask = word_mask.any(-1)  # (B, N)
        # Fold: each sentence is one row of a (B*N, L, H) batch; pool its words; unfold to (B, N, H).
        sentences, word_weights = self._pool(word_states.reshape(B * N, L, H), word_mask.reshape(B * N, L), "word_attention")
        sentences = sentences.view(B, N, H)
        if self.cfg.encoder == "none":
            states = sentences
        else:
            states = self.sentence_rnn(sentences, sentence_mask.sum(-1))  # (B, N, H), zero at padded sentences
        return Encoded(states, sentence_mask, word_weights.view(B, N, L))

    def document(self, encoded: Encoded) -> tuple[torch.Tensor, torch.Tensor]:
        """The sentence-level pooling: :class:`Encoded` -> document vector (B, H), sentence weights (B, N)."""
        return self._pool(encoded.states, encoded.mask, "sentence_attention")

    def classify(self, encoded: Encoded, sentence_weights: torch.Tensor) -> torch.Tensor:
        """Logits (B, C) from sentence states and *any* sentence weights (B, N): the document
        vector is sum_i w_i s_i. With the model's own weights this is its forward pass; with other
        weights it answers "what would the model say had it attended there?" (Jain & Wallace)."""
        if self.cfg.pooling == "max":
            raise ValueError("classify(encoded, weights) needs pooling 'attention' or 'mean'; max pooling is no weighted sum")
        check_tensor("sentence_weights", sentence_weights, shape=tuple(encoded.mask.shape), dtype="float")
        return self.out((sentence_weights[..., None] * encoded.states).sum(1))  # (B, N, 1) * (B, N, H) -> (B, H)

    def forward(self, ids: torch.Tensor) -> ClassifierOutput:
        enc = self.encode(ids)
        document, sentence_weights = self.document(enc)  # (B, H), (B, N)
        return ClassifierOutput(self.out(document), enc.word_weights, sentence_weights)


def classification_loss(model: DocumentClassifier, batch: DocBatch) -> torch.Tensor:
    """Mean cross-entropy of the model's logits on a :class:`~coursekit.documents.DocBatch`."""
    return F.cross_entropy(model(batch.ids).logits, batch.labels)


@torch.no_grad()
def evaluate_classifier(model: DocumentClassifier, data: DocumentData, batch_size: int = 500) -> dict[str, float]:
    """Loss, accuracy, and where the pooling looked, over all of ``data``.

    ``key_mass``: mean sentence weight on the key sentence; ``key_top``: the
    share of documents whose largest sentence weight is on the key sentence
    (:func:`key_on_top`); ``uniform_mass``: the same as ``key_mass`` for uniform
    weights (mean of 1/N); ``key_word_mass``: mean word weight, inside the key
    sentence, on its key words.
    """
    device = next(model.parameters()).device
    totals = dict(loss=0.0, acc=0.0, key_mass=0.0, key_top=0.0, uniform_mass=0.0, key_word_mass=0.0)
    with eval_mode(model):
        for batch in data.batches(batch_size):
            batch = batch.to(device)
            out = model(batch.ids)
            rows = torch.arange(len(batch), device=device)
            key_words = batch.key_words[rows, batch.key_sentence]  # (B, L)
            totals["loss"] += F.cross_entropy(out.logits, batch.labels, reduction="sum").item()
            totals["acc"] += (out.logits.argmax(-1) == batch.labels).sum().item()
            totals["key_mass"] += out.sentence_weights[rows, batch.key_sentence].sum().item()
            totals["key_top"] += key_on_top(out.sentence_weights, batch.key_sentence, batch.sentence_mask).sum().item()
            totals["uniform_mass"] += (1 / batch.sentence_mask.sum(-1)).sum().item()
            totals["key_word_mass"] += (out.word_weights[rows, batch.key_sentence] * key_words).sum().item()
    return {k: v / len(data) for k, v in totals.items()}


def key_on_top(weights: torch.Tensor, key: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Whether each row's key position holds strictly more weight than every other real position.

    weights (B, S) float, key (B,) long, mask (B, S) bool -> (B,) bool. A tie is
    not "on top": uniform weights favour no sentence, so they give False
    (except for a document of one sentence).
    """
    dims = check_tensor("weights", weights, shape=("B", "S"), dtype="float")
    check_tensor("key", key, shape=("B",), dtype=torch.long, dims=dims)
    check_tensor("mask", mask, shape=("B", "S"), dtype=torch.bool, dims=dims)
    rows = torch.arange(len(key), device=weights.device)
    others = mask.clone()
    others[rows, key] = False
    best_other = weights.masked_fill(~others, float("-inf")).max(-1).values
    return weights[rows, key] > best_other


def bag_of_words_accuracy(
    train: DocumentData, test: DocumentData, *, weight_decay: float = 1e-3, max_iter: int = 200
) -> dict[str, float]:
    """Accuracy of a logistic regression on word counts (:meth:`DocumentData.word_counts`),
    the baseline that sees which words occur but not where: ``{"train": ..., "test": ...}``.

    Cross-entropy plus ``weight_decay`` times the squared weights, minimised by full-batch
    L-BFGS from zero weights, so the result depends on the data alone (no seed).
    """
    check_positive("max_iter", max_iter)
    x, y = train.word_counts(), torch.tensor([d.label for d in train.docs])
    n_classes = max(int(y.max()) + 1, 2)
    model = nn.Linear(x.shape[1], n_classes)
    nn.init.zeros_(model.weight), nn.init.zeros_(model.bias)
    opt = torch.optim.LBFGS(model.parameters(), max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y) + weight_decay * model.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    accuracy = {}
    with torch.no_grad():
        for name, data in (("train", train), ("test", test)):
            labels = torch.tensor([d.label for d in data.docs])
            accuracy[name] = (model(data.word_counts()).argmax(-1) == labels).float().mean().item()
    return accuracy


# ----------------------------------------------------------------------------- attention is not explanation
def _distributions(p: torch.Tensor, q: torch.Tensor) -> None:
    dims = check_tensor("p", p, dtype="float")
    check_tensor("q", q, shape=tuple(p.shape), dtype="float", dims=dims)


def total_variation(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """TVD(p, q) = 1/2 sum_i |p_i - q_i| over the last dim: (..., K), (..., K) -> (...). In [0, 1]."""
    _distributions(p, q)
    return 0.5 * (p - q).abs().sum(-1)


def js_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence over the last dim, in nats: (..., K), (..., K) -> (...). In [0, ln 2].

    JSD(p, q) = 1/2 KL(p || m) + 1/2 KL(q || m) with m = (p + q)/2; 0 log 0 = 0.
    """
    _distributions(p, q)
    m = (p + q) / 2

    def kl_to_m(x):
        safe = torch.where(x > 0, x, torch.ones_like(x))  # log(1) = 0 where x = 0, and m > 0 where x > 0
        return (x * (safe.log() - torch.where(x > 0, m, torch.ones_like(m)).log())).sum(-1)

    return 0.5 * kl_to_m(p) + 0.5 * kl_to_m(q)


def permute_weights(weights: torch.Tensor, mask: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shuffle each row's weights among its real positions (Jain & Wallace, Sec. 4.2).

    weights (B, S) float, mask (B, S) bool -> (B, S): the same values, at a
    random permutation of the real positions; padding keeps weight 0.
    """
    dims = check_tensor("weights", weights, shape=("B", "S"), dtype="float")
    check_tensor("mask", mask, shape=("B", "S"), dtype=torch.bool, dims=dims)
    B, S = weights.shape
    keys = torch.rand(B, S, generator=generator).to(weights.device)
    src = keys.masked_fill(~mask, 2.0).argsort(-1)  # real positions in random order, then padding
    dst = (~mask * S + torch.arange(S, device=weights.device)).argsort(-1)  # real positions in order, then padding
    return torch.zeros_like(weights).scatter(-1, dst, weights.gather(-1, src))


def move_mass_off(weights: torch.Tensor, drop: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Give the weight on ``drop`` positions to the other real positions, in proportion to theirs.

    weights (B, S), drop and mask (B, S) bool -> (B, S), zero on ``drop`` and on
    padding, summing to 1 over the rest. Rows where nothing else is real (or
    the rest had no weight) spread it uniformly over the rest.
    """
    dims = check_tensor("weights", weights, shape=("B", "S"), dtype="float")
    check_tensor("drop", drop, shape=("B", "S"), dtype=torch.bool, dims=dims)
    check_tensor("mask", mask, shape=("B", "S"), dtype=torch.bool, dims=dims)
    keep = mask & ~drop
    kept = weights * keep
    total = kept.sum(-1, keepdim=True)
    uniform = keep / keep.sum(-1, keepdim=True).clamp_min(1)
    return torch.where(total > 1e-12, kept / total.clamp_min(1e-12), uniform.to(weights.dtype))


def adversarial_weights(
    model: DocumentClassifier,
    encoded: Encoded,
    weights: torch.Tensor,
    *,
    steps: int = 150,
    lr: float = 0.2,
    epsilon: float = 0.01,
    penalty: float = 50.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sentence weights as far as possible from ``weights`` that barely change the output
    (Jain & Wallace 2019, Sec. 4.3, by penalised gradient ascent).

    Maximises ``JSD(w', w) - penalty * relu(TVD(y(w'), y(w)) - epsilon)`` over
    w' = masked_softmax(z), with Adam on the free scores z (started at log w
    plus noise, since JSD has zero gradient at w' = w). y(w) is the predicted
    distribution from :meth:`DocumentClassifier.classify`. The model is not changed.
    Returns w' (B, N), detached.
    """
    check_positive("steps", steps)
    mask = encoded.mask
    check_tensor("weights", weights, shape=tuple(mask.shape), dtype="float")
    states = Encoded(encoded.states.detach(), mask, encoded.word_weights.detach())
    with torch.no_grad():
        target = torch.softmax(model.classify(states, weights), -1)
    noise = torch.randn(weights.shape, generator=generator).to(weights.device)
    z = (weights.clamp_min(1e-6).log() + noise).masked_fill(~mask, 0.0).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    for _ in range(steps):
        w = masked_softmax(z, mask)
        y = torch.softmax(model.classify(states, w), -1)
        objective = js_divergence(w, weights) - penalty * F.relu(total_variation(y, target) - epsilon)
        (z.grad,) = torch.autograd.grad(-objective.sum(), z)  # only z moves; the model's gradients stay untouched
        opt.step()
    return masked_softmax(z.detach(), mask)


@dataclass(frozen=True)
class PermutationResult:
    """What :func:`permutation_experiment` measured on its held-out documents: the model's
    ``accuracy``, its mean sentence weight on the key sentence (``key_mass``), and the share
    of its decisions that change when its sentence weights are permuted (``changed``)."""

    accuracy: float
    key_mass: float
    changed: float
    n_test: int


def permutation_experiment(
    *, seed: int = 0, n_train: int = 256, n_test: int = 200, steps: int = 30, width: int = 16
) -> PermutationResult:
    """Jain & Wallace's permutation test, small enough to run in a fraction of a second on a CPU.

    Trains a HAN without its BiRNNs (``encoder="none"``: attention pooling over the word
    embeddings, then over the sentence vectors) on ``n_train`` documents with neutral
    distractors, one sentiment word and no negation (without an encoder a weighted sum of
    word vectors cannot read ``not``), by full-batch Adam for ``steps`` steps. Then, on
    ``n_test`` new documents, it permutes each document's sentence weights among its real
    sentences (:func:`permute_weights`) and counts the decisions that change. Deterministic
    in ``seed``; the global RNG and torch's thread count are left as they were (it runs on
    one thread, the fastest for tensors this small).
    """
    for name, value in (("n_train", n_train), ("n_test", n_test), ("steps", steps), ("width", width)):
        check_positive(name, value)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _permutation_experiment(seed, n_train, n_test, steps, width)
    finally:
        torch.set_num_threads(threads)


def _permutation_experiment(seed: int, n_train: int, n_test: int, steps: int, width: int) -> PermutationResult:
    shape = dict(sentences=(4, 6), words=(3, 6), key_words=(1,), negation=0.0)
    train = sentiment_documents(n_train, seed=seed, **shape)
    test = sentiment_documents(n_test, seed=seed + 1, **shape)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cfg = ClassifierConfig.for_data(train, emb_dim=width, hidden_size=width, attn_dim=8, encoder="none")
        model = DocumentClassifier(cfg)
        opt = torch.optim.Adam(model.parameters(), lr=0.1)
        batch = train.batch()
        for _ in range(steps):
            loss = classification_loss(model, batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
    held_out = test.batch()
    with torch.no_grad(), eval_mode(model):
        enc = model.encode(held_out.ids)
        document, weights = model.document(enc)
        decision = model.out(document).argmax(-1)
        permuted = permute_weights(weights, enc.mask, torch.Generator().manual_seed(seed))
        changed = (model.classify(enc, permuted).argmax(-1) != decision).float().mean().item()
        rows = torch.arange(len(held_out))
        return PermutationResult(
            accuracy=(decision == held_out.labels).float().mean().item(),
            key_mass=weights[rows, held_out.key_sentence].mean().item(),
            changed=changed,
            n_test=len(held_out),
        )

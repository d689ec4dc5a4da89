"""Chapter 8 exercises (contextual embeddings): nearest neighbours by cosine in a static embedding,
one highway layer, ELMo's scalar mix, the ELMo vector assembled from the learner's scalar mix,
a "predict, then run" question on which biLM layers depend on the context, and ULMFiT's slanted
triangular learning rates.

Learner functions, as the notebook's stubs declare them::

    def my_nearest_words(vectors, words, word, k)          # (V, D) float, V words, a word, k -> list of k words
    def my_highway(x, W_h, b_h, W_t, b_t)                   # (..., D), (D, D), (D,), (D, D), (D,) -> (..., D)
    def my_scalar_mix(layers, s, gamma)                     # (J, ..., D), (J,), float -> (..., D)
    def my_elmo_vector(token, forward, backward, s, gamma)  # (T, P), (L, T, P), (L, T, P), (L+1,), float -> (T, 2P)
    def my_nearest_centroid(train_x, train_labels, test_x)  # (N, D), N senses, (M, D) -> list of M senses
    def my_context_prediction()                             # -> one of CONTEXT_CHOICES
    def my_stlr(t, T, cut_frac, ratio)                      # (N,) long iterations -> (N,) float factors

References: :meth:`coursekit.wordvectors.WordVectors.nearest`, :class:`coursekit.elmo.Highway`
(AllenNLP's carry-gate form, loaded with the paper's transform-gate weights),
:class:`coursekit.elmo.ScalarMix`, :class:`coursekit.contextual_experiments.SenseCentroids`, :func:`coursekit.ulmfit.stlr`; the prediction is measured by
:func:`coursekit.elmo.elmo_layers` on a small ELMo with random weights.
Legend: V words, D width, N training and M test occurrences, J layers mixed, L LSTM layers, T tokens, P width of one direction,
N iterations.

By the time of these checks the notebook has imported ``torch`` (each stub cell imports what else
its hints name).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..contextual_experiments import SenseCentroids
from ..elmo import ELMo, ElmoConfig, Highway, ScalarMix, elmo_layers
from ..ulmfit import stlr
from ..wordvectors import WordVectors
from .predict import Measured, Prediction, prediction_checker
from .spec import Case, Exercise, Mistake, checker

__all__ = [
    "check_nearest_words",
    "check_highway",
    "check_scalar_mix",
    "check_elmo_vector",
    "check_nearest_centroid",
    "check_context_prediction",
    "check_stlr",
]


# ----------------------------------------------------------------------------- nearest words by cosine
def _indices(got, expected, case) -> bool:
    """The learner returned indices (a tensor, or a list of numbers) where names were asked for."""
    return isinstance(got, torch.Tensor) or (isinstance(got, (list, tuple)) and len(got) > 0 and not isinstance(got[0], str))


def _nearest(vectors, words, word, k):
    return [w for w, _ in WordVectors(tuple(words), vectors, "the exercise").nearest(word, k)]


def _nearest_by(score, *, keep_self=False, largest=True):
    """The k words ranked by ``score(vectors, i) -> (V,)``, with one thing done differently."""

    def fn(vectors, words, word, k):
        i = list(words).index(word)
        s = score(vectors.float(), i)
        if not keep_self:
            s = s.clone()
            s[i] = -math.inf if largest else math.inf
        top = s.topk(k, largest=largest).indices
        return [words[j] for j in top.tolist()]

    return fn


def _words_cases(g):
    def case(V, D, word, k):
        scale = torch.exp(torch.randn(V, 1, generator=g))  # rows of very different lengths
        vectors = torch.randn(V, D, generator=g) * scale
        return (vectors, [f"w{i}" for i in range(V)], f"w{word}", k)

    return [
        Case("12 words of width 5 with very different lengths, k=3", case(12, 5, 4, 3)),
        Case("30 words of width 8, k=5", case(30, 8, 0, 5)),
        Case("8 words of width 3, k=1", case(8, 3, 7, 1)),
    ]


def _cos(vectors, i):
    return F.normalize(vectors, dim=1) @ F.normalize(vectors[i], dim=0)


check_nearest_words = checker(Exercise(
    name="nearest_words",
    title="nearest neighbours by cosine similarity",
    signature="(vectors, words, word, k)",
    reference=_nearest,
    reference_name="`WordVectors.nearest` of `coursekit.wordvectors`",
    doc="vectors (V, D) float, words: V strings (row i is words[i]), word: one of them, k >= 1 -> the list of "
    "the k other words whose vectors have the highest cosine similarity with word's, most similar first.",
    cases=_words_cases,
    outputs=("neighbours",),
    mistakes=(
        Mistake(
            what="you returned the neighbours' indices, not the words.",
            hint="Look the words up: `[words[j] for j in top.tolist()]` for the indices `top` of the k best.",
            test=_indices,
        ),
        Mistake(
            what="your list starts with the word itself: its cosine similarity with itself is 1, but it is not "
            "a neighbour.",
            hint="Leave the word out before ranking: set its own similarity to `-float('inf')` (or ask for "
            "k + 1 and drop the first).",
            output=_nearest_by(_cos, keep_self=True),
        ),
        Mistake(
            what="you ranked by the dot product: long vectors (frequent words, in real embeddings) win whatever "
            "their direction.",
            hint="Cosine similarity divides by both lengths: normalise every row (`vectors / vectors.norm(dim=1, "
            "keepdim=True)`) and the query, then take the dot products. Normalising only the query changes "
            "nothing in the ranking.",
            output=_nearest_by(lambda v, i: v @ v[i]),
        ),
        Mistake(
            what="you ranked by Euclidean distance: it mixes the vectors' lengths into the ranking.",
            hint="Compare directions, not positions: cosine similarity is the dot product of the unit vectors.",
            output=_nearest_by(lambda v, i: (v - v[i]).norm(dim=1), largest=False),
        ),
        Mistake(
            what="your list holds the least similar words: the ranking is upside down.",
            hint="The nearest neighbours have the *highest* cosine similarity: `topk(k)` (largest first), "
            "or sort in descending order.",
            output=_nearest_by(_cos, largest=False),
        ),
    ),
    value_hint="cos(a, b) = a . b / (|a| |b|); rank all other words by it, highest first, and return the first "
    "k words (strings), not their indices.",
))


# ----------------------------------------------------------------------------- one highway layer
def _highway(x, W_h, b_h, W_t, b_t):
    """Srivastava et al.'s transform gate t, written into AllenNLP's carry gate 1 - t = sigmoid(-(W_t x + b_t))."""
    D = x.shape[-1]
    layer = Highway(D, 1).to(x.dtype)
    with torch.no_grad():
        layer.layers[0].weight.copy_(torch.cat([W_h, -W_t]))
        layer.layers[0].bias.copy_(torch.cat([b_h, -b_t]))
        return layer(x)


def _highway_with(*, swap=False, act=F.relu, transpose=True, gate=torch.sigmoid):
    def fn(x, W_h, b_h, W_t, b_t):
        lin = (lambda W, b: x @ W.T + b) if transpose else (lambda W, b: x @ W + b)
        h, t = act(lin(W_h, b_h)), gate(lin(W_t, b_t))
        return t * x + (1 - t) * h if swap else t * h + (1 - t) * x

    return fn


def _highway_cases(g):
    def case(*lead, D, gate_bias=0.0):
        r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
        return (r(*lead, D), r(D, D) / math.sqrt(D), r(D), r(D, D) / math.sqrt(D), r(D) + gate_bias)

    return [
        Case("x (4, 6)", case(4, D=6)),
        Case("x (2, 3, 5): any leading dimensions", case(2, 3, D=5)),
        Case("x (3, 4), gate bias near -2 (the paper's start: mostly carry)", case(3, D=4, gate_bias=-2.0)),
    ]


check_highway = checker(Exercise(
    name="highway",
    title="one highway layer",
    signature="(x, W_h, b_h, W_t, b_t)",
    reference=_highway,
    reference_name="`coursekit.elmo.Highway` (one layer, with these weights)",
    doc="Srivastava et al. 2015, Eq. 3, with ELMo's ReLU: x (..., D), W_h, W_t (D, D) as nn.Linear weights "
    "(applied as x @ W.T + b), b_h, b_t (D,) -> y = t * relu(x W_h^T + b_h) + (1 - t) * x, "
    "t = sigmoid(x W_t^T + b_t).",
    cases=_highway_cases,
    outputs=("y",),
    mistakes=(
        Mistake(
            what="your gate is the wrong way round: t multiplies the input x and 1 - t the transform.",
            hint="t is the *transform* gate: y = t * H(x) + (1 - t) * x, so t = 0 carries x through unchanged "
            "(and a bias of -2 starts the layer close to the identity).",
            output=_highway_with(swap=True),
        ),
        Mistake(
            what="your transform H(x) has no nonlinearity: x W_h^T + b_h alone.",
            hint="ELMo's highway applies a ReLU to the transform: `torch.relu(x @ W_h.T + b_h)`.",
            output=_highway_with(act=lambda z: z),
        ),
        Mistake(
            what="your transform uses tanh; ELMo's highway layers (AllenNLP's) use a ReLU.",
            hint="Use `torch.relu(x @ W_h.T + b_h)` for H(x).",
            output=_highway_with(act=torch.tanh),
        ),
        Mistake(
            what="your gate has no sigmoid, so it is not between 0 and 1.",
            hint="t = `torch.sigmoid(x @ W_t.T + b_t)`: a weight between 0 and 1 for each feature.",
            output=_highway_with(gate=lambda z: z),
        ),
        Mistake(
            what="you multiplied by W rather than by its transpose: the weights are stored as nn.Linear's, "
            "(out, in).",
            hint="nn.Linear computes `x @ W.T + b`: write `x @ W_h.T + b_h` and `x @ W_t.T + b_t`.",
            output=_highway_with(transpose=False),
        ),
    ),
    value_hint="t = sigmoid(x @ W_t.T + b_t); y = t * relu(x @ W_h.T + b_h) + (1 - t) * x, elementwise.",
))


# ----------------------------------------------------------------------------- the scalar mix
def _scalar_mix(layers, s, gamma):
    mix = ScalarMix(layers.shape[0]).to(layers.dtype)
    with torch.no_grad():
        mix.scalars.copy_(s)
        mix.gamma.fill_(gamma)
        return mix(layers)


def _weighted(layers, w, gamma):
    return gamma * (w.view(-1, *[1] * (layers.dim() - 1)) * layers).sum(0)


def _mix_cases(g):
    r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    return [
        Case("layers (3, 5, 8), gamma 0.5", (r(3, 5, 8), r(3), 0.5)),
        Case("layers (3, 2, 4, 6): any middle dimensions, gamma 1.7", (r(3, 2, 4, 6), 2 * r(3), 1.7)),
        Case("layers (4, 7, 5): four layers, gamma 1.0", (r(4, 7, 5), r(4), 1.0)),
    ]


check_scalar_mix = checker(Exercise(
    name="scalar_mix",
    title="ELMo's scalar mix",
    signature="(layers, s, gamma)",
    reference=_scalar_mix,
    reference_name="`coursekit.elmo.ScalarMix`",
    doc="Peters et al. 2018, Eq. 1: layers (J, ..., D) float, s (J,) float (unnormalised), gamma float -> "
    "(..., D): gamma * sum_j softmax(s)_j * layers[j].",
    cases=_mix_cases,
    outputs=("mixed",),
    mistakes=(
        Mistake(
            what="you weighted the layers by s itself: the weights must be softmax-normalised.",
            hint="Eq. 1 uses softmax-normalised weights: `w = torch.softmax(s, dim=0)`, positive and summing to 1.",
            output=lambda layers, s, gamma: _weighted(layers, s, gamma),
        ),
        Mistake(
            what="you divided s by its sum: that is not a softmax (the weights can be negative or blow up).",
            hint="Use `torch.softmax(s, dim=0)`: exp, then divide by the sum of the exps.",
            output=lambda layers, s, gamma: _weighted(layers, s / s.sum(), gamma),
        ),
        Mistake(
            what="the scale gamma is missing.",
            hint="Multiply the weighted sum by gamma: it lets each task rescale the whole ELMo vector.",
            output=lambda layers, s, gamma: _weighted(layers, torch.softmax(s, 0), 1.0),
        ),
        Mistake(
            what="you averaged the layers with equal weights: s is ignored.",
            hint="The weights are learned: `torch.softmax(s, dim=0)`, one per layer, broadcast over the other "
            "dimensions (`w.view(-1, *[1] * (layers.dim() - 1))`).",
            output=lambda layers, s, gamma: gamma * layers.mean(0),
        ),
    ),
    value_hint="w = softmax(s) over the J layers; mixed = gamma * sum_j w[j] * layers[j], a (..., D) tensor.",
))


# ----------------------------------------------------------------------------- the ELMo vector (assembling)
def _stack(token, forward, backward, *, order="fb", layer0="xx", flip=False):
    """(L+1, T, 2P): layer 0 from the token representation, layer j the two directions side by side."""
    zero = {"xx": token, "x0": torch.zeros_like(token)}[layer0]
    rows = [torch.cat([token, zero], -1)]
    for f, b in zip(forward, backward):
        b = b.flip(0) if flip else b
        rows.append(torch.cat([f, b] if order == "fb" else [b, f], -1))
    return torch.stack(rows)


def _elmo_vector(token, forward, backward, s, gamma):
    return _scalar_mix(_stack(token, forward, backward), s, gamma)


def _elmo_cases(g):
    def case(L, T, P):
        r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
        return (r(T, P), r(L, T, P), r(L, T, P), r(L + 1), 0.8)

    return [
        Case("L=2 layers, T=5 tokens, P=4", case(2, 5, 4)),
        Case("L=1 layer, T=3 tokens, P=6", case(1, 3, 6)),
        Case("L=3 layers, T=7 tokens, P=2", case(3, 7, 2)),
    ]


check_elmo_vector = checker(Exercise(
    name="elmo_vector",
    title="the ELMo vector, assembled with your scalar mix",
    signature="(token, forward, backward, s, gamma)",
    reference=_elmo_vector,
    reference_name="`coursekit.elmo.ScalarMix` over the biLM's layers as `coursekit.elmo.ELMo` stacks them",
    doc="""Peters et al. 2018, Sec. 3.2: token (T, P) the character CNN's x_k, forward and backward (L, T, P) each
    LSTM layer's states, already aligned with the tokens, s (L+1,), gamma float -> (T, 2P): layer 0 = [x; x],
    layer j = [forward[j-1]; backward[j-1]], mixed with my_scalar_mix.""",
    cases=_elmo_cases,
    outputs=("elmo",),
    mistakes=(
        Mistake(
            what="your layers put the backward states first: the convention is [forward; backward].",
            hint="Concatenate in the order `torch.cat([forward[j], backward[j]], dim=-1)`, and layer 0 as "
            "`torch.cat([token, token], dim=-1)`.",
            output=lambda t, f, b, s, gamma: _scalar_mix(_stack(t, f, b, order="bf"), s, gamma),
        ),
        Mistake(
            what="your layer 0 is [x; 0]: the token representation belongs in both halves.",
            hint="Write x twice, `torch.cat([token, token], dim=-1)`: both directions start from the same x_k, "
            "and every layer is then 2P wide.",
            output=lambda t, f, b, s, gamma: _scalar_mix(_stack(t, f, b, layer0="x0"), s, gamma),
        ),
        Mistake(
            what="you reversed the backward states in time: they are already aligned with the tokens "
            "(backward[j, t] belongs to token t).",
            hint="Use `backward[j]` as it is; the reversal happened inside the biLM.",
            output=lambda t, f, b, s, gamma: _scalar_mix(_stack(t, f, b, flip=True), s, gamma),
        ),
        Mistake(
            what="you mixed only the LSTM layers (with s[1:]): the token layer 0 is one of the L + 1 layers.",
            hint="Stack L + 1 layers, [x; x] first, then each [forward[j]; backward[j]], and mix them with all of s.",
            output=lambda t, f, b, s, gamma: _scalar_mix(_stack(t, f, b)[1:], s[1:], gamma),
        ),
        Mistake(
            what="your layers are right, but they are mixed with the raw s as weights, not softmax(s).",
            hint="The mix is the part to fix: run `check_scalar_mix(my_scalar_mix)` and make it pass first "
            "(the weights are `torch.softmax(s, dim=0)`).",
            output=lambda t, f, b, s, gamma: _weighted(_stack(t, f, b), s, gamma),
        ),
        Mistake(
            what="you used the top layer only, scaled by gamma: ELMo mixes every layer.",
            hint="Stack all L + 1 layers into an (L+1, T, 2P) tensor with `torch.stack` and pass it to your "
            "`my_scalar_mix` with s and gamma.",
            output=lambda t, f, b, s, gamma: gamma * _stack(t, f, b)[-1],
        ),
    ),
    value_hint="layers = torch.stack([cat(token, token)] + [cat(forward[j], backward[j]) for each j]) of shape "
    "(L+1, T, 2P), then my_scalar_mix(layers, s, gamma).",
))


# ----------------------------------------------------------------------------- nearest centroid
def _centroid(train_x, train_labels, test_x):
    centroids = SenseCentroids.fit(train_x[None], list(train_labels))
    return [centroids.nearest(v[None])[0][0] for v in test_x]


def _centroid_with(*, unit_first=True, unit_centroids=True, distance=False):
    def fn(train_x, train_labels, test_x):
        classes = sorted(set(train_labels))
        x = F.normalize(train_x, dim=1) if unit_first else train_x
        means = torch.stack([x[[lab == c for lab in train_labels]].mean(0) for c in classes])  # (C, D)
        if distance:
            best = torch.cdist(test_x, means).argmin(1)
        else:
            m = F.normalize(means, dim=1) if unit_centroids else means
            best = (F.normalize(test_x, dim=1) @ m.T).argmax(1)
        return [classes[i] for i in best.tolist()]

    return fn


def _centroid_cases(g):
    def case(C, D, n, m, spread):
        directions = torch.randn(C, D, generator=g)  # one direction per sense

        def draw(k):
            y = torch.randint(0, C, (k,), generator=g)
            x = directions[y] + spread * (0.3 + y[:, None]) * torch.randn(k, D, generator=g)  # tight to loose senses
            return x * torch.exp(1.2 * torch.randn(k, 1, generator=g)), y  # lengths that vary a lot

        senses = ("bird", "dodge", "food", "fabric")[:C]
        (tx, ty), (vx, _) = draw(n), draw(m)
        ty[:C] = torch.arange(C)  # every sense has a training example
        return (tx, [senses[i] for i in ty.tolist()], vx)

    return [
        Case("3 senses, 30 training and 40 test vectors of width 6", case(3, 6, 30, 40, 1.0)),
        Case("2 senses, 12 training and 20 test vectors of width 4", case(2, 4, 12, 20, 1.2)),
        Case("4 senses, 40 training and 40 test vectors of width 8", case(4, 8, 40, 40, 1.5)),
    ]


check_nearest_centroid = checker(Exercise(
    name="nearest_centroid",
    title="nearest-centroid sense classification",
    signature="(train_x, train_labels, test_x)",
    reference=_centroid,
    reference_name="`coursekit.contextual_experiments.SenseCentroids`",
    doc="train_x (N, D) float, train_labels: N sense names, test_x (M, D) float -> the list of M sense names: "
    "each sense's centroid is the mean of its unit-length training vectors, normalised again; a test vector "
    "gets the sense of the centroid with the highest cosine similarity.",
    cases=_centroid_cases,
    outputs=("senses",),
    mistakes=(
        Mistake(
            what="you returned the senses' indices, not their names.",
            hint="Return the names: with `classes = sorted(set(train_labels))`, `[classes[i] for i in best.tolist()]`.",
            test=_indices,
        ),
        Mistake(
            what="you averaged the raw training vectors: a few long vectors pull their centroid towards them.",
            hint="Normalise each training vector first (`x / x.norm(dim=1, keepdim=True)`), then average per "
            "sense: every occurrence gets one vote of the same weight.",
            output=_centroid_with(unit_first=False),
        ),
        Mistake(
            what="you compared with the centroids without normalising them: a sense whose vectors agree has a "
            "longer mean and wins too often.",
            hint="Normalise the centroids too, so that the score is a cosine similarity: "
            "`centroids / centroids.norm(dim=1, keepdim=True)`.",
            output=_centroid_with(unit_centroids=False),
        ),
        Mistake(
            what="you took the nearest centroid by Euclidean distance: the test vectors' lengths decide, not "
            "their directions.",
            hint="Use cosine similarity: the dot product of the unit test vector with each unit centroid, "
            "highest wins.",
            output=_centroid_with(distance=True),
        ),
    ),
    value_hint="centroid of a sense = mean of its unit training vectors, then normalised; prediction = the sense "
    "whose centroid has the largest dot product with the unit test vector.",
))


# ----------------------------------------------------------------------------- predict: which layers see the context
CONTEXT_CHOICES = ("no layer", "only layer 0", "only the LSTM layers", "every layer")
CONTEXT_PROBE = dict(
    sentences=("a duck swam across the pond", "we ate roast duck with rice"),
    positions=(1, 3),  # where "duck" is in each sentence
    config=ElmoConfig(filters=((1, 8), (2, 8), (3, 16)), projection_dim=16, lstm_dim=16, vocab_size=20, max_characters=10),
    seed=0,
)
"""The prediction's experiment: a small ELMo with random weights, seeded, well under a second."""


def measure_context(probe: dict = CONTEXT_PROBE) -> Measured:
    """The distance between the two "duck" vectors at every layer of a small random ELMo
    (:func:`coursekit.elmo.elmo_layers`), and which layers it is not zero at."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(probe["seed"])
        model = ELMo(probe["config"])
    a, b = elmo_layers(model, list(probe["sentences"]))
    (i, j) = probe["positions"]
    dist = [float((a[layer, i] - b[layer, j]).norm()) for layer in range(a.shape[0])]
    moved = [d > 1e-5 for d in dist]
    if not any(moved):
        answer = "no layer"
    elif all(moved):
        answer = "every layer"
    elif moved == [True] + [False] * (len(moved) - 1):
        answer = "only layer 0"
    elif not moved[0] and all(moved[1:]):
        answer = "only the LSTM layers"
    else:
        raise ValueError(f"an unexpected pattern of distances: {dist}")
    shown = ", ".join(f"layer {k}: {d:.3f}" for k, d in enumerate(dist))
    return Measured(
        answer,
        f'distance between the two "duck" vectors ("{probe["sentences"][0]}" / "{probe["sentences"][1]}") in a '
        f"small ELMo with random weights: {shown}.",
    )


check_context_prediction = prediction_checker(Prediction(
    name="context_prediction",
    title="predict: which of the biLM's layers give \"duck\" a different vector in two sentences?",
    question='"duck" appears in two different sentences. In which layers of ELMo\'s biLM do its two vectors differ: '
    '"no layer", "only layer 0" (the character CNN), "only the LSTM layers", or "every layer"?',
    choices=CONTEXT_CHOICES,
    measure=measure_context,
    why="Layer 0 is computed from the word's characters alone, so it is a static vector: the same in every "
    "sentence. The LSTMs read the words before (forward) and after (backward), so from layer 1 up the vector "
    "depends on the sentence, even before any training.",
))


# ----------------------------------------------------------------------------- slanted triangular learning rates
def _stlr(t, T, cut_frac, ratio):
    return torch.tensor([stlr(int(i), T, cut_frac, ratio) for i in t.tolist()])


def _stlr_with(*, cut=math.floor, floor=True, divide=True, lift=True, span="paper"):
    def fn(t, T, cut_frac, ratio):
        c = cut(T * cut_frac)
        n = c * (1 / cut_frac - 1) if span == "paper" else T - c
        t = t.double()
        p = torch.where(t < c, t / c, 1 - (t - c) / n)
        if floor:
            p = p.clamp_min(0)
        if not lift:
            return p
        return (1 + p * (ratio - 1)) / (ratio if divide else 1)

    return fn


def _stlr_cases(g):
    return [
        Case("T=100, cut_frac=0.1, ratio=32 (the paper's settings)", (torch.arange(101), 100, 0.1, 32.0)),
        Case("T=25, cut_frac=0.1, ratio=32 (T * cut_frac = 2.5)", (torch.arange(26), 25, 0.1, 32.0)),
        Case("T=40, cut_frac=0.25, ratio=8, a few iterations", (torch.tensor([0, 3, 10, 11, 25, 40]), 40, 0.25, 8.0)),
    ]


check_stlr = checker(Exercise(
    name="stlr",
    title="slanted triangular learning rates",
    signature="(t, T, cut_frac, ratio)",
    reference=_stlr,
    reference_name="`coursekit.ulmfit.stlr`",
    doc="""Howard & Ruder 2018, Eq. 3, divided by eta_max: t (N,) long iterations in 0..T, T total iterations ->
    (N,) float: cut = floor(T * cut_frac); p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1));
    factor = (1 + p * (ratio - 1)) / ratio, never below 1 / ratio.""",
    cases=_stlr_cases,
    outputs=("factor",),
    mistakes=(
        Mistake(
            what="your rate goes below eta_max / ratio near the end: when T * cut_frac is not a whole number, "
            "Eq. 3's p turns negative before t = T.",
            hint="Floor p at zero (`p.clamp_min(0)`), so the rate stops at eta_max / ratio.",
            output=_stlr_with(floor=False),
        ),
        Mistake(
            what="your cut is T * cut_frac itself, not rounded down: it must be a whole iteration.",
            hint="cut = `math.floor(T * cut_frac)`: the iteration at which the rate peaks.",
            output=_stlr_with(cut=lambda x: x),
        ),
        Mistake(
            what="your cut is rounded up: Eq. 3 rounds it down.",
            hint="cut = `math.floor(T * cut_frac)`, not `math.ceil`: the peak is at the last whole iteration "
            "within the first cut_frac of training.",
            output=_stlr_with(cut=math.ceil),
        ),
        Mistake(
            what="you decayed over T - cut iterations; Eq. 3 decays over cut * (1 / cut_frac - 1), which is the "
            "same only when T * cut_frac is a whole number.",
            hint="Write the decay as in the paper: p = 1 - (t - cut) / (cut * (1 / cut_frac - 1)).",
            output=_stlr_with(span="T"),
        ),
        Mistake(
            what="your factor is not divided by ratio: it runs from 1 up to ratio instead of from 1 / ratio to 1.",
            hint="eta_t = eta_max * (1 + p (ratio - 1)) / ratio: divide by ratio, so the peak factor is 1.",
            output=_stlr_with(divide=False),
        ),
        Mistake(
            what="your factor is p itself: it starts and ends at 0 instead of 1 / ratio.",
            hint="Lift p into [1 / ratio, 1]: factor = (1 + p * (ratio - 1)) / ratio.",
            output=_stlr_with(lift=False),
        ),
    ),
    value_hint="cut = floor(T * cut_frac); p = t / cut before cut, 1 - (t - cut) / (cut (1 / cut_frac - 1)) "
    "after, floored at 0; factor = (1 + p (ratio - 1)) / ratio, a float tensor like t.",
))

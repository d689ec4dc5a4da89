"""Word senses whose truth is known, and probes that read them (and part of speech) off
each layer of a model (Chapter 8).

Two data sets:

- **A small grammar** (:func:`sense_sentences`): English sentences around four ambiguous
  words, "duck" (the bird, the verb "to dodge", the food), "bank" (of a river, for money),
  "bat" (the animal, the club) and "bark" (of a tree, the dog's verb). Each sense has its
  own templates, whose other words (fillers drawn from small word lists) fit that sense
  only, so the sense is fixed by context by construction; every token carries its
  universal part-of-speech tag (Petrov, Das & McDonald, 2012, "A Universal Part-of-Speech
  Tagset", LREC). It is a compact grammar of its own: the translation grammar of Chapters
  2 and 5 (:mod:`coursekit.translation`) has one ambiguous word ("bat").
- **Natural English** (:func:`duck_sentences`): 36 hand-written sentences with "duck", 12 per
  sense, written for this course rather than sampled from a corpus.

Probes (Peters et al., 2018, https://arxiv.org/abs/1802.05365, Sec. 5.3, Tables 5 and 6:
the biLM's first layer is better for part of speech, the second for word sense):

- :func:`nearest_centroid_accuracy`: each held-out vector gets the label of the nearest
  class mean (cosine), the paper's 1-nearest-neighbour sense disambiguation made cheaper.
- :func:`probe_layers`: a linear probe (multinomial logistic regression, full-batch Adam
  from zero weights, no randomness but the split) per layer, and optionally one on the scalar mix of all layers
  (:class:`coursekit.elmo.ScalarMix`). Its learned weights come from one small joint fit
  over standardised layers: a description of that fit, not an independent test of which
  layer holds the information.

Legend: N examples (tokens), D feature width, L+1 layers, C classes.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Sequence

import torch
import torch.nn.functional as F

from .elmo import ScalarMix
from .utils import check_bool, check_int, check_positive, check_real
from .wordvectors import tokenize

__all__ = [
    "SENSES",
    "SenseSentence",
    "sense_sentences",
    "duck_sentences",
    "stratified_split",
    "nearest_centroid_accuracy",
    "ProbeResult",
    "probe_layers",
    "at_positions",
    "all_tokens",
    "pca_2d",
]

# ------------------------------------------------------------------ the grammar
# Filler lists: slot -> (universal POS tag, words).
_SLOTS: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType({
    "NAME": ("PROPN", ("anna", "tom", "maria", "sam", "leo", "kate")),
    "PERSON": ("NOUN", ("boy", "girl", "farmer", "teacher", "child", "woman")),
    "WE": ("PRON", ("we", "they", "i", "you")),
    "WATER": ("NOUN", ("pond", "lake", "river", "stream")),
    "COLOUR": ("ADJ", ("white", "brown", "black", "grey")),
    "SIZE": ("ADJ", ("small", "big", "young", "old")),
    "LOW": ("NOUN", ("branch", "beam", "fence", "doorway")),
    "THROWN": ("NOUN", ("punch", "ball", "snowball", "question")),
    "COVER": ("NOUN", ("wall", "car", "door", "hedge")),
    "SIDE": ("NOUN", ("rice", "potatoes", "noodles", "salad")),
    "COOK": ("NOUN", ("chef", "cook")),
    "SHORE": ("ADJ", ("muddy", "steep", "grassy", "sandy")),
    "MONEY": ("NOUN", ("money", "cash", "funds")),
    "DARK": ("NOUN", ("cave", "barn", "attic", "tunnel")),
    "WOOD": ("ADJ", ("wooden", "heavy", "new", "broken")),
    "TREE": ("NOUN", ("oak", "birch", "pine", "tree")),
    "ROUGH": ("ADJ", ("rough", "smooth", "thick", "thin")),
    "DOG": ("NOUN", ("dog", "puppy", "terrier", "hound")),
    "DOGS": ("NOUN", ("dogs", "puppies", "terriers", "hounds")),
    "VISITOR": ("NOUN", ("postman", "stranger", "cat", "neighbour")),
})

# word -> sense -> templates. A token is word/TAG, {SLOT}, or *word/TAG (the ambiguous word).
SENSES: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "duck": MappingProxyType({
        "bird": (
            "the/DET {COLOUR} *duck/NOUN swam/VERB across/ADP the/DET {WATER}",
            "a/DET {SIZE} *duck/NOUN landed/VERB on/ADP the/DET {WATER}",
            "{NAME} fed/VERB the/DET *duck/NOUN some/DET bread/NOUN",
            "the/DET *duck/NOUN quacked/VERB at/ADP the/DET {PERSON}",
            "the/DET {SIZE} *duck/NOUN laid/VERB an/DET egg/NOUN by/ADP the/DET {WATER}",
        ),
        "dodge": (
            "{WE} had/VERB to/PART *duck/VERB under/ADP the/DET {LOW}",
            "the/DET {PERSON} tried/VERB to/PART *duck/VERB the/DET {THROWN}",
            "{NAME} will/AUX *duck/VERB behind/ADP the/DET {COVER}",
        ),
        "food": (
            "{WE} ate/VERB roast/ADJ *duck/NOUN with/ADP {SIDE}",
            "the/DET {COOK} cooked/VERB the/DET *duck/NOUN with/ADP {SIDE}",
            "{NAME} ordered/VERB crispy/ADJ *duck/NOUN and/CCONJ {SIDE}",
            "the/DET restaurant/NOUN serves/VERB *duck/NOUN with/ADP orange/ADJ sauce/NOUN",
            "{NAME} sliced/VERB the/DET roast/ADJ *duck/NOUN for/ADP dinner/NOUN",
        ),
    }),
    "bank": MappingProxyType({
        "river": (
            "{WE} sat/VERB on/ADP the/DET *bank/NOUN of/ADP the/DET {WATER}",
            "{NAME} fished/VERB from/ADP the/DET {SHORE} *bank/NOUN",
            "reeds/NOUN grew/VERB along/ADP the/DET {SHORE} *bank/NOUN",
            "the/DET {WATER} flooded/VERB its/PRON *bank/NOUN",
            "the/DET {PERSON} walked/VERB along/ADP the/DET *bank/NOUN of/ADP the/DET {WATER}",
        ),
        "money": (
            "{NAME} paid/VERB the/DET {MONEY} into/ADP the/DET *bank/NOUN",
            "{WE} borrowed/VERB {MONEY} from/ADP the/DET *bank/NOUN",
            "the/DET *bank/NOUN raised/VERB its/PRON interest/NOUN rates/NOUN",
            "the/DET {PERSON} opened/VERB an/DET account/NOUN at/ADP the/DET *bank/NOUN",
            "the/DET *bank/NOUN lent/VERB {MONEY} to/ADP the/DET {PERSON}",
        ),
    }),
    "bat": MappingProxyType({
        "animal": (
            "a/DET {COLOUR} *bat/NOUN flew/VERB out/ADP of/ADP the/DET {DARK}",
            "the/DET *bat/NOUN sleeps/VERB upside/ADV down/ADV in/ADP the/DET {DARK}",
            "{NAME} saw/VERB a/DET {SIZE} *bat/NOUN catch/VERB moths/NOUN",
            "the/DET *bat/NOUN hunts/VERB insects/NOUN at/ADP night/NOUN",
            "{WE} watched/VERB the/DET *bat/NOUN leave/VERB the/DET {DARK}",
        ),
        "club": (
            "{NAME} swung/VERB the/DET *bat/NOUN and/CCONJ hit/VERB the/DET ball/NOUN",
            "the/DET {PERSON} bought/VERB a/DET new/ADJ cricket/NOUN *bat/NOUN",
            "{WE} gripped/VERB the/DET {WOOD} *bat/NOUN with/ADP both/DET hands/NOUN",
            "the/DET {PERSON} dropped/VERB the/DET {WOOD} *bat/NOUN",
            "{NAME} hit/VERB the/DET ball/NOUN with/ADP a/DET {WOOD} *bat/NOUN",
        ),
    }),
    "bark": MappingProxyType({
        "tree": (
            "the/DET *bark/NOUN of/ADP the/DET {TREE} is/AUX {ROUGH}",
            "{NAME} peeled/VERB the/DET *bark/NOUN off/ADP the/DET {TREE}",
            "beetles/NOUN live/VERB under/ADP the/DET {ROUGH} *bark/NOUN",
            "the/DET {PERSON} touched/VERB the/DET *bark/NOUN of/ADP an/DET old/ADJ {TREE}",
        ),
        "dog": (
            "the/DET dogs/NOUN *bark/VERB at/ADP the/DET {VISITOR}",
            "{WE} heard/VERB the/DET puppies/NOUN *bark/VERB all/DET night/NOUN",
            "the/DET {DOG} will/AUX *bark/VERB at/ADP the/DET {VISITOR}",
            "{DOGS} *bark/VERB when/SCONJ the/DET {VISITOR} arrives/VERB",
            "{WE} heard/VERB the/DET {DOG} *bark/VERB at/ADP the/DET {VISITOR}",
        ),
    }),
})


@dataclass(frozen=True)
class SenseSentence:
    """One sentence: ``tokens[position] == word`` is used in sense ``sense``; ``tags`` are
    the universal POS tags of every token (None for the hand-written sentences)."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...] | None
    position: int
    word: str
    sense: str

    @property
    def label(self) -> str:
        """``"word:sense"``, e.g. ``"duck:food"``."""
        return f"{self.word}:{self.sense}"

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def _expand(template: str, word: str, sense: str) -> list[SenseSentence]:
    """Every sentence one template makes (the product of its slots' fillers), in a fixed order."""
    parts = template.split()
    choices = []
    for part in parts:
        if part.startswith("{"):
            tag, fillers = _SLOTS[part[1:-1]]
            choices.append([(w, tag) for w in fillers])
        else:
            w, tag = part.lstrip("*").split("/")
            choices.append([(w, tag)])
    position = next(i for i, p in enumerate(parts) if p.startswith("*"))
    return [
        SenseSentence(tuple(w for w, _ in combo), tuple(t for _, t in combo), position, word, sense)
        for combo in itertools.product(*choices)
    ]


def sense_sentences(n_per_sense: int = 30, words: Sequence[str] | None = None, seed: int = 0) -> tuple[SenseSentence, ...]:
    """``n_per_sense`` distinct sentences for every sense of each of ``words`` (default: all
    of :data:`SENSES`), drawn with ``seed`` from everything the sense's templates make, so
    the classes are balanced exactly. Ordered word by word, sense by sense; deterministic."""
    check_positive("n_per_sense", n_per_sense)
    check_int("seed", seed)
    words = tuple(SENSES) if words is None else tuple(words)
    if not words or any(w not in SENSES for w in words):
        raise ValueError(f"words must be a non-empty selection of {tuple(SENSES)}, got {words!r}")
    rng = random.Random(seed)
    out: list[SenseSentence] = []
    for word in words:
        for sense, templates in SENSES[word].items():
            pool = [s for t in templates for s in _expand(t, word, sense)]
            if n_per_sense > len(pool):
                raise ValueError(
                    f"n_per_sense must be at most {len(pool)} (the distinct sentences for {word}:{sense}), got {n_per_sense}"
                )
            out += rng.sample(pool, n_per_sense)
    return tuple(out)


_DUCK = {
    "bird": (
        "A duck paddled across the pond with six ducklings behind her.",
        "We watched a wild duck dive for weeds near the reeds.",
        "The duck shook the water from its feathers and waddled up the bank.",
        "A mallard is the most common duck in the park.",
        "The children threw bread to the hungry duck by the lake.",
        "That duck has built a nest in the tall grass.",
        "Every spring the duck returns to the same quiet stream.",
        "A duck flew low over the marsh at dawn.",
        "The farmer keeps a duck and three geese in the yard.",
        "I heard a duck quacking somewhere in the fog.",
        "The male duck has a bright green head.",
        "A fox crept toward the sleeping duck.",
    ),
    "dodge": (
        "I had to duck to get through the low doorway.",
        "Duck, or the ball will hit you!",
        "He tried to duck the question about taxes.",
        "She saw the punch coming and managed to duck.",
        "We had to duck under the fallen branches on the trail.",
        "Do not duck your responsibilities.",
        "The boxer learned to duck and weave.",
        "Players duck behind the wall when the snowballs start flying.",
        "You cannot duck out of the meeting again.",
        "The senator would not duck the reporters outside the hall.",
        "Remember to duck when you pass under the beam.",
        "The children duck their heads as the plane roars overhead.",
    ),
    "food": (
        "We ordered roast duck with plum sauce.",
        "The chef served crispy duck on a bed of rice.",
        "Peking duck is famous for its thin, crisp skin.",
        "She cooked duck breast with orange and honey.",
        "Smoked duck makes a rich salad for lunch.",
        "The restaurant's duck was tender and well seasoned.",
        "He sliced the duck and passed the plates around.",
        "A duck confit takes hours to prepare.",
        "For the holiday dinner they chose duck instead of turkey.",
        "The soup was made with leftover duck and noodles.",
        "Try the duck; it is the best dish on the menu.",
        "Grilled duck pairs well with a glass of red wine.",
    ),
}


def duck_sentences() -> tuple[SenseSentence, ...]:
    """36 hand-written English sentences with "duck", 12 per sense (bird, dodge, food), written
    for this course, not sampled from a corpus; tokenized with :func:`coursekit.wordvectors.tokenize` (so "Don't" would be
    three tokens); ``tags`` is None."""
    out = []
    for sense, texts in _DUCK.items():
        for text in texts:
            tokens = tuple(tokenize(text))
            out.append(SenseSentence(tokens, None, tokens.index("duck"), "duck", sense))
    return tuple(out)


# ------------------------------------------------------------------ features and splits
def at_positions(layers: Sequence[torch.Tensor], positions: Sequence[int]) -> torch.Tensor:
    """Stack one token's vectors per sentence: ``layers[i]`` (L+1, T_i, D) and
    ``positions[i]`` -> (L+1, N, D). Works for a static model too ((1, T_i, D) each)."""
    if len(layers) != len(positions) or not len(layers):
        raise ValueError(f"layers and positions must be non-empty and of equal length, got {len(layers)} and {len(positions)}")
    return torch.stack([h[:, p] for h, p in zip(layers, positions)], dim=1)


def all_tokens(layers: Sequence[torch.Tensor]) -> torch.Tensor:
    """Every token of every sentence: ``layers[i]`` (L+1, T_i, D) -> (L+1, sum T_i, D)."""
    if not len(layers):
        raise ValueError("layers must hold at least one sentence's (L+1, T, D) tensor")
    return torch.cat(list(layers), dim=1)


def pca_2d(features: torch.Tensor) -> torch.Tensor:
    """The first two principal components of ``features`` (N, D) -> (N, 2), for a sense map:
    centred, projected on the top two right singular vectors, each axis's sign fixed so its
    largest-magnitude coordinate is positive (deterministic)."""
    if not isinstance(features, torch.Tensor) or features.dim() != 2 or features.shape[0] < 2 or features.shape[1] < 2:
        got = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        raise ValueError(f"features must be an (N, D) tensor with N >= 2 and D >= 2, got {got}")
    x = features.double() - features.double().mean(0)  # (N, D)
    _, _, Vh = torch.linalg.svd(x, full_matrices=False)
    xy = x @ Vh[:2].T  # (N, 2)
    signs = torch.sign(xy.gather(0, xy.abs().argmax(0, keepdim=True)))  # (1, 2)
    return (xy * torch.where(signs == 0, 1.0, signs)).float()


def _label_ids(labels: Sequence) -> tuple[torch.Tensor, tuple]:
    classes = tuple(sorted(set(labels)))
    if len(classes) < 2:
        raise ValueError(f"labels must hold at least two classes, got {classes!r}")
    index = {c: i for i, c in enumerate(classes)}
    return torch.tensor([index[y] for y in labels], dtype=torch.long), classes


def stratified_split(
    labels: Sequence, test_fraction: float = 0.5, seed: int = 0, groups: Sequence | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and test indices (long tensors). Without ``groups``: within each class,
    ``round(test_fraction * count)`` examples (at least one, and one left to train on) go
    to the test set. With ``groups`` (e.g. the sentence of each token), whole groups are
    split that way instead, so no sentence is on both sides. Seeded."""
    check_real("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    check_int("seed", seed)
    rng = random.Random(seed)
    keys = list(labels) if groups is None else list(groups)
    if groups is not None and len(groups) != len(labels):
        raise ValueError(f"groups must have one entry per label ({len(labels)}), got {len(groups)}")
    if groups is None:
        buckets: dict = {}
        for i, y in enumerate(keys):
            buckets.setdefault(y, []).append(i)
        test = []
        for members in buckets.values():
            if len(members) < 2:
                raise ValueError("labels must hold at least two examples of every class for a held-out split")
            k = min(len(members) - 1, max(1, round(test_fraction * len(members))))
            test += rng.sample(members, k)
    else:
        distinct = sorted(set(keys), key=str)
        k = min(len(distinct) - 1, max(1, round(test_fraction * len(distinct))))
        if len(distinct) < 2:
            raise ValueError("groups must hold at least two distinct groups")
        chosen = set(rng.sample(distinct, k))
        test = [i for i, g in enumerate(keys) if g in chosen]
    is_test = torch.zeros(len(keys), dtype=torch.bool)
    is_test[test] = True
    return (~is_test).nonzero().squeeze(1), is_test.nonzero().squeeze(1)


def _check_features(features: torch.Tensor, n: int, name: str = "features") -> None:
    if not isinstance(features, torch.Tensor) or features.dim() != 2 or features.shape[0] != n:
        got = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        raise ValueError(f"{name} must be an (N, D) tensor with N = {n} (one row per label), got {got}")


def nearest_centroid_accuracy(
    features: torch.Tensor, labels: Sequence, *, test_fraction: float = 0.5, seed: int = 0
) -> float:
    """Held-out accuracy of nearest-centroid classification: the class means of the unit-
    normalised training vectors, and each test vector labelled by the most cosine-similar
    mean. ``features`` (N, D); a stratified split (:func:`stratified_split`)."""
    y, _ = _label_ids(labels)
    _check_features(features, len(y))
    train, test = stratified_split(labels, test_fraction, seed)
    x = F.normalize(features.float(), dim=1)  # (N, D)
    C = int(y.max()) + 1
    centroids = torch.zeros(C, x.shape[1]).index_add_(0, y[train], x[train])  # (C, D)
    pred = (x[test] @ F.normalize(centroids, dim=1).T).argmax(1)
    return float((pred == y[test]).float().mean())


@dataclass(frozen=True)
class ProbeResult:
    """Held-out accuracy of a linear probe on each layer (``accuracies[j]`` for layer j) and,
    when asked for, on the scalar mix of all layers with its learned weights."""

    accuracies: tuple[float, ...]
    classes: tuple
    n_train: int
    n_test: int
    mix_accuracy: float | None = None
    mix_weights: tuple[float, ...] | None = None

    @property
    def best_layer(self) -> int:
        """The layer with the highest accuracy (the lowest such layer on a tie)."""
        return max(range(len(self.accuracies)), key=lambda j: (self.accuracies[j], -j))


def _fit_linear(
    x: torch.Tensor, y: torch.Tensor, C: int, l2: float, steps: int, lr: float, mix: ScalarMix | None = None
) -> torch.nn.Module:
    """Multinomial logistic regression (and a scalar mix in front, when given), full-batch
    Adam from zero weights: deterministic."""
    D = x.shape[-1]
    linear = torch.nn.Linear(D, C)
    torch.nn.init.zeros_(linear.weight)
    torch.nn.init.zeros_(linear.bias)
    params = list(linear.parameters()) + (list(mix.parameters()) if mix is not None else [])
    opt = torch.optim.Adam(params, lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            h = mix(x) if mix is not None else x
            loss = F.cross_entropy(linear(h), y) + l2 * linear.weight.pow(2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return linear


def probe_layers(
    layers: torch.Tensor | Sequence[torch.Tensor],
    labels: Sequence,
    *,
    groups: Sequence | None = None,
    test_fraction: float = 0.3,
    seed: int = 0,
    l2: float = 1e-3,
    steps: int = 200,
    lr: float = 0.05,
    scalar_mix: bool = False,
) -> ProbeResult:
    """A linear probe per layer: ``layers`` (L+1, N, D) (or a list of (N, D), one per layer,
    widths may differ), ``labels`` N class labels (e.g. POS tags or ``"duck:food"``).
    Features are standardised with the training split's mean and deviation; the probe is
    logistic regression with an L2 penalty ``l2`` fitted by ``steps`` full-batch Adam steps
    (rate ``lr``) from zero weights; the split is :func:`stratified_split` (by ``groups`` when given). With
    ``scalar_mix`` (equal widths only), one more probe reads
    :class:`coursekit.elmo.ScalarMix` of all layers, trained jointly; its softmax weights
    are returned."""
    check_real("l2", l2, low=0.0)
    check_positive("steps", steps)
    check_real("lr", lr, low=0.0, low_open=True)
    check_bool("scalar_mix", scalar_mix)
    y, classes = _label_ids(labels)
    feats = list(layers) if not isinstance(layers, torch.Tensor) else list(layers.unbind(0))
    if isinstance(layers, torch.Tensor) and layers.dim() != 3:
        raise ValueError(f"layers must be an (L+1, N, D) tensor or a list of (N, D) tensors, got shape {tuple(layers.shape)}")
    if not feats:
        raise ValueError("layers must hold at least one layer")
    for j, f in enumerate(feats):
        _check_features(f, len(y), f"layers[{j}]")
    train, test = stratified_split(labels, test_fraction, seed, groups)
    C = len(classes)

    def standardise(f: torch.Tensor) -> torch.Tensor:
        f = f.float()
        mean, std = f[train].mean(0), f[train].std(0).clamp_min(1e-6)
        return (f - mean) / std

    std_feats = [standardise(f) for f in feats]
    accs = []
    for f in std_feats:
        linear = _fit_linear(f[train], y[train], C, l2, steps, lr)
        with torch.no_grad():
            accs.append(float((linear(f[test]).argmax(1) == y[test]).float().mean()))
    mix_acc = mix_w = None
    if scalar_mix:
        if len({f.shape[1] for f in std_feats}) != 1:
            raise ValueError("scalar_mix needs layers of equal width")
        stacked = torch.stack(std_feats)  # (L+1, N, D)
        mix = ScalarMix(len(std_feats))
        linear = _fit_linear(stacked[:, train], y[train], C, l2, steps, lr, mix)
        with torch.no_grad():
            mix_acc = float((linear(mix(stacked[:, test])).argmax(1) == y[test]).float().mean())
            mix_w = tuple(mix.weights.tolist())
    return ProbeResult(tuple(accs), classes, len(train), len(test), mix_acc, mix_w)

"""A toy translation task with real structure: English-like sentences -> a verb-final
language with agreement (Chapters 2 and 5; word senses for Chapter 8).

Copying and reversing have alignments that are a diagonal or an anti-diagonal. Real
translation reorders words by rule, adds and drops words, and inflects them by agreement
with words elsewhere in the sentence. This module is a small probabilistic grammar that
does all of this at toy scale, so a CPU model learns it in a minute or two, and every
pair comes with its gold alignment. It is a teaching device, not a model of any natural
language: the target language is made up (its words are loosely Latin), regular, and
small.

The grammar
-----------
Source (English-like, subject-verb-object)::

    S   -> NP [do not] V [NP]              the dog does not see the red cats
    NP  -> [the | a(n)] Adj* N [PP | RC]   an apple; bare plurals have no article: dogs
    PP  -> near | with | in  NP            the cat near the river
    RC  -> that [do not] V [NP]            the boy that holds the bat

A noun has at most two adjectives (one size, one colour). Only the subject and the object
take a PP or a relative clause (RC); the noun phrases inside those are plain.

Target (verb-final, subject-object-verb)::

    S   -> NP [NP ko] [ne] V               lo kano las felas rubas ko ne vidat
    NP  -> Art N Adj* [PP | RC]            adjectives after the noun, in mirror order
    PP  -> NP Postposition                 la fela lo flumo apud
    RC  -> ke [NP ko] [ne] V               lo puero ke lo fusto ko tenat (verb-final too)

What a model has to learn, and why the alignment is not a diagonal:

- **Word order.** The verb moves to the end, behind the object and behind everything that
  modifies it; adjectives move behind their noun in mirror order ("the big red ball" ->
  "la pila ruba magna"); prepositions become postpositions.
- **Inserted words.** The object is marked by the particle ``ko``, and a bare English
  plural gets an indefinite article ("dogs" -> "unos kanos"); neither translates a source
  word (gold alignment None). English do-support ("does", "do", "did") has no target word.
- **Agreement.** Target nouns have a gender (M/F), a property of the target word that the
  English source does not show. Articles and adjectives agree with their noun in gender
  and number; the article therefore depends on the noun that follows it, as French
  "le / la / les / l'" does (Bahdanau et al. 2015, Sec. 5.2.1, Fig. 3 (d)). The verb
  agrees in number with its subject, in the main clause and in relative clauses, and is
  marked for tense. English shows the subject's number on the verb only in the present
  ("sees" / "see"); in the past ("saw") and under negation ("did not see") it does not, so
  the target verb must get its number from the subject noun, which may be far away and
  have a noun of the other number in between ("the dog near the cats saw ...").
- **Word sense.** English "bat" is two target words: the animal ("vesperta", feminine) and
  the club ("fusto", masculine). Nouns belong to classes (person, animal, food, thing,
  place); verbs and prepositions admit some classes only (one eats food, holds a thing or
  food, chases a person or an animal; only persons and animals are subjects). An
  ambiguous word is used only where its context admits exactly one of its senses, so the
  sense is always fixed by the sentence ("the boy holds the bat" -> the club; "the bat
  sleeps" -> the animal), and :func:`word_senses` gives the gold sense of every
  occurrence. Gender follows the sense, so the article and adjectives show it too. Another
  ambiguous word is one more entry in :data:`NOUNS` whose senses fall in different
  classes; the generator then keeps it to the slots that tell them apart.

The gold alignment gives, for each target token, the source token it translates, or None
for the inserted ones. Soft attention has no "nowhere" to look at (Bahdanau et al. count
that as a benefit, Sec. 5.2.1), so :func:`coursekit.data.alignment_accuracy` scores only
the target tokens that have a source token.

Lengths are source lengths in tokens. The generator first picks a sentence shape
(modifiers, relative clauses, negation, transitivity) among those that can reach the
drawn length, then spends the remaining tokens on articles and adjectives, so every
length in range is drawn exactly, with no rejection sampling.

Bahdanau, Cho & Bengio (2015), *Neural Machine Translation by Jointly Learning to Align
and Translate*, arXiv:1409.0473: Sec. 5.2.1 and Fig. 3 (a) show English-French
attention that is "largely monotonic" with non-monotonic steps where adjective and noun
swap ([European Economic Area] -> [zone économique européenne]); Sec. 6.1 notes that
"(long-distance) reordering is often needed" (English-to-German). A verb-final target
needs that long-distance reordering in every sentence with an object.

Legend: B batch, S source length, T target length (with eos).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Sequence

from .data import Seq2SeqData, Vocab, _lengths
from .utils import check_bool, check_int, check_positive

__all__ = [
    "NOUNS",
    "ADJECTIVES",
    "VERBS",
    "PREPOSITIONS",
    "translation_task",
    "translation_lengths",
    "gloss",
    "format_pair",
    "SenseToken",
    "word_senses",
]

# ------------------------------------------------------------------ the lexicon
# The tables are read-only (the generator and the glossary are built from them once).
# Classes of meaning; a verb or preposition admits only some of them (its selectional restriction).
PERSON, ANIMAL, FOOD, THING, PLACE = "person", "animal", "food", "thing", "place"
ANIMATE = frozenset({PERSON, ANIMAL})  # subjects: who sleeps, runs, sees, eats, chases, holds
ANY = frozenset({PERSON, ANIMAL, FOOD, THING, PLACE})

# English singular -> (English plural, senses); a sense is (target singular, gender, class, name).
# Target plurals add "s"; masculine nouns end in -o, feminine ones in -a.
NOUNS: Mapping[str, tuple[str, tuple[tuple[str, str, str, str], ...]]] = MappingProxyType({
    "boy": ("boys", (("puero", "M", PERSON, "boy"),)),
    "girl": ("girls", (("puela", "F", PERSON, "girl"),)),
    "dog": ("dogs", (("kano", "M", ANIMAL, "dog"),)),
    "cat": ("cats", (("fela", "F", ANIMAL, "cat"),)),
    "bat": ("bats", (("vesperta", "F", ANIMAL, "animal"), ("fusto", "M", THING, "club"))),  # ambiguous
    "apple": ("apples", (("poma", "F", FOOD, "apple"),)),
    "cake": ("cakes", (("torto", "M", FOOD, "cake"),)),
    "book": ("books", (("libro", "M", THING, "book"),)),
    "ball": ("balls", (("pila", "F", THING, "ball"),)),
    "house": ("houses", (("kasa", "F", PLACE, "house"),)),
    "river": ("rivers", (("flumo", "M", PLACE, "river"),)),
})

# English -> target stem; target forms add -o, -a, -os, -as (M.SG, F.SG, M.PL, F.PL).
# English order is size before colour; a noun has at most one of each group.
ADJECTIVES: Mapping[str, str] = MappingProxyType({"big": "magn", "small": "parv", "red": "rub", "black": "nigr"})
_ADJECTIVE_GROUPS = (("big", "small"), ("red", "black"))
_MAX_ADJECTIVES = len(_ADJECTIVE_GROUPS)

# English base -> (3rd person singular present, past, target stem, object classes; None = intransitive).
# Target forms add -at, -ant, -it, -int (PRS.SG, PRS.PL, PST.SG, PST.PL).
VERBS: Mapping[str, tuple[str, str, str, frozenset[str] | None]] = MappingProxyType({
    "sleep": ("sleeps", "slept", "dorm", None),
    "run": ("runs", "ran", "kur", None),
    "see": ("sees", "saw", "vid", ANY),
    "eat": ("eats", "ate", "manj", frozenset({FOOD})),
    "chase": ("chases", "chased", "cas", ANIMATE),
    "hold": ("holds", "held", "ten", frozenset({FOOD, THING})),
})

# English preposition -> (target postposition, classes of its object).
PREPOSITIONS: Mapping[str, tuple[str, frozenset[str]]] = MappingProxyType({
    "near": ("apud", frozenset({PERSON, ANIMAL, THING, PLACE})),
    "with": ("kun", frozenset({PERSON, ANIMAL, THING})),
    "in": ("en", frozenset({PLACE})),
})

_PREPOSITION_LIST = tuple(PREPOSITIONS)
_AGREE = {("M", False): "o", ("F", False): "a", ("M", True): "os", ("F", True): "as"}  # adjective endings
_DEFINITE = {("M", False): "lo", ("F", False): "la", ("M", True): "los", ("F", True): "las"}
_INDEFINITE = {("M", False): "un", ("F", False): "una", ("M", True): "unos", ("F", True): "unas"}
_ARTICLES = {  # (English determiner, gender, plural) -> target article; None = a bare English plural
    (det, g, pl): (_DEFINITE if det == "the" else _INDEFINITE)[g, pl]
    for det in ("the", "a", None) for g in "MF" for pl in (False, True)
}
_VERB_ENDINGS = {(False, False): "at", (False, True): "ant", (True, False): "it", (True, True): "int"}  # (past, plural)
_DO = {(False, False): "does", (False, True): "do", (True, False): "did", (True, True): "did"}
OBJECT_MARKER, NEGATION, RELATIVE = "ko", "ne", "ke"  # target words for: (object), not, that


def _source_words() -> list[str]:
    words = ["the", "a", "an", "does", "do", "did", "not", "that", *PREPOSITIONS, *ADJECTIVES]
    for sg, (pl, _) in NOUNS.items():
        words += [sg, pl]
    for base, (s3, past, _, _) in VERBS.items():
        words += [base, s3, past]
    return words


def _target_words() -> list[str]:
    words = [*_DEFINITE.values(), *_INDEFINITE.values()]
    words += [OBJECT_MARKER, NEGATION, RELATIVE, *(post for post, _ in PREPOSITIONS.values())]
    for _, senses in NOUNS.values():
        for tgt, *_ in senses:
            words += [tgt, tgt + "s"]
    for stem in ADJECTIVES.values():
        words += [stem + e for e in _AGREE.values()]
    for *_, stem, _ in VERBS.values():
        words += [stem + e for e in _VERB_ENDINGS.values()]
    return words


def _glossary() -> dict[str, str]:
    """Every word of both languages -> its gloss (Leipzig style: lemma.FEATURES)."""
    g: dict[str, str] = {"the": "the", "a": "a", "an": "a", "not": "not", "that": "that", OBJECT_MARKER: "OBJ",
                         NEGATION: "not", RELATIVE: "that"}
    g.update({w: f"do.{'PST' if past else 'PRS.' + ('PL' if pl else 'SG')}" for (past, pl), w in _DO.items()})
    for (det, gender, pl), art in _ARTICLES.items():
        g[art] = f"{det or 'a'}.{gender}.{'PL' if pl else 'SG'}"
    for prep, (post, _) in PREPOSITIONS.items():
        g[prep] = g[post] = prep
    for sg, (pl, senses) in NOUNS.items():
        g[sg], g[pl] = f"{sg}.SG", f"{sg}.PL"
        for tgt, gender, _, name in senses:
            lemma = sg if len(senses) == 1 else f"{sg}({name})"
            g[tgt], g[tgt + "s"] = f"{lemma}.{gender}.SG", f"{lemma}.{gender}.PL"
    for adj, stem in ADJECTIVES.items():
        g[adj] = adj
        for (gender, pl), e in _AGREE.items():
            g[stem + e] = f"{adj}.{gender}.{'PL' if pl else 'SG'}"
    for base, (s3, past, stem, _) in VERBS.items():
        g[base], g[s3], g[past] = base, f"{base}.PRS.SG", f"{base}.PST"
        for (is_past, pl), e in _VERB_ENDINGS.items():
            g[stem + e] = f"{base}.{'PST' if is_past else 'PRS'}.{'PL' if pl else 'SG'}"
    return g


_SOURCE_WORDS, _TARGET_WORDS = _source_words(), _target_words()
_GLOSS = _glossary()
_AMBIGUOUS = frozenset(sg for sg, (_, senses) in NOUNS.items() if len(senses) > 1)
_SENSE_NAME = {  # target noun (both numbers) of an ambiguous word -> its sense
    form: name for sg in _AMBIGUOUS for tgt, _, _, name in NOUNS[sg][1] for form in (tgt, tgt + "s")
}


def gloss(word: str) -> str:
    """The gloss of a source or target word: ``"felas"`` -> ``"cat.F.PL"``, ``"vidit"`` ->
    ``"see.PST.SG"``, ``"saw"`` -> ``"see.PST"``, ``"ko"`` -> ``"OBJ"``, ``"fusto"`` ->
    ``"bat(club).M.SG"``. The part before the first dot (and before any parenthesis) is the
    lemma, shared by a word and its translation."""
    try:
        return _GLOSS[word]
    except KeyError:
        raise ValueError(f"word must be a word of the translation grammar, got {word!r}") from None


# ------------------------------------------------------------------ sentence shapes
# A top-level noun phrase (subject or object) has one modifier kind:
# (name, fixed tokens it adds, noun phrases it adds, prior probability).
# "rc": that V; "rc-obj": that V NP; "-neg": that do not V ...
_MODIFIERS = (
    ("", 0, 0, 0.55),
    ("pp", 1, 1, 0.25),
    ("rc", 2, 0, 0.08),
    ("rc-neg", 4, 0, 0.02),
    ("rc-obj", 2, 1, 0.08),
    ("rc-obj-neg", 4, 1, 0.02),
)
_P_TRANSITIVE, _P_NEGATION, _P_PAST, _P_ARTICLE, _P_THE = 0.65, 0.2, 0.5, 0.75, 0.6
_NP_EXTRA = 1 + _MAX_ADJECTIVES  # tokens a noun phrase can add to its noun: an article and adjectives


@dataclass(frozen=True)
class _Shape:
    subj: str  # modifier of the subject
    neg: bool  # main clause negated
    obj: str | None  # modifier of the object; None = intransitive
    fixed: int  # tokens other than noun phrases
    nps: int  # number of noun phrases
    weight: float


def _shapes(relative_clauses: bool, negation: bool) -> list[_Shape]:
    mods = [
        m for m in _MODIFIERS
        if (relative_clauses or not m[0].startswith("rc")) and (negation or not m[0].endswith("neg"))
    ]
    total = sum(m[3] for m in mods)
    shapes = []
    for s_name, s_fixed, s_nps, s_p in mods:
        for neg in (False, True) if negation else (False,):
            p_neg = (_P_NEGATION if neg else 1 - _P_NEGATION) if negation else 1.0
            base = s_p / total * p_neg
            shapes.append(_Shape(s_name, neg, None, 1 + 2 * neg + s_fixed, 1 + s_nps, base * (1 - _P_TRANSITIVE)))
            for o_name, o_fixed, o_nps, o_p in mods:
                shapes.append(_Shape(
                    s_name, neg, o_name, 1 + 2 * neg + s_fixed + o_fixed, 2 + s_nps + o_nps,
                    base * _P_TRANSITIVE * o_p / total,
                ))
    return shapes


def translation_lengths(*, relative_clauses: bool = True, negation: bool = True) -> tuple[int, int]:
    """The shortest and longest source sentence (in tokens) the grammar makes with these
    options; every length in between is possible. With everything on: (2, 27)."""
    shapes = _shapes(relative_clauses, negation)
    return min(s.fixed + s.nps for s in shapes), max(s.fixed + s.nps * (1 + _NP_EXTRA) for s in shapes)


# ------------------------------------------------------------------ generation
class _NP:
    """A noun phrase being built: its words, then (once rendered) its source positions."""

    __slots__ = ("det", "noun", "sense", "plural", "adjs", "mod", "i_det", "i_adjs", "i_noun")

    def __init__(self, det, noun, sense, plural, adjs, mod):
        self.det, self.noun, self.sense, self.plural, self.adjs, self.mod = det, noun, sense, plural, adjs, mod


class _PP:
    __slots__ = ("prep", "np", "i_prep")

    def __init__(self, prep, np):
        self.prep, self.np = prep, np


class _VP:
    """A verb phrase: the main clause's, or a relative clause's (``rel``) with "that" first."""

    __slots__ = ("verb", "past", "neg", "obj", "rel", "i_rel", "i_not", "i_verb")

    def __init__(self, verb, past, neg, obj, rel=False):
        self.verb, self.past, self.neg, self.obj, self.rel = verb, past, neg, obj, rel


def _pick(rng: random.Random, seq: Sequence):
    """``rng.choice(seq)``, about three times faster (one ``random()`` call, no rejection loop)."""
    return seq[int(rng.random() * len(seq))]


class _Generator:
    def __init__(self, rng: random.Random, *, past_tense: bool, ambiguous: bool):
        self.rng, self.past_tense = rng, past_tense
        self._candidates: dict[frozenset[str], list[tuple[str, tuple]]] = {}
        self.ambiguous = ambiguous
        self.intransitive = [v for v, entry in VERBS.items() if entry[3] is None]
        self.transitive = [v for v, entry in VERBS.items() if entry[3] is not None]
        self.animate_object = [v for v in self.transitive if VERBS[v][3] & ANIMATE]

    def candidates(self, classes: frozenset[str]) -> list[tuple[str, tuple]]:
        """(noun, sense) pairs a slot admitting ``classes`` can hold. An ambiguous noun is
        admitted only where exactly one of its senses fits, so the context fixes its sense."""
        if classes not in self._candidates:
            out = []
            for noun, (_, senses) in NOUNS.items():
                fitting = [s for s in senses if s[2] in classes]
                if len(fitting) == 1 and (len(senses) == 1 or self.ambiguous):
                    out.append((noun, fitting[0]))
            self._candidates[classes] = out
        return self._candidates[classes]

    def np(self, classes: frozenset[str], extra: int, mod=None) -> _NP:
        """A noun phrase of ``1 + extra`` tokens (without its modifier): article and adjectives."""
        rng = self.rng
        noun, sense = _pick(rng, self.candidates(classes))
        if extra == 0 or (extra < _NP_EXTRA and rng.random() >= _P_ARTICLE):
            det, plural, n_adj = None, True, extra  # a bare plural: "red dogs"
        else:
            det = "the" if rng.random() < _P_THE else "a"
            plural = det == "the" and rng.random() < 0.5
            n_adj = extra - 1
        groups = _ADJECTIVE_GROUPS if n_adj == len(_ADJECTIVE_GROUPS) else [_pick(rng, _ADJECTIVE_GROUPS)] * n_adj
        adjs = tuple(_pick(rng, g) for g in groups)  # English order: size, then colour
        return _NP(det, noun, sense, plural, adjs, mod)

    def vp(
        self, transitive: bool, neg: bool, *, rel: bool, animate_object: bool = False
    ) -> tuple[_VP, frozenset[str] | None]:
        """A verb phrase without its object, and the classes its object may take (None: intransitive)."""
        rng = self.rng
        past = self.past_tense and rng.random() < _P_PAST
        if not transitive:
            return _VP(_pick(rng, self.intransitive), past, neg, None, rel), None
        verb = _pick(rng, self.animate_object if animate_object else self.transitive)
        return _VP(verb, past, neg, None, rel), VERBS[verb][3]

    def sentence(self, shape: _Shape, length: int) -> tuple[_NP, _VP]:
        rng = self.rng
        # Spread the tokens left for articles and adjectives over the noun phrases.
        left = length - shape.fixed - shape.nps
        extras = [0] * shape.nps
        order = list(range(shape.nps))
        rng.shuffle(order)
        for k, i in enumerate(order):
            rest = (len(order) - k - 1) * _NP_EXTRA
            low, high = max(0, left - rest), min(_NP_EXTRA, left)
            extras[i] = low + int(rng.random() * (high - low + 1))
            left -= extras[i]
        extras.reverse()  # popped in the order the phrases are built: subject, its modifier, object, ...
        subj = self.top_np(shape.subj, ANIMATE, extras)
        relative_object = shape.obj is not None and shape.obj.startswith("rc")
        vp, classes = self.vp(shape.obj is not None, shape.neg, rel=False, animate_object=relative_object)
        if classes is not None:
            vp.obj = self.top_np(shape.obj, classes, extras)
        return subj, vp

    def top_np(self, mod: str, classes: frozenset[str], extras: list[int]) -> _NP:
        head_extra = extras.pop()
        if mod.startswith("rc"):
            classes = classes & ANIMATE  # the head is the subject of the relative clause
        np = self.np(classes, head_extra)
        if mod == "pp":
            prep = _pick(self.rng, _PREPOSITION_LIST)
            np.mod = _PP(prep, self.np(PREPOSITIONS[prep][1], extras.pop()))
        elif mod.startswith("rc"):
            rc, classes = self.vp(mod.startswith("rc-obj"), mod.endswith("neg"), rel=True)
            if classes is not None:
                rc.obj = self.np(classes, extras.pop())
            np.mod = rc
        return np


# Source rendering: append words, remember their positions on the phrase objects.
def _render_source_np(np: _NP, src: list[str]) -> None:
    np.i_det = None
    if np.det is not None:
        np.i_det = len(src)
        following = np.adjs[0] if np.adjs else np.noun
        src.append("an" if np.det == "a" and following[0] in "aeiou" else np.det)  # "an apple"
    np.i_adjs = []
    for adj in np.adjs:
        np.i_adjs.append(len(src))
        src.append(adj)
    np.i_noun = len(src)
    src.append(NOUNS[np.noun][0] if np.plural else np.noun)
    if isinstance(np.mod, _PP):
        np.mod.i_prep = len(src)
        src.append(np.mod.prep)
        _render_source_np(np.mod.np, src)
    elif isinstance(np.mod, _VP):
        _render_source_vp(np.mod, np.plural, src)


def _render_source_vp(vp: _VP, plural: bool, src: list[str]) -> None:
    s3, past, _, _ = VERBS[vp.verb]
    if vp.rel:
        vp.i_rel = len(src)
        src.append("that")
    if vp.neg:
        vp.i_not = len(src) + 1
        src += [_DO[vp.past, plural], "not"]
        form = vp.verb
    else:
        form = past if vp.past else (vp.verb if plural else s3)
    vp.i_verb = len(src)
    src.append(form)
    if vp.obj is not None:
        _render_source_np(vp.obj, src)


# Target rendering: append words and, for each, the source position it translates (or None).
def _render_target_np(np: _NP, tgt: list[str], align: list[int | None]) -> None:
    word, gender = np.sense[0], np.sense[1]
    tgt.append(_ARTICLES[np.det, gender, np.plural])
    align.append(np.i_det)
    tgt.append(word + "s" if np.plural else word)
    align.append(np.i_noun)
    ending = _AGREE[gender, np.plural]
    for adj, i in zip(reversed(np.adjs), reversed(np.i_adjs)):  # mirror order: "ball red big"
        tgt.append(ADJECTIVES[adj] + ending)
        align.append(i)
    if isinstance(np.mod, _PP):
        _render_target_np(np.mod.np, tgt, align)
        tgt.append(PREPOSITIONS[np.mod.prep][0])
        align.append(np.mod.i_prep)
    elif isinstance(np.mod, _VP):
        _render_target_vp(np.mod, np.plural, tgt, align)


def _render_target_vp(vp: _VP, plural: bool, tgt: list[str], align: list[int | None]) -> None:
    if vp.rel:
        tgt.append(RELATIVE)
        align.append(vp.i_rel)
    if vp.obj is not None:
        _render_target_np(vp.obj, tgt, align)
        tgt.append(OBJECT_MARKER)
        align.append(None)
    if vp.neg:
        tgt.append(NEGATION)
        align.append(vp.i_not)
    tgt.append(VERBS[vp.verb][2] + _VERB_ENDINGS[vp.past, plural])
    align.append(vp.i_verb)


def translation_task(
    n: int,
    lengths: tuple[int, int] | Sequence[int] = (3, 12),
    seed: int = 0,
    *,
    relative_clauses: bool = True,
    negation: bool = True,
    past_tense: bool = True,
    ambiguous: bool = True,
) -> Seq2SeqData:
    """``n`` English-like sentences and their translations into the verb-final target
    language, with gold alignments (``data.alignments``); see the module docstring for
    the grammar.

    ``lengths``: source lengths in tokens, ``(lo, hi)`` inclusive or a list to draw from,
    within :func:`translation_lengths` (2..27 with every option on). The options switch
    parts of the grammar off for a simpler task: ``relative_clauses`` ("the dog that sees
    the cat"), ``negation`` ("does not see"), ``past_tense`` (without it every verb is in
    the present, where English shows the subject's number on the verb), ``ambiguous``
    (the word "bat" and its two senses). The vocabularies always hold every word of the
    grammar, so models trained on one variant read every other.

    A pure function of its arguments: the same call gives the same pairs on any machine.
    """
    check_positive("n", n)
    check_int("seed", seed)
    for name, value in [("relative_clauses", relative_clauses), ("negation", negation),
                        ("past_tense", past_tense), ("ambiguous", ambiguous)]:
        check_bool(name, value)
    rng = random.Random(seed)
    draws = _lengths(lengths, n, rng)  # validates the form of lengths
    wanted = range(lengths[0], lengths[1] + 1) if isinstance(lengths, tuple) and len(lengths) == 2 else lengths
    lo, hi = translation_lengths(relative_clauses=relative_clauses, negation=negation)
    if any(not lo <= x <= hi for x in wanted):
        raise ValueError(
            f"lengths must lie in {lo}..{hi}, the source lengths this grammar makes with these options, got {lengths!r}"
        )
    shapes = _shapes(relative_clauses, negation)
    by_length = {}
    for length in sorted(set(draws)):
        fits = [s for s in shapes if s.fixed + s.nps <= length <= s.fixed + s.nps * (1 + _NP_EXTRA)]
        by_length[length] = (fits, [s.weight for s in fits])
    gen = _Generator(rng, past_tense=past_tense, ambiguous=ambiguous)
    pairs, aligns = [], []
    for length in draws:
        fits, weights = by_length[length]
        subj, vp = gen.sentence(rng.choices(fits, weights)[0], length)
        src: list[str] = []
        _render_source_np(subj, src)
        _render_source_vp(vp, subj.plural, src)
        tgt: list[str] = []
        align: list[int | None] = []
        _render_target_np(subj, tgt, align)
        _render_target_vp(vp, subj.plural, tgt, align)
        pairs.append((tuple(src), tuple(tgt)))
        aligns.append(tuple(align))
    return Seq2SeqData("translation", tuple(pairs), Vocab(_SOURCE_WORDS), Vocab(_TARGET_WORDS), tuple(aligns))


# ------------------------------------------------------------------ reading the pairs
def format_pair(src: Sequence[str], tgt: Sequence[str], alignment: Sequence[int | None] | None = None) -> str:
    """An interlinear view of one pair: the source sentence, then the target words in
    columns over their glosses and (with ``alignment``) the source word each translates
    ("-" for none). ``print(format_pair(*data[i], data.alignments[i]))``."""
    rows = [list(tgt), [gloss(w) for w in tgt]]
    if alignment is not None:
        if len(alignment) != len(tgt):
            raise ValueError(f"alignment must have one entry per target token ({len(tgt)}), got {len(alignment)}")
        rows.append(["-" if j is None else src[j] for j in alignment])
    widths = [max(len(r[k]) for r in rows) for k in range(len(tgt))]
    lines = [" ".join(src)] + ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


@dataclass(frozen=True)
class SenseToken:
    """One occurrence of an ambiguous source word: ``data.pairs[pair][0][position] == word``,
    used in sense ``sense`` (e.g. ``"animal"`` or ``"club"`` for "bat")."""

    pair: int
    position: int
    word: str
    sense: str


def word_senses(data: Seq2SeqData) -> tuple[SenseToken, ...]:
    """Every occurrence of an ambiguous word in ``data``'s sources with its gold sense, read
    off the target word it is aligned to (the sense is fixed by the sentence's grammar)."""
    if data.alignments is None:
        raise ValueError(
            f"data must carry gold alignments (a translation_task), got the {data.name!r} task without them"
        )
    out = []
    for i, ((src, tgt), align) in enumerate(zip(data.pairs, data.alignments)):
        for t, j in enumerate(align):
            if j is not None and tgt[t] in _SENSE_NAME:
                out.append(SenseToken(i, j, src[j], _SENSE_NAME[tgt[t]]))
    return tuple(sorted(out, key=lambda s: (s.pair, s.position)))

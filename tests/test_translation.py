"""Tests for coursekit.translation: the toy English -> verb-final translation grammar.

The agreement checks parse the target with their own small morphology (below), not with
the module's tables, so a wrong table in the module fails them.
"""

import re
from collections import Counter

import pytest
import torch

from coursekit.data import BatchSampler, alignment_accuracy, diagonal_attention, gold_attention
from coursekit.decoding import teacher_forced_loss
from coursekit.seq2seq import Seq2Seq, Seq2SeqConfig, evaluate
from coursekit.train import fit
from coursekit.translation import (
    NOUNS,
    SenseToken,
    format_pair,
    gloss,
    translation_lengths,
    translation_task,
    word_senses,
)
from coursekit.utils import seed_everything

# ------------------------------------------------------------------ an independent morphology of the target
ARTICLES = {  # article -> (gender, plural)
    "lo": ("M", False), "la": ("F", False), "los": ("M", True), "las": ("F", True),
    "un": ("M", False), "una": ("F", False), "unos": ("M", True), "unas": ("F", True),
}
ADJECTIVE_STEMS = {"magn", "parv", "rub", "nigr"}
VERB = re.compile(r"(at|ant|it|int)$")


def is_adjective(word):
    return word.rstrip("s")[:-1] in ADJECTIVE_STEMS


def noun_features(word):
    """(gender, plural) of a target noun: -o masculine, -a feminine, -s plural."""
    plural = word.endswith("s")
    return {"o": "M", "a": "F"}[word.rstrip("s")[-1]], plural


def verb_plural(word):
    assert VERB.search(word), word
    return word.endswith("nt")


def lemma(word):
    return gloss(word).split(".")[0].split("(")[0]


@pytest.fixture(scope="module")
def data():
    return translation_task(3000, lengths=(2, 27), seed=0)


# ------------------------------------------------------------------ determinism, vocabulary, lengths
def test_a_pure_function_of_the_seed():
    a, b = translation_task(200, seed=3), translation_task(200, seed=3)
    assert a.pairs == b.pairs and a.alignments == b.alignments
    assert translation_task(200, seed=4).pairs != a.pairs
    assert a.name == "translation" and len(a) == 200


def test_the_vocabularies_cover_every_token_and_every_word_has_a_gloss(data):
    for src, tgt in data.pairs:
        assert all(w in data.src_vocab for w in src)
        assert all(w in data.tgt_vocab for w in tgt)
    words = data.src_vocab.tokens[4:] + data.tgt_vocab.tokens[4:]
    assert len(words) == len(set(words)) < 150  # the two languages share no word; small
    for w in words:
        assert gloss(w)
    # every word of the vocabularies is used by the grammar (none is dead weight)
    used = {w for s, t in data.pairs for w in s + t}
    assert set(words) == used


def test_vocabularies_do_not_depend_on_the_options():
    full = translation_task(5, seed=0)
    plain = translation_task(5, seed=0, relative_clauses=False, negation=False, past_tense=False, ambiguous=False)
    assert full.src_vocab.tokens == plain.src_vocab.tokens and full.tgt_vocab.tokens == plain.tgt_vocab.tokens


def test_lengths_are_source_lengths_and_every_length_in_range_is_drawn():
    data = translation_task(400, lengths=(3, 9), seed=1)
    assert {len(s) for s, _ in data.pairs} == set(range(3, 10))
    data = translation_task(40, lengths=[2, 27], seed=1)  # the grammar's two extremes
    assert {len(s) for s, _ in data.pairs} == {2, 27}
    assert translation_lengths() == (2, 27)
    assert translation_lengths(relative_clauses=False) == (2, 21)
    assert translation_lengths(relative_clauses=False, negation=False) == (2, 19)


def test_options_switch_parts_of_the_grammar_off():
    def words(**kw):
        return Counter(w for s, _ in translation_task(600, seed=2, **kw).pairs for w in s)

    full = words()
    assert full["that"] and full["not"] and full["saw"] + full["slept"] and full["bat"] + full["bats"]
    assert not words(relative_clauses=False)["that"]
    assert not words(negation=False)["not"]
    no_past = words(past_tense=False)
    assert not any(no_past[w] for w in ("saw", "slept", "ran", "ate", "chased", "held", "did"))
    no_bat = words(ambiguous=False)
    assert not no_bat["bat"] + no_bat["bats"]


# ------------------------------------------------------------------ agreement
def test_the_verb_agrees_with_its_subject_in_number(data):
    for (src, tgt), align in zip(data.pairs, data.alignments):
        # the target starts with the subject's article and noun, and ends with the main verb
        assert tgt[0] in ARTICLES
        _, subject_plural = noun_features(tgt[1])
        assert verb_plural(tgt[-1]) == subject_plural, (src, tgt)
        assert src[align[1]].endswith("s") == subject_plural  # the English subject noun has the same number
        # in a relative clause the verb agrees with the noun the clause modifies
        for k in [k for k, w in enumerate(tgt) if w == "ke"]:
            j = k - 1
            while is_adjective(tgt[j]):
                j -= 1
            verb = next(w for w in tgt[k + 1 :] if VERB.search(w))
            assert verb_plural(verb) == noun_features(tgt[j])[1], (src, tgt)


def test_articles_and_adjectives_agree_with_their_noun(data):
    checked = Counter()
    for _, tgt in data.pairs:
        for i, w in enumerate(tgt):
            if w in ARTICLES:
                features = noun_features(tgt[i + 1])
                assert ARTICLES[w] == features, tgt
                k = i + 2
                while k < len(tgt) and is_adjective(tgt[k]):
                    assert noun_features(tgt[k]) == features, tgt  # adjectives end like their noun
                    checked["adjective"] += 1
                    k += 1
                checked[features] += 1
    assert checked["adjective"] > 1000 and len(checked) == 5  # all four gender/number cells occur


def test_english_hides_the_subjects_number_in_the_past_and_under_negation(data):
    """The cases that make agreement a long-distance dependency do occur."""
    hidden = Counter()
    for src, tgt in data.pairs:
        if any(w in src for w in ("saw", "slept", "ran", "ate", "chased", "held", "did")):
            hidden[verb_plural(tgt[-1])] += 1
    assert hidden[True] > 100 and hidden[False] > 100


# ------------------------------------------------------------------ alignments
def test_gold_alignments_point_at_the_source_word_with_the_same_meaning(data):
    for (src, tgt), align in zip(data.pairs, data.alignments):
        for t, j in enumerate(align):
            if j is None:
                # only the object marker and the article a bare English plural gets have no source
                assert tgt[t] == "ko" or (tgt[t] in ("unos", "unas") and t + 1 < len(tgt)), (tgt, t)
            else:
                assert lemma(tgt[t]) == lemma(src[j]), (src, tgt, t, j)
        # every source word is translated exactly once, except English do-support
        counts = Counter(j for j in align if j is not None)
        assert set(counts.values()) == {1}
        assert {src[j] for j in range(len(src)) if j not in counts} <= {"does", "do", "did"}


def test_the_glossary_itself():
    assert [gloss(w) for w in ("felas", "vidit", "saw", "ko", "fusto", "lo", "unas", "apud")] == [
        "cat.F.PL", "see.PST.SG", "see.PST", "OBJ", "bat(club).M.SG", "the.M.SG", "a.F.PL", "near",
    ]
    with pytest.raises(ValueError, match=r"word must be a word of the translation grammar, got 'cheval'"):
        gloss("cheval")


def test_alignment_is_not_monotone_when_there_is_an_object(data):
    with_object = plain = 0
    for (src, tgt), align in zip(data.pairs, data.alignments):
        aligned = [j for j in align if j is not None]
        if "ko" in tgt:
            with_object += 1
            assert aligned != sorted(aligned), (src, tgt)
            if tgt[-2] == "ko" or tgt[-2:-4:-1] == ("ne", "ko"):  # the main clause has the object
                assert align[-1] < max(aligned)  # its verb is last in the target, not in the source
        elif not any(is_adjective(w) or w in ("ke", "apud", "kun", "en") for w in tgt):
            plain += 1
            assert aligned == sorted(aligned), (src, tgt)  # no object, adjective, PP or clause: nothing moves
    assert with_object > 1000 and plain > 50


def test_a_diagonal_guess_is_a_poor_alignment_and_the_gold_is_perfect(data):
    gold = gold_attention(data)
    assert gold.shape == (len(data), max(len(t) for _, t in data.pairs) + 1, max(len(s) for s, _ in data.pairs))
    assert alignment_accuracy(gold, data.alignments) == 1.0
    assert alignment_accuracy(diagonal_attention(data), data.alignments) < 0.5


# ------------------------------------------------------------------ word senses
def test_bat_has_two_senses_fixed_by_its_context(data):
    senses = word_senses(data)
    assert Counter(s.sense for s in senses).keys() == {"animal", "club"}
    verb_of = {form: base for base in ("sleep", "run", "see", "eat", "chase", "hold")
               for form in (base, base + "s", base + "es")} | {
        "slept": "sleep", "ran": "run", "saw": "see", "ate": "eat", "chased": "chase", "held": "hold"}
    for s in senses:
        assert isinstance(s, SenseToken)
        src, tgt = data.pairs[s.pair]
        assert src[s.position] == s.word in ("bat", "bats")
        # "bat" is the club only as the object of "hold"; a subject, or what one chases or sees, is the animal
        verbs_before = [verb_of[w] for w in src[: s.position] if w in verb_of]
        assert s.sense == ("club" if verbs_before and verbs_before[-1] == "hold" else "animal"), src
        t = data.alignments[s.pair].index(s.position)
        assert noun_features(tgt[t])[0] == {"animal": "F", "club": "M"}[s.sense]  # gender follows the sense
    assert len(NOUNS["bat"][1]) == 2
    assert word_senses(translation_task(300, seed=0, ambiguous=False)) == ()


def test_format_pair_is_an_interlinear_gloss():
    src, tgt = ("the", "big", "dog", "saw", "cats"), ("lo", "kano", "magno", "unas", "felas", "ko", "vidit")
    text = format_pair(src, tgt, (0, 2, 1, None, 4, None, 3))
    lines = text.split("\n")
    assert lines[0] == "the big dog saw cats"
    assert lines[1].split() == list(tgt)
    assert lines[2].split() == ["the.M.SG", "dog.M.SG", "big.M.SG", "a.F.PL", "cat.F.PL", "OBJ", "see.PST.SG"]
    assert lines[3].split() == ["the", "dog", "big", "-", "cats", "-", "saw"]
    assert lines[1].index("felas") == lines[2].index("cat.F.PL") == lines[3].index("cats")  # columns line up
    assert len(format_pair(src, tgt).split("\n")) == 3
    with pytest.raises(ValueError, match=r"alignment must have one entry per target token \(7\), got 2"):
        format_pair(src, tgt, (0, 1))


# ------------------------------------------------------------------ a model learns it
@pytest.mark.usefixtures("one_thread")
def test_a_small_attention_model_overfits_a_tiny_batch():
    seed_everything(0)
    data = translation_task(8, lengths=(3, 7), seed=5)
    model = Seq2Seq(Seq2SeqConfig.for_data(data, emb_dim=16, hidden_size=32, attn_dim=16, attention="dot"))
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    history = fit(model, opt, BatchSampler(data, 8), teacher_forced_loss, steps=40, progress=False)
    first, last = history.curve("loss")[1][0], history.curve("loss")[1][-1]
    assert first > 2.0 and last < 0.05, (first, last)
    assert evaluate(model, data)["seq_acc"] == 1.0  # free-running decoding translates all eight


# ------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(n=0), r"n must be a positive int, got 0"),
        (dict(n="10"), r"n must be a positive int, got '10'"),
        (dict(n=5, lengths=(5, 2)), r"lengths must be \(lo, hi\) with 1 <= lo <= hi, got \(5, 2\)"),
        (dict(n=5, lengths=("3", 9)), r"lengths must be \(lo, hi\) with 1 <= lo <= hi, got \('3', 9\)"),
        (dict(n=5, lengths=[4, "6"]), r"lengths must be \(lo, hi\) or a non-empty list of positive ints"),
        (dict(n=5, lengths=(1, 5)), r"lengths must lie in 2..27, the source lengths this grammar makes .*got \(1, 5\)"),
        (dict(n=5, lengths=(3, 22), relative_clauses=False), r"lengths must lie in 2..21, .*got \(3, 22\)"),
        (dict(n=5, seed="0"), r"seed must be an int, got '0'"),
        (dict(n=5, negation="no"), r"negation must be True or False, got 'no'"),
    ],
)
def test_bad_arguments_are_rejected(kw, message):
    with pytest.raises(ValueError, match=message):
        translation_task(**kw)


def test_word_senses_needs_alignments():
    data = translation_task(3, seed=0)
    stripped = type(data)(data.name, data.pairs, data.src_vocab, data.tgt_vocab)
    with pytest.raises(ValueError, match=r"data must carry gold alignments"):
        word_senses(stripped)

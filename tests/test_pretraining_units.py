"""coursekit.pretraining's unit masking (ERNIE's phrase and entity masking, BERT-wwm's whole
words): lexicon spans, merged unit ids, units chosen together at 15% of the tokens on average,
the 80/10/10 replacement per token (ERNIE's and BERT's code) or per unit (SpanBERT)."""

from __future__ import annotations

import pytest
import torch

from coursekit.pretraining import lexicon_spans, mask_tokens, merge_units, span_mask

pytestmark = pytest.mark.usefixtures("one_thread")

V, MASK = 100, 3


def random_units(B=64, T=128, seed=0):
    """Rows of ids with units of 1-4 consecutive tokens; position 0 is a special (unit -1)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, V, (B, T), generator=g)
    lengths = torch.randint(1, 5, (B, T), generator=g)
    units = torch.empty(B, T, dtype=torch.long)
    for b in range(B):
        t, u = 0, 0
        while t < T:
            n = int(lengths[b, t])
            units[b, t:t + n] = u
            t, u = t + n, u + 1
    units[:, 0] = -1
    ids[:, 0] = 1
    return ids, units


def draw(ids, units, replace, seed=1, **kw):
    return span_mask(ids, units, vocab_size=V, mask_id=MASK, generator=torch.Generator().manual_seed(seed),
                     special_ids=(1,), replace=replace, **kw)


def test_lexicon_spans_longest_match_case_insensitive():
    words = ["I", "moved", "to", "New", "York", "City", "from", "new", "york", "."]
    lexicon = [("new", "york"), ("New", "York", "City"), ("moved",)]
    assert lexicon_spans(words, lexicon) == [(3, 5), (7, 8)]  # one-word entries are units already


def test_merge_units_gives_a_span_one_id():
    word_ids = torch.tensor([[-1, 0, 1, 1, 2, 3, 4, -1]])
    units = merge_units(word_ids, [[(1, 3)]])
    assert units.tolist() == [[-1, 0, 1, 1, 1, 1, 4, -1]]
    assert word_ids.tolist() == [[-1, 0, 1, 1, 2, 3, 4, -1]]  # not changed in place


@pytest.mark.parametrize("replace", ["token", "unit"])
def test_units_are_chosen_together_at_fifteen_percent(replace):
    ids, units = random_units()
    m = draw(ids, units, replace)
    chosen = m.chosen
    for b in range(8):
        for u in units[b].unique().tolist():
            if u >= 0:
                c = chosen[b, units[b] == u]
                assert c.all() or not c.any()
    assert not chosen[:, 0].any()  # the special token
    frac = chosen[:, 1:].float().mean().item()
    assert abs(frac - 0.15) < 0.01, frac
    first = torch.cat([torch.ones(ids.shape[0], 1, dtype=torch.bool), units[:, 1:] != units[:, :-1]], 1) & (units >= 0)
    assert abs(chosen[first].float().mean().item() - 0.15) < 0.015  # and 15% of the units
    assert torch.equal(m.labels[chosen], ids[chosen]) and (m.labels[~chosen] == -100).all()


def test_per_token_replacement_is_mask_tokens_with_unit_ids():
    ids, units = random_units(B=8, T=32)
    a = draw(ids, units, "token", seed=5)
    b = mask_tokens(ids, vocab_size=V, mask_id=MASK, generator=torch.Generator().manual_seed(5), special_ids=(1,),
                    word_ids=units)
    assert torch.equal(a.input_ids, b.input_ids) and torch.equal(a.labels, b.labels)


def _kinds(m, ids, units):
    """Per token: 0 [MASK], 1 random, 2 kept (-1 not chosen); and each token's unit's first token."""
    kind = torch.where(m.input_ids == MASK, 0, torch.where(m.input_ids == ids, 2, 1))
    kind = torch.where(m.chosen, kind, -1)
    T = units.shape[1]
    first = torch.where(units[:, :, None] == units[:, None, :], torch.arange(T), T).min(-1).values  # (B, T)
    return kind, first


def test_per_unit_replacement_treats_a_unit_alike_at_80_10_10():
    ids, units = random_units(B=128)
    m = draw(ids, units, "unit")
    kind, first = _kinds(m, ids, units)
    lead = kind.gather(1, first)  # the kind of each token's unit's first token
    c = m.chosen
    assert (kind[c & (lead == 0)] == 0).all()  # a unit whose first token is [MASK] is all [MASK]
    # a unit whose first token is not [MASK] has no [MASK] but where its random id happened to be [MASK]'s
    assert (kind[c & (lead != 0)] == 0).float().mean() < 2 / V
    at_first = m.chosen & (first == torch.arange(units.shape[1]))
    masked = (kind[at_first] == 0).float().mean().item()
    not_masked = (kind[at_first] != 0).float().mean().item()
    assert abs(masked - 0.8) < 0.03 and abs(not_masked - 0.2) < 0.03, masked


def test_per_token_replacement_mixes_inside_a_unit_at_80_10_10():
    ids, units = random_units(B=128)
    m = draw(ids, units, "token")
    kind, first = _kinds(m, ids, units)
    lead = kind.gather(1, first)
    assert ((kind == 0) != (lead == 0))[m.chosen].any()  # some unit is part [MASK], part not
    chosen = m.chosen
    masked = (m.input_ids[chosen] == MASK).float().mean().item()
    kept = (m.input_ids[chosen] == ids[chosen]).float().mean().item()
    assert abs(masked - 0.8) < 0.02 and abs(kept - 0.1 - 1 / V * 0.1) < 0.02


def test_bad_arguments():
    ids, units = random_units(B=2, T=8)
    with pytest.raises(ValueError, match="replace"):
        draw(ids, units, "span")
    with pytest.raises(ValueError, match="mask_frac \\+ random_frac"):
        draw(ids, units, "unit", mask_frac=0.9, random_frac=0.2)
    with pytest.raises(ValueError, match="word_ids must have shape"):
        draw(ids, units[:, :4], "token")
    with pytest.raises(ValueError, match="spans must hold one list"):
        merge_units(units, [[(0, 1)]])
    with pytest.raises(ValueError, match="first <= last"):
        merge_units(units, [[(2, 1)], []])
    with pytest.raises(ValueError, match="words must be a list of str"):
        lexicon_spans("new york", [("new", "york")])
    with pytest.raises(ValueError, match="lexicon"):
        lexicon_spans(["a"], ["ab"])

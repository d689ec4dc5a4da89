"""Tests for coursekit.decoding: greedy and beam search over any step function, the per-row
finish rule of beam search, and the one teacher-forced loss with its pad_id."""

import pytest
import torch
import torch.nn.functional as F

from coursekit.data import Vocab
from coursekit.decoding import Decoded, beam_search, greedy_search, sequence_loss, strip_special

BOS, EOS, PAD = Vocab.bos_id, Vocab.eos_id, Vocab.pad_id
V = 6


def table_step(tables):
    """A step function whose next-token log-probabilities depend only on (row, t): tables (N, T, V)."""

    def step(y, state, t):
        return tables[:, min(t, tables.shape[1] - 1)].log(), state, None

    return step


def probs(*rows):
    p = torch.full((V,), 1e-6)
    for token, mass in rows:
        p[token] = mass
    return p / p.sum()


def test_greedy_search_follows_the_argmax_and_pads_after_eos():
    tables = torch.stack([
        torch.stack([probs((4, 0.9)), probs((EOS, 0.8)), probs((5, 0.9))]),
        torch.stack([probs((5, 0.9)), probs((4, 0.6)), probs((EOS, 0.9))]),
    ])
    out = greedy_search(table_step(tables), None, 2, max_len=5)
    assert isinstance(out, Decoded) and out.alignments is None
    assert out.tokens.tolist() == [[4, EOS, PAD], [5, 4, EOS]]
    torch.testing.assert_close(out.scores, torch.stack([
        tables[0, 0, 4].log() + tables[0, 1, EOS].log(),
        tables[1, 0, 5].log() + tables[1, 1, 4].log() + tables[1, 2, EOS].log(),
    ]))


def test_beam_search_each_row_decides_for_itself():
    """Row 0 finishes one hypothesis at step 0 (short, likely); row 1 finishes nothing within
    max_len. Deciding for the whole batch at once (the old `done.any(1).all()`) let row 0's
    unfinished hypothesis win, because row 1 had no finished one."""
    K, max_len = 2, 3
    row0 = torch.stack([probs((EOS, 0.4), (4, 0.6)), probs((4, 0.99)), probs((4, 0.99))])
    row1 = torch.stack([probs((4, 0.5), (5, 0.5)), probs((4, 0.5), (5, 0.5)), probs((4, 0.5), (5, 0.5))])
    tables = torch.stack([row0, row0, row1, row1])  # (B*K, T, V): each source's K rows share a table
    out = beam_search(table_step(tables), None, lambda s, rows: s, 2, K, max_len, length_penalty=0.0)
    # Row 0: the unfinished 4 4 4 has log p = log .6 + 2 log .99 > log .4, but a finished hypothesis exists.
    assert out.tokens[0].tolist() == [EOS, PAD, PAD]
    torch.testing.assert_close(out.scores[0], torch.tensor(0.4).log(), atol=1e-4, rtol=1e-4)
    # Row 1: nothing finished, so its best unfinished hypothesis is returned.
    assert EOS not in out.tokens[1].tolist() and len(out.tokens[1]) == max_len


def test_beam_search_with_beam_one_equals_greedy_search():
    torch.manual_seed(0)
    tables = torch.softmax(torch.randn(3, 6, V), -1)
    g = greedy_search(table_step(tables), None, 3, max_len=6)
    b = beam_search(table_step(tables), None, lambda s, rows: s, 3, 1, 6)
    assert torch.equal(g.tokens, b.tokens)
    torch.testing.assert_close(g.scores, b.scores)


def test_beam_search_reorders_the_state_by_parent_rows():
    """The state must follow its hypothesis: a step that reads its state (the prefix) sees the
    tokens of the hypothesis it extends."""
    B, K = 2, 3
    seen = []

    def step(y, prefix, t):
        prefix = torch.cat([prefix, y[:, None]], dim=1)
        seen.append(prefix.clone())
        logits = torch.randn(B * K, V, generator=torch.Generator().manual_seed(t))
        return logits, prefix, None

    out = beam_search(step, torch.zeros(B * K, 0, dtype=torch.long), lambda s, rows: s.index_select(0, rows), B, K, 4,
                      length_penalty=0.0)
    for b in range(B):  # the winning prefix at each step is a prefix of the output
        tokens = out.tokens[b].tolist()
        prefixes = [p[:, 1:].tolist() for p in seen[1:]]
        for t, step_prefixes in enumerate(prefixes):
            if PAD in tokens[: t + 1]:
                break
            assert tokens[: t + 1] in step_prefixes[b * K : (b + 1) * K]


@pytest.mark.parametrize("pad_id", [0, 3])
def test_sequence_loss_ignores_any_pad_id(pad_id):
    torch.manual_seed(1)
    logits, tgt = torch.randn(2, 4, V), torch.randint(0, V, (2, 4))
    tgt[1, 2:] = pad_id
    want = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1), ignore_index=pad_id)
    torch.testing.assert_close(sequence_loss(logits, tgt, pad_id=pad_id), want)


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(pad_id=-1), r"pad_id must be a non-negative int, got -1"),
        (dict(label_smoothing=1.0), r"label_smoothing must be in \[0, 1\), got 1.0"),
        (dict(label_smoothing="0.1"), r"label_smoothing must be a real number in \[0, 1\), got '0.1' \(str\)"),
    ],
)
def test_sequence_loss_rejects_bad_settings(kw, message):
    with pytest.raises(ValueError, match=message):
        sequence_loss(torch.zeros(1, 2, V), torch.zeros(1, 2, dtype=torch.long), **kw)


def test_searches_reject_bad_settings():
    step = table_step(torch.full((2, 1, V), 1 / V))
    with pytest.raises(ValueError, match="max_len must be a positive int, got 0"):
        greedy_search(step, None, 2, max_len=0)
    with pytest.raises(ValueError, match="beam_size must be a positive int, got 0"):
        beam_search(step, None, lambda s, r: s, 2, 0, 3)
    with pytest.raises(ValueError, match="length_penalty must be a real number, got None"):
        beam_search(step, None, lambda s, r: s, 2, 1, 3, length_penalty=None)


def test_strip_special_stops_at_eos_and_drops_padding():
    assert strip_special([4, PAD, 5, EOS, 6]) == [4, 5]
    assert strip_special([4, 9, 5], eos_id=9) == [4]

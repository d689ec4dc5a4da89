"""Tests for coursekit.data: vocabularies, padding, the synthetic tasks and the batch sampler."""

import calendar
import datetime as dt
import re

import pytest
import torch

from coursekit.data import (
    BOS,
    DATE_FORMATS,
    EOS,
    PAD,
    UNK,
    Batch,
    BatchSampler,
    Seq2SeqData,
    Vocab,
    alignment_accuracy,
    copy_task,
    date_task,
    diagonal_attention,
    gold_attention,
    decoder_io,
    format_date,
    pad_sequences,
    reverse_task,
)


# ------------------------------------------------------------------ Vocab
def test_vocab_specials_come_first_and_duplicates_are_dropped():
    v = Vocab(["b", "a", "b", PAD, "c"])
    assert v.tokens[:4] == [PAD, BOS, EOS, UNK]
    assert v.tokens[4:] == ["b", "a", "c"]
    assert len(v) == 7
    assert (v.pad_id, v.bos_id, v.eos_id, v.unk_id) == (0, 1, 2, 3)
    assert "a" in v and "z" not in v
    assert "4 specials" in repr(v)


def test_vocab_encode_decode_round_trip():
    v = Vocab(list("abcdef"))
    tokens = list("fadebc")
    ids = v.encode(tokens, bos=True, eos=True)
    assert ids[0] == Vocab.bos_id and ids[-1] == Vocab.eos_id
    assert v.decode(ids) == tokens
    assert v.decode(torch.tensor(ids)) == tokens
    assert v.decode(ids, strip=False) == [BOS, *tokens, EOS]


def test_vocab_unknown_tokens_and_stripping():
    v = Vocab(list("ab"))
    assert v.encode(["a", "z"]) == [4, Vocab.unk_id]
    # decode stops at the first eos and skips bos / pad
    assert v.decode([1, 4, 0, 5, 2, 4, 4]) == ["a", "b"]
    assert v.decode([99], strip=False) == [UNK]


# ------------------------------------------------------------------ padding
def test_pad_sequences_and_decoder_io():
    x = pad_sequences([[5, 6, 7], [8]])
    torch.testing.assert_close(x, torch.tensor([[5, 6, 7], [8, 0, 0]]))
    assert x.dtype == torch.long
    assert pad_sequences([]).shape == (0, 0)
    tgt_in, tgt_out = decoder_io([[5, 6], [7]])
    torch.testing.assert_close(tgt_in, torch.tensor([[1, 5, 6], [1, 7, 0]]))
    torch.testing.assert_close(tgt_out, torch.tensor([[5, 6, 2], [7, 2, 0]]))
    # teacher forcing: step t reads the true token t-1 and must predict token t
    torch.testing.assert_close(tgt_in[:, 1:], tgt_out[:, :-1] * (tgt_in[:, 1:] != 0))


def test_batch_fields_and_masks():
    data = copy_task(6, lengths=[2, 5], seed=3)
    b = data.batch()
    assert isinstance(b, Batch) and len(b) == 6
    assert b.src.dtype == b.tgt_in.dtype == b.tgt_out.dtype == b.src_lengths.dtype == torch.long
    assert b.src.shape[1] == int(b.src_lengths.max()) == 5
    torch.testing.assert_close(b.src_mask.sum(1), b.src_lengths)
    torch.testing.assert_close(b.tgt_mask.sum(1), b.src_lengths + 1)  # copy: target + eos
    for i, (src, tgt) in enumerate(data.pairs):
        assert data.src_vocab.decode(b.src[i]) == list(src)
        assert data.tgt_vocab.decode(b.tgt_out[i]) == list(tgt)
    moved = b.to("cpu")
    torch.testing.assert_close(moved.src, b.src)


def test_batches_cover_the_data_in_order():
    data = copy_task(10, seed=1)
    seen = []
    for b in data.batches(4):
        seen.extend(tuple(data.src_vocab.decode(row)) for row in b.src)
    assert [len(b) for b in data.batches(4)] == [4, 4, 2]
    assert seen == [s for s, _ in data.pairs]
    with pytest.raises(ValueError, match=r"cannot batch an empty selection of the 'copy' task"):
        data.batch([])


def test_subset_and_where():
    data = reverse_task(30, lengths=(2, 6), seed=2)
    short = data.where(lambda s, t: len(s) == 2)
    assert len(short) > 0 and all(len(s) == 2 for s, _ in short.pairs)
    assert short.src_vocab is data.src_vocab
    sub = data.subset([3, 1])
    assert sub.pairs == (data[3], data[1])


# ------------------------------------------------------------------ symbol tasks
def test_copy_and_reverse_tasks():
    c = copy_task(50, lengths=(3, 7), vocab_size=5, seed=0)
    r = reverse_task(50, lengths=(3, 7), vocab_size=5, seed=0)
    assert len(c) == len(r) == 50
    assert c.name == "copy" and r.name == "reverse"
    for (s, t), (s2, t2) in zip(c.pairs, r.pairs):
        assert s == t and 3 <= len(s) <= 7 and set(s) <= set("abcde")
        assert t2 == s2[::-1]
    assert c.src_vocab.tokens[4:] == list("abcde")
    assert {len(s) for s, _ in c.pairs} == set(range(3, 8))  # lo..hi inclusive


def test_tasks_are_a_pure_function_of_the_seed():
    assert copy_task(20, seed=5).pairs == copy_task(20, seed=5).pairs
    assert copy_task(20, seed=5).pairs != copy_task(20, seed=6).pairs
    assert date_task(20, seed=5).pairs == date_task(20, seed=5).pairs


def test_lengths_as_a_list():
    data = copy_task(40, lengths=[4, 9], seed=0)
    assert {len(s) for s, _ in data.pairs} == {4, 9}


@pytest.mark.parametrize("vocab_size", [1, 27, 0, 2.5])
def test_copy_task_rejects_vocab_size_out_of_range(vocab_size):
    with pytest.raises(ValueError, match=rf"vocab_size must be an int in 2..26 \(letters a..z\), got {vocab_size!r}"):
        copy_task(5, vocab_size=vocab_size)


@pytest.mark.parametrize("lengths", [(0, 3), (5, 2), (1.0, 3)])
def test_symbol_tasks_reject_bad_length_range(lengths):
    with pytest.raises(ValueError, match=r"lengths must be \(lo, hi\) with 1 <= lo <= hi, got"):
        reverse_task(5, lengths=lengths)


@pytest.mark.parametrize("lengths", [[], [0, 3], [2, "3"]])
def test_symbol_tasks_reject_bad_length_list(lengths):
    with pytest.raises(ValueError, match=r"lengths must be \(lo, hi\) or a non-empty list of positive ints, got"):
        copy_task(5, lengths=lengths)


def test_symbol_tasks_reject_bad_n():
    with pytest.raises(ValueError, match=r"n must be a positive int, got 0"):
        copy_task(0)


# ------------------------------------------------------------------ dates
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_DAYS = {name.lower() for name in calendar.day_name}


def _parse_date(text: str) -> dt.date:
    """An independent parser of every surface form: slashes are month/day/year unless the
    year comes first (year/month/day); dots are always day.month.year."""
    if "." in text:
        d, m, y = text.split(".")
        return dt.date(int(y), int(m), int(d))
    if "/" in text:
        a, b, c = text.split("/")
        if len(a) == 4:
            return dt.date(int(a), int(b), int(c))
        return dt.date(int(c), int(a), int(b))  # US order: month/day/year
    words = text.replace(",", " ").split()
    weekday = words[0].lower() if words[0].lower() in _DAYS else None
    if weekday:
        words = words[1:]
    if words[0].isdigit():  # 21 November 2026
        d, month, y = words
    else:  # November 21, 2026
        month, d, y = words
    date = dt.date(int(y), _MONTHS[month.lower()], int(d))
    if weekday:
        assert calendar.day_name[date.weekday()].lower() == weekday
    return date


def test_date_targets_are_valid_iso_dates_matching_the_source():
    data = date_task(300, seed=0)
    assert data.name == "date"
    for src, tgt in data.pairs:
        iso = "".join(tgt)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso), iso
        date = dt.date.fromisoformat(iso)
        assert 1950 <= date.year <= 2049
        assert _parse_date("".join(src)) == date, ("".join(src), iso)
        assert all(ch in data.src_vocab for ch in src)
        assert all(ch in data.tgt_vocab for ch in tgt)
    # every kind of surface form is drawn (words, commas, weekday, slashes, dots)
    shapes = {re.sub(r"[0-9A-Za-z]+", "x", "".join(s)) for s, _ in data.pairs}
    assert shapes == {"x x x", "x x, x", "x, x x x", "x.x.x", "x/x/x"}


def test_slash_is_month_day_and_dot_is_day_month():
    date = dt.date(2026, 11, 3)
    assert format_date(date, "{m}/{d}/{Y}") == "11/3/2026"
    assert format_date(date, "{dd}.{mm}.{Y}") == "03.11.2026"
    assert format_date(date, "{Y}/{mm}/{dd}") == "2026/11/03"
    data = date_task(200, formats=["{m}/{d}/{Y}", "{dd}.{mm}.{Y}"], seed=4)
    ambiguous = 0
    for src, tgt in data.pairs:
        text, (y, m, d) = "".join(src), "".join(tgt).split("-")
        if "/" in text:
            assert text == f"{int(m)}/{int(d)}/{y}"
        else:
            assert text == f"{d}.{m}.{y}"
        ambiguous += int(d) <= 12 and m != d
    assert ambiguous > 0  # days <= 12 occur, where only the convention tells month from day


def test_format_date_fields():
    date = dt.date(2026, 11, 21)  # a Saturday
    rendered = [format_date(date, f) for f in DATE_FORMATS]
    assert rendered == [
        "21 November 2026",
        "21 Nov 2026",
        "November 21, 2026",
        "Nov 21, 2026",
        "11/21/2026",
        "21.11.2026",
        "Saturday, 21 November 2026",
        "21 nov 2026",
        "2026/11/21",
    ]


def test_date_vocab_covers_every_format_of_every_month_and_weekday():
    data = date_task(1, seed=0)
    for month in range(1, 13):
        for day in range(1, 8):
            date = dt.date(2024, month, day)
            for fmt in DATE_FORMATS:
                assert all(ch in data.src_vocab for ch in format_date(date, fmt)), format_date(date, fmt)


def test_date_task_years_and_formats():
    data = date_task(100, years=(1999, 2000), formats=["{Y}/{mm}/{dd}"], seed=1)
    years = {"".join(t)[:4] for _, t in data.pairs}
    assert years == {"1999", "2000"}
    assert all("".join(s) == "".join(t).replace("-", "/") for s, t in data.pairs)


@pytest.mark.parametrize("years", [(2000, 1990), (0, 10), (1990, 10000)])
def test_date_task_rejects_bad_years(years):
    with pytest.raises(ValueError, match=r"years must be \(lo, hi\) with 1 <= lo <= hi <= 9999, got"):
        date_task(5, years=years)


def test_date_task_rejects_no_formats_and_bad_n():
    with pytest.raises(ValueError, match=r"formats must name at least one date format"):
        date_task(5, formats=[])
    with pytest.raises(ValueError, match=r"n must be a positive int, got -1"):
        date_task(-1)


# ------------------------------------------------------------------ BatchSampler
def _ids(batch: Batch) -> list[tuple[int, ...]]:
    return [tuple(row) for row in batch.src.tolist()]


def test_batch_sampler_is_a_pure_function_of_the_step():
    data = copy_task(23, seed=0)
    a, b = BatchSampler(data, 5, seed=1), BatchSampler(data, 5, seed=1)
    first = _ids(a(7))
    a(0), a(3), a(100)  # other calls, other epochs, in between
    assert _ids(a(7)) == first
    assert _ids(b(7)) == first  # a fresh sampler agrees
    assert _ids(a(2)) != _ids(a(3))
    assert _ids(BatchSampler(data, 5, seed=2)(7)) != first


def test_batch_sampler_covers_each_example_once_per_epoch():
    n, bs = 14, 4  # 3 batches per epoch; the last partial batch (2 examples) is dropped
    # a dataset whose sources are all distinct, so each batch row identifies its example
    data = copy_task(n, lengths=[8], vocab_size=26, seed=0)
    assert len({s for s, _ in data.pairs}) == n
    src_to_idx = {tuple(data.src_vocab.encode(s)): i for i, (s, _) in enumerate(data.pairs)}
    s = BatchSampler(data, bs, seed=3)
    epochs = []
    for epoch in range(3):
        order = []
        for k in range(s.batches_per_epoch):
            order.extend(src_to_idx[row] for row in _ids(s(epoch * s.batches_per_epoch + k)))
        assert len(order) == len(set(order)) == s.batches_per_epoch * bs  # no example twice
        epochs.append(order)
    assert s.batches_per_epoch == n // bs
    assert epochs[0] != epochs[1] and epochs[1] != epochs[2]  # a fresh permutation each epoch
    # over a few epochs every example is seen (the dropped ones differ between epochs)
    assert set().union(*epochs) == set(range(n))


def test_batch_sampler_covers_everything_when_the_batch_size_divides_the_data():
    data = copy_task(12, lengths=[8], vocab_size=26, seed=0)
    src_to_idx = {tuple(data.src_vocab.encode(s)): i for i, (s, _) in enumerate(data.pairs)}
    s = BatchSampler(data, 4, seed=0)
    for epoch in range(2):
        order = [src_to_idx[row] for k in range(3) for row in _ids(s(epoch * 3 + k))]
        assert sorted(order) == list(range(12))


def test_batch_sampler_rejects_a_batch_larger_than_the_data():
    data = copy_task(3)
    with pytest.raises(ValueError, match=r"batch_size=5 is larger than the dataset \(3 examples\)"):
        BatchSampler(data, 5)
    with pytest.raises(ValueError, match=r"batch_size must be a positive int, got 0"):
        BatchSampler(data, 0)


# ------------------------------------------------------------------ gold alignments
def test_copy_and_reverse_carry_their_gold_alignments_and_dates_none():
    c = copy_task(20, lengths=(2, 6), seed=0)
    r = reverse_task(20, lengths=(2, 6), seed=0)
    for (s, t), align in zip(c.pairs, c.alignments):
        assert align == tuple(range(len(s))) and all(t[i] == s[j] for i, j in enumerate(align))
    for (s, t), align in zip(r.pairs, r.alignments):
        assert align == tuple(range(len(s) - 1, -1, -1)) and all(t[i] == s[j] for i, j in enumerate(align))
    assert date_task(3).alignments is None


def test_seq2seq_data_stays_backwards_compatible_and_checks_alignments():
    c = copy_task(6, lengths=[2, 3], seed=1)
    plain = Seq2SeqData(c.name, c.pairs, c.src_vocab, c.tgt_vocab)  # the four-field form still works
    assert plain.alignments is None and plain.subset([1]).alignments is None
    sub = c.subset([4, 0])
    assert sub.pairs == (c[4], c[0]) and sub.alignments == (c.alignments[4], c.alignments[0])
    short = c.where(lambda s, t: len(s) == 2)
    assert all(len(a) == 2 for a in short.alignments) and len(short.alignments) == len(short)
    with pytest.raises(ValueError, match=r"alignments must hold one alignment per pair: 6 pairs, got 5"):
        Seq2SeqData(c.name, c.pairs, c.src_vocab, c.tgt_vocab, c.alignments[:5])
    bad = (tuple(j + 1 for j in c.alignments[0]),) + c.alignments[1:]
    with pytest.raises(ValueError, match=r"alignments\[0\] must give, for each of the \d target tokens, a source"):
        Seq2SeqData(c.name, c.pairs, c.src_vocab, c.tgt_vocab, bad)


def test_gold_and_diagonal_attention_have_the_batch_shape():
    r = reverse_task(5, lengths=[3, 5], seed=0)
    b = r.batch()
    gold, diag = gold_attention(r), diagonal_attention(r)
    assert gold.shape == diag.shape == (5, b.tgt_out.shape[1], b.src.shape[1])
    for i, (s, t) in enumerate(r.pairs):
        S = len(s)
        torch.testing.assert_close(gold[i, :S, :S], torch.eye(S).flip(1))  # the anti-diagonal
        torch.testing.assert_close(diag[i, :S, :S], torch.eye(S))  # the monotone guess
        assert gold[i, S:].sum() == 0 and diag[i, S:].sum() == 0  # eos and padding rows are empty
    # the diagonal is stretched to the two lengths: 3 source tokens, 5 target tokens
    pairs = ((("a", "b", "c"), ("a", "a", "b", "c", "c")),)
    data = Seq2SeqData("toy", pairs, Vocab("abc"), Vocab("abc"), ((0, 0, 1, 2, 2),))
    assert diagonal_attention(data)[0, :5].argmax(-1).tolist() == [0, 1, 1, 2, 2]  # round(t * 2 / 4), halves up
    with pytest.raises(ValueError, match=r"the 'date' task has no gold alignments"):
        gold_attention(date_task(2))


def test_alignment_accuracy_scores_the_attention_peak_on_aligned_tokens_only():
    gold = [(2, None, 0), (1, 0)]
    w = torch.zeros(2, 4, 3)  # T=4 steps: the last one (eos) and padding are never scored
    w[0, 0, 2] = w[0, 2, 1] = w[1, 0, 1] = w[1, 1, 0] = 1.0  # row 0: one hit, one miss; row 1: two hits
    w[0, 1, 0] = w[0, 3, 2] = 5.0  # an unaligned token and the eos step may look anywhere
    assert alignment_accuracy(w, gold) == pytest.approx(3 / 4)
    c = copy_task(10, seed=0)
    assert alignment_accuracy(gold_attention(c), c.alignments) == 1.0
    assert alignment_accuracy(diagonal_attention(c), c.alignments) == 1.0  # for copying, the guess is the truth
    r = reverse_task(10, seed=0)
    assert alignment_accuracy(diagonal_attention(r), r.alignments) < 0.3


def test_alignment_accuracy_rejects_mismatched_inputs():
    w = torch.rand(2, 3, 4)
    with pytest.raises(ValueError, match=r"weights must have shape \(B, T, S\), got a 2-d tensor"):
        alignment_accuracy(w[0], [(0,)])
    with pytest.raises(ValueError, match=r"weights must have a floating dtype, got torch.int64"):
        alignment_accuracy(w.long(), [(0,), (1,)])
    with pytest.raises(ValueError, match=r"gold must hold one alignment per row of weights \(B=2\), got 1"):
        alignment_accuracy(w, [(0,)])
    with pytest.raises(ValueError, match=r"gold\[1\] aligns 4 target tokens, but weights has only T=3 steps"):
        alignment_accuracy(w, [(0,), (0, 1, 2, 3)])
    with pytest.raises(ValueError, match=r"gold\[0\]\[1\] = 4 is not a source position of weights \(S=4\)"):
        alignment_accuracy(w, [(0, 4), (1,)])
    with pytest.raises(ValueError, match=r"gold aligns no target token to a source token"):
        alignment_accuracy(w, [(None,), ()])

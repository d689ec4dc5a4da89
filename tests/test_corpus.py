"""coursekit.corpus: the shipped docstring snapshot, its splits and the next-token batches."""

from __future__ import annotations

import hashlib
import time

import pytest
import torch

from coursekit.corpus import _documents, corpus_docs, corpus_info, corpus_text, eval_windows, lm_batches, load_docstrings


def test_snapshot_matches_its_record_and_loads_fast():
    _documents.cache_clear()  # time a cold read of the shipped file
    t0 = time.perf_counter()
    docs = load_docstrings()
    elapsed = time.perf_counter() - t0
    info = corpus_info()
    text = "\n\n".join(docs)
    assert len(docs) == info["documents"]
    assert len(text) == info["characters"]
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == info["sha256"]
    assert 500_000 < len(text) < 3_000_000  # about 1 MB of English
    assert elapsed < 0.3, f"reading the corpus took {elapsed:.2f} s"
    assert all(d and "\n\n" not in d and d == d.strip() for d in docs)
    assert len(set(docs)) == len(docs)
    assert not any(line.lstrip().startswith(">>>") for d in docs for line in d.splitlines())
    assert load_docstrings() is not load_docstrings()  # a fresh list: callers may mutate it


def test_splits_are_deterministic_disjoint_and_cover_the_corpus():
    train, val, every = corpus_docs("train"), corpus_docs("val"), corpus_docs("all")
    assert corpus_docs("train") == train and corpus_docs("val") == val
    assert len(val) == round(0.1 * len(every))
    assert not set(train) & set(val)
    assert sorted(train + val) == sorted(every)
    assert corpus_docs("val", seed=1) != val
    assert corpus_docs("val", val_fraction=0.2).__len__() == round(0.2 * len(every))
    # each split keeps the snapshot's order
    pos = {d: i for i, d in enumerate(every)}
    assert [pos[d] for d in val] == sorted(pos[d] for d in val)
    assert corpus_text("val") == "\n\n".join(val)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"split": "test"}, "split must be one of"),
        ({"val_fraction": 0.0}, "val_fraction must be in"),
        ({"val_fraction": 1.5}, "val_fraction must be in"),
        ({"val_fraction": "0.1"}, "val_fraction must be a real number"),
        ({"seed": 0.5}, "seed must be an int"),
    ],
)
def test_split_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        corpus_docs(**kwargs)


def test_lm_batches_are_windows_and_their_shift():
    ids = torch.arange(100, dtype=torch.long) * 3
    g = torch.Generator().manual_seed(0)
    x, y = lm_batches(ids, 8, 5, generator=g)
    assert x.shape == y.shape == (5, 8) and x.dtype == torch.long
    assert torch.equal(x[:, 1:], y[:, :-1])
    assert torch.equal(y[:, -1], x[:, -1] + 3)  # the next token after the window
    assert bool(((x[:, 1:] - x[:, :-1]) == 3).all())  # contiguous windows of the text
    x2, _ = lm_batches(ids, 8, 5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)
    # every start, including the last possible one, is reachable; none runs past the end
    xs, ys = lm_batches(torch.arange(10), 9, 50, generator=g)
    assert bool((xs[:, 0] == 0).all()) and bool((ys[:, -1] == 9).all())


def test_eval_windows_tile_the_text_deterministically():
    ids = torch.arange(41)
    x, y = eval_windows(ids, 10)
    assert x.shape == (4, 10)
    assert torch.equal(x.flatten(), ids[:40])
    assert torch.equal(y.flatten(), ids[1:41])
    xs, ys = eval_windows(ids, 4, max_windows=3)
    assert xs.shape == (3, 4)
    assert xs[:, 0].tolist() == [0, 16, 36]  # first, middle, last of 10 windows
    assert torch.equal(ys, xs + 1)
    assert eval_windows(ids, 4, max_windows=100)[0].shape == (10, 4)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: lm_batches(torch.arange(10).float(), 4, 2, generator=torch.Generator()), "ids must be a 1-d torch.long"),
        (lambda: lm_batches(torch.arange(10).view(2, 5), 4, 2, generator=torch.Generator()), "ids must be a 1-d"),
        (lambda: lm_batches([1, 2, 3], 1, 1, generator=torch.Generator()), "got list"),
        (lambda: lm_batches(torch.arange(10), 10, 2, generator=torch.Generator()), "at least block_size \\+ 1 = 11"),
        (lambda: lm_batches(torch.arange(10), 0, 2, generator=torch.Generator()), "block_size must be a positive int"),
        (lambda: lm_batches(torch.arange(10), 4, 0, generator=torch.Generator()), "batch_size must be a positive int"),
        (lambda: lm_batches(torch.arange(10), 4, 2, generator=0), "generator must be a torch.Generator"),
        (lambda: eval_windows(torch.arange(10), 4, max_windows=0), "max_windows must be a positive int"),
    ],
)
def test_batching_arguments_are_checked(call, match):
    with pytest.raises(ValueError, match=match):
        call()

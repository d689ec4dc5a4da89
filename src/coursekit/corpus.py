"""Real English that every Python has: the standard library's docstrings, as a frozen corpus.

The language models of Chapters 6 (GPT) and 8-10 (ELMo, BERT) train on this text.
Docstrings differ between Python versions, so coursekit ships a snapshot made once by
``scripts/make_corpus.py`` (``coursekit/corpora/stdlib_docstrings.txt.gz`` and its
JSON sidecar with the Python version, counts and date): every reader trains on the
same bytes. Documents are one docstring each, split into train and validation *by
document*, so no held-out sentence was seen in training.

Next-token batching follows GPT's objective (Radford et al., 2018, "Improving Language
Understanding by Generative Pre-Training", Sec. 3.1, maximise
``sum_i log P(u_i | u_{i-k}, ..., u_{i-1})``; nanoGPT's ``get_batch`` does the same):
a window of ``T`` tokens is the input and the same window shifted by one is the target.

Legend: N tokens in the encoded corpus, B windows per batch, T tokens per window
(``block_size``).
"""

from __future__ import annotations

import gzip
import json
import random
from functools import lru_cache
from importlib import resources

import torch

from .utils import check_choice, check_int, check_positive, check_real

__all__ = [
    "load_docstrings",
    "corpus_info",
    "corpus_docs",
    "corpus_text",
    "lm_batches",
    "eval_windows",
]

_TEXT = "stdlib_docstrings.txt.gz"
_META = "stdlib_docstrings.json"
SPLITS = ("train", "val", "all")


def _data_file(name: str):
    return resources.files("coursekit").joinpath("corpora", name)


@lru_cache(maxsize=1)
def _documents() -> tuple[str, ...]:
    with _data_file(_TEXT).open("rb") as f:
        return tuple(gzip.decompress(f.read()).decode("utf-8").split("\n\n"))


def load_docstrings() -> list[str]:
    """The corpus's documents (one cleaned docstring each, paragraphs separated by ``\\n``),
    in the snapshot's order (by module, then by qualified name). A new list each call."""
    return list(_documents())


def corpus_info() -> dict:
    """The snapshot's record: Python version it was made with, date, modules, documents,
    characters, UTF-8 bytes and the text's SHA-256."""
    return json.loads(_data_file(_META).read_text(encoding="utf-8"))


def _check_split_args(split: object, val_fraction: object, seed: object) -> None:
    check_choice("split", split, SPLITS)
    check_real("val_fraction", val_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    check_int("seed", seed)


def corpus_docs(split: str = "train", val_fraction: float = 0.1, seed: int = 0) -> list[str]:
    """The documents of one split: ``round(val_fraction * n)`` documents, drawn at random
    with ``seed``, are the validation split and the rest the training split; each split
    keeps the snapshot's order. ``"all"`` is every document. Deterministic."""
    _check_split_args(split, val_fraction, seed)
    docs = _documents()
    if split == "all":
        return list(docs)
    n_val = max(1, round(val_fraction * len(docs)))
    val = set(random.Random(seed).sample(range(len(docs)), n_val))
    keep = (lambda i: i in val) if split == "val" else (lambda i: i not in val)
    return [d for i, d in enumerate(docs) if keep(i)]


def corpus_text(split: str = "train", val_fraction: float = 0.1, seed: int = 0) -> str:
    """:func:`corpus_docs` joined into one string, documents separated by a blank line."""
    return "\n\n".join(corpus_docs(split, val_fraction, seed))


def _check_ids_1d(ids: object, block_size: object) -> int:
    if not isinstance(ids, torch.Tensor) or ids.dim() != 1 or ids.dtype != torch.long:
        got = f"a {ids.dim()}-d {ids.dtype} tensor" if isinstance(ids, torch.Tensor) else type(ids).__name__
        raise ValueError(f"ids must be a 1-d torch.long tensor of token ids, got {got}")
    check_positive("block_size", block_size)
    (N,) = ids.shape
    if N < block_size + 1:
        raise ValueError(f"ids must hold at least block_size + 1 = {block_size + 1} tokens, got {N}")
    return N


def lm_batches(
    ids: torch.Tensor, block_size: int, batch_size: int, *, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch of ``batch_size`` random windows for next-token prediction.

    ``ids`` (N,) long. Returns ``x, y``, each (B, T) long on ``ids.device``, with
    ``y[:, t] == x[:, t + 1]`` for t < T-1: ``y`` is ``x`` shifted left by one, plus the
    next token. Window starts are uniform over ``[0, N - T - 1]``, drawn from
    ``generator`` (a CPU ``torch.Generator``), so a seeded generator repeats the batches.
    """
    N = _check_ids_1d(ids, block_size)
    check_positive("batch_size", batch_size)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    starts = torch.randint(0, N - block_size, (batch_size,), generator=generator, device=generator.device)
    idx = starts[:, None] + torch.arange(block_size + 1, device=generator.device)  # (B, T+1)
    windows = ids[idx.to(ids.device)]  # (B, T+1)
    return windows[:, :-1], windows[:, 1:]


def eval_windows(
    ids: torch.Tensor, block_size: int, max_windows: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic windows for a held-out loss: the non-overlapping windows
    ``ids[k*T : (k+1)*T]`` (targets shifted by one), all ``(N-1) // T`` of them, or
    ``max_windows`` of them spread evenly over the text.

    ``ids`` (N,) long. Returns ``x, y``, each (W, T) long on ``ids.device``.
    """
    N = _check_ids_1d(ids, block_size)
    W = (N - 1) // block_size
    if max_windows is not None:
        check_positive("max_windows", max_windows)
    k = torch.arange(W, device=ids.device)
    if max_windows is not None and max_windows < W:
        k = torch.linspace(0, W - 1, max_windows, device=ids.device).round().long()
    idx = k[:, None] * block_size + torch.arange(block_size + 1, device=ids.device)  # (W, T+1)
    windows = ids[idx]
    return windows[:, :-1], windows[:, 1:]

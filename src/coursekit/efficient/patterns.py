"""Attention patterns as boolean masks: which keys each query may read.

Every function returns an ``(n, n)`` bool tensor, ``True`` = may attend (coursekit's
convention, the same as ``F.scaled_dot_product_attention``); row ``i`` is query ``i``,
column ``j`` is key ``j``. Used with any masked attention, a pattern gives exactly the
sparse attention it names; :mod:`.local` computes the local pattern without ever
building the ``n x n`` matrix.

Papers:

- Rewon Child, Scott Gray, Alec Radford, Ilya Sutskever (2019), "Generating Long
  Sequences with Sparse Transformers", https://arxiv.org/abs/1904.10509, Sec. 4.3 and
  Fig. 3: the *strided* pattern, ``A1_i = {t, ..., i}`` with ``t = max(0, i - l)`` and
  ``A2_i = {j : (i - j) mod l = 0}``; the *fixed* pattern,
  ``A1_i = {j : floor(j / l) = floor(i / l)}`` and ``A2_i = {j : j mod l in {l - c, ..., l - 1}}``
  (the paper writes ``{t, ..., l}`` with ``t = l - c``; ``j mod l`` never reaches ``l``).
  Autoregressive models keep only ``j <= i``. The paper gives each factor to its own
  head (or interleaves them across layers); ``head=None`` here returns their union,
  the keys a query can read in one step of the combined pattern.
- Local (sliding-window) attention: Niki Parmar et al. (2018), "Image Transformer",
  https://arxiv.org/abs/1802.05751, Sec. 3.2 (local 1D attention); Iz Beltagy, Matthew
  E. Peters, Arman Cohan (2020), "Longformer: The Long-Document Transformer",
  https://arxiv.org/abs/2004.05150, Sec. 3.1 and Fig. 2b (sliding window, w/2 keys on each side).
- LSH buckets: Nikita Kitaev, Lukasz Kaiser, Anselm Levskaya (2020), "Reformer: The
  Efficient Transformer", https://arxiv.org/abs/2001.04451, Sec. 2 (a query reads the
  keys that share its hash bucket; see :mod:`.lsh`).

Legend: n sequence length (queries = keys), l stride, c summary columns per block
(fixed pattern), w window, R hash rounds.
"""

from __future__ import annotations

import math

import torch

from ..attention import causal_mask
from ..utils import check_bool, check_choice, check_int, check_positive, check_tensor
from .lsh import lsh_hash

__all__ = [
    "PATTERN_KINDS",
    "full_mask",
    "strided_mask",
    "fixed_mask",
    "local_mask",
    "bucket_mask",
    "pattern_mask",
    "keys_per_query",
]

PATTERN_KINDS = ("full", "causal", "strided", "fixed", "local", "lsh")


def _offsets(n: int, device) -> torch.Tensor:
    """(n, n) long tensor of i - j (query index minus key index)."""
    idx = torch.arange(n, device=device)
    return idx[:, None] - idx[None, :]  # (n, n)


def full_mask(n: int, *, device: torch.device | str | None = None) -> torch.Tensor:
    """(n, n) all True: every query reads every key (bidirectional full attention)."""
    check_positive("n", n)
    return torch.ones(n, n, dtype=torch.bool, device=device)


def _check_head(head: int | None) -> None:
    if head is not None and head not in (1, 2):
        raise ValueError(f"head must be None (both factors), 1 or 2, got {head!r}")


def strided_mask(
    n: int, stride: int, *, causal: bool = True, head: int | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    """(n, n) Sparse Transformer *strided* pattern (Child et al. 2019, Sec. 4.3, Fig. 3b).

    Head 1 reads the previous ``stride`` positions and itself (``0 <= i - j <= l``), head 2
    every ``l``-th position back (``(i - j) mod l == 0``); ``head=None`` gives their union.
    With ``causal=False`` both factors are mirrored to the future (``|i - j|``). With
    ``l ~ sqrt(n)`` each query reads O(sqrt n) keys.
    """
    check_positive("n", n)
    check_positive("stride", stride)
    check_bool("causal", causal)
    _check_head(head)
    d = _offsets(n, device)  # (n, n) i - j
    dist = d if causal else d.abs()
    a1 = (dist >= 0) & (dist <= stride)
    a2 = (dist >= 0) & (dist % stride == 0)
    return a1 if head == 1 else a2 if head == 2 else a1 | a2


def fixed_mask(
    n: int,
    stride: int,
    c: int = 1,
    *,
    causal: bool = True,
    head: int | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """(n, n) Sparse Transformer *fixed* pattern (Child et al. 2019, Sec. 4.3, Fig. 3c).

    Head 1 reads its own block of ``stride`` positions (``j // l == i // l``), head 2 the
    last ``c`` positions of every block (``j mod l >= l - c``), the "summary" cells that
    carry information between blocks; ``head=None`` gives their union. ``causal=True``
    keeps only ``j <= i``. Requires ``1 <= c <= stride``.
    """
    check_positive("n", n)
    check_positive("stride", stride)
    check_int("c", c, min=1, max=stride)
    check_bool("causal", causal)
    _check_head(head)
    idx = torch.arange(n, device=device)
    a1 = (idx[:, None] // stride) == (idx[None, :] // stride)  # (n, n)
    a2 = (idx[None, :] % stride >= stride - c).expand(n, n)  # (n, n)
    m = a1 if head == 1 else a2 if head == 2 else a1 | a2
    return m & causal_mask(n, device=device) if causal else m.clone()


def local_mask(
    n: int, window: int, *, causal: bool = True, device: torch.device | str | None = None
) -> torch.Tensor:
    """(n, n) sliding-window (local) pattern.

    ``causal=True``: query ``i`` reads itself and the ``window - 1`` keys before it
    (``0 <= i - j < window``: ``window`` keys). ``causal=False``, centred: it reads the keys
    within ``window // 2`` on either side (``|i - j| <= window // 2``: ``window`` keys when
    ``window`` is odd). :func:`coursekit.efficient.local.blocked_local_attention` computes
    exactly this pattern in blocks.
    """
    check_positive("n", n)
    check_positive("window", window)
    check_bool("causal", causal)
    d = _offsets(n, device)  # (n, n) i - j
    if causal:
        return (d >= 0) & (d < window)
    return d.abs() <= window // 2


def bucket_mask(buckets: torch.Tensor, *, causal: bool = False) -> torch.Tensor:
    """(..., n, n) mask from integer bucket ids: query ``i`` reads key ``j`` iff they share a bucket.

    ``buckets`` (..., n) integer (for instance one round of :func:`coursekit.efficient.lsh.lsh_hash`);
    for several hash rounds ``(R, n)``, take ``bucket_mask(b).any(0)``, the union (Reformer Sec. 2).
    ``causal=True`` also keeps only ``j <= i``. This is the pattern of LSH attention with
    unlimited chunks; the chunked computation reads a subset of it.
    """
    check_tensor("buckets", buckets, dtype=(torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8))
    if buckets.dim() < 1:
        raise ValueError("buckets must have shape (..., n), got a 0-d tensor")
    check_bool("causal", causal)
    m = buckets[..., :, None] == buckets[..., None, :]  # (..., n, n)
    if causal:
        m = m & causal_mask(buckets.shape[-1], device=buckets.device)
    return m


def _random_lsh_buckets(n: int, n_buckets: int, d: int, seed: int, device) -> torch.Tensor:
    """Bucket ids (one hash round) of ``n`` seeded random vectors clustered around ``n_buckets`` centres."""
    g = torch.Generator().manual_seed(seed)
    # Points near a few random centres, so that buckets hold related positions (as trained
    # queries do); pure Gaussian noise would scatter every bucket uniformly.
    centres = torch.randn(n_buckets, d, generator=g)
    x = centres[torch.randint(n_buckets, (n,), generator=g)] + 0.3 * torch.randn(n, d, generator=g)
    return lsh_hash(x, n_buckets, 1, generator=g)[0].to(device)  # (n,)


def pattern_mask(kind: str, n: int, *, device: torch.device | str | None = None, **params) -> torch.Tensor:
    """(n, n) mask of a named pattern, for the chapter's pattern gallery.

    ``kind`` and its parameters (defaults in brackets):

    - ``"full"``: none;
    - ``"causal"``: none;
    - ``"strided"``: ``stride`` [round(sqrt n)], ``causal`` [True], ``head`` [None];
    - ``"fixed"``: ``stride`` [round(sqrt n)], ``c`` [1], ``causal`` [True], ``head`` [None];
    - ``"local"``: ``window`` [round(sqrt n)], ``causal`` [True];
    - ``"lsh"``: ``buckets`` (an (n,) integer tensor) or, without it, ``n_buckets`` [4],
      ``d`` [16] and ``seed`` [0] to hash seeded clustered random vectors; ``causal`` [False].
    """
    check_choice("kind", kind, PATTERN_KINDS)
    check_positive("n", n)
    allowed = {
        "full": set(),
        "causal": set(),
        "strided": {"stride", "causal", "head"},
        "fixed": {"stride", "c", "causal", "head"},
        "local": {"window", "causal"},
        "lsh": {"buckets", "n_buckets", "d", "seed", "causal"},
    }[kind]
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(f"pattern {kind!r} takes parameters {sorted(allowed)}, got unexpected {unknown}")
    root = max(1, round(math.sqrt(n)))
    if kind == "full":
        return full_mask(n, device=device)
    if kind == "causal":
        return causal_mask(n, device=device)
    if kind == "strided":
        return strided_mask(n, params.get("stride", root), causal=params.get("causal", True),
                            head=params.get("head"), device=device)
    if kind == "fixed":
        return fixed_mask(n, params.get("stride", root), params.get("c", 1), causal=params.get("causal", True),
                          head=params.get("head"), device=device)
    if kind == "local":
        return local_mask(n, params.get("window", root), causal=params.get("causal", True), device=device)
    buckets = params.get("buckets")
    if buckets is None:
        n_buckets = params.get("n_buckets", 4)
        d = params.get("d", 16)
        seed = params.get("seed", 0)
        check_positive("d", d)
        check_int("seed", seed, min=0)
        buckets = _random_lsh_buckets(n, n_buckets, d, seed, device)
    else:
        check_tensor("buckets", buckets, shape=(n,))
    return bucket_mask(buckets, causal=params.get("causal", False))


def keys_per_query(mask: torch.Tensor) -> torch.Tensor:
    """(..., n) number of keys each query may read: the row sums of a (..., n, n) mask."""
    check_tensor("mask", mask, dtype=torch.bool)
    return mask.sum(-1)

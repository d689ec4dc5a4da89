"""Reformer's LSH attention: hash, sort by bucket, chunk, attend nearby; and its recall.

Angular locality-sensitive hashing by a random rotation ``R`` (Dh, b/2):
``h(x) = argmax([xR; -xR])``, so vectors at a small angle tend to land in the same of
``b`` buckets. LSH attention uses shared query-key vectors (the keys are the queries,
normalised: ``k_j = q_j / |q_j|``), sorts the positions by bucket (then by position),
cuts the sorted sequence into chunks of ``m``, and lets each query read the keys of its
own bucket in its own chunk and the chunk before. A query never reads itself unless it
has no other key. Several hash rounds are combined as in the paper: round ``r`` gives an
output ``o_r`` and the log of its softmax normaliser ``z_r``; the rounds are weighted by
``softmax_r(z_r)`` and each score is first lowered by ``log N_ij``, the number of rounds in
which ``i`` and ``j`` share a bucket, so that a key found by several rounds is counted
once. When every round's chunks see whole buckets, the result is exactly full
attention over the union of the rounds' buckets (tested).

Paper: Nikita Kitaev, Lukasz Kaiser, Anselm Levskaya (2020), "Reformer: The Efficient
Transformer", https://arxiv.org/abs/2001.04451, Sec. 2 ("Locality sensitive hashing
attention": the hash ``h(x) = argmax([xR; -xR])``, Fig. 1; sorting and chunking, Fig. 2;
shared-QK and the rule against attending to oneself; multi-round LSH attention, the
union of the rounds' sets with duplicates counted once).

Legend: ... leading dims (batch, heads), n length, Dh query/key width, Dv value width,
b buckets (even), R hash rounds, m chunk length, C = ceil(n / m) chunks.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..utils import check_bool, check_int, check_positive, check_tensor

__all__ = ["lsh_hash", "lsh_attention", "lsh_recall", "SELF_PENALTY"]

# Subtracted from a query's score with itself. exp(-1e5) is exactly 0 in float32 beside
# any other key, yet a query whose only key is itself still gets weight 1 (the paper's rule).
SELF_PENALTY = 1e5


def _check_generator(generator: object) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator (seeded), got {type(generator).__name__}")
    return generator


def lsh_hash(x: torch.Tensor, n_buckets: int, n_rounds: int = 1, *, generator: torch.Generator) -> torch.Tensor:
    """Angular LSH bucket ids, ``h(x) = argmax([xR; -xR])`` (Reformer Sec. 2, Fig. 1).

    x (..., n, Dh) floating; ``n_buckets`` even, or 1 (all in bucket 0). One random rotation R (Dh, b/2) per
    round, drawn round by round from ``generator`` (on its device), so the first r rounds
    of a longer draw equal an r-round draw from the same seed. Returns (..., R, n) int64
    ids in [0, b). Deterministic for a given generator state; the rotation is shared by
    all leading dims.
    """
    check_tensor("x", x, dtype="float")
    if x.dim() < 2:
        raise ValueError(f"x must have shape (..., n, Dh), got a {x.dim()}-d tensor")
    check_positive("n_buckets", n_buckets)
    if n_buckets % 2 and n_buckets != 1:
        raise ValueError(f"n_buckets must be 1 or even (h(x) = argmax([xR; -xR]) gives 2 * (b/2) buckets), got {n_buckets}")
    check_positive("n_rounds", n_rounds)
    g = _check_generator(generator)
    Dh = x.shape[-1]
    if n_buckets == 1:  # no hashing: everything in bucket 0 (LSH attention becomes chunked full attention)
        return torch.zeros(*x.shape[:-2], n_rounds, x.shape[-2], dtype=torch.int64, device=x.device)
    rot = torch.stack(
        [torch.randn(Dh, n_buckets // 2, generator=g, device=g.device) for _ in range(n_rounds)]
    ).to(device=x.device, dtype=x.dtype)  # (R, Dh, b/2)
    proj = x.unsqueeze(-3) @ rot  # (..., R, n, b/2)
    return torch.cat([proj, -proj], dim=-1).argmax(dim=-1)  # (..., R, n)


def lsh_attention(
    qk: torch.Tensor,
    v: torch.Tensor,
    n_buckets: int,
    n_rounds: int,
    chunk: int,
    generator: torch.Generator,
    *,
    causal: bool = False,
    scale: float | None = None,
) -> torch.Tensor:
    """Multi-round LSH attention with shared queries and keys (Reformer Sec. 2).

    qk (..., n, Dh) floating: the queries; the keys are the same vectors normalised.
    v (..., n, Dv). Hash with :func:`lsh_hash` (``n_buckets``, ``n_rounds``, ``generator``),
    sort by (bucket, position), cut into chunks of ``chunk`` positions (the last is
    padded), and let each query read the keys of its bucket in its chunk and the previous
    one (``causal=True``: only keys at or before it). Scores ``q_i . k_j * scale``
    (default 1/sqrt(Dh)); self excluded unless no other key; rounds combined by their
    logsumexp with duplicates counted once (module docstring). Returns (..., n, Dv).
    Memory: (..., R, C, m, 2m) scores, O(R * n * m), and R times that in booleans for
    the duplicate counts N_ij.
    """
    check_tensor("qk", qk, dtype="float")
    if qk.dim() < 2:
        raise ValueError(f"qk must have shape (..., n, Dh), got a {qk.dim()}-d tensor")
    n, Dh = qk.shape[-2:]
    check_tensor("v", v, shape=(*[None] * (qk.dim() - 2), n, None), dtype="float")
    if v.shape[:-2] != qk.shape[:-2]:
        raise ValueError(f"qk and v must share their leading dims, got qk {tuple(qk.shape)} and v {tuple(v.shape)}")
    check_positive("chunk", chunk)
    check_bool("causal", causal)
    scale = 1.0 / math.sqrt(Dh) if scale is None else scale
    buckets = lsh_hash(qk, n_buckets, n_rounds, generator=generator)  # (..., R, n)
    lead = qk.shape[:-2]
    R, m = n_rounds, chunk
    C = -(-n // m)
    n_p = C * m
    dev = qk.device

    # Pad to whole chunks: padded positions get bucket b (sorted last) and are never read.
    pos = torch.arange(n_p, device=dev).expand(*lead, R, n_p)  # (..., R, n_p)
    b_p = F.pad(buckets, (0, n_p - n), value=n_buckets)  # (..., R, n_p)
    order = (b_p * n_p + pos).argsort(dim=-1)  # (..., R, n_p): sorted slot -> position
    s_pos = pos.gather(-1, order)  # (..., R, n_p) positions in sorted order
    s_b = b_p.gather(-1, order)  # (..., R, n_p)

    qk_p = F.pad(qk, (0, 0, 0, n_p - n)).unsqueeze(-3).expand(*lead, R, n_p, Dh)  # (..., R, n_p, Dh)
    v_p = F.pad(v, (0, 0, 0, n_p - n)).unsqueeze(-3).expand(*lead, R, n_p, v.shape[-1])  # (..., R, n_p, Dv)
    s_q = qk_p.gather(-2, order.unsqueeze(-1).expand_as(qk_p))  # (..., R, n_p, Dh)
    s_v = v_p.gather(-2, order.unsqueeze(-1).expand_as(v_p))  # (..., R, n_p, Dv)
    s_k = F.normalize(s_q, dim=-1)  # shared-QK: k_j = q_j / |q_j|

    def look_back(x: torch.Tensor, cdim: int, value: float | int) -> torch.Tensor:
        """Chunked x with its chunk axis at ``cdim`` and m slots after it -> 2m slots: the
        previous chunk (filled with ``value`` before the first chunk), then the chunk itself."""
        first = torch.full_like(x.narrow(cdim, 0, 1), value)
        prev = torch.cat([first, x.narrow(cdim, 0, C - 1)], dim=cdim)
        return torch.cat([prev, x], dim=cdim + 1)

    q_c = s_q.unflatten(-2, (C, m)) * scale  # (..., R, C, m, Dh)
    k_c = look_back(s_k.unflatten(-2, (C, m)), -3, 0.0)  # (..., R, C, 2m, Dh)
    v_c = look_back(s_v.unflatten(-2, (C, m)), -3, 0.0)  # (..., R, C, 2m, Dv)
    qpos = s_pos.unflatten(-1, (C, m))  # (..., R, C, m)
    kpos = look_back(qpos, -2, -1)  # (..., R, C, 2m); -1 = no key (before the first chunk)
    qb = s_b.unflatten(-1, (C, m))  # (..., R, C, m)
    kb = look_back(qb, -2, -1)  # (..., R, C, 2m)
    scores = q_c @ k_c.transpose(-2, -1)  # (..., R, C, m, 2m)

    allowed = (qb[..., :, None] == kb[..., None, :]) & (kpos[..., None, :] >= 0) & (kpos[..., None, :] < n)
    if causal:
        allowed &= kpos[..., None, :] <= qpos[..., :, None]
    is_self = qpos[..., :, None] == kpos[..., None, :]  # (..., R, C, m, 2m)
    # A padded query (cut at the end) reads itself, so that no row is all -inf: its NaN
    # would otherwise reach the gradients through 0 * NaN.
    allowed |= is_self & (qpos >= n)[..., :, None]

    # N_ij: in how many rounds i and j share a bucket (>= 1 wherever allowed).
    b_all = F.pad(buckets, (0, n_p - n), value=n_buckets)  # (..., R, n_p), by position
    b_all = b_all.unsqueeze(-3).expand(*lead, R, R, n_p)  # (..., R(round of slot), R'(every round), n_p)
    qcodes = b_all.gather(-1, qpos.flatten(-2).unsqueeze(-2).expand(*lead, R, R, n_p))  # (..., R, R', n_p)
    kidx = kpos.clamp(min=0).flatten(-2)  # (..., R, C*2m)
    kcodes = b_all.gather(-1, kidx.unsqueeze(-2).expand(*lead, R, R, C * 2 * m))  # (..., R, R', C*2m)
    qcodes = qcodes.unflatten(-1, (C, m))  # (..., R, R', C, m)
    kcodes = kcodes.unflatten(-1, (C, 2 * m))  # (..., R, R', C, 2m)
    shared = (qcodes[..., :, None] == kcodes[..., None, :]).sum(-4)  # (..., R, C, m, 2m)

    scores = scores - torch.log(shared.clamp(min=1).to(scores.dtype))
    scores = torch.where(is_self, scores - SELF_PENALTY, scores)
    scores = scores.masked_fill(~allowed, float("-inf"))
    lse = torch.logsumexp(scores, dim=-1, keepdim=True)  # (..., R, C, m, 1); finite: every row reads itself
    weights = torch.exp(scores - lse)
    o = weights @ v_c  # (..., R, C, m, Dv)

    # Undo the sort: slot of each position, then gather outputs and normalisers back.
    inv = order.argsort(dim=-1)  # (..., R, n_p): position -> sorted slot
    o = o.flatten(-3, -2).gather(-2, inv.unsqueeze(-1).expand(*lead, R, n_p, o.shape[-1]))  # (..., R, n_p, Dv)
    lse = lse.flatten(-3, -1).gather(-1, inv)  # (..., R, n_p)
    w_round = torch.softmax(lse[..., :n], dim=-2)  # (..., R, n): weight of each round
    return (w_round.unsqueeze(-1) * o[..., :n, :]).sum(-3)  # (..., n, Dv)


def lsh_recall(
    qk: torch.Tensor, n_buckets: int, rounds: int, *, top: int = 8, generator: torch.Generator
) -> float:
    """Fraction of each query's true top-``top`` keys found by LSH, averaged over queries.

    qk (n, Dh) or (..., n, Dh): shared query-key vectors; a query's true top keys are the
    ``top`` other positions with the largest dot product ``q_i . k_j`` (``k_j = q_j / |q_j|``,
    as in LSH attention; the query itself is left out, since LSH attention does not read
    it). A key counts as found when it shares the query's bucket in at least one of
    ``rounds`` hash rounds of :func:`lsh_hash` (``generator`` as there). Because the rounds
    are drawn one after the other, a fixed seed gives a recall that never falls as
    ``rounds`` grows (Reformer Fig. 4's message: more rounds, closer to full attention).
    Chunking is ignored here: it can only lose keys, so this bounds LSH attention's recall.
    """
    check_tensor("qk", qk, dtype="float")
    if qk.dim() < 2:
        raise ValueError(f"qk must have shape (..., n, Dh), got a {qk.dim()}-d tensor")
    n = qk.shape[-2]
    check_int("top", top, min=1, max=n - 1)
    check_positive("rounds", rounds)
    k = F.normalize(qk, dim=-1)
    dots = qk @ k.transpose(-2, -1)  # (..., n, n)
    dots = dots.diagonal_scatter(torch.full(dots.shape[:-1], float("-inf"), dtype=dots.dtype, device=dots.device),
                                 dim1=-2, dim2=-1)  # leave each query itself out
    best = dots.topk(top, dim=-1).indices  # (..., n, top)
    b = lsh_hash(qk, n_buckets, rounds, generator=generator)  # (..., R, n)
    qb = b.unsqueeze(-1)  # (..., R, n, 1)
    idx = best.flatten(-2).unsqueeze(-2).expand(*b.shape[:-1], n * top)  # (..., R, n*top)
    kb = b.gather(-1, idx).unflatten(-1, (n, top))  # (..., R, n, top): buckets of each query's top keys
    found = (qb == kb).any(dim=-3)  # (..., n, top)
    return found.float().mean().item()

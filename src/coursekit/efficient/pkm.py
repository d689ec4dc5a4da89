"""Product-key memory: a huge key-value table read through a top-k that costs O(sqrt(N)), not O(N).

Guillaume Lample, Alexandre Sablayrolles, Marc'Aurelio Ranzato, Ludovic Denoyer, Herve Jegou (2019),
"Large Memory Layers with Product Keys", NeurIPS, https://arxiv.org/abs/1907.05242, Sec. 3
(3.1 the memory; 3.2 product keys and the exact top-k search over them; 3.3 multi-head memory).

The N = n * n keys are all pairs (c_i, c'_j) of two sets of n sub-keys, each half as wide as the query.
A query q = [q1; q2] scores key (i, j) as q1.c_i + q2.c'_j. The best k of the N scores are among the
k x k pairs formed by the best k sub-keys of each half (a pair outside has at least k pairs above it),
so two searches over n sub-keys and one over k^2 sums replace a search over N keys.

Ties: every top-k here breaks ties by the lower index (index of key (i, j) = i * n + j), in the per-half
searches and in the final one, which keeps the product search exactly equal to the brute-force one.

Legend: B batch (all leading dimensions), D model width, Dk query/key width (each half Dk/2),
n sub-keys per half, N = n^2 keys (and values), k selected keys, Dv value width, Hm memory heads.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..utils import check_int, check_positive, check_tensor

__all__ = ["topk_lowest_index", "product_topk", "brute_force_topk", "ProductKeyMemory", "pkm_cost"]


def topk_lowest_index(scores: torch.Tensor, k: int, index: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The k largest of ``scores`` (..., M) along the last dimension, best first, equal scores in
    increasing ``index`` order (default: the position); returns (values (..., k), positions (..., k)).

    ``torch.topk`` leaves the order of ties unspecified; two stable sorts (by index, then by score)
    pin it down.
    """
    check_int("k", k, min=1, max=scores.shape[-1])
    order = torch.argsort(index, dim=-1, stable=True) if index is not None else None
    s = scores if order is None else scores.gather(-1, order)
    by_score = torch.argsort(s, dim=-1, descending=True, stable=True)[..., :k]  # ties keep the index order
    pos = by_score if order is None else order.gather(-1, by_score)
    return scores.gather(-1, pos), pos


def _check_halves(q1, q2, K1, K2, k) -> int:
    dims = check_tensor("q1", q1, shape=("B", "H"), dtype="float")
    check_tensor("q2", q2, shape=("B", "H"), dtype="float", dims=dims)
    dims = check_tensor("K1", K1, shape=("n", "H"), dtype="float", dims=dims)
    check_tensor("K2", K2, shape=("n", "H"), dtype="float", dims=dims)
    check_int("k", k, min=1, max=dims["n"])
    return dims["n"]


def product_topk(
    q1: torch.Tensor, q2: torch.Tensor, K1: torch.Tensor, K2: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact top-k over the n^2 product keys (Lample et al. 2019, Sec. 3.2, Fig. 2).

    q1, q2 (B, Dk/2): the query's halves; K1, K2 (n, Dk/2): the sub-key sets; k <= n.
    Returns scores (B, k), best first, and indices (B, k) in [0, n^2), index = i * n + j for key (c_i, c'_j).
    Work: 2 n Dk/2 multiply-adds and k^2 additions per query, against n^2 Dk for the brute force.
    """
    n = _check_halves(q1, q2, K1, K2, k)
    s1, i1 = topk_lowest_index(q1 @ K1.T, k)  # (B, k): the k best first halves
    s2, i2 = topk_lowest_index(q2 @ K2.T, k)  # (B, k): the k best second halves
    B = s1.shape[0]
    sums = (s1[:, :, None] + s2[:, None, :]).reshape(B, k * k)  # (B, k*k) candidate scores
    idx = (i1[:, :, None] * n + i2[:, None, :]).reshape(B, k * k)  # (B, k*k) their key indices
    scores, pos = topk_lowest_index(sums, k, index=idx)
    return scores, idx.gather(1, pos)


def brute_force_topk(
    q1: torch.Tensor, q2: torch.Tensor, K1: torch.Tensor, K2: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same top-k by scoring all n^2 keys: scores[b, i*n + j] = q1.c_i + q2.c'_j (added in the
    same order as :func:`product_topk`, so equal scores are bit-for-bit equal). Same returns."""
    _check_halves(q1, q2, K1, K2, k)
    B = q1.shape[0]
    all_scores = ((q1 @ K1.T)[:, :, None] + (q2 @ K2.T)[:, None, :]).reshape(B, -1)  # (B, n*n)
    return topk_lowest_index(all_scores, k)


class ProductKeyMemory(nn.Module):
    """A product-key memory layer (Lample et al. 2019, Sec. 3): (..., D) -> (..., Dv).

    Per memory head: a query q = W x (Dk wide), the exact top-k over n^2 product keys, softmax over the
    k selected scores, and the weighted sum of the k selected values, read with ``nn.EmbeddingBag``
    (only k of the N value rows are touched, and only they get gradients). Heads have their own
    queries and sub-keys and share the values; their reads are summed (Sec. 3.3).
    The paper also batch-normalises the query; we leave that out.

    ``n_sub_keys``: n (the memory holds N = n^2 values; paper: 512, N = 262k); ``k``: keys read
    (paper: 32); ``d_key``: Dk, even (paper: 512); ``heads``: Hm (paper: 4); ``value_dim``: Dv
    (default d_model).
    """

    def __init__(self, d_model: int, n_sub_keys: int, k: int, d_key: int, heads: int = 1, value_dim: int | None = None):
        super().__init__()
        check_positive("d_model", d_model)
        check_positive("n_sub_keys", n_sub_keys)
        check_int("k", k, min=1, max=n_sub_keys)
        check_int("d_key", d_key, min=2)
        if d_key % 2:
            raise ValueError(f"d_key must be even (the query splits into two halves), got {d_key}")
        check_positive("heads", heads)
        value_dim = d_model if value_dim is None else value_dim
        check_positive("value_dim", value_dim)
        self.d_model, self.n_sub_keys, self.k, self.d_key, self.heads, self.value_dim = d_model, n_sub_keys, k, d_key, heads, value_dim
        self.query = nn.Linear(d_model, heads * d_key)
        half = d_key // 2
        self.sub_keys = nn.Parameter(torch.randn(heads, 2, n_sub_keys, half) / math.sqrt(half))  # (Hm, 2, n, Dk/2)
        self.values = nn.EmbeddingBag(n_sub_keys**2, value_dim, mode="sum")  # (N, Dv)
        nn.init.normal_(self.values.weight, std=value_dim**-0.5)

    @property
    def n_keys(self) -> int:
        return self.n_sub_keys**2

    def lookup(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, D) -> (scores (B, Hm, k), indices (B, Hm, k)): each head's selected keys, best first."""
        B, D = x.size()
        q = self.query(x).view(B, self.heads, self.d_key)  # (B, Hm, Dk)
        half = self.d_key // 2
        scores, indices = zip(*(
            product_topk(q[:, h, :half], q[:, h, half:], self.sub_keys[h, 0], self.sub_keys[h, 1], self.k)
            for h in range(self.heads)
        ))
        return torch.stack(scores, 1), torch.stack(indices, 1)  # (B, Hm, k) each

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., D) float -> (..., Dv): sum over heads of sum_i softmax(scores)_i * value[index_i]."""
        check_tensor("x", x, dtype="float")
        if x.dim() == 0 or x.shape[-1] != self.d_model:
            raise ValueError(f"x must have shape (..., {self.d_model}), got {tuple(x.shape)}")
        lead = x.shape[:-1]
        flat = x.reshape(-1, self.d_model)  # (B, D), B = all leading dimensions
        scores, indices = self.lookup(flat)  # (B, Hm, k)
        weights = F.softmax(scores, dim=-1)  # (B, Hm, k), over the k selected keys only
        B = flat.shape[0]
        out = self.values(indices.reshape(B, -1), per_sample_weights=weights.reshape(B, -1))  # (B, Dv): heads summed
        return out.reshape(*lead, self.value_dim)


def pkm_cost(n_keys: int, d_key: int, k: int) -> dict[str, int | float]:
    """Per-query work to find the top-k keys, product keys against a flat key table of the same size
    (Lample et al. 2019, Sec. 3.2: two searches over sqrt(N) sub-keys and one over k^2 sums replace one
    over N keys). Exact counts, not orders of growth.

    ``n_keys`` must be a perfect square N = n^2. Returned: ``n_keys``, ``n_sub_keys``;
    ``flat_madds`` = N Dk (score every key); ``product_madds`` = 2 n Dk/2 = n Dk (score both sub-key
    sets) and ``product_adds`` = k^2 (the candidate sums); ``flat_candidates`` = N and
    ``product_candidates`` = 2 n + k^2 (scores a top-k must look through); ``speedup`` =
    flat_madds / (product_madds + product_adds); ``key_params_flat`` = N Dk and
    ``key_params_product`` = n Dk (the keys' own parameters).
    """
    check_positive("n_keys", n_keys)
    check_positive("d_key", d_key)
    n = math.isqrt(n_keys)
    if n * n != n_keys:
        raise ValueError(f"n_keys must be a perfect square n * n (the product of two sub-key sets), got {n_keys}")
    if d_key % 2:
        raise ValueError(f"d_key must be even (the query splits into two halves), got {d_key}")
    check_int("k", k, min=1, max=n)
    flat, product, adds = n_keys * d_key, n * d_key, k * k
    return {
        "n_keys": n_keys,
        "n_sub_keys": n,
        "flat_madds": flat,
        "product_madds": product,
        "product_adds": adds,
        "flat_candidates": n_keys,
        "product_candidates": 2 * n + k * k,
        "speedup": flat / (product + adds),
        "key_params_flat": n_keys * d_key,
        "key_params_product": n * d_key,
    }

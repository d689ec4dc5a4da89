"""Modern (continuous) Hopfield networks, whose update rule is attention.

Paper: Hubert Ramsauer, Bernhard Schäfl, Johannes Lehner, Philipp Seidl, Michael
Widrich, Thomas Adler, Lukas Gruber, Markus Holzleitner, Milena Pavlović, Geir
Kjetil Sandve, Victor Greiff, David Kreil, Michael Kopp, Günter Klambauer,
Johannes Brandstetter, Sepp Hochreiter (2021), "Hopfield Networks is All You
Need", ICLR 2021 (arXiv 2020), https://arxiv.org/abs/2008.02217, Sec. 2 (Eq. 2,
energy; Eq. 3, update; Theorem 1, global convergence of the update, a concave-convex
procedure, so no update raises the energy; Theorems 4-5, retrieval in one update with
an error exponentially small in the separation; Sec. 3, the Hopfield layer is attention).

Lineage: Krotov and Hopfield (2016), "Dense Associative Memory for Pattern
Recognition", use binary states and polynomial interaction functions F(x) = x^n
(capacity proportional to d^(n-1)); Demircigil, Heusel, Löwe, Upgang and Vermet
(2017), "On a model of associative memory with huge storage capacity", use
F(x) = exp(x) (capacity exponential in d); Ramsauer et al. generalise the exponential
energy to continuous states: E = -lse(beta, X^T xi) + xi^T xi / 2 + const.

The paper stores N patterns as the columns of X (d, N) and updates a state
pattern xi (d,) by

    xi_new = X softmax(beta X^T xi).

Here patterns are *rows*, as tokens are everywhere else in coursekit: stored
(..., N, d) and states (..., M, d), so M states update at once by

    states_new = softmax(beta states stored^T) stored,

which is :func:`coursekit.attention.scaled_dot_product_attention` with queries =
states, keys = values = stored patterns and scale = beta (one update IS attention).

Legend: M state (query) patterns, N stored patterns, d pattern width.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .utils import check_positive, check_tensor

__all__ = [
    "hopfield_update", "hopfield_energy", "retrieve", "retrieval_accuracy", "separation", "metastable_size",
    "HopfieldLayer",
]


def _check_pair(state: torch.Tensor, stored: torch.Tensor, beta: float) -> None:
    check_tensor("state", state, dtype="float")
    check_tensor("stored", stored, dtype="float")
    if state.dim() < 2 or stored.dim() < 2 or state.shape[-1] != stored.shape[-1]:
        raise ValueError(
            f"state must have shape (..., M, d) and stored (..., N, d) with the same d, "
            f"got state {tuple(state.shape)} and stored {tuple(stored.shape)}"
        )
    if not isinstance(beta, (int, float)) or isinstance(beta, bool) or not beta > 0 or not math.isfinite(beta):
        raise ValueError(f"beta must be a positive finite number, got {beta!r}")


def hopfield_update(state: torch.Tensor, stored: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One update of the modern Hopfield network (Ramsauer et al. 2021, Eq. 3), for M states at once.

    state (..., M, d), stored (..., N, d), float; beta > 0 the inverse temperature.
    Returns (new_state (..., M, d), p (..., M, N)), p = softmax(beta X^T xi) per state:
    how much of each stored pattern the new state is made of.
    """
    _check_pair(state, stored, beta)
    p = torch.softmax(beta * state @ stored.transpose(-2, -1), dim=-1)  # (..., M, N): softmax(beta X^T xi)
    return p @ stored, p  # (..., M, d): X p, written for rows


def hopfield_energy(state: torch.Tensor, stored: torch.Tensor, beta: float) -> torch.Tensor:
    """E(xi) = -lse(beta, X^T xi) + xi^T xi / 2 + log(N) / beta + M_x^2 / 2 (Ramsauer et al. 2021, Eq. 2),
    with lse(beta, z) = log(sum exp(beta z)) / beta and M_x the largest stored-pattern norm.

    state (..., M, d), stored (..., N, d). Returns (..., M). No update raises it (the update is a
    concave-convex procedure on it, the basis of their Theorem 1).
    """
    _check_pair(state, stored, beta)
    N = stored.shape[-2]
    lse = torch.logsumexp(beta * state @ stored.transpose(-2, -1), dim=-1) / beta  # (..., M)
    big_m = stored.norm(dim=-1).amax(dim=-1, keepdim=True)  # (..., 1)
    return -lse + 0.5 * (state * state).sum(-1) + math.log(N) / beta + 0.5 * big_m**2


def retrieve(queries: torch.Tensor, stored: torch.Tensor, beta: float, *, steps: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Retrieve stored patterns from (corrupted) queries by ``steps`` Hopfield updates.

    queries (..., M, d), stored (..., N, d). Returns (retrieved (..., M, d), p (..., M, N)),
    p the weights of the last update. The paper: with large beta, one update usually
    suffices and lands near a single stored pattern; with small beta the iteration
    heads for an average of several (a metastable state) or of all (the global fixed point).
    """
    check_positive("steps", steps)
    state = queries
    for _ in range(steps):
        state, p = hopfield_update(state, stored, beta)
    return state, p


def retrieval_accuracy(retrieved: torch.Tensor, stored: torch.Tensor, targets: torch.Tensor, *, tol: float = 0.1) -> float:
    """Fraction of retrieved states within relative distance ``tol`` of their target stored pattern.

    retrieved (M, d), stored (N, d), targets (M,) long indices into stored. A metastable
    average of several patterns is far from each of them, so it does not count as retrieved.
    """
    dims = check_tensor("retrieved", retrieved, shape=("M", "d"), dtype="float")
    check_tensor("stored", stored, shape=("N", "d"), dtype="float", dims=dims)
    check_tensor("targets", targets, shape=("M",), dtype=torch.long, dims=dims)
    if not 0 < tol:
        raise ValueError(f"tol must be positive, got {tol!r}")
    target = stored[targets]  # (M, d)
    err = (retrieved - target).norm(dim=-1) / target.norm(dim=-1).clamp_min(1e-12)
    return (err <= tol).float().mean().item()


def separation(stored: torch.Tensor) -> torch.Tensor:
    """Each stored pattern's separation from the others, Delta_i = x_i^T x_i - max_{j != i} x_i^T x_j
    (Ramsauer et al. 2021, Sec. 2, before Theorem 4): the larger it is, the smaller the beta that
    retrieves x_i in one update (their Theorems 4-5 bound the error by terms in exp(-beta Delta_i)).

    stored (..., N, d) float, N >= 2. Returns (..., N).
    """
    check_tensor("stored", stored, dtype="float")
    if stored.dim() < 2 or stored.shape[-2] < 2:
        raise ValueError(f"stored must have shape (..., N, d) with N >= 2, got {tuple(stored.shape)}")
    sims = stored @ stored.transpose(-2, -1)  # (..., N, N)
    own = sims.diagonal(dim1=-2, dim2=-1)  # (..., N): x_i^T x_i
    eye = torch.eye(sims.shape[-1], dtype=torch.bool, device=sims.device)
    return own - sims.masked_fill(eye, float("-inf")).amax(-1)


def metastable_size(p: torch.Tensor, mass: float = 0.9) -> torch.Tensor:
    """The smallest number k of weights in each row of ``p`` that together reach ``mass``: how many
    stored patterns an update mixes (Ramsauer et al. 2021, Sec. 4, who use mass 0.90 to sort
    attention heads: k = 1 is a single pattern, k near N the global average). Weights alone do not
    make a metastable state: that is a *fixed point* whose weights have 1 < k < N.

    p (..., N) non-negative rows summing to 1. Returns (...,) long.
    """
    check_tensor("p", p, dtype="float")
    if not 0 < mass <= 1:
        raise ValueError(f"mass must be in (0, 1], got {mass!r}")
    cum = p.sort(dim=-1, descending=True).values.cumsum(-1)  # (..., N)
    # count the prefixes that fall short of the mass, plus the one that reaches it (float slack: 1e-6)
    return ((cum < mass - 1e-6).sum(-1) + 1).clamp_max(p.shape[-1])


class HopfieldLayer(nn.Module):
    """A Hopfield layer with N learned stored patterns (Ramsauer et al. 2021, Sec. 3, "HopfieldLayer").

    Each input token, projected to a state pattern xi = x W, does one update against the
    learned patterns, i.e. attends over a learned memory: out = softmax(beta xi X^T) X.
    Input (B, T, d_in); output (B, T, d), weights (B, T, N).
    """

    def __init__(self, d_in: int, n_patterns: int, d: int, *, beta: float | None = None):
        super().__init__()
        for name, value in (("d_in", d_in), ("n_patterns", n_patterns), ("d", d)):
            check_positive(name, value)
        self.beta = 1.0 / math.sqrt(d) if beta is None else beta  # the Transformer's 1/sqrt(d_k) by default
        _check_pair(torch.zeros(1, d), torch.zeros(1, d), self.beta)
        self.state_proj = nn.Linear(d_in, d)
        self.patterns = nn.Parameter(torch.randn(n_patterns, d))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_tensor("x", x, shape=("B", "T", self.state_proj.in_features), dtype="float")
        return hopfield_update(self.state_proj(x), self.patterns, self.beta)  # (B, T, d), (B, T, N)

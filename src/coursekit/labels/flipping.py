"""Label flipping: random label noise, the adversarial label-flip attack on an SVM, and k-NN label
sanitisation as the defence (Chapter 13).

1. Random flips: exactly ``round(rate * n)`` labels, chosen uniformly, each changed to another class
   (the usual "symmetric" label noise).
2. ALFA. Xiao, Xiao & Eckert (2012), *Adversarial Label Flips Attack on Support Vector Machines*,
   ECAI 2012, pp. 870-875
   (https://www.sec.in.tum.de/i20/publications/adversarial-label-flips-attack-on-support-vector-machines).
   The attacker knows the learner (an SVM, here scikit-learn's :class:`~sklearn.svm.SVC`) and may flip labels up to
   a budget. The n training points are doubled into an expanded set U of 2n points, every x_i once with
   its label y_i and once with -y_i; an indicator q (2n,) picks which copy the tainted set keeps
   (q_i + q_{n+i} = 1), and the flips must fit the budget (sum_i c_i q_{n+i} <= C). The attacker wants a
   tainted set on which the tainted SVM f fits well while the clean SVM f_S fits badly, i.e. it
   minimises sum_i q_i [V(y_i, f(x_i)) - V(y_i, f_S(x_i))] (plus f's regulariser), V the hinge loss.
   With eps_i = V(y_i, f_S(x_i)) fixed (f_S trained once on the clean data), ALFA alternates
   two convex problems: the QP (train f on the set q selects: an SVM with per-point weights q_i,
   giving xi_i = V(y_i, f(x_i)) on all of U) and the LP in q with xi fixed (:func:`flip_lp`), until q
   stops changing; it then flips the points whose q_{n+i} are largest while the budget lasts.
3. Label sanitisation. Paudice, Munoz-Gonzalez & Lupu (2018), *Label Sanitization against Label
   Flipping Poisoning Attacks*, ECML PKDD 2018 Workshops, https://arxiv.org/abs/1803.00992,
   Algorithm 1: every training point whose k nearest neighbours agree on a label with a share
   >= eta takes that label.

Deviations from Xiao et al. (each also stated where it happens):

- The QP step is scikit-learn's SVC (libsvm) fitted on the expanded set with ``sample_weight=q``:
  libsvm scales C per point, so this is the paper's QP in f with its weight on the losses equal to
  SVC's C, for fractional q too. Points with q_i = 0 are left out of the fit (a weight of zero contributes nothing to the QP).
- The loop starts from seeded uniform random xi in [0, 1), as the authors' released code does
  (ALFASVMLib, ``CAttackerSVMAlfa.m``, where a comment calls it a heuristic against getting stuck in
  the first local optimum); we could not check what the paper's text says about the start.
- Convergence: q changes by less than ``tol`` everywhere (the released code uses 1e-3), or ``max_iter``
  rounds (released code: 50).
- Ties in the final sort of q_{n+1..2n} are broken by a seeded random order (the released code
  shuffles the data first, to the same effect).
- Unit costs by default (c_i = 1, budget = number of flips), as in the released code (a flip rate);
  with unit costs the final step flips exactly ``budget`` labels.

Legend: N training points, D features, U = 2N points of the expanded set, K classes.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from scipy.optimize import linprog
from sklearn.neighbors import NearestNeighbors
from sklearn.svm import SVC

from ..utils import check_choice, check_int, check_real

__all__ = ["random_flips", "alfa", "flip_lp", "hinge_losses", "knn_sanitise", "svm"]

KERNELS = ("linear", "rbf")


def _as_labels(name: str, labels: object) -> np.ndarray:
    """``labels`` as a 1-D integer NumPy array (from NumPy, torch or a list), else ValueError."""
    if isinstance(labels, torch.Tensor):
        arr = labels.detach().cpu().numpy()
    else:
        arr = np.asarray(labels)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of integer labels, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integer labels, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _as_features(name: str, X: object, n: int | None = None) -> np.ndarray:
    """``X`` as a finite (N, D) float64 array with N == n when given, else ValueError."""
    arr = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be a 2-D array (N, D) with N, D >= 1, got shape {arr.shape}")
    if arr.dtype.kind not in "iuf" or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite real numbers, got dtype {arr.dtype}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have one row per label ({n}), got {arr.shape[0]} rows")
    return arr.astype(np.float64, copy=False)


def _binary_signs(name: str, y: np.ndarray) -> tuple[np.ndarray, bool]:
    """Binary labels as +-1 and whether they came as {0, 1}, else ValueError."""
    values = set(np.unique(y).tolist())
    if values <= {-1, 1}:
        return y.copy(), False
    if values <= {0, 1}:
        return 2 * y - 1, True
    raise ValueError(f"{name} must be binary labels in {{-1, +1}} or {{0, 1}}, got values {sorted(values)}")


def _like(new: np.ndarray, original: object) -> object:
    """``new`` in the container (and dtype / device) of ``original``."""
    if isinstance(original, torch.Tensor):
        return torch.as_tensor(new, dtype=original.dtype, device=original.device)
    return new.astype(np.asarray(original).dtype, copy=False)


def random_flips(labels: object, rate: float, seed: int = 0, *, num_classes: int | None = None) -> object:
    """Flip exactly ``round(rate * N)`` labels, at positions chosen uniformly without replacement.

    ``labels`` (N,) ints, NumPy or torch (returned in the same container and dtype). Labels in
    {-1, +1} are binary and a flip negates them; otherwise labels lie in [0, K) with
    K = ``num_classes`` (default ``max(labels) + 1``, at least 2) and a flipped label becomes one of
    the other K - 1 classes, uniformly. The flipped positions are ``new != labels``.
    """
    y = _as_labels("labels", labels)
    check_real("rate", rate, low=0.0, high=1.0)
    check_int("seed", seed)
    signs = set(np.unique(y).tolist()) <= {-1, 1} and -1 in y
    if signs:
        if num_classes not in (None, 2):
            raise ValueError(f"num_classes must be 2 (or None) for labels in {{-1, +1}}, got {num_classes!r}")
        k = 2
    else:
        if y.min() < 0:
            raise ValueError(f"labels must be in [0, num_classes) or in {{-1, +1}}, got minimum {int(y.min())}")
        k = max(int(y.max()) + 1, 2) if num_classes is None else num_classes
        check_int("num_classes", k, min=2)
        if y.max() >= k:
            raise ValueError(f"labels must be in [0, num_classes={k}), got maximum {int(y.max())}")
    n = y.size
    rng = np.random.default_rng(seed)
    where = rng.choice(n, size=int(round(rate * n)), replace=False)
    new = y.copy()
    if signs:
        new[where] = -y[where]
    else:
        # a uniform draw among the K - 1 other classes: shift by 1 .. K-1 modulo K
        new[where] = (y[where] + rng.integers(1, k, size=where.size)) % k
    return _like(new, labels)


def svm(kernel: str = "linear", C: float = 1.0, gamma: float | str = "scale") -> SVC:
    """The SVM that ALFA attacks and the experiments train: scikit-learn's SVC (libsvm), validated."""
    check_choice("kernel", kernel, KERNELS)
    check_real("C", C, low=0.0, low_open=True)
    if not (isinstance(gamma, str) and gamma in ("scale", "auto")):
        check_real("gamma", gamma, low=0.0, low_open=True)
    return SVC(kernel=kernel, C=float(C), gamma=gamma)


def hinge_losses(model: SVC, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """max(0, 1 - y f(x)) per point, f the fitted SVC's ``decision_function`` (sign convention: its
    ``classes_[1]`` is the positive side) and y in {-1, +1}; (N,)."""
    f = model.decision_function(X)
    if model.classes_[1] != 1:  # classes_ sorted: [-1, 1] always here; guard anyway
        f = -f
    return np.maximum(0.0, 1.0 - y * f)


def flip_lp(xi: object, eps: object, budget: float, costs: object | None = None) -> np.ndarray:
    """One LP step of ALFA (Xiao et al. 2012: the problem in q with the losses fixed), solved with :func:`scipy.optimize.linprog`
    (HiGHS):

        min_q  sum_{i=1}^{2N} q_i (xi_i - eps_i)
        s.t.   q_i + q_{N+i} = 1 (i = 1..N),   sum_{i=1}^{N} c_i q_{N+i} <= budget,   0 <= q <= 1

    ``xi``, ``eps`` (U,) = (2N,): the tainted and the clean SVM's hinge losses on the expanded set (the
    first N entries for the original labels, the last N for the flipped ones); ``costs`` (N,) > 0
    (default 1). Returns q (U,); q_{N+i} near 1 means "flip point i"."""
    xi = np.asarray(xi, dtype=np.float64)
    eps = np.asarray(eps, dtype=np.float64)
    if xi.ndim != 1 or xi.size == 0 or xi.size % 2:
        raise ValueError(f"xi must be a 1-D array of even length 2N, got shape {xi.shape}")
    if eps.shape != xi.shape:
        raise ValueError(f"eps must have the shape of xi {xi.shape}, got {eps.shape}")
    if not (np.all(np.isfinite(xi)) and np.all(np.isfinite(eps))):
        raise ValueError("xi and eps must be finite")
    n = xi.size // 2
    c = _costs(costs, n)
    check_real("budget", budget, low=0.0)
    a_eq = np.hstack([np.eye(n), np.eye(n)])  # q_i + q_{N+i} = 1
    a_ub = np.concatenate([np.zeros(n), c])[None, :]  # the flips' total cost
    res = linprog(xi - eps, A_ub=a_ub, b_ub=[float(budget)], A_eq=a_eq, b_eq=np.ones(n), bounds=(0.0, 1.0),
                  method="highs")
    if res.status != 0:  # cannot happen for valid inputs (q = keep everything is feasible)
        raise RuntimeError(f"ALFA's linear program failed: {res.message}")
    return np.clip(res.x, 0.0, 1.0)


def _costs(costs: object | None, n: int) -> np.ndarray:
    if costs is None:
        return np.ones(n)
    c = np.asarray(costs, dtype=np.float64)
    if c.shape != (n,) or not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise ValueError(f"costs must be {n} finite positive numbers (one per training point), got shape {c.shape}")
    return c


def alfa(
    X: object,
    y: object,
    budget: float,
    *,
    kernel: str = "linear",
    C: float = 1.0,
    gamma: float | str = "scale",
    costs: object | None = None,
    max_iter: int = 50,
    tol: float = 1e-3,
    seed: int = 0,
) -> np.ndarray:
    """The Adversarial Label Flip Attack (Xiao, Xiao & Eckert 2012) on ``SVC(kernel, C,
    gamma)``; returns the tainted labels (N,) int64, in ``y``'s encoding ({-1, +1} or {0, 1}).

    ``X`` (N, D), ``y`` (N,) binary. ``budget``: with unit costs (``costs=None``), the number of flips
    (an int in [0, N]); with ``costs`` (N,) > 0, the total cost the flips may use. The steps
    (deviations from the paper in the module docstring):

    1. f_S = the SVM trained on (X, y); eps = its hinge losses on the expanded set U = [(x_i, y_i);
       (x_i, -y_i)].
    2. xi = seeded uniform [0, 1) values on U (the released code's start); repeat up to ``max_iter``
       times: q = :func:`flip_lp` (xi, eps); fit the SVM on U with ``sample_weight=q`` (the QP);
       xi = its hinge losses on U; stop when q moved by less than ``tol``.
    3. Sort q_{N+1..2N} in descending order and flip each point in that order whose cost still fits
       the budget (ALFA's last step).
    """
    yy = _as_labels("y", y)
    n = yy.size
    Xa = _as_features("X", X, n)
    signs, zero_one = _binary_signs("y", yy)
    if len(set(signs.tolist())) < 2:
        raise ValueError("y must contain both classes (an SVM needs two)")
    c = _costs(costs, n)
    if costs is None:
        check_int("budget", budget, min=0, max=n)
    else:
        check_real("budget", budget, low=0.0)
    check_int("max_iter", max_iter, min=1)
    check_real("tol", tol, low=0.0, low_open=True)
    check_int("seed", seed)
    model = svm(kernel, C, gamma)
    rng = np.random.default_rng(seed)
    Xu = np.vstack([Xa, Xa])  # (U, D)
    yu = np.concatenate([signs, -signs])  # (U,)
    eps = hinge_losses(model.fit(Xa, signs), Xu, yu)
    xi = rng.random(2 * n)
    q_old = np.concatenate([np.ones(n), np.zeros(n)])
    for _ in range(max_iter):
        q = flip_lp(xi, eps, budget, c)
        keep = q > 1e-9
        if len(np.unique(yu[keep])) < 2:  # the tainted set lost a class: no SVM to fit; stop here
            break
        model = svm(kernel, C, gamma).fit(Xu[keep], yu[keep], sample_weight=q[keep])
        xi = hinge_losses(model, Xu, yu)
        moved = np.max(np.abs(q - q_old))
        q_old = q
        if moved < tol:
            break
    order = rng.permutation(n)  # random tie-breaking
    order = order[np.argsort(-q_old[n:][order], kind="stable")]
    spent = np.cumsum(c[order])
    flip = order[spent <= float(budget) + 1e-9]
    tainted = signs.copy()
    tainted[flip] = -tainted[flip]
    return (tainted + 1) // 2 if zero_one else tainted


def knn_sanitise(X: object, y: object, k: int = 10, eta: float = 0.5) -> np.ndarray:
    """Label sanitisation (Paudice, Munoz-Gonzalez & Lupu 2018, Algorithm 1): for every training point,
    find its ``k`` nearest neighbours among the other points (Euclidean; scikit-learn's
    :class:`~sklearn.neighbors.NearestNeighbors`, the point itself excluded); if the most common label
    among them has a share >= ``eta``, the point takes that label, otherwise it keeps its own. All
    points are judged on the labels as given (one sweep, no sequential updates). A tie for the most
    common label (possible when eta <= 1/2) keeps the point's own label if it is among the tied
    ones, else goes to the smallest tied label (the paper does not say). ``X`` (N, D), ``y`` (N,)
    integer labels (binary or multiclass); returns the sanitised labels (N,) int64.
    """
    yy = _as_labels("y", y)
    n = yy.size
    Xa = _as_features("X", X, n)
    check_int("k", k, min=1, max=n - 1)
    check_real("eta", eta, low=0.0, high=1.0, low_open=True)
    idx = NearestNeighbors(n_neighbors=k).fit(Xa).kneighbors(return_distance=False)  # (N, k), self excluded
    return _relabel(yy, idx, eta)


def _relabel(y: np.ndarray, idx: np.ndarray, eta: float) -> np.ndarray:
    """Algorithm 1's rule given the neighbour indices ``idx`` (N, k)."""
    classes, codes = np.unique(y, return_inverse=True)  # (K,), (N,)
    nb = codes[idx]  # (N, k) neighbour label codes
    counts = np.zeros((y.size, classes.size), dtype=np.int64)  # (N, K)
    np.add.at(counts, (np.repeat(np.arange(y.size), idx.shape[1]), nb.ravel()), 1)
    rows = np.arange(y.size)
    best = counts.max(axis=1)  # (N,)
    top = np.where(counts[rows, codes] == best, codes, counts.argmax(axis=1))  # own label wins a tie
    return np.where(best / idx.shape[1] >= eta, classes[top], y)

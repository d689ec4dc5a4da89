"""coursekit.labels.flipping: random flips, ALFA (Xiao et al. 2012) and k-NN sanitisation (Paudice et al. 2018)."""

import numpy as np
import pytest
import torch
from sklearn.svm import SVC

from coursekit.labels.flipping import alfa, flip_lp, hinge_losses, knn_sanitise, random_flips, svm

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: one thread is fastest on a busy machine


def _square(n, seed):
    """Uniform points in [-1, 1]^2 labelled by the side of x1 + x2 = 0: separable."""
    r = np.random.default_rng(seed)
    X = r.uniform(-1, 1, (n, 2))
    return X, np.where(X[:, 0] + X[:, 1] > 0, 1, -1)


def _blobs(n_per, centres, seed, spread=0.3):
    r = np.random.default_rng(seed)
    X = np.vstack([r.normal(c, spread, (n_per, len(c))) for c in centres])
    return X, np.repeat(np.arange(len(centres)), n_per)


# --- random flips -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [0.0, 0.1, 0.25, 0.5, 1.0])
def test_random_flips_count_binary_signs(rate):
    y = np.where(np.arange(37) % 3 == 0, 1, -1)
    out = random_flips(y, rate, seed=3)
    changed = out != y
    assert changed.sum() == round(rate * 37)
    np.testing.assert_array_equal(out[changed], -y[changed])
    assert out.dtype == y.dtype


def test_random_flips_multiclass_other_class_uniform():
    y = np.zeros(3000, dtype=np.int64)  # all class 0, K = 4: flips land on 1, 2, 3 evenly
    out = random_flips(y, 0.6, seed=0, num_classes=4)
    changed = out != y
    assert changed.sum() == 1800
    counts = np.bincount(out[changed], minlength=4)
    assert counts[0] == 0
    assert np.all(np.abs(counts[1:] - 600) < 90)  # ~6 standard deviations of a binomial(1800, 1/3)


def test_random_flips_zero_one_and_torch_and_seeded():
    y = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1, 1, 1])
    out = random_flips(y, 0.3, seed=7)
    assert isinstance(out, torch.Tensor) and out.dtype == y.dtype
    assert int((out != y).sum()) == 3
    assert torch.equal(out[out != y], 1 - y[out != y])
    assert torch.equal(out, random_flips(y, 0.3, seed=7))
    assert not all(torch.equal(out, random_flips(y, 0.3, seed=s)) for s in range(8, 12))


def test_random_flips_multiclass_labels_stay_in_range():
    y = np.arange(50) % 5
    out = random_flips(y, 0.5, seed=1)
    assert ((out != y).sum() == 25) and out.min() >= 0 and out.max() <= 4


# --- ALFA -----------------------------------------------------------------------------------------------------

def _knapsack(xi, eps, budget):
    """Brute-force optimum of the LP with unit costs: flip the points with the most negative gain."""
    n = xi.size // 2
    gain = (xi[n:] - eps[n:]) - (xi[:n] - eps[:n])
    chosen = np.argsort(gain)[:budget]
    chosen = chosen[gain[chosen] < 0]
    q = np.concatenate([np.ones(n), np.zeros(n)])
    q[chosen], q[n + chosen] = 0.0, 1.0
    return q


def test_flip_lp_matches_closed_form_knapsack():
    r = np.random.default_rng(0)
    for budget in (0, 1, 3, 6):
        xi, eps = r.random(20), 2 * r.random(20)
        q = flip_lp(xi, eps, budget)
        ref = _knapsack(xi, eps, budget)
        assert np.isclose(q @ (xi - eps), ref @ (xi - eps))
        np.testing.assert_allclose(q, ref, atol=1e-7)  # continuous draws: a unique, integral optimum
        np.testing.assert_allclose(q[:10] + q[10:], 1.0)


def test_flip_lp_respects_costs():
    r = np.random.default_rng(1)
    xi, eps = np.zeros(16), np.concatenate([np.zeros(8), 1 + r.random(8)])  # every flip helps
    costs = 1 + r.random(8)
    q = flip_lp(xi, eps, 2.5, costs)
    assert costs @ q[8:] <= 2.5 + 1e-8
    assert costs @ q[8:] == pytest.approx(2.5)  # all flips help, so the budget is used up


def test_weighted_svc_on_expanded_set_is_svc_on_tainted_set():
    """ALFA's QP step: SVC on the doubled set with 0/1 sample weights q is SVC on the tainted set."""
    X, y = _square(30, 0)
    tainted = y.copy()
    tainted[[1, 5, 9]] *= -1
    keep_flip = tainted != y
    q = np.concatenate([~keep_flip, keep_flip]).astype(float)
    Xu, yu = np.vstack([X, X]), np.concatenate([y, -y])
    a = SVC(kernel="linear").fit(X, tainted).decision_function(X)
    b = SVC(kernel="linear").fit(Xu[q > 0], yu[q > 0], sample_weight=q[q > 0]).decision_function(X)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_hinge_losses_definition():
    X, y = _square(20, 2)
    m = SVC(kernel="linear").fit(X, y)
    np.testing.assert_allclose(hinge_losses(m, X, y), np.maximum(0, 1 - y * m.decision_function(X)))


@pytest.mark.parametrize("budget", [0, 4, 9])
def test_alfa_flips_exactly_the_budget_and_keeps_encoding(budget):
    X, y = _square(40, 1)
    out = alfa(X, y, budget, seed=0)
    assert (out != y).sum() == budget and set(np.unique(out)) <= {-1, 1}
    out01 = alfa(X, (y + 1) // 2, budget, seed=0)
    np.testing.assert_array_equal(out01, (out + 1) // 2)


def test_alfa_beats_random_flips_same_budget():
    """The paper's claim in miniature: for the same number of flips, ALFA's labels give the SVM a larger
    test error than random flips (mean over seeds; each seed its own training set)."""
    Xt, yt = _square(1000, 99)
    alfa_err, rand_err = [], []
    for seed in (0, 1, 2):
        X, y = _square(60, seed)
        for labels, errs in ((alfa(X, y, 12, C=10.0, seed=seed), alfa_err),
                             (random_flips(y, 12 / 60, seed=seed), rand_err)):
            errs.append(1 - (svm(C=10.0).fit(X, labels).predict(Xt) == yt).mean())
    assert np.mean(alfa_err) > np.mean(rand_err) + 0.03


def test_alfa_rbf_runs_and_flips_budget():
    X, y = _square(40, 3)
    out = alfa(X, y, 6, kernel="rbf", gamma=0.5, seed=1)
    assert (out != y).sum() == 6


def test_alfa_costs_budget_respected():
    X, y = _square(30, 4)
    costs = np.linspace(0.5, 2.0, 30)
    out = alfa(X, y, 5.0, costs=costs, seed=0)
    assert costs[out != y].sum() <= 5.0 + 1e-9 and (out != y).any()


# --- k-NN sanitisation ---------------------------------------------------------------------------------------

def _brute_sanitise(X, y, k, eta):
    d = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    out = y.copy()
    for i in range(len(y)):
        labels, counts = np.unique(y[idx[i]], return_counts=True)
        best = counts.max()
        tied = labels[counts == best]
        if best / k >= eta:
            out[i] = y[i] if y[i] in tied else tied.min()
    return out


@pytest.mark.parametrize("k,eta", [(1, 1.0), (3, 0.6), (5, 0.5), (8, 0.75), (10, 0.3)])
def test_knn_sanitise_equals_brute_force(k, eta):
    r = np.random.default_rng(k)
    X = r.normal(size=(60, 3))
    y = r.integers(0, 3, 60)
    np.testing.assert_array_equal(knn_sanitise(X, y, k, eta), _brute_sanitise(X, y, k, eta))


def test_knn_sanitise_recovers_planted_flips():
    X, y = _blobs(40, [(0, 0), (4, 0), (0, 4)], seed=0)
    noisy = random_flips(y, 0.15, seed=0)
    clean = knn_sanitise(X, noisy, k=10, eta=0.6)
    assert (noisy != y).sum() == 18
    np.testing.assert_array_equal(clean, y)  # separated blobs: every planted flip undone, nothing else changed


def test_knn_sanitise_keeps_labels_below_eta():
    X, y = _blobs(20, [(0, 0), (0.2, 0)], seed=1, spread=1.0)  # overlapping: neighbourhoods are mixed
    out = knn_sanitise(X, y, k=5, eta=1.0)
    d = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    unanimous = np.array([len(set(y[np.argsort(row)[:5]])) == 1 for row in d])
    np.testing.assert_array_equal(out != y, unanimous & (out != y))  # only unanimous neighbourhoods relabel


# --- validation -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call,name", [
    (lambda: random_flips([0, 1, 2], 1.5), "rate"),
    (lambda: random_flips([0, 1, 2], 0.5, seed=1.0), "seed"),
    (lambda: random_flips([[0, 1]], 0.5), "labels"),
    (lambda: random_flips([0.5, 1.0], 0.5), "labels"),
    (lambda: random_flips([0, 3], 0.5, num_classes=3), "num_classes"),
    (lambda: random_flips([-1, 1], 0.5, num_classes=3), "num_classes"),
    (lambda: alfa(np.zeros((4, 2)), [0, 1, 2, 1], 1), "y"),
    (lambda: alfa(np.zeros((3, 2)), [0, 1, 1, 0], 1), "X"),
    (lambda: alfa(np.eye(4), [0, 1, 1, 0], 5), "budget"),
    (lambda: alfa(np.eye(4), [0, 1, 1, 0], 1, kernel="poly"), "kernel"),
    (lambda: alfa(np.eye(4), [0, 1, 1, 0], 1, C=0.0), "C"),
    (lambda: alfa(np.eye(4), [0, 1, 1, 0], 1, gamma=-1.0), "gamma"),
    (lambda: alfa(np.eye(4), [0, 1, 1, 0], 1, max_iter=0), "max_iter"),
    (lambda: alfa(np.eye(4), [0, 1, 1, 0], 1.0, costs=[1, 1, 0, 1]), "costs"),
    (lambda: alfa(np.eye(4), [1, 1, 1, 1], 1), "y"),
    (lambda: flip_lp(np.zeros(3), np.zeros(3), 1), "xi"),
    (lambda: flip_lp(np.zeros(4), np.zeros(2), 1), "eps"),
    (lambda: flip_lp(np.zeros(4), np.zeros(4), -1), "budget"),
    (lambda: knn_sanitise(np.eye(4), [0, 1, 1, 0], k=4), "k"),
    (lambda: knn_sanitise(np.eye(4), [0, 1, 1, 0], k=2, eta=0.0), "eta"),
    (lambda: knn_sanitise(np.full((4, 2), np.nan), [0, 1, 1, 0], k=2), "X"),
])
def test_validation_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --- experiments (tiny settings) ------------------------------------------------------------------------------

from coursekit.labels.flipping_experiments import digits_pair, flip_rate_curves, noise_absorption, xiao_synthetic  # noqa: E402


def test_xiao_synthetic_patterns_seeded():
    X, y = xiao_synthetic(50, seed=0)
    assert X.shape == (50, 2) and set(np.unique(y)) == {-1, 1} and np.abs(X).max() <= 1
    np.testing.assert_array_equal(y, np.where(X[:, 0] + X[:, 1] > 0, 1, -1))
    Xp, yp = xiao_synthetic(50, pattern="parabolic", seed=0)
    np.testing.assert_array_equal(yp, np.where(Xp[:, 1] > Xp[:, 0] ** 2 - 0.5, 1, -1))
    np.testing.assert_array_equal(xiao_synthetic(50, seed=0)[0], X)


def test_digits_pair_split():
    from sklearn.datasets import load_digits
    X, y, Xt, yt = digits_pair(3, 8, seed=0)
    n = np.isin(load_digits().target, (3, 8)).sum()
    assert len(y) + len(yt) == n and abs(len(yt) - n / 2) <= 1
    assert X.shape[1] == 64 and 0 <= X.min() and X.max() <= 1 and set(np.unique(y)) == {-1, 1}


def test_flip_rate_curves_rows():
    rows = flip_rate_curves(rates=(0.0, 0.2), seeds=(0,), dataset="synthetic", n_train=40, k=5)
    assert len(rows) == 2 * 2 * 2
    by = {(r["attack"], r["defence"], r["rate"]): r for r in rows}
    assert by[("random", "none", 0.2)]["flips"] == 8 and by[("random", "none", 0.2)]["wrong_labels"] == 8
    assert by[("alfa", "none", 0.2)]["wrong_labels"] == 8
    for d in ("none", "knn"):  # no flips: both attacks leave the same labels
        assert by[("alfa", d, 0.0)]["accuracy"] == by[("random", d, 0.0)]["accuracy"]
    assert all(abs(r["accuracy"] + r["error"] - 1) < 1e-12 for r in rows)


def test_noise_absorption_rows():
    rows = noise_absorption(rates=(0.0, 0.5), seeds=(0,), smoothing=(0.0, 0.1), checkpoints=(3, 6), hidden=8)
    assert len(rows) == 2 * 2 * 2 and {r["steps"] for r in rows} == {3, 6}
    assert all(0 <= r["accuracy"] <= 1 for r in rows)
    assert all(np.isnan(r["fits_noise"]) == (r["rate"] == 0) for r in rows)


@pytest.mark.parametrize("call,name", [
    (lambda: xiao_synthetic(1), "n"),
    (lambda: xiao_synthetic(10, pattern="circle"), "pattern"),
    (lambda: digits_pair(1, 1), "a and b"),
    (lambda: digits_pair(1, 10), "b"),
    (lambda: flip_rate_curves(rates=(1.5,)), "rates"),
    (lambda: flip_rate_curves(dataset="mnist"), "dataset"),
    (lambda: flip_rate_curves(scale="tpu"), "scale"),
    (lambda: flip_rate_curves(kernel="poly"), "kernel"),
    (lambda: noise_absorption(smoothing=(-0.1,)), "smoothing"),
    (lambda: noise_absorption(checkpoints=(0,)), "checkpoints"),
])
def test_experiment_validation(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_published_entries_structure():
    """The papers' data the chapter places beside its curves: a verified quote, a paraphrase, what was not
    verified, and values (if any) that each name their table/figure and say whether read from a plot."""
    from coursekit.labels.flipping_experiments import PUBLISHED_PAUDICE2018, PUBLISHED_XIAO2012, VALUE_KEYS
    for entry, year in ((PUBLISHED_XIAO2012, "2012"), (PUBLISHED_PAUDICE2018, "2018")):
        assert year in entry["source"]
        for key in ("quote", "claim", "verified", "not_verified"):
            assert isinstance(entry[key], str) and entry[key].strip()
        assert entry["quote"].endswith(".")
        assert isinstance(entry["values"], list)
        for v in entry["values"]:
            assert set(v) == set(VALUE_KEYS) and isinstance(v["approximate"], bool)
            assert "Table" in v["where"] or "Fig" in v["where"]

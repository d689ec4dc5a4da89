"""coursekit.labels smoothing and calibration: equal to torch's label-smoothed cross-entropy and to
torchmetrics' calibration error; temperature scaling recovers a known temperature."""

import pytest
import torch
import torch.nn.functional as F
from torchmetrics.functional.classification import multiclass_calibration_error

from coursekit.labels import (ReliabilityBins, apply_temperature, expected_calibration_error, fit_temperature,
                              reliability_bins, smooth_targets, smoothed_cross_entropy)

pytestmark = pytest.mark.usefixtures("one_thread")


def _logits(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g) * 2


def _labels(K, *shape, seed=1):
    return torch.randint(0, K, shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- smoothing

def test_smooth_targets_values():
    q = smooth_targets(torch.tensor([0, 2]), 4, 0.2)
    torch.testing.assert_close(q, torch.tensor([[0.85, 0.05, 0.05, 0.05], [0.05, 0.05, 0.85, 0.05]]))
    torch.testing.assert_close(q.sum(-1), torch.ones(2))
    torch.testing.assert_close(smooth_targets(torch.tensor([1]), 3, 0.0), torch.tensor([[0.0, 1.0, 0.0]]))
    torch.testing.assert_close(smooth_targets(torch.tensor([1]), 3, 1.0), torch.full((1, 3), 1 / 3))
    assert smooth_targets(_labels(5, 2, 3), 5, 0.1).shape == (2, 3, 5)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.35, 1.0])
def test_smoothed_cross_entropy_equals_torch(reduction, eps):
    x, y = _logits(9, 5), _labels(5, 9)
    ours = smoothed_cross_entropy(x, y, eps, reduction=reduction)
    torch.testing.assert_close(ours, F.cross_entropy(x, y, label_smoothing=eps, reduction=reduction))
    torch.testing.assert_close(ours, torch.nn.CrossEntropyLoss(label_smoothing=eps, reduction=reduction)(x, y))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_smoothed_cross_entropy_weights_ignore_index_and_extra_dims_equal_torch(reduction):
    w = torch.rand(4, generator=torch.Generator().manual_seed(3)) + 0.1
    x, y = _logits(6, 4, 3, 2), _labels(4, 6, 3, 2)
    y[0, 1, 0] = -100
    y[2, 2, 1] = -100
    ref = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=0.2, reduction=reduction)
    torch.testing.assert_close(smoothed_cross_entropy(x, y, 0.2, weight=w, reduction=reduction), ref(x, y))
    y2 = _labels(4, 6)
    y2[3] = 7  # a custom ignore_index
    ref = torch.nn.CrossEntropyLoss(ignore_index=7, label_smoothing=0.1, reduction=reduction)
    torch.testing.assert_close(smoothed_cross_entropy(x[..., 0, 0], y2, 0.1, ignore_index=7, reduction=reduction),
                               ref(x[..., 0, 0], y2))


def test_smoothed_cross_entropy_is_cross_entropy_against_smoothed_targets_and_its_gradient():
    x, y = _logits(8, 6).requires_grad_(), _labels(6, 8)
    q = smooth_targets(y, 6, 0.1)
    torch.testing.assert_close(smoothed_cross_entropy(x, y, 0.1), -(q * F.log_softmax(x, -1)).sum(-1).mean())
    ours, = torch.autograd.grad(smoothed_cross_entropy(x, y, 0.1), x)
    ref, = torch.autograd.grad(F.cross_entropy(x, y, label_smoothing=0.1), x)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(ours, (F.softmax(x, -1) - q).detach() / 8)  # dL/dz = p - q (per example)


def test_smoothing_bounds_the_optimal_logit_gap():
    # With smoothing the loss is minimised by a finite logit gap, log((1-eps+eps/K) / (eps/K)):
    # the model can no longer win by pushing the correct logit to infinity (Szegedy et al. Sec. 7).
    K, eps = 4, 0.1
    gap = torch.log(torch.tensor((1 - eps + eps / K) / (eps / K)))
    gaps = torch.linspace(0, 12, 241)
    losses = torch.stack([smoothed_cross_entropy(torch.tensor([[g, 0.0, 0.0, 0.0]]), torch.tensor([0]), eps)
                          for g in gaps])
    assert abs(float(gaps[losses.argmin()]) - float(gap)) <= 0.05
    plain = torch.stack([F.cross_entropy(torch.tensor([[g, 0.0, 0.0, 0.0]]), torch.tensor([0])) for g in gaps])
    assert int(plain.argmin()) == len(gaps) - 1  # without smoothing: always better further out


def test_smoothing_validation_errors():
    x, y = _logits(4, 3), _labels(3, 4)
    with pytest.raises(ValueError, match="eps must be in \\[0, 1\\], got 1.5"):
        smoothed_cross_entropy(x, y, 1.5)
    with pytest.raises(ValueError, match="eps must be a real number"):
        smooth_targets(y, 3, "0.1")
    with pytest.raises(ValueError, match="probability targets are not supported"):
        smoothed_cross_entropy(x, F.one_hot(y, 3).float(), 0.1)
    with pytest.raises(ValueError, match="labels must be in \\[0, 3\\) or equal to ignore_index"):
        smoothed_cross_entropy(x, torch.tensor([0, 1, 2, 3]), 0.1)
    with pytest.raises(ValueError, match="labels must have shape \\(4\\)"):
        smoothed_cross_entropy(x, _labels(3, 5), 0.1)
    with pytest.raises(ValueError, match="logits must have shape \\(N, K\\)"):
        smoothed_cross_entropy(torch.randn(3), torch.tensor(0), 0.1)
    with pytest.raises(ValueError, match="reduction must be one of"):
        smoothed_cross_entropy(x, y, 0.1, reduction="avg")
    with pytest.raises(ValueError, match="weight must have shape \\(3\\)"):
        smoothed_cross_entropy(x, y, 0.1, weight=torch.ones(4))
    with pytest.raises(ValueError, match="labels must be in \\[0, 3\\), got values in \\[0, 5\\]"):
        smooth_targets(torch.tensor([0, 5]), 3, 0.1)
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        smooth_targets(y, 0, 0.1)


# ---------------------------------------------------------------- calibration

@pytest.mark.parametrize("n_bins", [1, 3, 10, 15, 20])
@pytest.mark.parametrize("K", [2, 5])
def test_ece_equals_torchmetrics_multiclass(n_bins, K):
    logits, y = _logits(300, K, seed=n_bins), _labels(K, 300, seed=K)
    probs = F.softmax(logits, -1)
    ref = multiclass_calibration_error(probs, y, num_classes=K, n_bins=n_bins, norm="l1")
    torch.testing.assert_close(torch.tensor(expected_calibration_error(probs, y, n_bins)), ref)
    torch.testing.assert_close(torch.tensor(expected_calibration_error(logits, y, n_bins, from_logits=True)), ref)


@pytest.mark.parametrize("n_bins", [4, 15])
def test_ece_binary_probability_vector_equals_torchmetrics_on_two_columns(n_bins):
    # A binary classifier's (N,) P(class 1): the top-label confidence is max(p, 1 - p).
    p1 = torch.rand(200, generator=torch.Generator().manual_seed(n_bins))
    y = (torch.rand(200, generator=torch.Generator().manual_seed(9)) < p1 ** 2).long()
    ref = multiclass_calibration_error(torch.stack([1 - p1, p1], 1), y, num_classes=2, n_bins=n_bins, norm="l1")
    torch.testing.assert_close(torch.tensor(expected_calibration_error(p1, y, n_bins)), ref)
    logit = torch.logit(p1)
    torch.testing.assert_close(torch.tensor(expected_calibration_error(logit, y, n_bins, from_logits=True)), ref)


def test_reliability_bins_by_hand():
    # confidences 0.9 (right), 0.8 (wrong), 0.6 (right), 0.55 (right); bins of width 0.5 and 0.25.
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.45, 0.55]])
    y = torch.tensor([0, 0, 0, 1])
    b = reliability_bins(probs, y, 4)
    assert isinstance(b, ReliabilityBins)
    assert b.count.tolist() == [0, 0, 2, 2] and b.n == 4
    torch.testing.assert_close(b.confidence, torch.tensor([0.0, 0.0, 0.575, 0.85]))
    torch.testing.assert_close(b.accuracy, torch.tensor([0.0, 0.0, 1.0, 0.5]))
    assert b.ece == pytest.approx(0.5 * 0.425 + 0.5 * 0.35)
    assert b.overconfidence == pytest.approx(0.5 * -0.425 + 0.5 * 0.35)
    rows = b.records(model="m")
    assert [r["bin"] for r in rows] == [2, 3] and rows[1]["gap"] == pytest.approx(-0.35) and rows[0]["model"] == "m"
    assert rows[0]["lo"] == 0.5 and rows[0]["hi"] == 0.75 and rows[0]["share"] == 0.5


def test_bins_are_closed_on_the_right_unlike_torchmetrics():
    # Guo et al.'s bins are ((m-1)/M, m/M]: a confidence of exactly 1.0 shares the top bin. torchmetrics
    # bins [lo, hi) and keeps 1.0 in a bin of its own, so the two differ exactly there.
    probs = torch.tensor([[1.0, 0.0], [0.9, 0.1]])
    y = torch.tensor([1, 0])  # the confident-1.0 prediction is wrong, the 0.9 one right
    assert reliability_bins(probs, y, 2).count.tolist() == [0, 2]
    assert expected_calibration_error(probs, y, 2) == pytest.approx(abs(0.5 - 0.95))
    tm = float(multiclass_calibration_error(probs, y, num_classes=2, n_bins=2, norm="l1"))
    assert tm == pytest.approx(0.5 * 1.0 + 0.5 * 0.1)


def test_calibrated_predictions_have_small_ece_and_sharpened_ones_are_overconfident():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(20000, 4, generator=g) * 1.5
    y = torch.multinomial(F.softmax(z, -1), 1, generator=g).squeeze(1)  # labels drawn from the model itself
    assert expected_calibration_error(z, y, from_logits=True) < 0.015
    sharp = reliability_bins(3 * z, y, from_logits=True)
    assert sharp.ece > 0.1 and sharp.overconfidence == pytest.approx(sharp.ece, abs=1e-6)
    mean_conf = float(F.softmax(3 * z, -1).max(-1).values.mean())
    accuracy = float(((3 * z).argmax(-1) == y).float().mean())
    assert sharp.overconfidence == pytest.approx(mean_conf - accuracy, abs=1e-5)  # the bins cancel out


def test_temperature_recovers_one_for_calibrated_and_the_sharpening_factor():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(8000, 5, generator=g) * 2
    y = torch.multinomial(F.softmax(z, -1), 1, generator=g).squeeze(1)
    assert fit_temperature(z, y) == pytest.approx(1.0, abs=0.05)
    t = fit_temperature(3 * z, y)
    assert t == pytest.approx(3.0, rel=0.05)
    assert fit_temperature(0.5 * z, y) == pytest.approx(0.5, rel=0.05)  # under-confident: T < 1
    scaled = apply_temperature(3 * z, t)
    assert expected_calibration_error(scaled, y, from_logits=True) < 0.015
    assert torch.equal(scaled.argmax(-1), z.argmax(-1))  # temperature never changes the prediction
    nll = lambda T: float(F.cross_entropy(3 * z / T, y))  # noqa: E731
    assert nll(t) <= min(nll(t * 0.95), nll(t * 1.05))


def test_calibration_validation_errors():
    p, y = F.softmax(_logits(5, 3), -1), _labels(3, 5)
    with pytest.raises(ValueError, match="n_bins must be a positive int, got 0"):
        reliability_bins(p, y, 0)
    with pytest.raises(ValueError, match="pass from_logits=True for logits"):
        expected_calibration_error(_logits(5, 3), y)
    with pytest.raises(ValueError, match="row sums in \\[0.5, 0.5\\]"):
        expected_calibration_error(torch.full((5, 3), 0.5 / 3), y)
    with pytest.raises(ValueError, match="labels must have shape \\(5\\)"):
        expected_calibration_error(p, _labels(3, 4))
    with pytest.raises(ValueError, match="labels must be in \\[0, 3\\)"):
        expected_calibration_error(p, torch.tensor([0, 1, 2, 3, 0]))
    with pytest.raises(ValueError, match="probs must have shape \\(N, K\\) or \\(N,\\)"):
        expected_calibration_error(p[None], y)
    with pytest.raises(ValueError, match="probs must have a floating dtype"):
        expected_calibration_error(y, y)
    with pytest.raises(ValueError, match="from_logits must be True or False"):
        expected_calibration_error(p, y, from_logits="yes")
    with pytest.raises(ValueError, match="temperature must be > 0, got 0"):
        apply_temperature(_logits(5, 3), 0)
    with pytest.raises(ValueError, match="val_labels must have shape \\(5\\), got \\(6,\\)"):
        fit_temperature(_logits(5, 3), _labels(3, 6))
    with pytest.raises(ValueError, match="val_logits must have shape \\(N, K\\)"):
        fit_temperature(_logits(5), _labels(3, 5))


# ---------------------------------------------------------------- experiments (tiny runs)

from coursekit.labels.smoothing_experiments import (MLP, MUELLER_DISTILLATION_MNIST, MUELLER_TABLE_2,  # noqa: E402
                                                    MUELLER_TABLE_3,
                                                    calibration_experiment, digits_split, distillation_experiment,
                                                    penultimate_picture, template_plane)


def test_digits_split_is_seeded_disjoint_and_relabels_classes():
    (xa, ya), (xv, yv), (xt, yt) = digits_split(3, n_train=100, n_val=50)
    assert xa.shape == (100, 64) and xv.shape == (50, 64) and len(xt) == 1797 - 150
    assert 0.0 <= float(xa.min()) and float(xa.max()) <= 1.0
    (xb, yb), _, _ = digits_split(3, n_train=100, n_val=50)
    assert torch.equal(xa, xb) and torch.equal(ya, yb)
    rows = {tuple(r) for r in torch.cat([xa, xv, xt]).tolist()}
    assert len(rows) >= 1797 - 10  # the three parts together hold every image once (digits has a few duplicates)
    (xc, yc), _, _ = digits_split(0, n_train=60, n_val=0, classes=(7, 3, 9))
    assert set(yc.tolist()) == {0, 1, 2}
    (xn, _), _, _ = digits_split(3, n_train=100, n_val=50, noise=0.4)
    assert 0.35 < float((xn - xa).std()) < 0.45  # the same images, plus noise of standard deviation 0.4
    with pytest.raises(ValueError, match="classes must be distinct digits"):
        digits_split(0, classes=(1, 1, 2))
    with pytest.raises(ValueError, match="n_train \\+ n_val must leave test examples"):
        digits_split(0, n_train=1700, n_val=97)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        digits_split(0, noise=-1.0)


def test_template_plane_is_orthonormal_and_keeps_the_templates_distances():
    torch.manual_seed(0)
    head = torch.nn.Linear(6, 3)
    basis = template_plane(head)  # (2, 7)
    torch.testing.assert_close(basis @ basis.T, torch.eye(2))
    t = torch.cat([head.weight, head.bias[:, None]], 1).detach()  # (3, 7)
    p = t @ basis.T  # the plane passes through the three templates: their differences are kept exactly
    for i, j in ((0, 1), (0, 2), (1, 2)):
        torch.testing.assert_close((p[i] - p[j]).norm(), (t[i] - t[j]).norm())
    with pytest.raises(ValueError, match="head must have 3 outputs"):
        template_plane(torch.nn.Linear(6, 4))


def test_calibration_experiment_rows_and_temperature_scaling_keeps_accuracy():
    r = calibration_experiment((0.1,), seeds=(0,), settings=("not overconfident",), n_bins=10, device="cpu")
    methods = [s["method"] for s in r.summary()]
    assert methods == ["eps=0", "TS", "eps=0.1"]
    assert r.get("not overconfident", "TS", "accuracy") == r.get("not overconfident", "eps=0", "accuracy")
    assert r.get("not overconfident", "TS", "nll") < r.get("not overconfident", "eps=0", "nll")
    # softmax regression on clean digits is not overconfident, and smoothing makes it less confident still
    assert r.get("not overconfident", "eps=0", "overconfidence") < 0.02
    assert r.get("not overconfident", "eps=0.1", "confidence") < r.get("not overconfident", "eps=0", "confidence")
    assert r.get("not overconfident", "eps=0.1", "ece") > r.get("not overconfident", "eps=0", "ece")
    b = r.bins[("not overconfident", "eps=0")]
    assert b.n == 1797 - 500 and len(b.count) == 10
    assert {row["method"] for row in r.bin_records()} == {"eps=0", "TS", "eps=0.1"}
    with pytest.raises(ValueError, match="settings must be drawn from"):
        calibration_experiment(settings=("big",))
    with pytest.raises(ValueError, match="width"):
        calibration_experiment(width=0)
    with pytest.raises(ValueError, match="eps_values\\[i\\] must be in \\[0, 1\\]"):
        calibration_experiment((2.0,))


def test_penultimate_picture_shapes_and_metrics():
    p = penultimate_picture((0.0, 0.2), classes=(0, 1, 7), steps=30)
    assert p.classes == (0, 1, 7)
    assert len(p.templates) == 6 and {m["split"] for m in p.metrics} == {"train", "test"}
    assert len(p.points) == 2 * 539  # 539 examples of 0, 1 and 7, each drawn once per eps
    for m in p.metrics:
        assert 0 < m["centre_ratio"] <= 1 and 0 <= m["asymmetry"] < 1 and m["spread_ratio"] > 0
        assert 0 <= m["accuracy"] <= 1 and m["spread_ratio_full"] > 0
    assert p.get(0.2, "test", "accuracy") > 0.5
    with pytest.raises(ValueError, match="classes must be three digits"):
        penultimate_picture(classes=(0, 1))


def test_distillation_experiment_rows():
    d = distillation_experiment((0.0, 0.1), seeds=(0,), temperature=2.0, steps=(20, 20), n_train=200)
    assert [r["teacher_eps"] for r in d.rows] == [0.0, 0.1] and d.temperature == 2.0
    assert d.rows[0]["scratch_accuracy"] == d.rows[1]["scratch_accuracy"]
    assert d.rows[0]["scratch_smoothed_accuracy"] == d.rows[1]["scratch_smoothed_accuracy"] and d.student_eps == 0.1
    assert all(0.1 < r["student_accuracy"] <= 1 for r in d.rows)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        distillation_experiment(temperature=0.0)


def test_wrong_template_asymmetry_by_hand():
    from coursekit.labels.smoothing_experiments import _wrong_template_asymmetry
    templates = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    xy = torch.tensor([[0.0, 0.0], [1.0, 0.0]])  # both class 0: the first equidistant from templates 1 and 2
    y = torch.tensor([0, 0])
    d1, d2 = 3.0, 17 ** 0.5
    assert _wrong_template_asymmetry(xy, y, templates) == pytest.approx((0 + abs(d1 - d2) / (d1 + d2)) / 2)


def test_mlp_features_are_the_heads_input():
    torch.manual_seed(0)
    m = MLP(64, (8, 5), 3)
    x = torch.rand(4, 64)
    assert m.features(x).shape == (4, 5)
    torch.testing.assert_close(m(x), m.head(m.features(x)))


def test_published_numbers_say_what_the_chapter_says():
    for row in MUELLER_TABLE_3:  # Table 3: both fixes cut the ECE, temperature scaling a little more
        assert row["ece_temperature"] < row["ece_baseline"] and row["ece_smoothing"] < row["ece_baseline"]
        assert row["ece_temperature"] <= row["ece_smoothing"] and row["temperature"] > 1
    for row in MUELLER_TABLE_2:  # Table 2: smoothing leaves the accuracy about where it was
        assert abs(row["accuracy_smoothed"] - row["accuracy_hard"]) < 1
    hard, smooth = MUELLER_DISTILLATION_MNIST
    assert smooth["teacher_error"] < hard["teacher_error"] and smooth["student_error"] > hard["student_error"]


def test_distillation_paired_differences():
    from coursekit.labels.smoothing_experiments import DistillationResults
    rows = [{"teacher_eps": e, "seed": s, "student_accuracy": a} for e, s, a in
            [(0.0, 0, 0.8), (0.1, 0, 0.7), (0.0, 1, 0.6), (0.1, 1, 0.65)]]
    d = DistillationResults(rows, 4.0, 0.0)
    assert d.paired(0.1) == pytest.approx([-0.1, 0.05])
    assert d.mean(0.1) == pytest.approx(0.675)
    with pytest.raises(ValueError, match="need rows for teacher_eps=0.3"):
        d.paired(0.3)


def test_experiments_refuse_an_unknown_scale():
    for run in (calibration_experiment, penultimate_picture, distillation_experiment):
        with pytest.raises(ValueError, match="scale must be one of \\('cpu', 'gpu'\\), got 'tpu'"):
            run(scale="tpu")


def test_calibration_experiment_width_sets_the_overconfident_mlp():
    narrow = calibration_experiment((), seeds=(0,), settings=("overconfident",), width=4, device="cpu")
    wide = calibration_experiment((), seeds=(0,), settings=("overconfident",), width=32, device="cpu")
    # a wider MLP memorises the noisy digits harder: more confident, so more overconfident
    assert wide.get("overconfident", "eps=0", "confidence") > narrow.get("overconfident", "eps=0", "confidence")

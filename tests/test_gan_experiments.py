"""Tests for coursekit.gan.experiments at tiny settings: the D* experiment's curves against the
closed form and the quadrature, the ring runs per seed (snapshots, measures, steadiness), the
ablation (its arms, the reused baseline, the summary), the DCGAN on digits with its real-digit
classifier, the published numbers, and the errors."""

from __future__ import annotations

import math
import statistics

import pytest
import torch

from coursekit.gan import Mixture1D, jensen_shannon, mode_coverage, optimal_discriminator
from coursekit.gan.experiments import (
    PUBLISHED,
    PUBLISHED_CHECKS,
    TRICKS,
    RingSettings,
    _class_measures,
    _steadiness,
    digits_dcgan,
    dstar_experiment,
    published_reference,
    ring_experiment,
    ring_run,
    run_outcome,
    tricks_ablation,
)
from coursekit.train import History

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: one thread is fastest

TINY = RingSettings(steps=20, eval_every=10, eval_samples=200, snapshot_samples=50, width=16)


@pytest.fixture(scope="module")
def ring():
    return ring_experiment((0, 1), settings=TINY)


# ----------------------------------------------------------------------------- published numbers
def test_published_rows_hold_veegan_table_1_and_become_chart_rules():
    ring = {r["method"]: r for r in PUBLISHED if r["dataset"] == "2D ring"}
    grid = {r["method"]: r for r in PUBLISHED if r["dataset"] == "2D grid"}
    assert set(ring) == set(grid) == {"GAN", "ALI", "Unrolled GAN", "VEEGAN"} and len(PUBLISHED) == 8
    assert all(r["max_modes"] == 8 for r in ring.values()) and all(r["max_modes"] == 25 for r in grid.values())
    assert ring["GAN"]["modes"] == 1.0 and ring["VEEGAN"]["modes"] == 8.0
    assert all(0 <= r["hq_share"] <= 1 and 0 <= r["modes"] <= r["max_modes"] for r in PUBLISHED)
    # none of the numbers could be re-read in a stored copy of the paper: every row says so, and so do the rules
    assert all(r["verified"] is False and "not re-read" in r["note"] for r in PUBLISHED)
    assert {k: v[0] for k, v in PUBLISHED_CHECKS.items()}["Table 1 values (modes, % high quality), ring and grid"] \
        == "NOT verified"
    assert all(status in ("verified", "NOT verified") and where for status, where in PUBLISHED_CHECKS.values())
    rules = published_reference("hq_share", methods=("GAN",))
    assert rules == [{"label": "GAN (VEEGAN Table 1, unverified)", "metric": "hq_share",
                      "value": ring["GAN"]["hq_share"]}]
    assert [r["value"] for r in published_reference("modes_covered", "2D grid", ("VEEGAN",))] == [24.6]
    with pytest.raises(ValueError, match="metric must be one of"):
        published_reference("modes")
    with pytest.raises(ValueError, match="dataset must be one of"):
        published_reference("hq_share", "2D spiral")


# ----------------------------------------------------------------------------- D*
def test_dstar_experiment_measures_against_the_closed_form_and_the_quadrature():
    p_data, p_g = Mixture1D(), Mixture1D((0.0,), (1.25,), (1.0,))
    r = dstar_experiment(steps=40, points=41, value_samples=500, p_data=p_data, p_g=p_g)
    grid = torch.linspace(-4, 4, 41)
    torch.testing.assert_close(r.grid, grid)
    torch.testing.assert_close(r.p_data, p_data.density(grid))
    torch.testing.assert_close(r.d_star, p_data.density(grid) / (p_data.density(grid) + p_g.density(grid)))
    assert r.d_trained.shape == (41,) and bool(((r.d_trained > 0) & (r.d_trained < 1)).all())
    total = r.p_data + r.p_g
    assert torch.equal(r.mask, total >= 0.1 * total.max())
    assert r.max_gap == pytest.approx(float((r.d_trained - r.d_star).abs()[r.mask].max()))
    assert 0 <= r.mean_gap <= r.max_gap + 1e-9 or not r.mask.all()
    # V(D*, G) = -log 4 + 2 JSD (Theorem 1), by quadrature on the same grid
    # (up to the ~0.1% of p_g's mass beyond the grid)
    assert r.value_exact == pytest.approx(-math.log(4) + 2 * jensen_shannon(r.p_data, r.p_g, grid), abs=2e-3)
    assert r.equal_value_exact == pytest.approx(-math.log(4), abs=1e-3)
    assert r.equal_max_dev == pytest.approx(float((r.d_equal - 0.5).abs()[r.equal_mask].max()))
    assert -3.0 < r.equal_value < 0 and r.seconds > 0


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"p_g": (0.0, 1.0)}, "p_g must be a coursekit.gan.Mixture1D"),
        ({"steps": 0}, "steps must be a positive int"),
        ({"span": (1.0, -1.0)}, "span must be a pair"),
        ({"floor": 1.0}, "floor"),
        ({"scale": "tpu"}, "scale must be one of"),
    ],
)
def test_dstar_experiment_rejects_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        dstar_experiment(**kw)


# ----------------------------------------------------------------------------- the ring
def test_ring_experiment_gives_each_loss_and_seed_its_snapshots_and_measures(ring):
    assert [(r["g_loss"], r["seed"]) for r in ring.rows] == [("non-saturating", 0), ("non-saturating", 1),
                                                              ("minimax", 0), ("minimax", 1)]
    assert ring.centres.shape == (8, 2) and ring.seeds == (0, 1) and ring.settings == TINY
    for g in ("non-saturating", "minimax"):
        assert len(ring.snapshots[g]) == 2 and len(ring.histories[g]) == 2
        for snaps, row, hist in zip(ring.snapshots[g], [r for r in ring.rows if r["g_loss"] == g], ring.histories[g]):
            assert [s["step"] for s in snaps] == [0, 10, 20]
            assert all(s["samples"].shape == (50, 2) for s in snaps)
            assert (row["modes_covered"], row["hq_share"]) == (snaps[-1]["modes_covered"], snaps[-1]["hq_share"])
            counts = row["mode_counts"]  # per-mode high-quality counts behind both numbers
            assert len(counts) == 8 and sum(c >= 1 for c in counts) == row["modes_covered"]
            assert sum(counts) / ring.settings.eval_samples == pytest.approx(row["hq_share"])
            evals = [r for r in hist.rows if r["split"] == "eval"]
            assert [e["modes"] for e in evals] == [s["modes_covered"] for s in snaps[1:]]
            assert row["d_std"] == pytest.approx(_steadiness(hist, TINY.tail)["d_std"])
    # the snapshots are VEEGAN's measures of the generator's samples
    first = ring.snapshots["minimax"][1][0]
    assert 0 <= first["modes_covered"] <= 8 and 0 <= first["hq_share"] <= 1


def test_each_seed_runs_the_same_alone_as_beside_others(ring):
    alone = ring_experiment((1,), g_losses=("non-saturating",), settings=TINY)
    torch.testing.assert_close(alone.snapshots["non-saturating"][0][-1]["samples"],
                               ring.snapshots["non-saturating"][1][-1]["samples"], atol=1e-4, rtol=0)


def test_steadiness_is_the_spread_of_the_late_logged_losses():
    rows = [{"step": 10 * i, "split": "train", "d_loss": float(i % 2), "d_real": 0.6, "d_fake": 0.1 * (i % 3)}
            for i in range(1, 9)] + [{"step": 80, "split": "eval", "modes": 3.0}]
    got = _steadiness(History(rows=rows), 0.5)  # the last 4 of 8 train rows
    assert got["d_std"] == pytest.approx(statistics.pstdev([1.0, 0.0, 1.0, 0.0]))
    assert got["d_gap"] == pytest.approx(statistics.fmean([0.6 - 0.1 * (i % 3) for i in range(5, 9)]))


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"seeds": []}, "seeds must be a non-empty list"),
        ({"seeds": (0, 0)}, "distinct"),
        ({"g_losses": ("wasserstein",)}, "g_losses must be one of"),
        ({"settings": {"steps": 5}}, "settings must be a RingSettings"),
    ],
)
def test_ring_experiment_rejects_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        ring_experiment(**kw)


def test_ring_settings_are_validated():
    with pytest.raises(ValueError, match="steps must be a positive int"):
        RingSettings(steps=0)
    with pytest.raises(ValueError, match="tail"):
        RingSettings(tail=0.0)


# ----------------------------------------------------------------------------- the ablation
def test_ablation_reuses_the_baseline_and_summarises_each_trick(ring):
    result = tricks_ablation((0, 1), ("none", "one_sided_smoothing", "batch_norm_g"), settings=TINY, baseline=ring)
    assert result.seconds["none"] == 0.0 and result.seconds["batch_norm_g"] > 0 and set(result.seconds) == {
        "none", "one_sided_smoothing", "batch_norm_g"}
    base = [r for r in ring.rows if r["g_loss"] == "non-saturating"]
    assert [r for r in result.rows if r["trick"] == "none"] == base
    assert [r["trick"] for r in result.rows] == ["none"] * 2 + ["one_sided_smoothing"] * 2 + ["batch_norm_g"] * 2
    smooth = [r for r in result.rows if r["trick"] == "one_sided_smoothing"]
    assert smooth[0]["d_loss"] != base[0]["d_loss"]  # the smoothed target changes D's loss
    summary = {s["trick"]: s for s in result.summary}
    assert summary["one_sided_smoothing"]["hq_share"] == pytest.approx(statistics.fmean(r["hq_share"] for r in smooth))
    assert summary["none"]["collapsed"] == sum(r["modes_covered"] <= 2 and r["hq_share"] >= 0.01 for r in base)
    assert summary["none"]["failed"] == sum(r["hq_share"] < 0.01 for r in base)
    assert len(result.snapshots["batch_norm_g"]) == 2


def test_run_outcome_has_one_collapse_definition():
    assert run_outcome(1, 0.062) == "collapsed" and run_outcome(2, 0.5) == "collapsed"
    assert run_outcome(1, 0.004) == "failed to reach the ring" and run_outcome(8, 0.0) == "failed to reach the ring"
    assert run_outcome(3, 0.2) == "missed modes" and run_outcome(7, 0.2) == "missed modes"
    assert run_outcome(8, 0.01) == "all modes" and run_outcome(5, 0.3, modes=5) == "all modes"
    with pytest.raises(ValueError, match="hq_share"):
        run_outcome(8, 1.5)
    with pytest.raises(ValueError, match="modes_covered"):
        run_outcome(-1, 0.5)


def test_label_arms_trained_together_equal_each_trained_alone():
    together = tricks_ablation((0, 1), ("none", "label_flip", "one_sided_smoothing"), settings=TINY)
    assert set(together.seconds) == {"none+label_flip+one_sided_smoothing"}  # one ensemble of 6 members
    for trick in ("label_flip", "one_sided_smoothing"):
        alone = tricks_ablation((0, 1), (trick,), settings=TINY)
        for a, b in zip(alone.snapshots[trick], together.snapshots[trick]):
            torch.testing.assert_close(a[-1]["samples"], b[-1]["samples"], atol=1e-4, rtol=0)
    flipped = [r for r in together.rows if r["trick"] == "label_flip"]
    plain = [r for r in together.rows if r["trick"] == "none"]
    assert flipped[0]["d_loss"] != plain[0]["d_loss"]


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"tricks": ("none", "dropout")}, "tricks must be one of"),
        ({"tricks": ("none", "none")}, "distinct"),
        ({"flip": 0.0}, "flip"),
        ({"smooth": 1.0}, "smooth"),
    ],
)
def test_ablation_rejects_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        tricks_ablation((0,), settings=TINY, **kw)


def test_ablation_rejects_a_baseline_of_other_seeds(ring):
    with pytest.raises(ValueError, match="same seeds and settings"):
        tricks_ablation((0, 2), ("none",), settings=TINY, baseline=ring)
    assert "minibatch_discrimination" in TRICKS


# ----------------------------------------------------------------------------- digits
def test_class_measures_count_confident_samples_per_class():
    probs = torch.tensor([[0.9, 0.1] + [0.0] * 8, [0.9, 0.1] + [0.0] * 8, [0.4, 0.6] + [0.0] * 8,
                          [0.0] * 9 + [1.0]], dtype=torch.float64)
    got = _class_measures(probs, confidence=0.8, min_share=0.25)
    assert got["histogram"] == [0.5, 0.25] + [0.0] * 7 + [0.25]
    assert got["confident_share"] == 0.75
    assert got["classes_covered"] == 2  # class 0 (2 of 4 confident) and 9 (1 of 4); class 1 is not confident


def test_digits_dcgan_snapshots_and_the_real_digit_classifier():
    r = digits_dcgan(steps=10, eval_every=5, eval_samples=40, n_show=4)
    assert [s["step"] for s in r.snapshots] == [0, 5, 10]
    for s in r.snapshots:
        assert s["images"].shape == (4, 1, 8, 8) and float(s["images"].abs().max()) <= 1
        assert s["classes"].shape == (4,) and sum(s["histogram"]) == pytest.approx(1.0)
        assert 0 <= s["classes_covered"] <= 10 and 0 <= s["confident_share"] <= 1
    assert r.classifier_accuracy > 0.9  # logistic regression on real 8x8 digits
    assert r.reference["classes_covered"] == 10 and r.reference["confident_share"] > 0.8
    assert [row["step"] for row in r.history.rows if row["split"] == "eval"] == [5, 10]
    with pytest.raises(ValueError, match="config must be a DCGANConfig"):
        digits_dcgan(steps=1, config={"channels": 8})
    with pytest.raises(ValueError, match="confidence"):
        digits_dcgan(steps=1, confidence=1.5)


def test_ring_run_is_one_arm_of_the_ablation_for_the_live_trainer():
    snaps, centres = ring_run("label_flip", 1, 20, settings=TINY)
    assert [s["step"] for s in snaps] == [0, 4, 8, 12, 16, 20] and centres.shape == (8, 2)
    same = tricks_ablation((1,), ("label_flip",), settings=RingSettings(**{**TINY.__dict__, "eval_every": 4}))
    torch.testing.assert_close(snaps[-1]["samples"], same.snapshots["label_flip"][0][-1]["samples"])
    with pytest.raises(ValueError, match="tricks must be one of"):
        ring_run("dropout", 0, 20, settings=TINY)

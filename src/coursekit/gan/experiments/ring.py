"""Mode collapse on the ring of eight Gaussians, per seed, and the training tricks ablated over
seeds.

- :func:`ring_experiment`: a plain GAN on the ring, the mode-collapse test bed of Metz, Poole,
  Pfau & Sohl-Dickstein (2017), *Unrolled Generative Adversarial Networks*,
  https://arxiv.org/abs/1611.02163 (their ring figure), per seed, with the minimax and the
  non-saturating generator loss; snapshots of the samples for the slider and VEEGAN's measures
  (Srivastava et al. 2017, *VEEGAN*, https://arxiv.org/abs/1705.07761, experiments on synthetic
  data): modes captured and the share of high-quality samples (:func:`coursekit.gan.mode_coverage`).
- :func:`tricks_ablation`: label flipping, one-sided label smoothing (Salimans et al. 2016,
  *Improved Techniques for Training GANs*, https://arxiv.org/abs/1606.03498, Sec. 3.4), batch norm
  (Radford, Metz & Chintala 2015, https://arxiv.org/abs/1511.06434), the minibatch
  standard-deviation feature (Karras et al. 2018, *Progressive Growing of GANs*,
  https://arxiv.org/abs/1710.10196, Sec. 3) or minibatch discrimination (Salimans et al. 2016,
  Sec. 3.2), each against the plain GAN on the same seeds; per seed the modes covered, the
  high-quality share AND the discriminator's steadiness (the standard deviation of its logged
  loss, and of D(real) - D(fake), over the last quarter of training), so that a trick that only
  steadies D is told from one that cures collapse.
- :func:`ring_run`: one arm and one seed, for the live trainer.

Seeds: run e of an arm builds its networks after ``torch.manual_seed(seeds[e])`` and draws its
batches from a generator seeded ``seeds[e]``; the seeds of one arm train together as one ensemble
(:func:`coursekit.gan.train_gan_seeds`), so every arm sees the same initial weights per seed.

Legend: E seeds, N samples, K modes, S snapshots.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import torch

from ...train import History
from ...utils import at_scale, check_choice, check_int, check_real
from ..data import ring_centres, ring_sampler
from ..metrics import mode_coverage
from ..models import MLPDiscriminator, MLPDiscriminatorConfig, MLPGenerator, MLPGeneratorConfig, stack_models
from ..training import generate, train_gan_seeds
from ._common import _check_seeds, _steadiness

__all__ = ["TRICKS", "COLLAPSE_MAX_MODES", "REACH_MIN_HQ", "VEEGAN_MIN_COUNT", "run_outcome", "RingSettings", "RingResult", "ring_experiment", "AblationResult", "tricks_ablation", "ring_run"]


TRICKS = ("none", "label_flip", "one_sided_smoothing", "batch_norm", "batch_norm_g", "minibatch_std",
          "minibatch_discrimination")

COLLAPSE_MAX_MODES = 2  # a run covering at most this many modes has collapsed (unless it failed to reach the ring)
REACH_MIN_HQ = 0.01  # a run with a smaller high-quality share failed to reach the ring, whatever its modes
VEEGAN_MIN_COUNT = 1  # a mode is covered by this many high-quality samples nearest to it (VEEGAN's lenient rule)


def run_outcome(modes_covered: int, hq_share: float, modes: int = 8) -> str:
    """One ring run's outcome, the chapter's one definition: ``"failed to reach the ring"`` when
    under :data:`REACH_MIN_HQ` of its samples are of high quality (it never got close to the data),
    else ``"collapsed"`` when it covers at most :data:`COLLAPSE_MAX_MODES` modes, else ``"all
    modes"`` or ``"missed modes"`` (more than two modes but fewer than ``modes``)."""
    check_int("modes_covered", modes_covered, min=0)
    check_real("hq_share", hq_share, low=0.0, high=1.0)
    check_int("modes", modes, min=1)
    if hq_share < REACH_MIN_HQ:
        return "failed to reach the ring"
    if modes_covered <= COLLAPSE_MAX_MODES:
        return "collapsed"
    return "all modes" if modes_covered >= modes else "missed modes"


@dataclass(frozen=True)
class RingSettings:
    """One ring GAN's settings (shared by every arm of an experiment). ``std`` is the ring's
    standard deviation. Public ring code uses narrower modes relative to the ring (std 1% of the
    radius: radius 1 / std 0.01, or radius 2 / std 0.02; which one VEEGAN's Table 1 used is not
    known, see :data:`~coursekit.gan.experiments.PUBLISHED_CHECKS`); such narrow modes need far
    longer training to reach a measurable high-quality share than a CPU run allows. The chapter's
    default 0.05 at radius 2 keeps neighbouring modes about 30 standard deviations apart, so they
    stay clearly separate.

    ``steps`` 1400 and ``lr`` 2e-3 (both networks, Adam betas (0.5, 0.999)) were chosen post hoc,
    after 1000 steps at lr 1e-3 left most samples of the plain GAN off the modes: of a few CPU
    settings tried on seeds 100-107 (other than the chapter's), judged only by the plain
    non-saturating GAN's mean high-quality share, the best of those within the chapter's time
    budget (about 40% more training than before)."""

    steps: int = 1400
    batch_size: int = 64
    lr: float = 2e-3
    width: int = 64
    noise_dim: int = 8
    std: float = 0.05
    radius: float = 2.0
    modes: int = 8
    eval_every: int = 200
    eval_samples: int = 2500  # VEEGAN's count
    snapshot_samples: int = 300  # samples kept per snapshot for the slider
    tail: float = 0.25  # the share of training over which D's steadiness is measured

    def __post_init__(self):
        for name in ("steps", "batch_size", "width", "noise_dim", "modes", "eval_every", "eval_samples",
                     "snapshot_samples"):
            check_int(name, getattr(self, name), min=1)
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_real("std", self.std, low=0.0, low_open=True)
        check_real("radius", self.radius, low=0.0, low_open=True)
        check_real("tail", self.tail, low=0.0, high=1.0, low_open=True)


def _ring_settings(scale: str, settings: RingSettings | None) -> RingSettings:
    if settings is None:
        return at_scale(scale, cpu=RingSettings(), gpu=RingSettings(steps=5000, batch_size=256, width=128, eval_every=500))
    if not isinstance(settings, RingSettings):
        raise ValueError(f"settings must be a RingSettings, got {type(settings).__name__}")
    return settings


def _architecture(trick: str) -> tuple[bool, bool, str]:
    """(batch norm in G, batch norm in D, D's minibatch feature) of a trick."""
    mb = {"minibatch_std": "std", "minibatch_discrimination": "discrimination"}.get(trick, "none")
    return trick in ("batch_norm", "batch_norm_g"), trick == "batch_norm", mb


def _ring_arms(
    seeds: list[int], st: RingSettings, tricks: Sequence[str], *, g_loss: str = "non-saturating",
    flip: float = 0.1, smooth: float = 0.9, device: torch.device | str | None = None, progress: bool | None = False,
) -> dict[str, dict[str, Any]]:
    """Train ``tricks`` (arms of ONE architecture: they differ only in D's labels) for every seed
    as one ensemble of len(tricks) * len(seeds) members (arm-major); member (arm, seed) starts
    from the weights ``torch.manual_seed(seed)`` gives and draws from a generator seeded ``seed``,
    as its run alone would. Returns, per trick, its rows, snapshots and histories."""
    archs = {_architecture(t) for t in tricks}
    if len(archs) != 1:
        raise ValueError(f"tricks trained together must share one architecture, got {list(tricks)}")
    g_bn, d_bn, mb = archs.pop()
    gcfg = MLPGeneratorConfig(data_dim=2, noise_dim=st.noise_dim, width=st.width, batch_norm=g_bn)
    dcfg = MLPDiscriminatorConfig(data_dim=2, width=st.width, batch_norm=d_bn, minibatch=mb)
    members = [(t, s) for t in tricks for s in seeds]
    gs, ds = [], []
    for _, s in members:
        torch.manual_seed(s)
        gs.append(MLPGenerator(gcfg))
        ds.append(MLPDiscriminator(dcfg))
    G, D = stack_models(gs), stack_models(ds)
    if device is not None:
        G, D = G.to(device), D.to(device)
    centres = ring_centres(st.modes, st.radius)
    eval_seeds = [s + 50_000 for _, s in members]  # the same noise at every snapshot: the slider shows G move
    snaps: list[list[dict[str, Any]]] = [[] for _ in members]

    def measure(gen: torch.nn.Module) -> dict[str, list[float]]:
        x = generate(gen, st.eval_samples, seed=eval_seeds).cpu()  # (E, N, 2)
        cov = mode_coverage(x, centres, st.std, min_count=VEEGAN_MIN_COUNT)
        for e, c in enumerate(cov):
            snaps[e].append({"samples": x[e, : st.snapshot_samples].clone(), "modes_covered": c.modes,
                             "hq_share": c.high_quality, "mode_counts": c.counts})
        return {"modes": [c.modes for c in cov], "high_quality": [c.high_quality for c in cov]}

    measure(G)  # the untrained generator: step 0
    t0 = time.perf_counter()
    histories = train_gan_seeds(
        G, D, ring_sampler(modes=st.modes, radius=st.radius, std=st.std), st.steps,
        seeds=[s for _, s in members], g_loss=g_loss,
        real_label=[smooth if t == "one_sided_smoothing" else 1.0 for t, _ in members],
        flip=[flip if t == "label_flip" else 0.0 for t, _ in members],
        batch_size=st.batch_size, lr=st.lr, eval_fn=measure, eval_every=st.eval_every, log_every=10,
        progress=progress, desc=f"{'+'.join(tricks)} / {g_loss}")
    seconds = time.perf_counter() - t0
    out = {t: {"rows": [], "snapshots": [], "histories": [], "seconds": seconds} for t in tricks}
    for e, ((t, s), h) in enumerate(zip(members, histories)):
        steps = [0] + [r["step"] for r in h.rows if r["split"] == "eval"]
        snap = [dict(x, step=step) for x, step in zip(snaps[e], steps)]
        out[t]["snapshots"].append(snap)
        out[t]["histories"].append(h)
        out[t]["rows"].append({"trick": t, "g_loss": g_loss, "seed": s, "modes_covered": snap[-1]["modes_covered"],
                               "hq_share": snap[-1]["hq_share"], "mode_counts": snap[-1]["mode_counts"],
                               **_steadiness(h, st.tail)})
    return out


@dataclass(frozen=True)
class RingResult:
    """The plain GAN on the ring. ``rows``: one dict per (generator loss, seed) with ``g_loss``,
    ``seed``, ``modes_covered``, ``hq_share`` (at the end of training, on ``settings.eval_samples``
    samples), ``mode_counts`` (K ints: the high-quality samples nearest to each mode, for a
    stricter count than VEEGAN's one sample) and the steadiness measures ``d_std``, ``d_gap_std``, ``d_loss``, ``d_gap``;
    ``snapshots[g_loss][i]``: seed ``seeds[i]``'s snapshots (dicts with ``step``, ``samples``
    (settings.snapshot_samples, 2), ``modes_covered``, ``hq_share``), ready for
    :func:`coursekit.viz.gan.ring_slider`; ``centres`` (K, 2); ``histories[g_loss]``: one History
    per seed; ``seconds[g_loss]``: training wall time."""

    rows: list[dict[str, Any]]
    snapshots: dict[str, list[list[dict[str, Any]]]]
    centres: torch.Tensor
    seeds: tuple[int, ...]
    settings: RingSettings
    histories: dict[str, list[History]] = field(repr=False)
    seconds: dict[str, float]


def ring_experiment(
    seeds: Sequence[int] = (0, 1, 2),
    scale: str = "cpu",
    *,
    g_losses: Sequence[str] = ("non-saturating", "minimax"),
    settings: RingSettings | None = None,
    device: torch.device | str | None = None,
    progress: bool | None = False,
) -> RingResult:
    """A plain GAN (MLPs, no trick) on the ring of Gaussians for every seed and each generator
    loss in ``g_losses``; all seeds of a loss train together. ``settings`` default to
    :class:`RingSettings` (cpu) or a longer, wider run (gpu)."""
    seeds = _check_seeds(seeds)
    st = _ring_settings(scale, settings)
    if isinstance(g_losses, str) or not g_losses:
        raise ValueError(f"g_losses must be a non-empty sequence of generator losses, got {g_losses!r}")
    for g in g_losses:
        check_choice("g_losses", g, ("non-saturating", "minimax"))
    rows, snapshots, histories, seconds = [], {}, {}, {}
    for g in dict.fromkeys(g_losses):
        arm = _ring_arms(seeds, st, ("none",), g_loss=g, device=device, progress=progress)["none"]
        rows += arm["rows"]
        snapshots[g], histories[g], seconds[g] = arm["snapshots"], arm["histories"], arm["seconds"]
    return RingResult(rows=rows, snapshots=snapshots, centres=ring_centres(st.modes, st.radius), seeds=tuple(seeds),
                      settings=st, histories=histories, seconds=seconds)


@dataclass(frozen=True)
class AblationResult:
    """The tricks ablation. ``rows``: one dict per (trick, seed) with ``trick``, ``seed``,
    ``modes_covered``, ``hq_share``, ``d_std``, ``d_gap_std``, ``d_loss``, ``d_gap`` (see
    :func:`tricks_ablation`); ``summary``: one dict per trick with the means over seeds and
    the number of seeds of each :func:`run_outcome` (``collapsed``, ``failed`` to reach the ring,
    ``missed_modes``); ``snapshots[trick]`` as in
    :class:`RingResult`; ``seconds``: the wall time of each training run, keyed by its arms joined
    with "+" (arms of one architecture, e.g. label flipping and smoothing, train together as one
    ensemble); ``seconds["none"]`` is 0 when the plain GAN came from ``baseline``."""

    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    snapshots: dict[str, list[list[dict[str, Any]]]]
    seeds: tuple[int, ...]
    settings: RingSettings
    seconds: dict[str, float]


def tricks_ablation(
    seeds: Sequence[int] = (0, 1, 2),
    tricks: Sequence[str] = ("none", "label_flip", "one_sided_smoothing", "batch_norm", "batch_norm_g", "minibatch_std"),
    scale: str = "cpu",
    *,
    flip: float = 0.1,
    smooth: float = 0.9,
    settings: RingSettings | None = None,
    baseline: RingResult | None = None,
    device: torch.device | str | None = None,
    progress: bool | None = False,
) -> AblationResult:
    """Each trick in ``tricks`` (from :data:`TRICKS`) on the ring, over ``seeds``, with the
    non-saturating loss: ``"none"`` (the plain GAN), ``"label_flip"`` (each label swapped with
    probability ``flip``), ``"one_sided_smoothing"`` (real target ``smooth``, fake target 0),
    ``"batch_norm"`` (in G and D, DCGAN's rule; D sees the real and the fake batch separately, so
    each is normalised by its own statistics), ``"batch_norm_g"`` (in G only), ``"minibatch_std"`` / ``"minibatch_discrimination"`` (D's
    minibatch feature). Per seed: modes covered and high-quality share at the end, and D's
    steadiness over the last ``settings.tail`` of training: ``d_std`` (std of the logged D loss,
    each log a mean over 10 steps), ``d_gap_std`` (std of D(real) - D(fake)), and their means
    ``d_loss`` and ``d_gap``. ``baseline``: a :class:`RingResult` with the same seeds and settings
    whose non-saturating runs stand in for ``"none"`` (not trained twice)."""
    seeds = _check_seeds(seeds)
    st = _ring_settings(scale, settings)
    if isinstance(tricks, str) or not tricks or len(set(tricks)) != len(tricks):
        raise ValueError(f"tricks must be a non-empty sequence of distinct names from {TRICKS}, got {tricks!r}")
    for t in tricks:
        check_choice("tricks", t, TRICKS)
    check_real("flip", flip, low=0.0, high=1.0, low_open=True)
    check_real("smooth", smooth, low=0.0, high=1.0, low_open=True, high_open=True)
    if baseline is not None:
        if not isinstance(baseline, RingResult):
            raise ValueError(f"baseline must be a RingResult (from ring_experiment), got {type(baseline).__name__}")
        if baseline.seeds != tuple(seeds) or baseline.settings != st or "non-saturating" not in baseline.snapshots:
            raise ValueError("baseline must come from ring_experiment with the same seeds and settings and the "
                             f"non-saturating loss, got seeds {baseline.seeds} and settings {baseline.settings}")
    rows, snapshots, seconds, done = [], {}, {}, {}
    groups: dict[tuple, list[str]] = {}  # the arms of one architecture train as one ensemble
    for t in tricks:
        if t == "none" and baseline is not None:
            done[t] = {"rows": [dict(r, trick="none") for r in baseline.rows if r["g_loss"] == "non-saturating"],
                       "snapshots": baseline.snapshots["non-saturating"]}
            seconds[t] = 0.0
        else:
            groups.setdefault(_architecture(t), []).append(t)
    for arms in groups.values():
        trained = _ring_arms(seeds, st, arms, flip=flip, smooth=smooth, device=device, progress=progress)
        done.update(trained)
        seconds["+".join(arms)] = trained[arms[0]]["seconds"]
    for t in tricks:
        rows += done[t]["rows"]
        snapshots[t] = done[t]["snapshots"]
    summary = []
    for t in tricks:
        mine = [r for r in rows if r["trick"] == t]
        summary.append({
            "trick": t,
            **{k: statistics.fmean([r[k] for r in mine]) for k in ("modes_covered", "hq_share", "d_std", "d_gap_std")},
            **{key: sum(run_outcome(r["modes_covered"], r["hq_share"], st.modes) == name for r in mine)
               for key, name in (("collapsed", "collapsed"), ("failed", "failed to reach the ring"),
                                 ("missed_modes", "missed modes"))},
            "seeds": len(mine),
        })
    return AblationResult(rows=rows, summary=summary, snapshots=snapshots, seeds=tuple(seeds), settings=st,
                          seconds=seconds)


def ring_run(
    trick: str, seed: int, steps: int, *, settings: RingSettings | None = None, device: torch.device | str | None = None
) -> tuple[list[dict[str, Any]], torch.Tensor]:
    """One ring GAN with one trick and one seed for ``steps`` steps (five snapshots): ``(snapshots,
    centres)``, what :func:`coursekit.viz.gan.ring_slider` and the live
    :func:`coursekit.viz.gan.ring_trainer` take. ``settings`` (default :class:`RingSettings`)
    give everything else."""
    check_int("steps", steps, min=1)
    st = replace(RingSettings() if settings is None else settings, steps=steps, eval_every=max(1, steps // 5))
    result = tricks_ablation((seed,), (trick,), settings=st, device=device)
    return result.snapshots[trick][0], ring_centres(st.modes, st.radius)

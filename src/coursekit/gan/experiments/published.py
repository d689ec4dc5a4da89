"""Published numbers for the ring and the grid: Srivastava, Valkov, Russell, Gutmann & Sutton
(2017), *VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational Learning*,
https://arxiv.org/abs/1705.07761, Table 1, with the metric definitions (verified on the authors'
project page) and :data:`PUBLISHED_CHECKS`, what was checked where. The numbers themselves are
typed from memory and NOT re-read: every row carries ``verified`` False.

Legend: K modes.
"""

from __future__ import annotations

from typing import Any, Sequence

from ...utils import check_choice

__all__ = ["PUBLISHED", "PUBLISHED_METRICS", "PUBLISHED_CHECKS", "published_reference"]

# Srivastava, Valkov, Russell, Gutmann & Sutton (2017), VEEGAN, https://arxiv.org/abs/1705.07761,
# Table 1 ("2D Ring": 8 modes, "2D Grid": 25 modes), experiments on synthetic data (Sec. 5.1 from
# memory: the section number was not read either).
#
# VERIFICATION (checked 2026-11-30 with the search tools; see PUBLISHED_CHECKS):
# - The metric definitions, the 2,500 samples per model, the mean over five runs and the five
#   unrolling steps of the unrolled GAN ARE verified: the authors' project page
#   (akashgit.github.io/VEEGAN, "Experiments" / "Synthetic Dataset", read as akashgit/VEEGAN
#   index.md) states them in words. Five unrolling steps is also what Metz et al.'s reference
#   notebook uses (poolio/unrolled_gan, "Unrolled GAN demo.ipynb": unrolling_steps=5).
# - The sixteen NUMBERS are NOT verified: they were typed from memory. No stored copy shows Table 1
#   as text: the project page has it as an image (tab.png); of the arXiv-vanity page of 1705.07761
#   and the NeurIPS proceedings copy the search tools return only the opening (abstract and
#   introduction), never the experiments; the papers that reprint
#   the table (GDPP, PacGAN) have it as images in their repositories (M-Elfeki/GDPP Figures/*.png,
#   fjxmlzn/PacGAN synthetic_data_experiments/results/Table1.png); exact-string searches of the
#   code index for the values found nothing. Each row says so ("verified": False) and
#   published_reference() labels its rules "unverified". Check them against the PDF before
#   quoting any of them (and prose should not repeat them anyway: let a cell print them).
# - The ring's radius and standard deviation are NOT stated on the project page. The ring code
#   around these papers comes in two scales with the same std / radius = 0.01: radius 1, std 0.01
#   (Metz et al.'s reference notebook as stored: sample_mog(n_mixture=8, std=0.01, radius=1.0);
#   PacGAN's 2DRing config: means (cos 2 pi i/8, sin 2 pi i/8), variance 0.01^2; GDPP's synthetic
#   script; the VEEGAN first author's GAN_RING.py snippet on github.com/akashgit: ring(..., scale=1,
#   std=.01)) and radius 2, std 0.02 (sample_mog(n_mixture=8, std=0.02, radius=2.0) in several
#   repositories that say they copied poolio/unrolled_gan). Which one VEEGAN's Table 1 used could not
#   be read; coursekit.gan.data's default (radius 2, std 0.02) is the second. Note that
#   np.linspace(0, 2 pi, 8) in Metz et al.'s notebook puts its first and last means on the same
#   point (7 distinct modes); PacGAN's ring has 8.
# - Metz et al. (2017), https://arxiv.org/abs/1611.02163: only the abstract and introduction could
#   be read (arXiv-vanity, vdocuments copies), so no figure or table of theirs is verified here. From
#   memory the ring appears only as a figure (the plain GAN moving from mode to mode, the unrolled
#   GAN spreading over all modes), with no mode counts for it; its number is not known (a
#   third-party summary, liner.com, gives their Figure 1 as the computation graph of an unrolled
#   GAN, so cite it as "their ring figure", without a number). Their reference notebook says its
#   architecture and hyperparameters "are not identical to the one in the paper".
PUBLISHED_METRICS = (
    "A sample is high quality if it lies within three standard deviations of the nearest mode; the "
    "number of modes captured is the number of mixture components whose mean is nearest to at least "
    "one high-quality sample; the share of high-quality samples measures sample quality (VEEGAN's experiments "
    "on synthetic data, as the authors' project page states them; 2,500 samples per model, averaged over five runs)."
)
_UNVERIFIED = "typed from memory; Table 1 is an image in every stored copy, not re-read"
PUBLISHED = tuple(
    {"source": "VEEGAN Table 1", "dataset": dataset, "method": method, "modes": modes, "max_modes": max_modes,
     "hq_share": hq, "verified": False, "note": _UNVERIFIED}
    for dataset, max_modes, method, modes, hq in (
        ("2D ring", 8, "GAN", 1.0, 0.993),
        ("2D ring", 8, "ALI", 2.8, 0.0013),
        ("2D ring", 8, "Unrolled GAN", 7.6, 0.356),
        ("2D ring", 8, "VEEGAN", 8.0, 0.529),
        ("2D grid", 25, "GAN", 3.3, 0.005),
        ("2D grid", 25, "ALI", 15.8, 0.016),
        ("2D grid", 25, "Unrolled GAN", 23.6, 0.16),
        ("2D grid", 25, "VEEGAN", 24.6, 0.40),
    )
)
# What was and was not checked, for a notebook cell or a test to print (keys: item -> status, where).
PUBLISHED_CHECKS = {
    "metric definitions (3 std, nearest mode, modes captured)": (
        "verified", "VEEGAN project page, 'Synthetic Dataset' (github akashgit/VEEGAN index.md)"),
    "2,500 samples per model, mean of five runs": ("verified", "VEEGAN project page, 'Synthetic Dataset'"),
    "unrolled GAN with 5 unrolling steps": (
        "verified", "VEEGAN project page; poolio/unrolled_gan demo notebook (unrolling_steps=5)"),
    "Table 1 values (modes, % high quality), ring and grid": (
        "NOT verified", "no stored copy shows Table 1 as text (project page tab.png, PacGAN/GDPP images)"),
    "ring radius and std used for Table 1": (
        "NOT verified", "not on the project page; public ring code uses radius 1/std 0.01 or radius 2/std 0.02"),
    "Metz et al.: the ring is a figure with no mode counts": (
        "NOT verified", "only the abstract/introduction of 1611.02163 could be read"),
}


def published_reference(metric: str = "modes_covered", dataset: str = "2D ring",
                        methods: Sequence[str] = ("GAN", "Unrolled GAN", "VEEGAN")) -> list[dict[str, Any]]:
    """:data:`PUBLISHED` rows as ``reference`` rules for :func:`coursekit.viz.gan.ablation_chart`:
    ``[{"label", "metric", "value"}]`` for ``metric`` ("modes_covered" or "hq_share"). A row not
    re-read in a stored copy of the paper (``verified`` False: all of them, see :data:`PUBLISHED_CHECKS`)
    says "unverified" in its label."""
    check_choice("metric", metric, ("modes_covered", "hq_share"))
    check_choice("dataset", dataset, ("2D ring", "2D grid"))
    key = "modes" if metric == "modes_covered" else "hq_share"
    rows = [r for r in PUBLISHED if r["dataset"] == dataset and r["method"] in methods]
    return [{"label": f"{r['method']} ({r['source']}{'' if r['verified'] else ', unverified'})",
             "metric": metric, "value": r[key]} for r in rows]

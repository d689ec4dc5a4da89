"""The GAN losses, on discriminator logits.

Goodfellow et al. (2014), *Generative Adversarial Nets*, https://arxiv.org/abs/1406.2661, Sec. 3,
Eq. 1: min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]. D maximises V, i.e.
minimises the binary cross-entropy with label 1 on data and 0 on samples; the sum of the two
means is :func:`discriminator_loss`, equal to -V. For G, Sec. 3 notes that log(1 - D(G(z)))
saturates early in training, when D rejects the samples with high confidence, and proposes to
maximise log D(G(z)) instead: :func:`generator_loss` with ``kind="minimax"`` minimises
E[log(1 - D(G(z)))], with ``kind="non-saturating"`` minimises -E[log D(G(z))].

One-sided label smoothing: Salimans et al. (2016), *Improved Techniques for Training GANs*,
https://arxiv.org/abs/1606.03498, Sec. 3.4: replace the positive (real) target 1 by alpha
(``real_label``, e.g. 0.9) and keep the negative target 0: smoothing the negatives too would
give D*(x) = (alpha p_data + beta p_model) / (p_data + p_model), which, where p_data is small
and p_model large, keeps the samples' score up and so does not push the generator towards the data.

Label flipping (the "noisy labels" folklore trick): each example's label is swapped with
probability ``flip`` before D's loss (a flipped real gets target 0, a flipped fake gets the
positive target ``real_label``).

Shapes: logits (B,) for one run, or (E, B) for E runs trained together (an ensemble, see
:mod:`.tricks`): every loss is a mean over B; ``reduction="sum"`` (default) sums the members,
``"none"`` returns one value per member, shape () or (E,).

Legend: E members (seeds), B batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..utils import check_choice, check_real, check_tensor

__all__ = ["G_LOSSES", "discriminator_loss", "generator_loss", "flip_masks"]

G_LOSSES = ("non-saturating", "minimax")


def _reduce(per_member: torch.Tensor, reduction: str) -> torch.Tensor:
    check_choice("reduction", reduction, ("sum", "none"))
    return per_member.sum() if reduction == "sum" else per_member


def flip_masks(
    shape: torch.Size | tuple[int, ...], flip: float, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two boolean masks of ``shape`` (True = swap this example's label), one for the real batch
    and one for the fake batch, each entry True with probability ``flip``. Drawn on the CPU."""
    check_real("flip", flip, low=0.0, high=1.0)
    u = torch.rand((2, *shape), generator=generator)
    return u[0] < flip, u[1] < flip


def discriminator_loss(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    *,
    real_label: float = 1.0,
    flip: float = 0.0,
    generator: torch.Generator | None = None,
    masks: tuple[torch.Tensor, torch.Tensor] | None = None,
    reduction: str = "sum",
) -> torch.Tensor:
    """mean BCE(real_logits, t_real) + mean BCE(fake_logits, t_fake): -V(D, G) when
    ``real_label=1`` and ``flip=0`` (log 4 ~ 1.386 at D = 1/2). For (E, B) logits,
    ``real_label`` may be an (E,) tensor: one positive target per member.

    t_real = ``real_label`` (one-sided smoothing when < 1), t_fake = 0; where a label is flipped
    (probability ``flip``, drawn with ``generator``, or the given boolean ``masks`` (real, fake)
    of the logits' shape) the target becomes 0 for a real example and ``real_label`` for a fake one.
    ``fake_logits`` may hold a different batch size from ``real_logits``."""
    check_tensor("real_logits", real_logits, dtype="float")
    check_tensor("fake_logits", fake_logits, shape=(*real_logits.shape[:-1], None), dtype="float")
    if isinstance(real_label, torch.Tensor):  # one positive target per member: (E,) for (E, B) logits
        check_tensor("real_label", real_label, shape=(real_logits.shape[0],) if real_logits.dim() == 2 else (-1,),
                     dtype="float")
        if not bool(((real_label > 0) & (real_label <= 1)).all()):
            raise ValueError(f"real_label must be in (0, 1], got {real_label.tolist()}")
        real_label = real_label.to(real_logits).unsqueeze(-1)  # (E, 1)
    else:
        check_real("real_label", real_label, low=0.0, high=1.0, low_open=True)
    check_real("flip", flip, low=0.0, high=1.0)
    if masks is None and flip > 0:
        if real_logits.shape != fake_logits.shape:
            raise ValueError(f"flip needs real and fake batches of the same shape, got {tuple(real_logits.shape)} "
                             f"and {tuple(fake_logits.shape)}")
        masks = flip_masks(real_logits.shape, flip, generator)
    if masks is not None:
        check_tensor("masks[0]", masks[0], shape=tuple(real_logits.shape), dtype=torch.bool)
        check_tensor("masks[1]", masks[1], shape=tuple(fake_logits.shape), dtype=torch.bool)
    return _reduce(_discriminator_loss(real_logits, fake_logits, real_label, masks), reduction)


def _discriminator_loss(real_logits, fake_logits, real_label, masks) -> torch.Tensor:
    """:func:`discriminator_loss` per member, inputs already checked (``real_label`` a number or
    (E, 1) on the logits' device): the training loop's per-step path."""
    t_real = torch.zeros_like(real_logits) + real_label
    t_fake = torch.zeros_like(fake_logits)
    if masks is not None:
        m_real, m_fake = masks
        t_real = torch.where(m_real.to(real_logits.device), 0.0, t_real)
        t_fake = torch.where(m_fake.to(fake_logits.device), torch.zeros_like(fake_logits) + real_label, t_fake)
    real = F.binary_cross_entropy_with_logits(real_logits, t_real, reduction="none").mean(-1)
    fake = F.binary_cross_entropy_with_logits(fake_logits, t_fake, reduction="none").mean(-1)
    return real + fake


def generator_loss(fake_logits: torch.Tensor, kind: str = "non-saturating", *, reduction: str = "sum") -> torch.Tensor:
    """G's loss on D's logits for G's samples: ``"minimax"``: mean log(1 - D(G(z))) =
    -mean softplus(logit) (goes to 0 from below as D is fooled; flat where D is sure);
    ``"non-saturating"``: -mean log D(G(z)) = mean softplus(-logit)."""
    check_tensor("fake_logits", fake_logits, dtype="float")
    check_choice("kind", kind, G_LOSSES)
    return _reduce(_generator_loss(fake_logits, kind), reduction)


def _generator_loss(fake_logits: torch.Tensor, kind: str) -> torch.Tensor:
    """:func:`generator_loss` per member, inputs already checked (the training loop's per-step path)."""
    if kind == "minimax":
        return -F.softplus(fake_logits).mean(-1)  # log(1 - sigmoid(l)) = -softplus(l)
    return F.softplus(-fake_logits).mean(-1)  # -log sigmoid(l) = softplus(-l)

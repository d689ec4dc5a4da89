"""The GAN training loop, on :mod:`coursekit.train`'s conventions.

Goodfellow et al. (2014), *Generative Adversarial Nets*, https://arxiv.org/abs/1406.2661,
Algorithm 1: for each training iteration, k steps of D (here ``d_steps``) on a minibatch of data
and one of noise, then one step of G on a minibatch of noise. The optimiser defaults are
DCGAN's (Radford et al. 2015, Sec. 4): Adam, learning rate 2e-4, beta1 = 0.5.

As with :func:`coursekit.train.fit`: a tqdm progress bar (off where ``COURSEKIT_PROGRESS=0``),
a :class:`coursekit.train.History` (train rows every ``log_every`` steps with ``d_loss``,
``g_loss``, ``d_real`` and ``d_fake`` (the mean of D's probability on the real and the fake batch)
averaged since the last row; eval rows with whatever ``eval_fn(generator)`` returns), checkpoints
through :func:`coursekit.train.save_checkpoint` (G and D as one ``ModuleDict``; both optimisers
and the run's random-number state in ``trainer.pt``) so a killed run started again with the same
arguments ends exactly where the uninterrupted run would, and ``callback(step, d_loss, g_loss)``.

Every random draw (data, noise, flips) comes from the run's own ``torch.Generator`` seeded with
``seed``: the global RNG is not touched, and a run is a function of its seed and initial weights.

:func:`train_gan_seeds` trains E runs at once as one ensemble model (see :mod:`.tricks`): member
e draws its batches from its own generator seeded ``seeds[e]``, so it follows the run
:func:`train_gan` would give with that seed and the same initial weights (up to float rounding of
batched matmuls); it returns one History per member.

Legend: E members (seeds), B batch, Z noise dimension.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..train import History, _show_progress, load_checkpoint, save_checkpoint
from ..utils import check_choice, check_int, check_positive, check_real, eval_mode
from .losses import G_LOSSES, _discriminator_loss, _generator_loss, flip_masks

__all__ = ["train_gan", "train_gan_seeds", "generate"]

STATS = ("d_loss", "g_loss", "d_real", "d_fake")


def generate(
    generator: nn.Module, n: int, *, seed: int | Sequence[int] = 0, noise_dim: int | None = None
) -> torch.Tensor:
    """``n`` samples of ``generator`` in eval mode, without gradients: (n, ...) for a plain
    generator, (E, n, ...) for an ensemble (member e's noise from ``seed[e]`` when ``seed`` is a
    sequence of E ints; one int gives every member the same noise, the one a plain generator gets)."""
    check_int("n", n, min=1)
    nz = _noise_dim(generator, noise_dim)
    E = getattr(generator, "ensemble", None)
    param = next(generator.parameters())
    if E is None:
        z = torch.randn(n, nz, generator=torch.Generator().manual_seed(_seed(seed)))
    else:
        seeds = list(seed) if isinstance(seed, (list, tuple)) else None
        if seeds is not None and len(seeds) != E:
            raise ValueError(f"seed must be an int or {E} ints (one per member), got {len(seeds)}")
        seeds = seeds or [seed] * E  # one int: every member gets the same noise
        gens = [torch.Generator().manual_seed(_seed(s)) for s in seeds]
        z = torch.stack([torch.randn(n, nz, generator=g) for g in gens])  # (E, n, Z)
    with eval_mode(generator), torch.no_grad():
        return generator(z.to(device=param.device, dtype=param.dtype))


def _seed(seed: Any) -> int:
    check_int("seed", seed)
    return int(seed)


def _noise_dim(generator: nn.Module, noise_dim: int | None) -> int:
    if noise_dim is None:
        noise_dim = getattr(generator, "noise_dim", None)
        if noise_dim is None:
            raise ValueError("noise_dim must be given for a generator without a noise_dim attribute")
    check_positive("noise_dim", noise_dim)
    return int(noise_dim)


def train_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    steps: int,
    *,
    seed: int = 0,
    **kwargs: Any,
) -> History:
    """Train ``generator`` against ``discriminator`` for ``steps`` G steps; return the History.

    ``sample_real(n, generator)`` returns n data points (n, ...) drawn with the given
    ``torch.Generator`` (e.g. :func:`coursekit.gan.ring_sampler`). Keyword arguments (defaults):
    ``g_loss`` ("non-saturating" or "minimax"), ``real_label`` (1.0; 0.9 = one-sided smoothing),
    ``flip`` (0.0), ``lr`` (2e-4; or a pair (lr_g, lr_d)), ``betas`` ((0.5, 0.999)), ``optimizers`` ((opt_g, opt_d),
    replacing lr/betas), ``d_steps`` (1), ``batch_size`` (64), ``noise_dim`` (the generator's),
    ``eval_fn`` (``eval_fn(generator) -> dict``, run in eval mode every ``eval_every`` (100)
    steps and at the end), ``log_every`` (10), ``checkpoint_dir`` (None), ``checkpoint_every``
    (100), ``progress`` (None), ``desc`` ("GAN"), ``callback`` (``callback(step, d_loss, g_loss)``
    after each step)."""
    if getattr(generator, "ensemble", None) is not None:
        raise ValueError("generator is an ensemble: train it with train_gan_seeds")
    return _train(generator, discriminator, sample_real, steps, seeds=[_seed(seed)], ensemble=False, **kwargs)[0]


def train_gan_seeds(
    generator: nn.Module,
    discriminator: nn.Module,
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    steps: int,
    *,
    seeds: Sequence[int],
    **kwargs: Any,
) -> list[History]:
    """:func:`train_gan` for E runs at once: ``generator`` and ``discriminator`` are ensembles
    (``ensemble=E``, e.g. :func:`coursekit.gan.stack_models` of E plain models), ``seeds`` has E
    ints; returns E Histories. ``eval_fn(generator)`` gets the ensemble and returns a dict whose
    values are numbers (the same for every member) or E numbers (a list or a tensor). The same
    keyword arguments as :func:`train_gan`, where ``real_label`` and ``flip`` may also be lists of E
    numbers (one per member: the arms of a smoothing / flipping ablation train as one model);
    ``callback(step, d_loss, g_loss)`` gets (E,) tensors."""
    E = getattr(generator, "ensemble", None)
    if E is None or getattr(discriminator, "ensemble", None) != E:
        raise ValueError(
            f"generator and discriminator must be ensembles of the same size, got "
            f"{E} and {getattr(discriminator, 'ensemble', None)}"
        )
    if not isinstance(seeds, (list, tuple)) or len(seeds) != E:
        raise ValueError(f"seeds must be a list of {E} ints (one per member), got {seeds!r}")
    return _train(generator, discriminator, sample_real, steps, seeds=[_seed(s) for s in seeds], ensemble=True, **kwargs)


def _per_member(name: str, value: Any, E: int, ensemble: bool, *, low_open: bool) -> list[float]:
    """``value`` as E floats in [0, 1] (in (0, 1] when ``low_open``): one number for every member,
    or (for an ensemble) a list of E numbers."""
    values = list(value) if ensemble and isinstance(value, (list, tuple)) else [value] * E
    if len(values) != E:
        raise ValueError(f"{name} must be one number or {E} numbers (one per member), got {len(values)}")
    for v in values:
        check_real(name, v, low=0.0, high=1.0, low_open=low_open)
    return [float(v) for v in values]


def _train(
    G: nn.Module,
    D: nn.Module,
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    steps: int,
    *,
    seeds: list[int],
    ensemble: bool,
    g_loss: str = "non-saturating",
    real_label: float | Sequence[float] = 1.0,
    flip: float | Sequence[float] = 0.0,
    lr: float | tuple[float, float] = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer] | None = None,
    d_steps: int = 1,
    batch_size: int = 64,
    noise_dim: int | None = None,
    eval_fn: Callable[[nn.Module], dict[str, Any]] | None = None,
    eval_every: int = 100,
    log_every: int = 10,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 100,
    progress: bool | None = None,
    desc: str = "GAN",
    callback: Callable[[int, Any, Any], None] | None = None,
) -> list[History]:
    from tqdm.auto import tqdm

    if not callable(sample_real):
        raise ValueError(f"sample_real must be a function (n, generator) -> tensor, got {type(sample_real).__name__}")
    check_positive("steps", steps)
    check_choice("g_loss", g_loss, G_LOSSES)
    E = len(seeds)
    real_labels = _per_member("real_label", real_label, E, ensemble, low_open=True)
    flips = _per_member("flip", flip, E, ensemble, low_open=False)
    lr_g, lr_d = lr if isinstance(lr, (tuple, list)) and len(lr) == 2 else (lr, lr)
    check_real("lr", lr_g, low=0.0, low_open=True)
    check_real("lr", lr_d, low=0.0, low_open=True)
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(f"betas must be a pair of numbers in [0, 1), got {betas!r}")
    for b in betas:
        check_real("betas", b, low=0.0, high=1.0, high_open=True)
    check_positive("d_steps", d_steps)
    check_positive("batch_size", batch_size)
    check_positive("eval_every", eval_every)
    check_positive("log_every", log_every)
    check_positive("checkpoint_every", checkpoint_every)
    nz = _noise_dim(G, noise_dim)
    if optimizers is None:
        # foreach: one call per step for all parameters (about 20% of a small GAN's step on the CPU)
        opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=tuple(betas), foreach=True)
        opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=tuple(betas), foreach=True)
    else:
        if not (isinstance(optimizers, (tuple, list)) and len(optimizers) == 2
                and all(isinstance(o, torch.optim.Optimizer) for o in optimizers)):
            raise ValueError(f"optimizers must be a pair (opt_g, opt_d) of torch optimizers, got {optimizers!r}")
        opt_g, opt_d = optimizers
    param = next(G.parameters())
    device, dtype = param.device, param.dtype  # batches follow the models (a float64 model gets float64 data)
    # D's positive target: a number, or one per member as a column (E, 1) against (E, B) logits
    target = real_labels[0] if not ensemble else torch.tensor(real_labels, dtype=dtype, device=device).unsqueeze(-1)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    both = nn.ModuleDict({"generator": G, "discriminator": D})
    histories = [History() for _ in range(E)]
    start, stopped_seconds = 0, 0.0
    running, count = torch.zeros(len(STATS), E), 0

    if checkpoint_dir is not None and (Path(checkpoint_dir) / "trainer.pt").exists():
        state = load_checkpoint(checkpoint_dir, both)
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        for g, s in zip(gens, state["rng"]):
            g.set_state(s)
        histories = [History(rows=list(rows), seconds=state["seconds"]) for rows in state["rows"]]
        start, running, count = state["step"], state["running"].clone(), state["count"]

    def save(step: int) -> None:
        if checkpoint_dir is None:
            return
        save_checkpoint(checkpoint_dir, both, {
            "step": step,
            "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(),
            "rows": [h.rows for h in histories],
            "seconds": histories[0].seconds,
            "rng": [g.get_state() for g in gens],
            "running": running,
            "count": count,
        })

    def draw_real() -> torch.Tensor:
        if not ensemble:
            return sample_real(batch_size, gens[0]).to(device=device, dtype=dtype)
        return torch.stack([sample_real(batch_size, g) for g in gens]).to(device=device, dtype=dtype)  # (E, B, ...)

    def draw_noise() -> torch.Tensor:
        if not ensemble:
            return torch.randn(batch_size, nz, generator=gens[0]).to(device=device, dtype=dtype)
        return torch.stack([torch.randn(batch_size, nz, generator=g) for g in gens]).to(device=device, dtype=dtype)  # (E, B, Z)

    no_flip = torch.zeros(batch_size, dtype=torch.bool)

    def draw_masks():
        if not any(flips):
            return None
        # a member that does not flip draws nothing, as its run alone would not
        pairs = [flip_masks((batch_size,), f, g) if f > 0 else (no_flip, no_flip) for f, g in zip(flips, gens)]
        if not ensemble:
            return pairs[0]
        return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])  # (E, B) each

    def evaluate(step: int) -> None:
        if eval_fn is None or any(r["split"] == "eval" and r["step"] == step for r in histories[0].rows):
            return
        with eval_mode(G), eval_mode(D), torch.no_grad():
            metrics = eval_fn(G)
        if not isinstance(metrics, dict):
            raise ValueError(f"eval_fn must return a dict of metrics, got {type(metrics).__name__}")
        for e, h in enumerate(histories):
            row = {"step": step, "split": "eval"}
            for k, v in metrics.items():
                if isinstance(v, torch.Tensor) and v.dim() > 0 or isinstance(v, (list, tuple)):
                    if len(v) != E:
                        raise ValueError(f"eval_fn's {k!r} must be one number or {E} numbers, got {len(v)}")
                    v = v[e]
                row[k] = float(v)
            h.rows.append(row)

    d_params = [p for p in D.parameters() if p.requires_grad]
    G.train()
    D.train()
    bar = tqdm(total=steps, initial=start, desc=desc, disable=not _show_progress(progress), leave=False)
    t0 = time.perf_counter()
    step = start
    try:
        for step in range(start + 1, steps + 1):
            for k in range(d_steps):
                x = draw_real()
                fake = G(draw_noise())
                real_logits = D(x)
                fake_logits = D(fake.detach())
                # the unchecked cores: every input was checked once, above
                d_loss = _discriminator_loss(real_logits, fake_logits, target, draw_masks())
                opt_d.zero_grad(set_to_none=True)
                d_loss.sum().backward()
                opt_d.step()
                if k < d_steps - 1:
                    del fake  # only the last D step's samples train G
            for p in d_params:  # G's step needs no gradient for D's weights: skip computing them
                p.requires_grad_(False)
            g = _generator_loss(D(fake), g_loss)
            opt_g.zero_grad(set_to_none=True)
            g.sum().backward()
            opt_g.step()
            for p in d_params:
                p.requires_grad_(True)
            with torch.no_grad():
                stats = torch.stack([d_loss, g, torch.sigmoid(real_logits).mean(-1), torch.sigmoid(fake_logits).mean(-1)])
                running += stats.reshape(len(STATS), E).cpu()
            count += 1
            if step % log_every == 0 or step == steps:
                means = running / count
                if not torch.isfinite(means).all():
                    raise ValueError(f"the losses became {means[:2].tolist()} by step {step}; lower the learning rate")
                for e, h in enumerate(histories):
                    h.rows.append({"step": step, "split": "train", **{k: float(means[i, e]) for i, k in enumerate(STATS)}})
                bar.set_postfix(d=f"{means[0].mean():.3f}", g=f"{means[1].mean():.3f}")
                running, count = torch.zeros(len(STATS), E), 0
            bar.update(1)
            if step % eval_every == 0:
                evaluate(step)
            if step % checkpoint_every == 0:
                elapsed = time.perf_counter() - t0
                t0 = time.perf_counter()
                for h in histories:
                    h.seconds += elapsed
                save(step)
            if callback is not None:
                callback(step, d_loss.detach() if ensemble else d_loss.item(), g.detach() if ensemble else g.item())
        evaluate(step)
    finally:
        for p in d_params:  # even when a step raised half-way
            p.requires_grad_(True)
        bar.close()
        elapsed = time.perf_counter() - t0
        for h in histories:
            h.seconds += elapsed
    save(step)
    G.eval()
    D.eval()
    return histories

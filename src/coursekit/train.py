"""The one training loop every chapter uses.

``fit`` runs a fixed number of optimisation steps, draws a tqdm.auto progress
bar (a widget in Jupyter and Colab, text elsewhere; none where the environment
variable ``COURSEKIT_PROGRESS`` is ``0``, as in the book build), records a
:class:`History`, can stop early, and can checkpoint and resume: a run that is
killed (a Colab disconnect) and started again with the same arguments continues
from its last checkpoint and ends with exactly the weights an uninterrupted
run would have (the batches are a function of the step; the RNG state is saved).

Checkpoints are a ``model.safetensors`` file plus a ``trainer.pt`` file holding
only tensors and plain Python values, read back with ``weights_only=True``:
nothing that runs code when loaded.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from .utils import check_choice, check_positive, eval_mode

__all__ = ["History", "EarlyStopping", "fit", "save_checkpoint", "load_checkpoint"]


@dataclass
class History:
    """What happened during training: one row per logged step.

    Train rows hold ``step`` and ``loss`` (mean over the steps since the last
    row); evaluation rows hold ``step`` and every metric the eval function
    returned, under ``split="eval"``. ``seconds`` is the training wall time.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    stopped_early: bool = False

    def curve(self, key: str, split: str = "train") -> tuple[list[int], list[float]]:
        """(steps, values) of one metric, for plotting or assertions."""
        pts = [(r["step"], r[key]) for r in self.rows if r["split"] == split and key in r]
        return [p[0] for p in pts], [p[1] for p in pts]

    def last(self, key: str, split: str = "eval") -> float:
        _, values = self.curve(key, split)
        if not values:
            raise ValueError(f"no {split!r} rows with {key!r} in this history")
        return values[-1]

    def first_step_reaching(self, key: str, target: float, split: str = "eval") -> int | None:
        """The first logged step at which ``key`` >= ``target`` (None if never)."""
        for step, value in zip(*self.curve(key, split)):
            if value >= target:
                return step
        return None

    def records(self, **extra: Any) -> list[dict[str, Any]]:
        """Rows with ``extra`` columns added (e.g. ``model="attention"``), ready for Altair."""
        return [{**r, **extra} for r in self.rows]


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when an eval metric reaches ``target``, or has not improved for ``patience`` evaluations."""

    metric: str = "loss"
    mode: str = "min"
    patience: int | None = 5
    target: float | None = None

    def __post_init__(self):
        check_choice("mode", self.mode, ("min", "max"))
        if self.patience is not None:
            check_positive("patience", self.patience)

    def should_stop(self, values: list[float]) -> bool:
        if not values:
            return False
        better = (lambda a, b: a < b) if self.mode == "min" else (lambda a, b: a > b)
        if self.target is not None and not better(self.target, values[-1]):
            return True  # reached (or passed) the target
        if self.patience is None or len(values) <= self.patience:
            return False
        best_before = values[0]
        for v in values[: -self.patience]:
            best_before = v if better(v, best_before) else best_before
        return not any(better(v, best_before) for v in values[-self.patience :])


def _atomic_save(obj: Any, path: Path, saver: Callable[[Any, str], None]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    saver(obj, str(tmp))
    os.replace(tmp, path)  # a kill mid-write leaves the previous checkpoint intact


def save_checkpoint(directory: str | Path, model: nn.Module, trainer_state: dict[str, Any] | None = None) -> Path:
    """Write ``model.safetensors`` (and ``trainer.pt`` when given) into ``directory``."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # safetensors refuses tensors that share memory (tied weights): store contiguous copies.
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    _atomic_save(state, directory / "model.safetensors", save_file)
    if trainer_state is not None:
        _atomic_save(trainer_state, directory / "trainer.pt", torch.save)
    return directory


def load_checkpoint(directory: str | Path, model: nn.Module) -> dict[str, Any] | None:
    """Load weights into ``model``; return the trainer state if one was saved (else None)."""
    from safetensors.torch import load_file

    directory = Path(directory)
    weights = directory / "model.safetensors"
    if not weights.exists():
        raise ValueError(f"no checkpoint at {directory} (expected {weights})")
    device = next(model.parameters()).device
    model.load_state_dict(load_file(str(weights), device=str(device)))
    trainer = directory / "trainer.pt"
    return torch.load(trainer, map_location=device, weights_only=True) if trainer.exists() else None


def _show_progress(progress: bool | None = None) -> bool:
    """Whether ``fit`` draws a progress bar: ``progress`` if given, else on unless the
    environment variable ``COURSEKIT_PROGRESS`` says off (``0``, ``false``, ``off``, ``no``)."""
    if progress is not None:
        return bool(progress)
    return os.environ.get("COURSEKIT_PROGRESS", "1").strip().lower() not in {"0", "false", "off", "no"}


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Callable[[int], Any],
    loss_fn: Callable[[nn.Module, Any], torch.Tensor],
    steps: int,
    *,
    eval_fn: Callable[[nn.Module], dict[str, float]] | None = None,
    eval_every: int = 50,
    log_every: int = 10,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    clip_grad_norm: float | None = 1.0,
    early_stopping: EarlyStopping | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 100,
    device: torch.device | str | None = None,
    progress: bool | None = None,
    desc: str = "training",
    callback: Callable[[int, float], None] | None = None,
) -> History:
    """Train ``model`` for ``steps`` optimiser steps and return its :class:`History`.

    ``batches(step)`` returns the batch for that step (see
    :class:`coursekit.data.BatchSampler`); it is moved to ``device`` (default:
    the model's) when it has a ``.to`` method. ``loss_fn(model, batch)`` returns
    a scalar loss. ``eval_fn(model)`` returns a dict of metrics; it runs every
    ``eval_every`` steps and at the end, and early stopping reads its metrics
    (or ``loss`` of the eval rows). With ``checkpoint_dir``, state is saved
    every ``checkpoint_every`` steps and at the end, and a later call with the
    same directory resumes from there. ``callback(step, loss)`` runs after each
    step (a test uses it to interrupt a run). ``progress`` shows the progress bar;
    None (the default) shows it unless the environment variable ``COURSEKIT_PROGRESS``
    is ``0``/``false``/``off``/``no`` (the book build sets it: a bar embedded in a
    static page is a hidden widget that leaves a gap and loads the widget manager).
    """
    from tqdm.auto import tqdm

    check_positive("steps", steps)
    check_positive("eval_every", eval_every)
    check_positive("log_every", log_every)
    check_positive("checkpoint_every", checkpoint_every)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    history, start = History(), 0
    running, count, stopped = 0.0, 0, False
    if checkpoint_dir is not None and (Path(checkpoint_dir) / "trainer.pt").exists():
        state = load_checkpoint(checkpoint_dir, model)
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and "scheduler" in state:
            scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng_cpu"].cpu())
        if device.type == "cuda" and "rng_cuda" in state:
            torch.cuda.set_rng_state(state["rng_cuda"].cpu(), device)
        history = History(rows=list(state["rows"]), seconds=state["seconds"])
        start = state["step"]
        # the loss accumulated since the last train row, so that row comes out the same
        running, count = state.get("running", 0.0), state.get("count", 0)
        stopped = state.get("stopped", False)  # a finished early-stopped run stays finished

    def save(step: int) -> None:
        if checkpoint_dir is None:
            return
        state = {
            "step": step,
            "optimizer": optimizer.state_dict(),
            "rows": history.rows,
            "seconds": history.seconds,
            "rng_cpu": torch.get_rng_state(),
            "running": running,
            "count": count,
            "stopped": stopped,
        }
        if scheduler is not None:
            state["scheduler"] = scheduler.state_dict()
        if device.type == "cuda":
            state["rng_cuda"] = torch.cuda.get_rng_state(device)
        save_checkpoint(checkpoint_dir, model, state)

    def evaluate(step: int) -> bool:
        if eval_fn is None:
            return False
        if any(r["split"] == "eval" and r["step"] == step for r in history.rows):
            return False  # already evaluated at this step (a resumed run)
        with eval_mode(model), torch.no_grad():
            metrics = eval_fn(model)
        history.rows.append({"step": step, "split": "eval", **{k: float(v) for k, v in metrics.items()}})
        if early_stopping is None:
            return False
        return early_stopping.should_stop(history.curve(early_stopping.metric, "eval")[1])

    model.train()
    bar = tqdm(total=steps, initial=start, desc=desc, disable=not _show_progress(progress), leave=False)
    t0 = time.perf_counter()
    step = start
    end = start if stopped else steps  # resuming a run that stopped early trains no further
    try:
        for step in range(start + 1, end + 1):
            batch = batches(step - 1)
            if hasattr(batch, "to"):
                batch = batch.to(device)
            loss = loss_fn(model, batch)
            if not torch.isfinite(loss):
                raise ValueError(f"the loss became {loss.item()} at step {step}; lower the learning rate")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            running, count = running + loss.item(), count + 1
            if step % log_every == 0 or step == steps:
                history.rows.append({"step": step, "split": "train", "loss": running / count})
                bar.set_postfix(loss=f"{running / count:.3f}")
                running, count = 0.0, 0
            bar.update(1)
            if step % eval_every == 0 and evaluate(step):
                stopped = True
            if step % checkpoint_every == 0 or stopped:
                history.seconds += time.perf_counter() - t0
                t0 = time.perf_counter()
                save(step)
            if callback is not None:
                callback(step, loss.item())
            if stopped:
                break
        if not stopped:
            evaluate(step)
    finally:
        bar.close()
        history.seconds += time.perf_counter() - t0
    history.stopped_early = stopped
    save(step)
    model.eval()
    return history


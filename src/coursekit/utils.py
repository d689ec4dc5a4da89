"""Device, seeding, the CPU/GPU scale knob, and input validation shared by every module.

Library code never picks a device (it follows its inputs); notebooks call
:func:`get_device` and :func:`seed_everything` once, in their setup cell.
"""

from __future__ import annotations

import numbers
import os
import random
import sys
from contextlib import contextmanager
from typing import Iterable, Iterator, TypeVar

import numpy as np
import torch

__all__ = [
    "get_device",
    "seed_everything",
    "in_colab",
    "choose_scale",
    "at_scale",
    "check_tensor",
    "check_choice",
    "check_positive",
    "check_int",
    "check_real",
    "check_bool",
    "check_ids",
    "eval_mode",
    "plain_numbers",
]

T = TypeVar("T")

SCALES = ("cpu", "gpu")


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def get_device(prefer: str | None = None, *, cpu_threads: int | None = 1) -> torch.device:
    """The device to run a notebook on: ``prefer`` if given, else CUDA, else MPS, else CPU.

    On CPU it also sets torch's intra-op threads to ``cpu_threads`` (``None``
    leaves torch's default). The course's models are small: each op takes
    microseconds, so threads spend more time synchronising than computing. On
    the 2-core machine that builds the book, a GRU seq2seq training step
    (B=128, H=64) measured 35-43 ms with one thread and 135-670 ms with two.
    """
    if cpu_threads is not None and (not isinstance(cpu_threads, int) or isinstance(cpu_threads, bool) or cpu_threads < 1):
        raise ValueError(f"cpu_threads must be a positive int or None, got {cpu_threads!r}")
    if prefer is not None:
        device = torch.device(prefer)
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    if device.type == "cpu" and cpu_threads is not None:
        torch.set_num_threads(cpu_threads)
    return device


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); return a torch.Generator seeded the same way.

    Called explicitly by notebooks and tests, never at import.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {type(seed).__name__}: {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def choose_scale(device: torch.device | str | None = None) -> str:
    """``"gpu"`` on a CUDA device, else ``"cpu"``; the environment variable
    ``COURSEKIT_SCALE`` (``cpu`` or ``gpu``) overrides the choice.

    Every chapter has one knob: ``SCALE = choose_scale(device)``, and each
    experiment's size is ``at_scale(SCALE, cpu=..., gpu=...)``.
    """
    forced = os.environ.get("COURSEKIT_SCALE", "").strip().lower()
    if forced:
        check_choice("COURSEKIT_SCALE", forced, SCALES)
        return forced
    if device is None:
        return "cpu"
    return "gpu" if torch.device(device).type == "cuda" else "cpu"


def at_scale(scale: str, *, cpu: T, gpu: T) -> T:
    """Pick the CPU-sized or GPU-sized value of a setting."""
    check_choice("scale", scale, SCALES)
    return cpu if scale == "cpu" else gpu


def check_choice(name: str, value: object, choices: Iterable[object]) -> None:
    """Raise ValueError unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_positive(name: str, value: object, *, allow_zero: bool = False) -> None:
    """Raise ValueError unless ``value`` is a positive int (or zero when allowed); NumPy ints count."""
    check_int(name, value, min=0 if allow_zero else 1)


def check_int(name: str, value: object, *, min: int | None = None, max: int | None = None) -> None:
    """Raise ValueError unless ``value`` is an integer (Python or NumPy, not bool) in [min, max]."""
    if not _is_int(value) or (min is not None and value < min) or (max is not None and value > max):
        if min == 1 and max is None:
            want = "a positive int"
        elif min == 0 and max is None:
            want = "a non-negative int"
        else:
            want = "an int" + (f" >= {min}" if min is not None else "") + (f" <= {max}" if max is not None else "")
        raise ValueError(f"{name} must be {want}, got {value!r}")


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raise ValueError unless ``value`` is a real number (int, float or NumPy scalar; not bool,
    not a string, not None) in the interval given by ``low``/``high`` (open ends when asked)."""
    is_real = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and value == value  # not NaN
    ok = is_real
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if ok:
        return
    if low is None and high is None:
        where = ""
    elif high is None:
        where = f"{'>' if low_open else '>='} {low:g}"
    elif low is None:
        where = f"{'<' if high_open else '<='} {high:g}"
    else:
        where = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if is_real:
        raise ValueError(f"{name} must be {where}, got {value!r}")
    raise ValueError(f"{name} must be a real number{' ' + where if where else ''}, got {value!r} ({type(value).__name__})")


def check_bool(name: str, value: object) -> None:
    """Raise ValueError unless ``value`` is a bool (Python or NumPy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def check_ids(name: str, ids: torch.Tensor, vocab_size: int) -> None:
    """Raise ValueError unless every id in the integer tensor ``ids`` lies in [0, vocab_size).

    One reduction and one host sync (``.any()``); the min and max for the message are
    computed only when something is wrong.
    """
    if ids.numel() and bool(((ids < 0) | (ids >= vocab_size)).any()):
        raise ValueError(
            f"{name} must be in [0, {vocab_size}), got values in [{int(ids.min())}, {int(ids.max())}]"
        )


def plain_numbers(config: object) -> None:
    """Turn NumPy scalars in a frozen dataclass's fields into Python ``int`` / ``float`` / ``bool``,
    in place (call first thing in ``__post_init__``). torch's modules refuse ``np.int64`` sizes,
    and a config prints and compares more plainly with Python numbers."""
    for name, value in vars(config).items():
        if isinstance(value, np.generic) and isinstance(value, (np.integer, np.floating, np.bool_)):
            object.__setattr__(config, name, value.item())


@contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Put ``model`` in eval mode for the block, then back in the mode it was in (even on error)."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def check_tensor(
    name: str,
    x: object,
    *,
    shape: tuple[int | str | None, ...] | None = None,
    dtype: torch.dtype | tuple[torch.dtype, ...] | str | None = None,
    dims: dict[str, int] | None = None,
) -> dict[str, int]:
    """Validate a tensor argument and return the sizes bound to named dimensions.

    ``shape`` lists one entry per dimension: an int (exact size), a letter
    (a named size that must agree with every other use of that letter, and
    with ``dims`` when given), or None (any size). ``dtype`` is a dtype, a tuple
    of dtypes, or ``"float"`` for any floating dtype. Errors name what was
    expected and what was received, e.g.
    ``src must have shape (B, S), got a 3-d tensor of shape (2, 5, 7)``.
    """
    dims = dict(dims or {})
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if dtype is not None:
        if dtype == "float":
            if not x.is_floating_point():
                raise ValueError(f"{name} must have a floating dtype, got {x.dtype}")
        else:
            allowed = dtype if isinstance(dtype, tuple) else (dtype,)
            if x.dtype not in allowed:
                want = " or ".join(str(d) for d in allowed)
                raise ValueError(f"{name} must have dtype {want}, got {x.dtype}")
    if shape is not None:
        pretty = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        if x.dim() != len(shape):
            raise ValueError(
                f"{name} must have shape {pretty}, got a {x.dim()}-d tensor of shape {tuple(x.shape)}"
            )
        for axis, (want, got) in enumerate(zip(shape, x.shape)):
            if want is None:
                continue
            if isinstance(want, int):
                if got != want:
                    raise ValueError(
                        f"{name} must have shape {pretty}, got {tuple(x.shape)} (dim {axis} should be {want})"
                    )
            elif want in dims and dims[want] != got:
                raise ValueError(
                    f"{name} must have shape {pretty} with {want}={dims[want]}, got {tuple(x.shape)}"
                )
            else:
                dims[want] = got
    return dims

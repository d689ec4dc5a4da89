"""Input checks the charts share: tensors, arrays and lists become NumPy arrays,
token lists, row dicts and plain numbers, once, at the top of each chart
function. A bad input raises ValueError naming what was expected and what was
received (its type and shape), so a learner sees which argument to fix.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch


def _describe(x: object) -> str:
    if isinstance(x, (torch.Tensor, np.ndarray)):
        return f"a {x.ndim}-d {type(x).__name__} of shape {tuple(x.shape)}"
    return f"{type(x).__name__}"


def _as_array(x: object, name: str) -> np.ndarray:
    """A float64 NumPy copy of a tensor, array or nested list (finite values only)."""
    if isinstance(x, torch.Tensor):
        arr = x.detach().to("cpu", torch.float64).numpy()
    else:
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be a tensor, array or rectangular nested list of numbers, got {_describe(x)}"
            ) from None
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(arr)).sum())} NaN/inf values")
    return arr


def _as_tokens(tokens: object, name: str) -> list[str]:
    if isinstance(tokens, str) or not isinstance(tokens, Iterable):
        raise ValueError(f"{name} must be a list of tokens (e.g. list('abc')), got {type(tokens).__name__}")
    return [str(t) for t in tokens]


def _check_rows(rows: object, name: str) -> list[Mapping[str, Any]]:
    if not isinstance(rows, Sequence) or isinstance(rows, (str, bytes)) or not rows:
        raise ValueError(f"{name} must be a non-empty list of dicts, got {_describe(rows)}")
    for i, r in enumerate(rows):
        if not isinstance(r, Mapping):
            raise ValueError(f"{name}[{i}] must be a dict, got {type(r).__name__}")
    return list(rows)


def _require_keys(record: Mapping[str, Any], where: str, required: Sequence[str], optional: Sequence[str] = ()) -> None:
    """Raise ValueError naming the keys ``record`` lacks, the keys it should have, and those it has."""
    missing = [key for key in required if key not in record]
    if missing:
        want = ", ".join(f"'{key}'" for key in required)
        extra = f" (and optionally {', '.join(repr(key) for key in optional)})" if optional else ""
        raise ValueError(f"{where} must have keys {want}{extra}; missing {missing}, got keys {sorted(record)}")


def _number(value: object, what: str) -> float | int:
    """A plain, finite Python number (ints stay ints) from a number, 0-d tensor or NumPy scalar."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{what} must be finite, got {v}")
    return v

"""Comparing the learner's output with the reference's: :func:`same`, and :func:`explain` for the first difference.

Outputs are tensors, Python values, or tuples and lists of them (a namedtuple,
or torch's ``topk`` result, counts as the tuple it is). Float tensors agree
within float32 tolerance. Where an exercise only asks for "a float tensor", a
float32 or float64 answer both pass: a learner who builds the result with
``torch.tensor(...)`` from NumPy (float64) or from Python floats (float32) has
the right answer. An exercise that asks for one dtype says ``exact_dtype=True``.
Integer and boolean outputs always need the reference's dtype: a float index is
a real mistake.
"""

from __future__ import annotations

from typing import Any

import torch

from .feedback import dtype_name, fmt, kind

__all__ = ["RTOL", "ATOL", "same", "explain"]

RTOL, ATOL = 1e-4, 1e-5  # float outputs: close enough to the reference for float32 arithmetic in another order
PRECISE_FLOATS = (torch.float32, torch.float64)  # float16 / bfloat16 can't meet RTOL, so they are a dtype problem


def plain(x: Any) -> Any:
    """Tensors detached and on the CPU, tuples (named or not) as plain tuples, lists as lists."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu()
    if isinstance(x, tuple):
        return tuple(plain(v) for v in x)
    if isinstance(x, list):
        return [plain(v) for v in x]
    return x


def _dtype_ok(got: torch.Tensor, want: torch.Tensor, exact_dtype: bool) -> bool:
    if got.dtype == want.dtype:
        return True
    return not exact_dtype and want.is_floating_point() and got.dtype in PRECISE_FLOATS


def _as_compared(got: torch.Tensor, want: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both on the CPU, in float64 when their float dtypes differ."""
    got, want = got.detach().cpu(), want.detach().cpu()
    if got.dtype != want.dtype and got.is_floating_point() and want.is_floating_point():
        got, want = got.double(), want.double()
    return got, want


def same(
    got: Any,
    want: Any,
    *,
    equal_nan: bool = False,
    rtol: float = RTOL,
    atol: float = ATOL,
    exact_dtype: bool = False,
) -> bool:
    """Whether ``got`` equals ``want``: the same structure and shapes; floats within tolerance.

    Dtypes must match, except that a float32 or float64 tensor stands for any
    float reference unless ``exact_dtype``.
    """
    if isinstance(want, torch.Tensor):
        if not isinstance(got, torch.Tensor) or got.shape != want.shape or not _dtype_ok(got, want, exact_dtype):
            return False
        got, want = _as_compared(got, want)
        if want.is_floating_point() or want.is_complex():
            return bool(torch.allclose(got, want, rtol=rtol, atol=atol, equal_nan=equal_nan))
        return bool(torch.equal(got, want))
    if isinstance(want, (list, tuple)):
        return (
            isinstance(got, (list, tuple))
            and len(got) == len(want)
            and all(
                same(g, w, equal_nan=equal_nan, rtol=rtol, atol=atol, exact_dtype=exact_dtype)
                for g, w in zip(got, want)
            )
        )
    return type(got) is type(want) and got == want


def _first_difference(got: torch.Tensor, want: torch.Tensor) -> str:
    """Where two same-shaped tensors first differ, and by how much."""
    got, want = _as_compared(got, want)
    if want.is_floating_point():
        bad = ~torch.isclose(got, want, rtol=RTOL, atol=ATOL)
    else:
        bad = got != want
    index = tuple(int(i) for i in bad.nonzero()[0]) if bad.any() else ()
    g, w = got[index].item(), want[index].item()
    where = f"at index {index}" if index else "its value"
    text = f"{where}: expected {fmt(w)}, received {fmt(g)}"
    if want.is_floating_point() and want.dim() > 0:
        finite = torch.isfinite(got) & torch.isfinite(want)
        if finite.any():
            text += f" (largest difference {(got - want)[finite].abs().max().item():.3g})"
    if bad.sum() > 1:
        text += f"; {int(bad.sum())} of {want.numel()} entries differ"
    return text


def _dtype_hint(got: torch.Tensor, want: torch.Tensor, exact_dtype: bool) -> str:
    if want.dtype == torch.long:
        return "Token ids and indices are integers: make them `torch.long` (`.long()`, or `//` rather than `/`)."
    if want.dtype == torch.bool:
        return "Build it from comparisons (`<=`, `==`), or pass `dtype=torch.bool` where you create it."
    if want.is_floating_point() and not exact_dtype:
        return f"{got.dtype} is too coarse to compare with the reference: compute in float32 (`.float()`)."
    return f"Convert with `.to({want.dtype})`, or build the result from the float inputs."


def explain(
    got: Any, want: Any, name: str, value_hint: str | None, *, exact_dtype: bool = False
) -> tuple[str, str | None] | None:
    """The first way ``got`` differs from ``want`` as (what, hint), or None when they agree."""
    if isinstance(want, torch.Tensor):
        if got is None:
            return f"{name} is None.", "Did you forget the `return` statement?"
        if not isinstance(got, torch.Tensor):
            return (
                f"{name} should be a torch.Tensor of shape {tuple(want.shape)}, but yours is {kind(got)}.",
                "Build the result with torch operations (or convert it with `torch.tensor(...)`).",
            )
        if got.shape != want.shape:
            return (
                f"{name} should have shape {tuple(want.shape)}, but yours has shape {tuple(got.shape)}.",
                "Print the shapes along the way (`print(x.shape)`) to see where a dimension is added, "
                "lost or swapped.",
            )
        if not _dtype_ok(got, want, exact_dtype):
            should = (
                "a float dtype (torch.float32 or torch.float64)"
                if want.is_floating_point() and not exact_dtype
                else f"dtype {dtype_name(want.dtype)}"
            )
            return f"{name} should have {should}, but yours has {dtype_name(got.dtype)}.", _dtype_hint(
                got, want, exact_dtype
            )
        g = got.detach().cpu()
        if g.is_floating_point() and torch.isnan(g).any():
            return (
                f"{name} contains NaN (not a number) at {int(torch.isnan(g).sum())} of {g.numel()} entries.",
                "NaN usually comes from 0/0, for example a softmax over a row in which every score is -inf, "
                "or log(0).",
            )
        if not same(got, want, exact_dtype=exact_dtype):
            return f"{name} has the wrong values, {_first_difference(got, want)}.", value_hint
        return None
    if isinstance(want, (list, tuple)):
        count = f"{len(want)} values"
        if got is None:
            return f"{name} returned None, but it should return {count}.", "Did you forget the `return` statement?"
        if not isinstance(got, (list, tuple)):
            return f"{name} should return a tuple of {count}, but it returned {kind(got)}.", (
                "Return them together: `return a, b`."
            )
        if len(got) != len(want):
            return f"{name} should return {count}, but it returned {len(got)}.", None
        return None
    if not same(got, want, exact_dtype=exact_dtype):
        return f"{name} should be {kind(want)}, but yours is {kind(got)}.", value_hint
    return None

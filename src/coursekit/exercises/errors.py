"""What the learner's exception means: the feedback, and a hint that fits that exception.

:func:`exception_feedback` turns an exception raised by the learner's function
into :class:`~coursekit.exercises.feedback.Feedback`:

- the stub's own ``raise NotImplementedError``: "you haven't implemented it yet";
- a ``NotImplementedError`` from *another* of the learner's functions (an
  exercise that assembles earlier ones calls an earlier stub): which one, and to
  finish that exercise first;
- anything else: the exception, the learner's line it came from, and the hint of
  the first entry of :data:`MEANINGS` that matches it (a ``NameError`` says what
  to import, "Boolean value of Tensor is ambiguous" says what replaces ``if`` /
  ``and`` / ``max`` on tensors, and so on).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import traceback
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import CodeType
from typing import Callable

import torch

from .feedback import Feedback, capitalized, short

__all__ = ["MEANINGS", "Meaning", "exception_feedback"]

_TORCH_DIR = str(Path(torch.__file__).resolve().parent)
_COURSEKIT_DIR = str(Path(__file__).resolve().parent.parent)

# Names a learner's code often uses without importing them, and the line that imports each.
MODULE_IMPORTS = {
    "F": "import torch.nn.functional as F",
    "nn": "from torch import nn",
    "torch": "import torch",
    "math": "import math",
    "np": "import numpy as np",
}


@dataclass(frozen=True)
class Meaning:
    """A kind of exception (``matches``) and the hint for it: a text, or a function of the exception."""

    matches: Callable[[BaseException], bool]
    hint: str | Callable[[BaseException], str]

    def hint_for(self, exc: BaseException) -> str:
        return self.hint(exc) if callable(self.hint) else self.hint


def _is(exc_type: type | tuple[type, ...], message: str = "") -> Callable[[BaseException], bool]:
    """A test for exceptions of ``exc_type`` whose message matches the regex ``message`` (any case)."""
    regex = re.compile(message, flags=re.IGNORECASE)
    return lambda exc: isinstance(exc, exc_type) and bool(regex.search(str(exc)))


def _missing_name(exc: BaseException) -> str:
    name = getattr(exc, "name", None)
    if name:
        return name
    found = re.search(r"'(\w+)'", str(exc))
    return found.group(1) if found else "that name"


@lru_cache(maxsize=None)
def _coursekit_home(name: str) -> str | None:
    """The coursekit module to import ``name`` from, if a public module exports it."""
    import coursekit

    homes = []
    for info in pkgutil.iter_modules(coursekit.__path__):
        if info.name.startswith("_") or info.name in ("exercises", "viz"):
            continue
        try:
            module = importlib.import_module(f"coursekit.{info.name}")
        except Exception:  # a module that can't be imported can't be suggested either
            continue
        if name in getattr(module, "__all__", ()):
            homes.append(module)
    if not homes:
        return None
    defined_in = getattr(getattr(homes[0], name), "__module__", "") or ""
    homes.sort(key=lambda m: (not defined_in.startswith(m.__name__), m.__name__))
    return homes[0].__name__


def _name_error_hint(exc: BaseException) -> str:
    name = _missing_name(exc)
    if name in MODULE_IMPORTS:
        return (
            f"`{name}` is not defined in this notebook yet: add `{MODULE_IMPORTS[name]}` at the top of your cell "
            "(a notebook only knows what its cells have imported)."
        )
    home = _coursekit_home(name)
    if home is not None:
        return f"`{name}` is not defined in this notebook yet: add `from {home} import {name}` at the top of your cell."
    if name.startswith("my_"):
        return (
            f"`{name}` is not defined: it is the function of an earlier exercise, so run the cell that defines it "
            "(or its solution cell) first; a notebook only knows the cells that have run."
        )
    return (
        f"`{name}` is not defined: check its spelling (Python names are case-sensitive), and run the cell that "
        "defines or imports it."
    )


def _unbound_hint(exc: BaseException) -> str:
    name = _missing_name(exc)
    return (
        f"`{name}` is used before your function gives it a value: make sure every path through the function "
        f"assigns `{name}` before that line (an `if` that does not always run, or a typo where it is assigned)."
    )


_AMBIGUOUS_HINT = (
    "Python's `if`, `and`, `or`, `not`, `max()` and `min()` need one True/False, and a tensor of many values "
    "has many. Work elementwise instead: `torch.where(cond, a, b)` for if/else, `&`, `|` and `~` for "
    "and/or/not, `torch.maximum` / `torch.minimum` for max/min (or `.any()` / `.all()` if you really mean one "
    "answer for the whole tensor)."
)
_DTYPE_HINT = (
    "Print the dtype of each tensor on that line (`print(x.dtype)`): masks are `torch.bool`, token ids and "
    "indices are `torch.long`, and the float tensors of one operation share one float dtype (`.float()`)."
)
_SHAPE_HINT = (
    "Print the shape (and dtype) of each tensor on that line, e.g. `print(x.shape, x.dtype)`, "
    "and compare them with the shapes the exercise gives."
)
_ATTRIBUTE_HINT = (
    "Print the type of the value before the dot (`print(type(x))`): a torch.Tensor has `.shape` and the tensor "
    "methods, a Python list or number has not (`torch.tensor(...)` converts one). Check the spelling too."
)
_GENERAL_HINT = (
    "Print the values that line uses (`print(x)`, or `print(x.shape, x.dtype)` for a tensor) to see which one "
    "is not what you expected."
)

# The first match gives the hint; an exception that matches none gets _GENERAL_HINT.
MEANINGS: tuple[Meaning, ...] = (
    Meaning(_is(UnboundLocalError), _unbound_hint),  # a subclass of NameError, so it comes first
    Meaning(_is(NameError), _name_error_hint),
    Meaning(_is(RuntimeError, r"Boolean value of Tensor .* is ambiguous"), _AMBIGUOUS_HINT),
    Meaning(_is(RuntimeError, r"dtype|scalar type|boolean|can't be cast|\b(Long|Float|Double|Half)\b"), _DTYPE_HINT),
    Meaning(
        _is((RuntimeError, IndexError, ValueError), r"size|shape|dimension|mat1 and mat2|must match|broadcast|expand"),
        _SHAPE_HINT,
    ),
    Meaning(_is(AttributeError), _ATTRIBUTE_HINT),
)


# ----------------------------------------------------------------------------- where it happened
def _learner_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    """The traceback's frames in the learner's code (not torch's, not coursekit's), outermost first."""
    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if not f.filename.startswith((_TORCH_DIR, _COURSEKIT_DIR))]


def _innermost_code(exc: BaseException) -> CodeType | None:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code if tb is not None else None


def _at(frame: traceback.FrameSummary | None) -> str:
    if frame is None:
        return ""
    at = f"\nIt happened at line {frame.lineno}, in `{frame.name}`"
    return at + (f": `{frame.line.strip()}`" if frame.line else ".")


def _raised_by_unfinished(exc: BaseException) -> CodeType | None:
    """The learner's function whose own body raised ``exc`` (a NotImplementedError), if one did."""
    if not isinstance(exc, NotImplementedError):
        return None
    code = _innermost_code(exc)
    if code is None or code.co_filename.startswith((_TORCH_DIR, _COURSEKIT_DIR)):
        return None
    return code


def exception_feedback(exc: BaseException, fn: Callable, *, label: str, where: str, call: str) -> Feedback:
    """The feedback for ``exc``, raised by the learner's ``fn`` (named ``label``) on ``where``, called as ``call``."""
    unfinished = _raised_by_unfinished(exc)
    own_code = getattr(fn, "__code__", None)
    if unfinished is not None and (own_code is None or unfinished is own_code):
        return Feedback(
            f"You haven't implemented {label} yet: replace the `raise NotImplementedError` line with your "
            "code, run that cell, then run this check again.",
            None,
        )
    frames = _learner_frames(exc)
    at = _at(frames[-1] if frames else None)
    if unfinished is not None:
        other = f"`{unfinished.co_name}`"
        return Feedback(
            f"{capitalized(label)} calls {other}, which is not implemented yet: it raised NotImplementedError on {where}{at}",
            f"{capitalized(label)} needs {other}, so finish that exercise first: write its body and run its cell (or run its "
            "solution cell), then run this check again.",
        )
    name = type(exc).__name__
    hint = next((m.hint_for(exc) for m in MEANINGS if m.matches(exc)), _GENERAL_HINT)
    return Feedback(f"{capitalized(label)} raised {name} on {where} (called as {call}):\n{name}: {short(exc)}{at}", hint)

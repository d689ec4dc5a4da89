"""What a check says: the :class:`CheckResult` a learner sees, and the words for values in it.

A check never raises. Anything that ends a check early raises :class:`Feedback`
(a message and a hint) inside the framework, and the check turns it into a
failing :class:`CheckResult`. The helpers below say what a value is
("a tensor of shape (2, 3)", "torch.int64 (long)") in those messages.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["PASSED", "NOT_YET", "CheckResult", "Feedback"]

PASSED = "✅ Passed"
NOT_YET = "❌ Not yet"


# The box sets its own light background and dark text, whatever the page's theme; so does
# the code inside it, which would otherwise take a dark theme's code colours (light text on
# the light box, about 1.3:1). Opaque colours, each >= 4.5:1 (WCAG AA) against the other,
# set by a <style> scoped to the box (the theme styles <code> itself, so inheriting from the
# box is not enough; !important beats the theme's rules).
_TEXT = "#1b1b1b"
_BOX = {True: ("#2e7d32", "#e8f5e9"), False: ("#c62828", "#ffebee")}  # border, background
_CODE_BACKGROUND = {True: "#d3ead5", False: "#fbd3d9"}
_STYLE = "".join(
    f'.coursekit-check[data-passed="{str(passed).lower()}"] code {{color: {_TEXT} !important; '
    f"background: {bg} !important; border: none !important; padding: 0 0.2em; border-radius: 3px}}"
    for passed, bg in _CODE_BACKGROUND.items()
)


def _code_html(text: str) -> str:
    """Escape ``text`` for HTML, then show `backticked` spans as code."""
    return re.sub(r"`([^`\n]+)`", r"<code>\1</code>", html.escape(text))


@dataclass(frozen=True, repr=False)
class CheckResult:
    """The outcome of one check. Truthy when passed.

    ``repr`` is plain text whose first line starts with :data:`PASSED` or
    :data:`NOT_YET`; ``_repr_html_`` is a coloured box for Jupyter. The
    message and hint may quote the learner's code, so the HTML escapes them.
    """

    passed: bool
    title: str
    message: str
    hint: str | None = None

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        lines = [f"{PASSED if self.passed else NOT_YET}: {self.title}"]
        if self.message:
            lines.append(self.message)
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        border, background = _BOX[bool(self.passed)]
        marker = PASSED if self.passed else NOT_YET
        parts = [
            f"<style>{_STYLE}</style>",
            f'<div class="coursekit-check" data-passed="{str(bool(self.passed)).lower()}" role="status" '
            f'style="border-left: 6px solid {border}; background: {background}; '
            f'color: {_TEXT}; padding: 0.6em 1em; margin: 0.4em 0; border-radius: 4px; line-height: 1.45">',
            f"<strong>{html.escape(marker)}: {html.escape(self.title)}</strong>",
        ]
        if self.message:
            parts.append(f'<div style="white-space: pre-wrap; margin-top: 0.3em">{_code_html(self.message)}</div>')
        if self.hint:
            parts.append(
                f'<div style="white-space: pre-wrap; margin-top: 0.3em"><em>Hint:</em> {_code_html(self.hint)}</div>'
            )
        parts.append("</div>")
        return "".join(parts)


class Feedback(Exception):
    """Raised inside a check to stop it with a failing result: ``message`` says what, ``hint`` how to fix it."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


# ----------------------------------------------------------------------------- words for values
def kind(x: Any) -> str:
    """What ``x`` is, in a few words: "a tensor of shape (2, 3)", "a list of length 2", "a float (0.5)"."""
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)}"
    if x is None:
        return "None"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of length {len(x)}"
    return f"a {type(x).__name__} ({x!r})" if isinstance(x, (int, float, bool)) else f"a {type(x).__name__}"


def dtype_name(dtype: torch.dtype) -> str:
    aliases = {torch.int64: "torch.int64 (long)", torch.float32: "torch.float32 (float)", torch.bool: "torch.bool"}
    return aliases.get(dtype, str(dtype))


def fmt(v: float | int | bool) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def short(text: object, limit: int = 300) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def capitalized(text: str) -> str:
    """``text`` with its first letter upper-case, for a label that starts a sentence ("Your function ...")."""
    return text[:1].upper() + text[1:]


def fn_label(fn: Any) -> str:
    """How the feedback names the learner's function: "`my_x`", or "your function" for a lambda."""
    name = getattr(fn, "__name__", None)
    return "your function" if not name or name == "<lambda>" else f"`{name}`"

"""Computed verdicts for the chapters' reproductions.

Every reproduction in the course ends with one call::

    verdict(
        "Attention holds its accuracy as inputs grow (Bahdanau et al. 2015, Fig. 2)",
        paper="RNNsearch-50 shows no performance deterioration even with sentences of length 50 or more",
        ours=f"attention {att:.0%}, plain {plain:.0%} exact match at length {L}",
        checks={
            "attention keeps >= 90% exact match at 1.5x the training length": att >= 0.9,
            "the plain model loses at least half of its short-input accuracy there": plain <= 0.5 * plain_short,
        },
    )

The criteria are stated in the code before the numbers are known (they are the dict's
keys), and the outcome follows from them alone: every check holds -> "reproduced"; some
hold -> "partly reproduced"; none -> "not reproduced at this scale". The prose around it
explains the printed verdict and never types a number the cell computes, so the page stays
true on a GPU run or another seed.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

__all__ = ["OUTCOMES", "Verdict", "verdict"]

OUTCOMES = ("reproduced", "partly reproduced", "not reproduced at this scale")


@dataclass(frozen=True)
class Verdict:
    """A reproduction's outcome: the ``claim``, the ``paper``'s figure, ``ours`` (measured), each
    criterion with whether it held, and the ``outcome`` (one of :data:`OUTCOMES`)."""

    claim: str
    paper: str
    ours: str
    checks: tuple[tuple[str, bool], ...]
    outcome: str

    def __bool__(self) -> bool:
        return self.outcome == OUTCOMES[0]

    def __repr__(self) -> str:
        lines = [f"Claim:   {self.claim}", f"Paper:   {self.paper}", f"Ours:    {self.ours}", "Criteria (set in advance):"]
        lines += [f"  [{'x' if ok else ' '}] {text}" for text, ok in self.checks]
        lines.append(f"Verdict: {self.outcome.upper()}")
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        colour = {"reproduced": "#1b5e20", "partly reproduced": "#8a5a00"}.get(self.outcome, "#8e1b1b")
        rows = "".join(
            f"<li>{'✔' if ok else '✘'} {html.escape(text)}</li>" for text, ok in self.checks
        )
        return (
            '<div class="coursekit-verdict" style="border-left: 6px solid ' + colour + '; background: #f6f8fa; '
            'color: #1b1b1b; padding: 0.6em 1em; margin: 0.4em 0; border-radius: 4px; line-height: 1.45">'
            f"<div><strong>Claim:</strong> {html.escape(self.claim)}</div>"
            f"<div><strong>Paper:</strong> {html.escape(self.paper)}</div>"
            f"<div><strong>Ours:</strong> {html.escape(self.ours)}</div>"
            f'<div><strong>Criteria, set in advance:</strong><ul style="margin: 0.2em 0">{rows}</ul></div>'
            f'<div><strong>Verdict: <span style="color: {colour}">{html.escape(self.outcome)}</span></strong></div>'
            "</div>"
        )


def verdict(claim: str, *, paper: str, ours: str, checks: dict[str, bool]) -> Verdict:
    """The verdict on ``claim``: "reproduced" if every check holds, "partly reproduced" if some
    do, "not reproduced at this scale" if none does. ``checks`` maps each criterion, in words,
    to whether the measured numbers meet it (plain Python or NumPy bools)."""
    for name, value in (("claim", claim), ("paper", paper), ("ours", ours)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    if not isinstance(checks, dict) or not checks:
        raise ValueError(f"checks must be a non-empty dict of criterion -> bool, got {checks!r}")
    items = []
    for text, ok in checks.items():
        if not isinstance(text, str) or type(ok).__name__ not in ("bool", "bool_"):
            raise ValueError(f"checks must map criterion strings to bools, got {text!r}: {ok!r}")
        items.append((text, bool(ok)))
    held = sum(ok for _, ok in items)
    outcome = OUTCOMES[0] if held == len(items) else OUTCOMES[1] if held else OUTCOMES[2]
    return Verdict(claim, paper, ours, tuple(items), outcome)

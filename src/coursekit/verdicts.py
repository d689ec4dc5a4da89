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
true on a GPU run or another seed. A criterion chosen after the numbers were seen (say, a
counting convention inferred from a paper's table) is named in ``post_hoc=``: it is printed
with "(post hoc)" and the heading says so, so a reader knows which checks could not fail the
way a prediction can.
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
    post_hoc: tuple[str, ...] = ()

    @property
    def _heading(self) -> str:
        return "set in advance, except those marked post hoc" if self.post_hoc else "set in advance"

    def _label(self, text: str) -> str:
        return f"{text} (post hoc)" if text in self.post_hoc else text

    def __bool__(self) -> bool:
        return self.outcome == OUTCOMES[0]

    def __repr__(self) -> str:
        lines = [f"Claim:   {self.claim}", f"Paper:   {self.paper}", f"Ours:    {self.ours}", f"Criteria ({self._heading}):"]
        lines += [f"  [{'x' if ok else ' '}] {self._label(text)}" for text, ok in self.checks]
        lines.append(f"Verdict: {self.outcome.upper()}")
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        colour = {"reproduced": "#1b5e20", "partly reproduced": "#8a5a00"}.get(self.outcome, "#8e1b1b")
        rows = "".join(
            f"<li>{'✔' if ok else '✘'} {html.escape(self._label(text))}</li>" for text, ok in self.checks
        )
        return (
            '<div class="coursekit-verdict" style="border-left: 6px solid ' + colour + '; background: #f6f8fa; '
            'color: #1b1b1b; padding: 0.6em 1em; margin: 0.4em 0; border-radius: 4px; line-height: 1.45">'
            f"<div><strong>Claim:</strong> {html.escape(self.claim)}</div>"
            f"<div><strong>Paper:</strong> {html.escape(self.paper)}</div>"
            f"<div><strong>Ours:</strong> {html.escape(self.ours)}</div>"
            f'<div><strong>Criteria, {self._heading}:</strong><ul style="margin: 0.2em 0">{rows}</ul></div>'
            f'<div><strong>Verdict: <span style="color: {colour}">{html.escape(self.outcome)}</span></strong></div>'
            "</div>"
        )


def verdict(claim: str, *, paper: str, ours: str, checks: dict[str, bool], post_hoc=()) -> Verdict:
    """The verdict on ``claim``: "reproduced" if every check holds, "partly reproduced" if some
    do, "not reproduced at this scale" if none does. ``checks`` maps each criterion, in words,
    to whether the measured numbers meet it (plain Python or NumPy bools). ``post_hoc`` names
    the criteria (keys of ``checks``) chosen after the numbers were seen; they still count."""
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
    if isinstance(post_hoc, str) or not all(isinstance(k, str) for k in post_hoc):
        raise ValueError(f"post_hoc must be a collection of criterion strings, got {post_hoc!r}")
    unknown = [k for k in post_hoc if k not in checks]
    if unknown:
        raise ValueError(f"post_hoc must name criteria that are keys of checks, got unknown {unknown!r}")
    held = sum(ok for _, ok in items)
    outcome = OUTCOMES[0] if held == len(items) else OUTCOMES[1] if held else OUTCOMES[2]
    return Verdict(claim, paper, ours, tuple(items), outcome, tuple(k for k in checks if k in post_hoc))

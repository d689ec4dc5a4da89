"""The registry of course diagrams: name -> (draw function, chapter, alt text, title).

Each chapter module registers its diagrams with :func:`diagram`; the package's
``__init__`` imports them all, so :data:`DIAGRAMS` is complete once
``coursekit.diagrams`` is imported.
"""

from __future__ import annotations

import re
from typing import Callable, NamedTuple

from .svg import Canvas

__all__ = ["Entry", "DIAGRAMS", "diagram", "render"]


class Entry(NamedTuple):
    """One registered diagram."""

    draw: Callable[[], Canvas]  # draws it on a fresh Canvas and returns that canvas
    chapter: int  # the chapter whose notebook shows it
    alt: str  # alt text, the SVG's <desc>: what the diagram shows, in a sentence or three
    title: str  # the SVG's <title>: a few words


DIAGRAMS: dict[str, Entry] = {}
"""Every course diagram by name, in registration (chapter) order."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def diagram(name: str, *, chapter: int, title: str, alt: str) -> Callable[[Callable[[], Canvas]], Callable[[], Canvas]]:
    """Register the decorated draw function under ``name``."""
    if not _NAME.match(name):
        raise ValueError(f"a diagram name is lower-case letters, digits and underscores, got {name!r}")

    def register(draw: Callable[[], Canvas]) -> Callable[[], Canvas]:
        if name in DIAGRAMS:
            raise ValueError(f"diagram {name!r} is registered twice")
        DIAGRAMS[name] = Entry(draw, chapter, " ".join(alt.split()), title)
        return draw

    return register


def render(name: str) -> str:
    """The inline ``<svg>`` of diagram ``name``."""
    entry = DIAGRAMS[name]
    canvas = entry.draw()
    return canvas.to_svg(entry.title, entry.alt)

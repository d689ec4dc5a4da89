"""The course's diagrams, drawn as SVG by code (no matplotlib, no files to find).

In a notebook::

    from coursekit.diagrams import show_diagram
    show_diagram("transformer_blocks")

returns a :class:`Diagram` whose ``_repr_html_`` is an inline ``<svg>``. Inline (not
an ``<img>``), the SVG follows the page's light or dark theme through its own
``<style>``; and since the drawing code ships inside the ``coursekit`` wheel, the same
call works in the built book, in local Jupyter and in Colab, where a path relative to
the repository would not resolve. Style and accessibility rules: :mod:`.svg`.

Modules: :mod:`.svg` (the builder and the palette), :mod:`.registry` (the
:data:`DIAGRAMS` registry), and one module per chapter: :mod:`.seq2seq` (1),
:mod:`.attention` (2), :mod:`.classification` (3), :mod:`.selfattn` (4),
:mod:`.transformer` (5), :mod:`.gpt` (6), :mod:`.efficient` (7),
:mod:`.contextual` (8), :mod:`.bert` (9), :mod:`.family` (10).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import attention, bert, bertology, classification, contextual, efficient, family, gan, gpt, labels, selfattn, seq2seq, transformer  # noqa: F401  (they register)
from .registry import DIAGRAMS, Entry, render

__all__ = ["DIAGRAMS", "Entry", "Diagram", "show_diagram", "diagram_names"]


@dataclass(frozen=True, repr=False)
class Diagram:
    """A rendered diagram. Jupyter shows ``_repr_html_`` (the inline SVG); the plain-text
    repr is the title and alt text, for a terminal or a text-only export."""

    name: str
    title: str
    alt: str
    svg: str

    def _repr_html_(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        return f"[diagram {self.name}: {self.title}] {self.alt}"

    __str__ = __repr__

    def save(self, path: str | Path) -> Path:
        """Write a standalone ``.svg`` file (light colours unless the viewer prefers dark)."""
        path = Path(path)
        path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + self.svg + "\n", encoding="utf-8")
        return path


def diagram_names(chapter: int | None = None) -> list[str]:
    """Registered diagram names, all or one chapter's, in order."""
    return [n for n, e in DIAGRAMS.items() if chapter is None or e.chapter == chapter]


def show_diagram(name: str) -> Diagram:
    """The course diagram ``name`` (see :data:`DIAGRAMS`), ready for Jupyter to display."""
    if name not in DIAGRAMS:
        raise ValueError(f"no diagram named {name!r}; the course has: {', '.join(DIAGRAMS)}")
    entry = DIAGRAMS[name]
    return Diagram(name, entry.title, entry.alt, render(name))

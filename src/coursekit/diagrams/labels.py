"""Chapter 13's diagrams (label smoothing and label flipping). Being written; registers nothing yet."""

from __future__ import annotations

__all__: list[str] = []

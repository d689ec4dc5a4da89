"""Chapter 13 exercises (label smoothing and label flipping). Being written."""

from __future__ import annotations

__all__: list[str] = []

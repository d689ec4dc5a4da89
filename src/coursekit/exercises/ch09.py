"""Chapter 9 exercises (BERT): filled in with the chapter."""

from __future__ import annotations

__all__: list[str] = []

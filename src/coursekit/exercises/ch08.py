"""Chapter 8 exercises (contextual embeddings): filled in with the chapter."""

from __future__ import annotations

__all__: list[str] = []

"""Chapter 7's exercises (efficient and sparse attention)."""

from __future__ import annotations

__all__: list[str] = []

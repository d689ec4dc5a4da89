"""Chapter 6's exercises (GPT)."""

from __future__ import annotations

__all__: list[str] = []

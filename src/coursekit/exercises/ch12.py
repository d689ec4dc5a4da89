"""Chapter 12 exercises (GANs). Being written."""

from __future__ import annotations

__all__: list[str] = []

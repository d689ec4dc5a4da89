"""Chapter 12's diagrams (GANs). Being written; registers nothing yet."""

from __future__ import annotations

__all__: list[str] = []

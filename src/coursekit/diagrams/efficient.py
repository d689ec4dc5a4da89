"""Chapter 7's diagrams (efficient and sparse attention)."""

from __future__ import annotations

from .registry import diagram  # noqa: F401
from .svg import Box, Canvas  # noqa: F401

__all__: list[str] = []

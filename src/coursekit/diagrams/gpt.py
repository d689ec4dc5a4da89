"""Chapter 6's diagrams (GPT, decoder-only language models)."""

from __future__ import annotations

from .registry import diagram  # noqa: F401
from .svg import Box, Canvas  # noqa: F401

__all__: list[str] = []

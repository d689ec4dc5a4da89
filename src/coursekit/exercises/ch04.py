"""Exercise checkers for chapter 4 (being written)."""

__all__: list[str] = []

"""Exercise checkers for chapter 3 (being written)."""

__all__: list[str] = []

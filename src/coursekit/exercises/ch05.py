"""Exercise checkers for chapter 5 (being written)."""

__all__: list[str] = []

"""Database backends behind one small protocol."""

__all__: list[str] = []

"""SQL dialects: (operation, state before, state after) -> statements, without a connection."""

__all__: list[str] = []

"""The autodetector: diff two project states into migrations."""

__all__: list[str] = []

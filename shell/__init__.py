"""The shell of reinhardt-migrations: every effect (files, databases, terminal) lives here."""

__all__: list[str] = []

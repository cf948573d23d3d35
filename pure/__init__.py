"""The pure core of reinhardt-migrations: values and functions, no effects.

Nothing under ``reinhardt_migrations.pure`` reads files, opens connections, looks at
the clock or the environment. The shell (``reinhardt_migrations.shell``) reads the
world into these values and writes results back.
"""

__all__: list[str] = []

"""migrator: move a Python code base from singleton tool dispatchers to request-scoped ones."""

__version__ = "0.1.0"

"""The version of memstrata."""

__version__ = "0.1.0"

"""opsloop: the composition root — the command line, scheduler wiring and WSGI entry point."""

from core import __version__

__all__ = ["__version__"]

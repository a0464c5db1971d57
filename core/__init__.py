"""Shared foundation of opsloop: settings, database, migrations, clock, logging, metrics, auth."""

__version__ = "0.1.0"

"""Subcommands of the `opsloop` command line contributed by each area."""

from __future__ import annotations

import click


def register_area_commands(cli: click.Group) -> None:
    """Each area's module adds its commands here (scrape, rules, feedback import, ...)."""
    from opsloop.commands.alerts import rules
    from opsloop.commands.collector import scrape
    from opsloop.commands.feedback import feedback
    from opsloop.commands.plan import plan

    cli.add_command(feedback)
    cli.add_command(plan)
    cli.add_command(rules)
    cli.add_command(scrape)

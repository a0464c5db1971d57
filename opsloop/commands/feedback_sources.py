"""`opsloop feedback poll` and `opsloop feedback cluster`: run source polling and clustering now."""

from __future__ import annotations

import click

from core.db import session_scope
from core.runtime import build_runtime
from feedback.analysis import Analyser
from feedback.errors import FeedbackConfigError
from feedback.polling import poll_source
from feedback.source_store import all_sources
from feedback.sources import load_sources
from feedback.theme_stats import theme_summaries
from feedback.theme_store import ThemeCache, cluster_new_feedback


@click.command("poll")
@click.argument("names", nargs=-1)
@click.option("--force", is_flag=True, help="Poll even if the interval has not passed yet.")
def poll(names: tuple[str, ...], force: bool) -> None:
    """Poll the forums and feeds (all, or the NAMES given) once, if due (or --force)."""
    runtime = build_runtime(migrate=True)
    try:
        analyser = Analyser.from_config(runtime.config)
        with session_scope(runtime.engine) as session:
            sources = all_sources(session, load_sources(runtime.config))
    except FeedbackConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    unknown = sorted(set(names) - {s.name for s in sources})
    if unknown:
        raise click.ClickException(f"no configured source named {', '.join(unknown)}")
    chosen = [s for s in sources if not names or s.name in names]
    if not chosen:
        click.echo("no feedback_sources are configured")
    failed = False
    for source in chosen:
        with session_scope(runtime.engine) as session:
            report = poll_source(session, source, runtime.now(), analyser, force=force)
        if report.error:
            failed = True
            click.echo(f"{source.name}: error: {report.error}")
        elif report.skipped:
            until = report.waiting_until
            why = f"waiting until {until:%Y-%m-%d %H:%M:%S} UTC" if until else "not due yet"
            click.echo(f"{source.name}: skipped ({why}; --force polls anyway)")
        else:
            click.echo(f"{source.name}: {report.added} new")
    if failed:
        raise SystemExit(1)


@click.command("cluster")
@click.option("--top", default=10, show_default=True, help="Themes to list afterwards.")
def cluster(top: int) -> None:
    """Group all feedback not clustered yet into themes, then list the biggest themes."""
    runtime = build_runtime(migrate=True)
    cache = ThemeCache()
    total = 0
    while True:
        with session_scope(runtime.engine) as session:
            result = cluster_new_feedback(session, runtime.now(), cache)
        total += result.clustered
        if result.clustered == 0:
            break
    click.echo(f"clustered {total} feedback item(s)")
    with session_scope(runtime.engine) as session:
        for summary in theme_summaries(session, runtime.now())[:top]:
            terms = ", ".join(summary.top_terms[:5])
            click.echo(f"{summary.count:6d}  {summary.theme.label}  [{terms}]")

"""`opsloop feedback ...`: the feedback command group (CSV import here; other areas add more)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlmodel import Session

from core.runtime import Runtime, build_runtime
from feedback.analysis import Analyser
from feedback.csv_import import (
    ImportReport,
    describe,
    dry_run,
    import_chunks,
    parse_mapping,
    prepare_import,
)
from feedback.csv_layouts import CsvFormat
from feedback.errors import CsvImportError, FeedbackConfigError, SurveyError
from feedback.models import Survey
from feedback.surveys import config_surveys, get_survey, spec_of, sync_config_surveys


@click.group("feedback")
def feedback() -> None:
    """User feedback: import survey exports (and more)."""


@feedback.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--survey", "slug", help="Store the rows as answers to this survey (its slug).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in CsvFormat]),
    default=CsvFormat.AUTO.value,
    show_default=True,
    help="Export layout; auto detects Google Forms, Typeform and SurveyMonkey.",
)
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Which column holds a field (score, comment, created_at, email, external_id, "
    "service); repeat as needed.",
)
@click.option("--source", default="csv", show_default=True, help="Source name without --survey.")
@click.option("--dry-run", "dry", is_flag=True, help="Print what would be imported; store nothing.")
def import_file(
    file: Path, slug: str | None, fmt: str, maps: tuple[str, ...], source: str, dry: bool
) -> None:
    """Import a survey export (CSV). Importing the same file twice adds nothing.

    Rows that cannot be imported are listed with their line number; the others are
    stored, and the exit status is 1 when any row was refused.
    """
    runtime = build_runtime(migrate=True)
    with Session(runtime.engine, expire_on_commit=False) as session:
        survey = _survey(session, runtime, slug)
        try:
            prepared = prepare_import(
                file.read_bytes(),
                spec_of(survey) if survey else None,
                CsvFormat(fmt),
                parse_mapping(maps),
                source,
            )
        except CsvImportError as exc:
            raise click.ClickException(f"{file}: {exc} (nothing was imported)") from exc
        for line in describe(prepared):
            click.echo(line)
        now = runtime.now()
        if dry:
            report = dry_run(session, prepared, survey, now)
        else:
            analyser = Analyser.from_config(runtime.config)
            report = ImportReport(prepared.table.format)
            for progress in import_chunks(session, prepared, survey, now, analyser):
                session.commit()
                report = progress
    _print_report(file, report, dry)
    if report.error_count:
        sys.exit(1)


def _survey(session: Session, runtime: Runtime, slug: str | None) -> Survey | None:
    """The survey to import into, after writing the config file's surveys to the database."""
    try:
        sync_config_surveys(session, config_surveys(runtime.config), runtime.now())
        session.commit()
    except (FeedbackConfigError, SurveyError) as exc:
        raise click.ClickException(str(exc)) from exc
    if not slug:
        return None
    survey = get_survey(session, slug)
    if survey is None:
        raise click.ClickException(f"there is no survey {slug!r}; create it first")
    return survey


def _print_report(file: Path, report: ImportReport, was_dry_run: bool) -> None:
    for error in report.errors:
        click.echo(f"{file}: line {error.row}: {error.reason}", err=True)
    if report.error_count > len(report.errors):
        click.echo(f"... and {report.error_count - len(report.errors)} more refused rows", err=True)
    verb = "would add" if was_dry_run else "added"
    click.echo(
        f"{report.rows} rows: {verb} {report.added}, {report.duplicates} already present, "
        f"{report.skipped} empty, {report.error_count} refused; "
        f"{report.comments_added} comments to the inbox"
        + (" (dry run: nothing stored)" if was_dry_run else "")
    )


# Polling and clustering commands live in their own module (the analysis side of feedback).
from opsloop.commands.feedback_sources import cluster, poll  # noqa: E402

feedback.add_command(poll)
feedback.add_command(cluster)

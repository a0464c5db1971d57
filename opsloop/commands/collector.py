"""`opsloop scrape URL`: scrape one endpoint once, as the collector would, and show it."""

from __future__ import annotations

import json
import math
import time
from collections import Counter

import click

from collector.config import DEFAULT_BODY_LIMIT_BYTES
from collector.errors import ParseError, ScrapeError
from collector.exposition import format_of, parse
from collector.fetch import fetch


def json_value(value: float) -> float | str:
    """A number, or the strings NaN / +Inf / -Inf that JSON cannot hold as numbers."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value


@click.command()
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per sample and line.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.1, 300), default=10.0,
              show_default=True, help="Seconds for the whole exchange.")  # fmt: skip
def scrape(url: str, as_json: bool, timeout_s: float) -> None:
    """Scrape URL once (Prometheus's headers, gzip, 16 MiB limit) and print what it exposes."""
    started = time.perf_counter()
    try:
        body, content_type = fetch(
            url, timeout_s=timeout_s, body_limit_bytes=DEFAULT_BODY_LIMIT_BYTES
        )
        exposition = parse(body, content_type)
    except ParseError as exc:
        raise click.ClickException(f"scrape of {url} failed: parse error: {exc}") from exc
    except ScrapeError as exc:
        raise click.ClickException(f"scrape of {url} failed: {exc}") from exc
    duration_s = time.perf_counter() - started
    if as_json:
        for s in exposition.samples:
            click.echo(
                json.dumps(
                    {
                        "name": s.name,
                        "labels": s.labels,
                        "value": json_value(s.value),
                        "timestamp_ms": s.timestamp_ms,
                    },
                    ensure_ascii=False,
                )
            )
        return
    kinds = Counter(f.type for f in exposition.families)
    click.echo(
        f"{url}: {len(exposition.samples)} samples, {len(exposition.families)} families "
        f"({', '.join(f'{n} {k}' for k, n in kinds.most_common()) or 'none declared'}), "
        f"{format_of(content_type)} format, {len(body)} bytes in {duration_s:.3f} s"
    )
    names = Counter(s.name for s in exposition.samples)
    for name, count in names.most_common(10):
        click.echo(f"  {count:6d}  {name}")
    if len(names) > 10:
        click.echo(f"  ... and {len(names) - 10} more metric names")

"""``claimbridge orders import``: open items from a CSV file, checked completely before anything is stored."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click
from flask.cli import with_appcontext

from backend.collector import collector_paused
from backend.errors import AppError
from backend.extensions import db
from backend.merchants.models import ShopConnection
from backend.merchants.services import get_connection, get_merchant
from backend.orders import services
from backend.orders.csv_import import COLUMNS, HeaderError, RowError, read_lines, read_rows
from backend.untrusted import spreadsheet_safe

SHOWN_ERRORS = 50


@click.group("orders")
def orders() -> None:
    """Invoice orders (receivables) from other systems."""


class _ErrorReport:
    """Print the first errors, write all of them to an optional CSV file, count them."""

    def __init__(self, sink: IO[str] | None) -> None:
        self.count = 0
        self._writer = csv.writer(sink) if sink is not None else None
        if self._writer is not None:
            self._writer.writerow(["row", "column", "message"])

    def __call__(self, error: RowError) -> None:
        self.count += 1
        if self._writer is not None:
            # Columns and messages quote the file's own cells: keep them from running as formulas.
            self._writer.writerow(
                [error.row, spreadsheet_safe(error.column), spreadsheet_safe(error.message)]
            )
        if self.count <= SHOWN_ERRORS:
            click.echo(f"row {error.row}, column {error.column or '-'}: {error.message}", err=True)


@contextmanager
def _rows_with_progress(path: Path, label: str) -> Iterator[Iterator]:
    """Stream the file's rows while a progress bar (on stderr) follows the bytes read."""
    size = path.stat().st_size
    with (
        path.open("rb") as stream,
        # Drawn at most every 0.1 % of the file: on a terminal, drawing it for every line cost 7 µs a line.
        click.progressbar(
            length=size, label=label, file=sys.stderr, update_min_steps=max(1, size // 1000)
        ) as bar,
    ):
        yield read_rows(read_lines(stream, bar.update))


@orders.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--merchant", "merchant_id", required=True, type=int)
@click.option(
    "--connection", "connection_id", type=int, default=None, help="default: the merchant's API connection"
)
@click.option("--dry-run", is_flag=True, help="check the file and report, store nothing")
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="also write every error to this CSV file (row, column, message)",
)
@with_appcontext
def import_orders(
    path: Path, merchant_id: int, connection_id: int | None, dry_run: bool, errors_path: Path | None
) -> None:
    """Import open items from a CSV file (columns: see README "Importing open items").

    The file is read once: rows are checked and stored in batches in one transaction, which is committed
    only when no row was wrong. Otherwise nothing is imported and every problem is reported with its row
    and column (reading goes on to the end, so all of them are).
    """
    try:
        get_merchant(merchant_id)
        connection: ShopConnection | None = (
            get_connection(merchant_id, connection_id)
            if connection_id is not None
            else services.api_connection(merchant_id, create=not dry_run)
        )
    except AppError as error:
        raise click.ClickException(error.message) from error
    if connection is not None and connection.status != "active":
        raise click.ClickException(f"connection {connection.id} is {connection.status}")

    sink = errors_path.open("w", newline="", encoding="utf-8") if errors_path else None
    try:
        report = _ErrorReport(sink)
        with (
            collector_paused(),  # a process of its own: no other work meets the paused collector
            _rows_with_progress(path, "Checking " if dry_run else "Importing") as rows,
        ):
            check, result = services.import_rows(
                rows,
                connection,
                report,
                actor=None if dry_run else f"import:{path.name}"[:200],
                fork=True,  # a process of its own, which may fork a child to check rows
            )
    except HeaderError as error:
        db.session.rollback()
        for problem in error.errors:
            report(problem)
        raise click.ClickException(
            f"the header row is not usable; expected columns: {', '.join(COLUMNS)}"
        ) from error
    except AppError as error:
        db.session.rollback()
        raise click.ClickException(f"{error.message}; nothing was imported") from error
    finally:
        if sink is not None:
            sink.close()
    if report.count:
        db.session.rollback()
        more = report.count - SHOWN_ERRORS
        if more > 0:
            click.echo(
                f"… and {more} more errors" + ("" if errors_path else " (use --errors FILE.csv)"), err=True
            )
        raise click.ClickException(
            f"{check.invalid_rows} of {check.rows} rows have errors ({report.count} in all); nothing was imported"
        )
    if dry_run:
        click.echo(
            f"{check.rows} rows are valid: {check.new} new, {check.existing} already known. Nothing stored (dry run)."
        )
        return
    db.session.commit()
    click.echo(
        f"{check.rows} rows imported into connection {connection.id}: "
        f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged"
    )

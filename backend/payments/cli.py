"""``claimbridge statements import``: a bank statement from a file, matched like an upload."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import click
from flask.cli import with_appcontext

from backend.errors import AppError
from backend.extensions import db
from backend.payments import services
from backend.payments.statements import BankTransaction, parse_statement_apart


@click.group("statements")
def statements() -> None:
    """Bank statements (camt.053, MT940) that settle receivables."""


class _ReadProgress:
    """A binary file that moves a progress bar by the bytes read: here (the digest), and by a forked child
    that parses it (``parse_apart``), whose position moves the bar here: the child draws nothing."""

    def __init__(self, stream: IO[bytes], on_bytes: Callable[[int], None]) -> None:
        self._stream, self._on_bytes = stream, on_bytes
        self._parsed = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._on_bytes(len(data))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._stream.seek(offset, whence)

    def parse_apart(self, source: _ReadProgress) -> Iterator[BankTransaction]:
        """Return ``parse_statement_apart`` of this file (``source``): the child reads the file itself, not
        through this progress."""
        assert source is self
        return parse_statement_apart(self._stream, on_read=self._parsed_to)

    def _parsed_to(self, position: int) -> None:
        self._on_bytes(position - self._parsed)
        self._parsed = position


@statements.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--merchant", "merchant_id", type=int, required=True, help="merchant whose account it is")
@with_appcontext
def import_command(path: Path, merchant_id: int) -> None:
    """Import a statement file; prints the counts as JSON. Importing it again changes nothing.

    Progress goes to stderr: the file as it is read (twice: its digest, then its transfers), then the new
    transfers as they are matched and stored.
    """

    def matched(done: int, total: int) -> None:
        click.echo(f"matched and stored {done} of {total} new transfers", err=True)

    try:
        with (
            services.collector_paused(),  # a process of its own: no other work meets the paused collector
            path.open("rb") as stream,
            click.progressbar(length=2 * path.stat().st_size, label="Reading", file=sys.stderr) as bar,
        ):
            reading = _ReadProgress(stream, bar.update)
            result = services.import_statement(
                merchant_id,
                reading,
                actor=f"cli:{path.name}"[:300],
                progress=matched,
                parse=reading.parse_apart,  # a process of its own, which may fork
            )
    except AppError as error:
        db.session.rollback()
        detail = f" {json.dumps(error.details)}" if error.details else ""
        raise click.ClickException(f"{error.message}{detail}") from None
    db.session.commit()
    click.echo(json.dumps(result.to_dict(), indent=2))

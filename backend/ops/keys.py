"""Re-encrypt every stored secret with the newest key, so that older keys can be retired.

Every ``*_encrypted`` column of every table is covered, found in the metadata rather than listed, so a secret
column added later is rotated too. Rows already under the newest key are left alone: a rotation that stopped
half-way (a crash, a deploy) is finished by running it again, and a second run changes nothing. Each row is
written only if it still holds the value that was read, so a secret changed meanwhile is not overwritten.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from backend.crypto import DecryptionError, rotate_text
from backend.extensions import db

logger = logging.getLogger(__name__)

SUFFIX = "_encrypted"
BATCH = 500


@dataclass
class RotationReport:
    """What one rotation did, per ``table.column``."""

    rotated: dict[str, int] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)  # "table.column id=…": no configured key opens it

    @property
    def old_keys_needed(self) -> bool:
        """Say whether any stored secret still needs a key other than the newest."""
        return bool(self.unreadable)


def encrypted_columns() -> Iterator[tuple[sa.Table, sa.Column]]:
    """Yield every (table, column) that holds an encrypted secret."""
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if column.name.endswith(SUFFIX):
                yield table, column


def _under_newest_key(token: str, newest: Fernet) -> bool:
    try:
        newest.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def _batches(table: sa.Table, column: sa.Column) -> Iterator[list[sa.Row]]:
    """Yield the rows holding a secret in primary-key order, a batch at a time (keyset paging)."""
    key = list(table.primary_key.columns)
    last: tuple | None = None
    while True:
        query = sa.select(*key, column).where(column.is_not(None)).order_by(*key).limit(BATCH)
        if last is not None:
            query = query.where(sa.tuple_(*key) > sa.tuple_(*last))
        rows = db.session.execute(query).all()
        if not rows:
            return
        yield rows
        last = tuple(rows[-1][: len(key)])


def rotate_stored_secrets(*, dry_run: bool = False) -> RotationReport:
    """Re-encrypt every stored secret not yet under the newest key; commit batch by batch.

    With ``dry_run`` nothing is written: ``rotated`` counts the secrets a rotation would re-encrypt.
    """
    newest = Fernet(current_app.config["CLAIMBRIDGE_ENCRYPTION_KEYS"][0])
    report = RotationReport()
    for table, column in encrypted_columns():
        name = f"{table.name}.{column.name}"
        key = list(table.primary_key.columns)
        rotated = current = 0
        for rows in _batches(table, column):
            for row in rows:
                token = row[-1]
                ids = dict(zip((c.name for c in key), row[: len(key)], strict=True))
                if _under_newest_key(token, newest):
                    current += 1
                    continue
                try:
                    fresh = rotate_text(token)
                except DecryptionError:
                    report.unreadable.append(f"{name} {ids}")
                    continue
                if dry_run:
                    rotated += 1
                    continue
                changed = db.session.execute(
                    sa.update(table)
                    .where(*(c == ids[c.name] for c in key), column == token)
                    .values({column.name: fresh})
                )
                rotated += changed.rowcount
            if not dry_run:
                db.session.commit()
        report.rotated[name], report.current[name] = rotated, current
        if rotated:
            logger.info("keys rotate: %s: %d secrets re-encrypted with the newest key", name, rotated)
    return report

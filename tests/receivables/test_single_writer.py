"""Only the ledger writes a receivable's state, money or history: a scan of the source proves it.

The scan reads every module of ``backend/`` and ``connectors/`` (the ledger and the migrations, which
rewrite old history once, aside) and reports each place that

- assigns one of the ledger's columns (``receivable.state = …``, ``x.paid_amount += …``, ``setattr(x,
  "paid_at", …)``, or a ``setattr`` on something named like a receivable with a computed name),
- builds a ``ReceivableEvent``,
- hands ``Receivable`` / ``ReceivableEvent`` (or their ``__table__``, also through a local alias) to an
  INSERT, UPDATE or DELETE (deleting history changes it as much as writing it), or
- deletes something named like a receivable or its events through the session
  (``db.session.delete(receivable)``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.receivables.ledger import GUARDED_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("backend", "connectors")
ALLOWED = {Path("backend/receivables/ledger.py")}
SKIPPED_DIRS = {Path("backend/migrations")}
MODELS = {"Receivable", "ReceivableEvent"}
WRITES = ("insert", "update", "delete")  # sa.insert, sa.update, table.update(), dialect_insert, sa.delete …


def _is_model(node: ast.AST, aliases: set[str]) -> bool:
    """Say whether ``node`` is a receivable model, its table, or a local name bound to one."""
    if isinstance(node, ast.Name):
        return node.id in MODELS or node.id in aliases
    if isinstance(node, ast.Attribute) and node.attr == "__table__":
        return isinstance(node.value, ast.Name) and node.value.id in MODELS
    return False


def _table_aliases(tree: ast.AST) -> set[str]:
    """Return local names assigned a receivable model's table (``receivable = Receivable.__table__``)."""
    return {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_model(node.value, set())
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def violations(source: str, filename: str) -> Iterator[str]:
    """Yield ``file:line: what`` for every write around the ledger in one module's source."""
    tree = ast.parse(source, filename)
    aliases = _table_aliases(tree)
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and part.attr in GUARDED_COLUMNS:
                    yield f"{filename}:{node.lineno}: assigns .{part.attr}"
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name == "setattr" and len(node.args) >= 2:
            subject, field = node.args[0], node.args[1]
            if isinstance(field, ast.Constant) and field.value in GUARDED_COLUMNS:
                yield f"{filename}:{node.lineno}: setattr(…, {field.value!r})"
            elif not isinstance(field, ast.Constant) and "receivable" in ast.unparse(subject).lower():
                yield f"{filename}:{node.lineno}: setattr on {ast.unparse(subject)} with a computed name"
        elif name == "ReceivableEvent":
            yield f"{filename}:{node.lineno}: builds a ReceivableEvent"
        elif name is not None and name.endswith(WRITES):
            if any(_is_model(arg, aliases) for arg in node.args):
                yield f"{filename}:{node.lineno}: {name}() of a receivable table"
            elif isinstance(node.func, ast.Attribute) and _is_model(node.func.value, aliases):
                yield f"{filename}:{node.lineno}: {ast.unparse(node.func)}()"
            elif name == "delete" and any("receivable" in ast.unparse(arg).lower() for arg in node.args):
                yield f"{filename}:{node.lineno}: deletes {ast.unparse(node.args[0])}"


def _modules() -> Iterator[Path]:
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative in ALLOWED or any(parent in SKIPPED_DIRS for parent in relative.parents):
                continue
            yield relative


def test_nothing_outside_the_ledger_writes_a_receivable() -> None:
    found = [
        problem
        for relative in _modules()
        for problem in violations((ROOT / relative).read_text(encoding="utf-8"), str(relative))
    ]
    assert found == [], "write through backend/receivables/ledger.py instead:\n" + "\n".join(found)


def test_the_scan_reads_the_areas_that_touch_receivables() -> None:
    scanned = {str(path) for path in _modules()}
    for module in (
        "backend/orders/services.py",
        "backend/handovers/submission.py",
        "backend/handovers/mirroring.py",
        "backend/payments/services.py",
    ):
        assert module in scanned


@pytest.mark.parametrize(
    ("planted", "reported"),
    [
        ("receivable.state = State.PAID.value", "assigns .state"),
        ("handover.receivable.paid_amount += amount", "assigns .paid_amount"),
        ("row.credited_amount: Decimal = amount", "assigns .credited_amount"),
        ("receivable.disputed_at, note = now, why", "assigns .disputed_at"),
        ("setattr(target, 'paid_at', now)", "setattr(…, 'paid_at')"),
        ("for name, value in values.items():\n    setattr(receivable, name, value)", "computed name"),
        (
            "db.session.add(ReceivableEvent(receivable_id=1, kind='paid', actor='x', data={}))",
            "ReceivableEvent",
        ),
        ("db.session.execute(sa.update(Receivable).values(dunning_level=0))", "update() of a receivable"),
        ("db.session.execute(sa.insert(ReceivableEvent.__table__), rows)", "insert() of a receivable"),
        (
            "table = Receivable.__table__\ndb.session.execute(table.update().values(state='paid'))",
            "table.update()",
        ),
        (
            "table = Receivable.__table__\ndb.session.execute(dialect_insert(table).values(**row))",
            "dialect_insert() of a receivable",
        ),
        ("db.session.execute(sa.delete(ReceivableEvent).where(x))", "delete() of a receivable"),
        ("db.session.execute(Receivable.__table__.delete())", "Receivable.__table__.delete()"),
        ("db.session.delete(receivable)", "deletes receivable"),
        ("for event in events:\n    db.session.delete(receivable_event)", "deletes receivable_event"),
    ],
)
def test_a_planted_write_is_caught(planted: str, reported: str) -> None:
    found = list(violations(planted, "backend/somewhere.py"))
    assert len(found) == 1 and reported in found[0], found


@pytest.mark.parametrize(
    "harmless",
    [
        "sa.select(Receivable).filter_by(id=1).with_for_update()",
        "receivable = Receivable.__table__\nquery = sa.select(receivable.c.id).where(receivable.c.state == 'open')",
        "notice.status = 'sent'",
        "setattr(handover, name, value)",
        "db.session.execute(sa.update(Handover).values(status='closed'))",
        "db.session.execute(sa.delete(Handover).where(Handover.receivable_id == 1))",
        "db.session.delete(notice)",
        "ledger.record_payment(receivable, amount, day, MoneySource.SHOP)",
    ],
)
def test_reads_and_other_rows_pass(harmless: str) -> None:
    assert list(violations(harmless, "backend/somewhere.py")) == []

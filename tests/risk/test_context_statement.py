"""The buyer-context statement stays within what psycopg converts once and keeps (see risk/services.py)."""

from __future__ import annotations

import itertools

import pytest
from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH, MAX_CACHED_STATEMENT_PARAMS
from sqlalchemy.dialects import postgresql

from backend.merchants.policy import VELOCITY_KINDS
from backend.risk.services import HISTORY_KINDS, OVERRIDE_KINDS, context_statement


def _subsets(kinds: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [subset for size in range(len(kinds) + 1) for subset in itertools.combinations(kinds, size)]


@pytest.mark.parametrize("velocity_kinds", [(), VELOCITY_KINDS])
def test_every_combination_of_identities_fits_psycopgs_statement_cache(velocity_kinds):
    """A statement beyond the limits is re-parsed by psycopg on every checkout, costing more than the read."""
    dialect = postgresql.psycopg.dialect()
    for history_kinds, override_kinds in itertools.product(_subsets(HISTORY_KINDS), _subsets(OVERRIDE_KINDS)):
        compiled = context_statement("postgresql", velocity_kinds, history_kinds, override_kinds).compile(
            dialect=dialect
        )
        assert len(str(compiled)) <= MAX_CACHED_STATEMENT_LENGTH, (history_kinds, override_kinds)
        assert len(compiled.binds) <= MAX_CACHED_STATEMENT_PARAMS, (history_kinds, override_kinds)

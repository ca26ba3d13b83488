"""The one call of a risk check that leaves the machine: ask the credit bureau about the billing person."""

from __future__ import annotations

import logging

from backend.risk.inputs import CheckInput
from connectors.bureaus.base import BureauPerson, BureauResult, CreditBureau
from connectors.errors import ConnectorError

logger = logging.getLogger(__name__)


def bureau_person(check: CheckInput) -> BureauPerson:
    """Return the person a bureau should score: the billing name and address."""
    billing = check.billing
    return BureauPerson(
        first_name=billing.first_name or check.buyer.first_name,
        last_name=billing.last_name or check.buyer.last_name,
        street=f"{billing.street} {billing.house_number}".strip(),
        postal_code=billing.postal_code,
        city=billing.city,
        country=billing.country,
        date_of_birth=check.buyer.date_of_birth,
        company=billing.company,
    )


def bureau_result_for(bureau: CreditBureau, check: CheckInput) -> BureauResult:
    """Ask a bureau about the check's billing person; a failure becomes ``BureauResult.failure``."""
    try:
        return bureau.score(bureau_person(check))
    except ConnectorError as error:
        logger.warning("credit bureau %s unavailable: %s", bureau.provider, type(error).__name__)
        return BureauResult.failure(bureau.provider, str(error))

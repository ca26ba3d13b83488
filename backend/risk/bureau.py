"""The one call of a risk check that leaves the machine: ask the credit bureau about the billing person."""

from __future__ import annotations

import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError

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


# Socket timeouts bound each read, not the whole answer: a bureau that trickles its answer byte by byte would
# hold the checkout as long as it likes. So the call runs on a pool thread and the check waits at most the
# budget for it; a call past its budget finishes (or times out) in the background and its answer is dropped.
# The pool bounds the calls in flight per process; when all are busy, new calls queue and run out of budget.
BUREAU_CALLS = 8


@functools.cache
def _calls() -> ThreadPoolExecutor:
    # Made on first use, so a gevent worker's pool is built from its patched threads and queues.
    return ThreadPoolExecutor(max_workers=BUREAU_CALLS, thread_name_prefix="bureau")


def bureau_result_for(bureau: CreditBureau, check: CheckInput) -> BureauResult:
    """Ask a bureau about the check's billing person within its budget; a failure becomes ``BureauResult.failure``."""
    call = _calls().submit(bureau.score, bureau_person(check))
    try:
        return call.result(timeout=bureau.timeout_budget)
    except FutureTimeoutError:
        call.cancel()
        logger.warning("credit bureau %s: no answer within %s s", bureau.provider, bureau.timeout_budget)
        return BureauResult.failure(bureau.provider, f"no answer within {bureau.timeout_budget} s")
    except ConnectorError as error:
        logger.warning("credit bureau %s unavailable: %s", bureau.provider, type(error).__name__)
        return BureauResult.failure(bureau.provider, str(error))

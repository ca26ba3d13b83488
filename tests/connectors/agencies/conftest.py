"""Fixtures for agency tests: a running fake paywise, clients for it and a complete handover case."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors.agencies.base import (
    Charge,
    ChargeType,
    Claim,
    Creditor,
    Debtor,
    DebtorKind,
    DebtorPayment,
    DunningNotice,
    HandoverCase,
    InvoiceDocument,
    LineItem,
    PostalAddress,
)
from connectors.agencies.paywise import PaywiseAgency
from connectors.http import Backoff
from tests.connectors.conftest import SleepRecorder
from tests.fakes.agency import FakePaywise
from tests.fakes.server import FakeServer

INVOICE_PDF = b"%PDF-1.4\n% Rechnung RE-2025-0042\n%%EOF\n"


def make_case(reference: str = "cb-handover-0042", **claim_overrides: Any) -> HandoverCase:
    """Return a complete consumer case; ``claim_overrides`` replace claim fields."""
    claim = Claim(
        your_reference=reference,
        invoice_number="RE-2025-0042",
        subject_matter="Lieferung Kaffeemühle Modell Aurora",
        order_date=date(2025, 1, 3),
        invoice_date=date(2025, 1, 6),
        due_date=date(2025, 1, 20),
        reminder_date=date(2025, 2, 3),
        delay_date=date(2025, 2, 6),
        principal=Decimal("119.00"),
        charges=(
            Charge(
                ChargeType.DUNNING_FEE, Decimal("2.50"), "Mahngebühr 2. Mahnung", charged_on=date(2025, 2, 17)
            ),
            Charge(
                ChargeType.INTEREST,
                Decimal("0.81"),
                "Verzugszinsen, Basiszinssatz + 5 Prozentpunkte",
                rate=Decimal("7.27"),
                period_start=date(2025, 2, 6),
                period_end=date(2025, 3, 10),
            ),
        ),
        payments=(DebtorPayment("shop-pay-1", Decimal("19.00"), date(2025, 2, 10)),),
        items=(LineItem("Kaffeemühle Aurora", 1, Decimal("119.00")),),
    )
    return HandoverCase(
        creditor=Creditor(
            "Röstwerk Beispiel GmbH", PostalAddress("Hafenstraße", "20457", "Hamburg", house_number="5")
        ),
        debtor=Debtor(
            kind=DebtorKind.CONSUMER,
            address=PostalAddress("Berger Str.", "60316", "Frankfurt am Main", house_number="12"),
            salutation="Frau",
            first_name="Anna",
            last_name="Schmidt",
            birth_date=date(1985, 4, 12),
            email="anna.schmidt@example.org",
            phone="+49 69 1234567",
        ),
        claim=replace(claim, **claim_overrides),
        dunning_history=(
            DunningNotice(
                "Zahlungserinnerung", datetime(2025, 1, 27, 8, tzinfo=UTC), deadline=date(2025, 2, 3)
            ),
            DunningNotice("1. Mahnung", datetime(2025, 2, 3, 8, tzinfo=UTC), deadline=date(2025, 2, 17)),
            DunningNotice(
                "2. Mahnung",
                datetime(2025, 2, 17, 8, tzinfo=UTC),
                deadline=date(2025, 3, 3),
                fee=Decimal("2.50"),
            ),
        ),
        document=InvoiceDocument(INVOICE_PDF, "RE-2025-0042.pdf"),
    )


@pytest.fixture
def fake_options() -> dict[str, Any]:
    """Return options for the fake; override in a test module or with ``@pytest.mark.parametrize``."""
    return {}


@pytest.fixture
def fake(fake_options: dict[str, Any]) -> FakePaywise:
    return FakePaywise(**fake_options)


@pytest.fixture
def server(fake: FakePaywise) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


@pytest.fixture
def make_agency(
    fake: FakePaywise, server: FakeServer, no_wait: Backoff, sleeps: SleepRecorder
) -> Iterator[Callable[..., PaywiseAgency]]:
    """Return a factory for clients of the fake (no waiting between retries)."""
    clients: list[PaywiseAgency] = []

    def factory(**overrides: Any) -> PaywiseAgency:
        options: dict[str, Any] = {
            "base_url": server.url,
            "allow_private": True,
            "backoff": no_wait,
            "sleep": sleeps,
            **overrides,
        }
        client = PaywiseAgency(options.pop("api_key", fake.api_key), **options)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def agency(make_agency: Callable[..., PaywiseAgency]) -> PaywiseAgency:
    return make_agency()


@pytest.fixture
def case() -> HandoverCase:
    return make_case()

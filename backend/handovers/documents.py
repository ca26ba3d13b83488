"""The document that travels with every case (§13a RDG): the shop's own invoice, else a claim statement.

Shopware keeps the invoice PDF it sent the buyer; it is downloaded when the case is submitted. WooCommerce
and API/CSV orders have no standard invoice document, so they get the generated claim statement
(``backend.handovers.statement``). When the shop's invoice cannot be fetched (timeout, error, not rendered)
the statement goes instead and the handover records why (``document_note``), so the merchant can send the
invoice to the agency by hand.

The shop connector is built while the caller's transaction is open (it reads the stored credentials) and
called after the caller committed, so no transaction stays open while the shop answers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from backend.extensions import db
from backend.handovers.models import Handover
from backend.handovers.statement import render_claim_statement
from backend.merchants.connectors import connector_for
from backend.merchants.models import ShopConnection
from connectors.agencies.base import HandoverCase, InvoiceDocument
from connectors.errors import ConnectorError
from connectors.shops.base import ShopConnector

logger = logging.getLogger(__name__)

SHOP_DOCUMENT = "shop"
GENERATED_DOCUMENT = "generated"
# The invoice is a nice-to-have next to the statement: wait briefly, retry once, then fall back.
DOCUMENT_TIMEOUT: tuple[float, float] = (5.0, 20.0)
DOCUMENT_RETRIES = 1
PLATFORMS_WITH_INVOICES = ("shopware",)


@dataclass(frozen=True)
class CaseDocument:
    """The document attached to a case, where it came from, and why the shop's was not used (if so)."""

    document: InvoiceDocument
    source: str
    note: str | None = None


class DocumentSource:
    """Fetches the shop invoice of one handover's order, falling back to the claim statement."""

    def __init__(self, handover: Handover) -> None:
        receivable = handover.receivable
        self.as_of = date.fromisoformat(handover.breakdown["as_of"])
        self.external_id = receivable.external_id
        self.connector: ShopConnector | None = None
        self.problem: str | None = None
        connection = db.session.get(ShopConnection, receivable.connection_id)
        if connection is None or connection.platform not in PLATFORMS_WITH_INVOICES:
            return
        try:
            self.connector = connector_for(connection, timeout=DOCUMENT_TIMEOUT, max_retries=DOCUMENT_RETRIES)
        except Exception as error:  # broken shop credentials must not keep the claim from the agency
            self.problem = f"the shop connection cannot be used ({type(error).__name__})"

    def fetch(self, case: HandoverCase) -> CaseDocument:
        """Return the shop's invoice, or the claim statement with the reason the invoice is missing."""
        note = self.problem
        if self.connector is not None:
            try:
                invoice = self.connector.invoice_document(self.external_id)
            except ConnectorError as error:
                logger.warning("invoice of order %s unavailable: %s", self.external_id, type(error).__name__)
                note = f"the shop's invoice could not be fetched ({type(error).__name__}: {error})"[:500]
            else:
                if invoice is not None:
                    document = InvoiceDocument(invoice.content, invoice.filename, invoice.mime_type)
                    return CaseDocument(document, SHOP_DOCUMENT)
                note = "the shop has no invoice document for this order"
            finally:
                self.connector.close()
        return CaseDocument(render_claim_statement(case, as_of=self.as_of), GENERATED_DOCUMENT, note)

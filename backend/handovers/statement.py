"""The claim statement ("Forderungsaufstellung") PDF handed to the agency when the shop keeps no invoice PDF.

It shows what §13a RDG makes the agency tell the debtor, from the ``HandoverCase`` alone: creditor, debtor,
invoice number and dates, order lines, principal, each fee with its reason, interest with rate and period,
payments made, the total and the dunning history. Rendered with fpdf2's built-in Helvetica (no font files to
ship), so text is limited to Latin-1; other characters print as "?". The output is byte-for-byte the same
for the same case and date (the PDF's creation date is the statement date), so a retried submission uploads
an identical file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from connectors.agencies.base import ChargeType, HandoverCase, InvoiceDocument, PostalAddress

STAGE_LABELS = {
    "reminder": "Zahlungserinnerung",
    "dunning": "Mahnung",
    "final_notice": "Letzte Mahnung",
}


def statement_filename(case: HandoverCase) -> str:
    """Return the file name of a case's claim statement."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in case.claim.invoice_number)
    return f"Forderungsaufstellung-{safe}.pdf"


def money(amount: Decimal, currency: str) -> str:
    """Format an amount the German way: ``1.234,50 EUR``."""
    text = f"{amount:,.2f}".replace(",", "\0").replace(".", ",").replace("\0", ".")
    return f"{text} {currency}"


def german_date(day: date | None) -> str:
    """Format a date as ``27.11.2026`` (a dash when unknown)."""
    return f"{day:%d.%m.%Y}" if day else "-"


def _address_lines(address: PostalAddress | None) -> list[str]:
    if address is None:
        return ["(keine Anschrift)"]
    return [address.street_line, f"{address.postal_code} {address.city}", address.country]


def render_claim_statement(case: HandoverCase, *, as_of: date) -> InvoiceDocument:
    """Render the case's claim statement as of ``as_of`` (the day the claim was frozen)."""
    claim, creditor, debtor = case.claim, case.creditor, case.debtor
    currency = claim.currency
    title = f"Forderungsaufstellung {claim.invoice_number}"
    # fpdf (with fontTools and Pillow) costs every process half a second to import; only rendering needs it.
    from backend.handovers.statement_page import StatementPage

    pdf = StatementPage(title)
    pdf.set_title(title)
    pdf.set_author(creditor.name)
    pdf.set_creator("ClaimBridge")
    pdf.set_creation_date(datetime.combine(as_of, time(0), tzinfo=UTC))
    pdf.add_page()

    pdf.line_of_text(title, bold=True, size=15, height=8)
    pdf.line_of_text(f"Stand: {german_date(as_of)}")
    pdf.heading("Gläubiger")
    for line in [creditor.name, *_address_lines(creditor.address)]:
        pdf.line_of_text(line)
    pdf.heading("Schuldner")
    kind = "Unternehmer" if debtor.kind.value == "business" else "Verbraucher"
    contact = ", ".join(part for part in (debtor.email, debtor.phone) if part)
    for line in [f"{debtor.display_name} ({kind})", *_address_lines(debtor.address), contact]:
        if line:
            pdf.line_of_text(line)

    pdf.heading("Forderung")
    for label, value in (
        ("Gegenstand", claim.subject_matter),
        ("Rechnungsnummer", claim.invoice_number),
        ("Bestelldatum", german_date(claim.order_date)),
        ("Rechnungsdatum", german_date(claim.invoice_date)),
        ("Fällig am", german_date(claim.due_date)),
        ("Erste Mahnung", german_date(claim.reminder_date)),
        ("Verzug seit", german_date(claim.delay_date)),
    ):
        pdf.line_of_text(f"{label}: {value}")

    if claim.items:
        pdf.heading("Positionen")
        pdf.table(
            (120, 20, 40),
            ("Bezeichnung", "Menge", "Betrag"),
            [(item.description, str(item.quantity), money(item.amount, currency)) for item in claim.items],
        )

    pdf.heading("Aufstellung")
    rows = [("Hauptforderung", "", money(claim.principal, currency))]
    for charge in claim.charges:
        if charge.type is ChargeType.INTEREST:
            rate = str(charge.rate).replace(".", ",")
            detail = f"{rate} % p.a., {german_date(charge.period_start)} - {german_date(charge.period_end)}"
        else:
            detail = german_date(charge.charged_on) if charge.charged_on else ""
        rows.append((charge.reason, detail, money(charge.amount, currency)))
    for payment in claim.payments:
        rows.append(("Zahlung", german_date(payment.value_date), money(-payment.amount, currency)))
    rows.append(("Offener Gesamtbetrag", "", money(claim.total, currency)))
    pdf.table((95, 55, 30), ("Posten", "Zinssatz/Zeitraum, Datum", "Betrag"), rows)

    if case.dunning_history:
        pdf.heading("Mahnverlauf")
        pdf.table(
            (70, 40, 40, 30),
            ("Schreiben", "Versandt am", "Zahlungsfrist", "Gebühr"),
            [
                (
                    STAGE_LABELS.get(notice.stage, notice.stage),
                    german_date(notice.sent_at.date()),
                    german_date(notice.deadline),
                    money(notice.fee, currency),
                )
                for notice in case.dunning_history
            ],
        )
    return InvoiceDocument(content=bytes(pdf.output()), filename=statement_filename(case))

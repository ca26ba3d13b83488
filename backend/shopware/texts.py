"""Texts of the admin module page in German and English, chosen by the Administration's ``sw-user-language``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

LANGUAGES = ("de", "en")

ADMIN_TEXTS: dict[str, dict[str, Any]] = {
    "de": {
        "title": "Inkasso-Übergaben",
        "intro": (
            "Hier geben Sie offene Rechnungen nach der letzten Mahnung zur Übergabe an das Inkassobüro frei "
            "oder lehnen sie ab. Ohne Ihre Freigabe wird nichts übergeben."
        ),
        "proposals": "Vorschläge",
        "empty": "Zurzeit gibt es keine Vorschläge zur Übergabe.",
        "order": "Bestellung",
        "buyer": "Käufer",
        "principal": "Hauptforderung",
        "interest": "Zinsen",
        "fees": "Gebühren",
        "total": "Gesamt",
        "status": "Status",
        "select": "Auswählen",
        "approve": "Freigeben",
        "reject": "Ablehnen",
        "decided": "{count} Vorschläge wurden bearbeitet.",
        "shop": "Shop",
        "nothing_eligible": (
            "Für die ausgewählten Bestellungen gibt es keinen Übergabevorschlag und keinen Inkassofall."
        ),
        "filtered": "Ausgewählte Bestellungen",
        "select_all": "Alle auswählen",
        "statuses": {
            "proposed": "Vorgeschlagen",
            "approved": "Freigegeben",
            "rejected": "Abgelehnt",
            "withdrawn": "Zurückgezogen",
            "submitting": "Wird übergeben",
            "submitted": "Übergeben",
            "rejected_by_agency": "Vom Inkassobüro abgelehnt",
            "closed": "Abgeschlossen",
        },
    },
    "en": {
        "title": "Collection handovers",
        "intro": (
            "Approve or reject handing unpaid invoices over to the collection agency after the final "
            "reminder. Nothing is handed over without your approval."
        ),
        "proposals": "Proposals",
        "empty": "There are no handover proposals at the moment.",
        "order": "Order",
        "buyer": "Buyer",
        "principal": "Principal",
        "interest": "Interest",
        "fees": "Fees",
        "total": "Total",
        "status": "Status",
        "select": "Select",
        "approve": "Approve",
        "reject": "Reject",
        "decided": "{count} proposals were processed.",
        "shop": "Shop",
        "nothing_eligible": "None of the selected orders has a handover proposal or a collection case.",
        "filtered": "Selected orders",
        "select_all": "Select all",
        "statuses": {
            "proposed": "Proposed",
            "approved": "Approved",
            "rejected": "Rejected",
            "withdrawn": "Withdrawn",
            "submitting": "Handing over",
            "submitted": "Handed over",
            "rejected_by_agency": "Rejected by the agency",
            "closed": "Closed",
        },
    },
}


def admin_language(user_language: str | None) -> str:
    """Return "de" for a German Administration user (``de-DE``, ``de-AT`` …) and "en" otherwise."""
    if user_language and user_language.split("-", 1)[0].lower() == "de":
        return "de"
    return "en"


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """Format an amount the way the Administration shows it: ``1.234,50 €`` in German, ``€1,234.50`` in English."""
    grouped = f"{amount.quantize(Decimal('0.01')):,.2f}"
    symbol = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}.get(currency, currency)
    if language == "de":
        return grouped.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".") + f"\u00a0{symbol}"
    return f"{symbol}{grouped}" if len(symbol) == 1 else f"{symbol}\u00a0{grouped}"

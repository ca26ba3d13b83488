"""What the console says, in German and English, and how it writes money and dates for each language."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

TEXTS: dict[str, dict[str, Any]] = {
    "de": {
        "product": "ClaimBridge",
        "console": "Forderungsmanagement",
        "skip": "Zum Inhalt springen",
        "signed_in_as": "Angemeldet als",
        "nav_label": "Bereiche",
        "tabs": {
            "overview": "Übersicht",
            "handovers": "Inkasso-Übergaben",
            "receivables": "Forderungen",
            "payments": "Zahlungen",
            "settings": "Einstellungen",
            "audit": "Protokoll",
        },
        "overview_intro": "Was jetzt Ihre Aufmerksamkeit braucht.",
        "nothing_to_do": "Alles erledigt: Zurzeit wartet nichts auf Sie.",
        "attention": {
            "proposals": "Übergabevorschläge, die auf Ihre Entscheidung warten: {count}",
            "payment_reviews": "Zahlungen, die auf Ihre Prüfung warten: {count}",
            "failed_shop_updates": "Rückmeldungen an den Shop, die fehlschlagen: {count}",
            "missing_base_rate": "Für das laufende Halbjahr fehlt der Basiszinssatz (§ 247 BGB); "
            "Mahnungen mit Zinsen werden zurückgehalten",
            "missing_payment_details": "Ihre Bankverbindung für Mahnungen fehlt",
            "missing_creditor_address": "Ihre Gläubigeranschrift für das Inkasso fehlt",
            "no_connection": "Kein Shop ist verbunden",
        },
        "open_link": "Öffnen",
        "connections": "Shop-Verbindungen",
        "connection_status": {"active": "Aktiv", "pending": "Ausstehend", "disabled": "Deaktiviert"},
        "last_synced": "Zuletzt abgeglichen",
        "never": "noch nie",
        "platform": "Plattform",
        "shop": "Shop",
        "status": "Status",
        "handovers_intro": (
            "Offene Rechnungen nach der letzten Mahnung: geben Sie sie zur Übergabe an das Inkassobüro frei "
            "oder lehnen Sie sie ab. Ohne Ihre Freigabe wird nichts übergeben."
        ),
        "filter": "Filtern",
        "search": "Suche",
        "search_hint": "Bestellnummer oder Käufer",
        "all_statuses": "Alle Status",
        "order": "Bestellung",
        "buyer": "Käufer",
        "proposed_on": "Vorgeschlagen am",
        "days_overdue": "Tage überfällig",
        "principal": "Hauptforderung",
        "interest": "Zinsen",
        "fees": "Gebühren",
        "total": "Gesamt",
        "select": "Auswählen",
        "select_all": "Alle auswählen",
        "approve": "Freigeben",
        "approve_selected": "Ausgewählte freigeben",
        "reject": "Ablehnen",
        "reject_selected": "Ausgewählte ablehnen",
        "reject_reason": "Grund der Ablehnung",
        "reject_reason_hint": "Pflichtfeld beim Ablehnen, z. B. „Kunde hat Ratenzahlung vereinbart“.",
        "withdraw": "Zurückziehen",
        "withdraw_reason": "Grund für das Zurückziehen",
        "empty_handovers": "Keine Übergaben gefunden.",
        "selected_orders": "Ausgewählte Bestellungen",
        "show_all": "Alle anzeigen",
        "page_of": "Seite {page} von {pages}",
        "previous": "Zurück",
        "next": "Weiter",
        "results": "{total} Einträge",
        "notice": {
            "approved": "Freigegeben: {count}.",
            "rejected": "Abgelehnt: {count}.",
            "withdrawn": "Die Übergabe wurde zurückgezogen.",
            "nothing_selected": "Bitte wählen Sie mindestens einen Vorschlag aus.",
            "reason_required": "Bitte geben Sie einen Grund für die Ablehnung an.",
        },
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
        "handover": "Übergabe",
        "decision": "Ihre Entscheidung",
        "back_to_list": "Zurück zur Liste",
        "order_and_buyer": "Bestellung und Käufer",
        "email": "E-Mail",
        "address": "Anschrift",
        "debtor_kind": "Schuldnerart",
        "debtor_kinds": {"consumer": "Verbraucher", "business": "Unternehmen"},
        "invoice_date": "Rechnungsdatum",
        "due_date": "Fällig am",
        "notices_sent": "Versendete Mahnungen",
        "no_notices": "Noch keine Mahnung versendet.",
        "notice_kinds": {
            "reminder": "Zahlungserinnerung",
            "dunning": "1. Mahnung",
            "final_notice": "Letzte Mahnung mit Inkasso-Ankündigung",
        },
        "sent_on": "Versendet am",
        "channel": "Kanal",
        "channels": {"email": "E-Mail", "shop": "Shop", "none": "Ihr eigenes System"},
        "deadline": "Zahlungsfrist bis",
        "fee": "Gebühr",
        "claim_today": "Forderung heute",
        "claim_at_proposal": "Beim Vorschlag festgeschrieben",
        "amount": "Betrag",
        "legal_basis": "Rechtsgrundlage",
        "basis": {
            "principal": "Kaufpreis aus dem Vertrag (§ 433 Abs. 2 BGB)",
            "dunning_fees": "Mahnkosten als Verzugsschaden, nur tatsächliche Kosten (§§ 280, 286 BGB)",
            "flat_fee": "Verzugspauschale für Unternehmen (§ 288 Abs. 5 BGB)",
            "interest": {
                "consumer": "Verzugszinsen: Basiszinssatz + 5 Prozentpunkte (§ 288 Abs. 1 BGB)",
                "business": "Verzugszinsen: Basiszinssatz + 9 Prozentpunkte (§ 288 Abs. 2 BGB)",
            },
            "payments": "Bereits gezahlt (Verrechnung nach § 367 BGB)",
            "credits": "Gutschriften und Erstattungen",
        },
        "payments_received": "Zahlungen",
        "credits": "Gutschriften",
        "outstanding": "Offen",
        "default_since": "Im Verzug seit",
        "limitation": "Verjährung am",
        "readiness": "Voraussetzungen für die Übergabe",
        "ready": "Alle Voraussetzungen sind erfüllt.",
        "case": "Inkassofall",
        "agency": "Inkassobüro",
        "case_id": "Aktenzeichen",
        "legal_stage": "Verfahrensstand",
        "processing_state": "Bearbeitung",
        "payment_state": "Zahlungsstand",
        "collected": "Vom Inkassobüro eingezogen",
        "paid_direct": "Direkt an Sie gezahlt",
        "balance": "Restforderung",
        "decided_by": "Entschieden von",
        "decision_note": "Begründung",
        "history": "Verlauf",
        "error_title": "Das hat nicht geklappt",
        "link_used": "Dieser Link wurde bereits verwendet oder ist abgelaufen. Öffnen Sie die Konsole erneut "
        "aus Ihrem Shop.",
        "session_invalid": "Ihre Sitzung ist abgelaufen oder ungültig. Öffnen Sie die Konsole erneut aus Ihrem "
        "Shop.",
        "not_found": "Diesen Eintrag gibt es nicht.",
        "money_note": "Beträge in {currency}",
    },
    "en": {
        "product": "ClaimBridge",
        "console": "Receivables console",
        "skip": "Skip to content",
        "signed_in_as": "Signed in as",
        "nav_label": "Sections",
        "tabs": {
            "overview": "Overview",
            "handovers": "Handovers",
            "receivables": "Receivables",
            "payments": "Payments",
            "settings": "Settings",
            "audit": "Audit",
        },
        "overview_intro": "What needs your attention now.",
        "nothing_to_do": "All done: nothing is waiting for you.",
        "attention": {
            "proposals": "Handover proposals waiting for your decision: {count}",
            "payment_reviews": "Payments waiting for your review: {count}",
            "failed_shop_updates": "Updates to your shop that keep failing: {count}",
            "missing_base_rate": "The base rate (§ 247 BGB) of the current half-year is missing; notices "
            "with interest are held back",
            "missing_payment_details": "Your bank account for notices is missing",
            "missing_creditor_address": "Your creditor address for collection is missing",
            "no_connection": "No shop is connected",
        },
        "open_link": "Open",
        "connections": "Shop connections",
        "connection_status": {"active": "Active", "pending": "Pending", "disabled": "Disabled"},
        "last_synced": "Last synchronised",
        "never": "never",
        "platform": "Platform",
        "shop": "Shop",
        "status": "Status",
        "handovers_intro": (
            "Unpaid invoices after the final notice: approve handing them over to the collection agency or "
            "reject them. Nothing is handed over without your approval."
        ),
        "filter": "Filter",
        "search": "Search",
        "search_hint": "Order number or buyer",
        "all_statuses": "All statuses",
        "order": "Order",
        "buyer": "Buyer",
        "proposed_on": "Proposed on",
        "days_overdue": "Days overdue",
        "principal": "Principal",
        "interest": "Interest",
        "fees": "Fees",
        "total": "Total",
        "select": "Select",
        "select_all": "Select all",
        "approve": "Approve",
        "approve_selected": "Approve selected",
        "reject": "Reject",
        "reject_selected": "Reject selected",
        "reject_reason": "Reason for rejecting",
        "reject_reason_hint": "Required when rejecting, e.g. “customer agreed to pay in instalments”.",
        "withdraw": "Withdraw",
        "withdraw_reason": "Reason for withdrawing",
        "empty_handovers": "No handovers found.",
        "selected_orders": "Selected orders",
        "show_all": "Show all",
        "page_of": "Page {page} of {pages}",
        "previous": "Previous",
        "next": "Next",
        "results": "{total} entries",
        "notice": {
            "approved": "Approved: {count}.",
            "rejected": "Rejected: {count}.",
            "withdrawn": "The handover was withdrawn.",
            "nothing_selected": "Select at least one proposal.",
            "reason_required": "Give a reason for rejecting.",
        },
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
        "handover": "Handover",
        "decision": "Your decision",
        "back_to_list": "Back to the list",
        "order_and_buyer": "Order and buyer",
        "email": "E-mail",
        "address": "Address",
        "debtor_kind": "Debtor",
        "debtor_kinds": {"consumer": "Consumer", "business": "Business"},
        "invoice_date": "Invoice date",
        "due_date": "Due date",
        "notices_sent": "Notices sent",
        "no_notices": "No notice sent yet.",
        "notice_kinds": {
            "reminder": "Payment reminder",
            "dunning": "1st dunning notice",
            "final_notice": "Final notice announcing collection",
        },
        "sent_on": "Sent on",
        "channel": "Channel",
        "channels": {"email": "E-mail", "shop": "Shop", "none": "Your own system"},
        "deadline": "Pay by",
        "fee": "Fee",
        "claim_today": "Claim today",
        "claim_at_proposal": "Frozen at proposal",
        "amount": "Amount",
        "legal_basis": "Legal basis",
        "basis": {
            "principal": "Purchase price under the contract (§ 433(2) BGB)",
            "dunning_fees": "Dunning costs as damages for default, actual costs only (§§ 280, 286 BGB)",
            "flat_fee": "Flat default fee for businesses (§ 288(5) BGB)",
            "interest": {
                "consumer": "Default interest: base rate + 5 percentage points (§ 288(1) BGB)",
                "business": "Default interest: base rate + 9 percentage points (§ 288(2) BGB)",
            },
            "payments": "Already paid (allocated under § 367 BGB)",
            "credits": "Credit notes and refunds",
        },
        "payments_received": "Payments",
        "credits": "Credits",
        "outstanding": "Outstanding",
        "default_since": "In default since",
        "limitation": "Time-barred on",
        "readiness": "Conditions for handover",
        "ready": "Every condition is met.",
        "case": "Collection case",
        "agency": "Agency",
        "case_id": "Case id",
        "legal_stage": "Legal stage",
        "processing_state": "Processing",
        "payment_state": "Payment state",
        "collected": "Collected by the agency",
        "paid_direct": "Paid to you directly",
        "balance": "Balance",
        "decided_by": "Decided by",
        "decision_note": "Reason",
        "history": "History",
        "error_title": "That did not work",
        "link_used": "This link was already used or has expired. Open the console again from your shop.",
        "session_invalid": "Your session expired or is invalid. Open the console again from your shop.",
        "not_found": "This entry does not exist.",
        "money_note": "Amounts in {currency}",
    },
}


def format_money(amount: Decimal | None, currency: str, language: str) -> str:
    """Format an amount as the shop admins do: ``1.234,50 €`` in German, ``€1,234.50`` in English."""
    if amount is None:
        return "—"
    grouped = f"{amount.quantize(Decimal('0.01')):,.2f}"
    symbol = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}.get(currency, currency)
    if language == "de":
        return grouped.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".") + f"\u00a0{symbol}"
    if grouped.startswith("-"):
        return f"-{symbol}{grouped[1:]}"
    return f"{symbol}{grouped}"


def format_date(value: date | datetime | None, language: str) -> str:
    """Format a day (a moment as its Berlin day and time): ``06.12.2026`` in German, ``6 Dec 2026`` in English."""
    if value is None:
        return "—"
    suffix = ""
    if isinstance(value, datetime):
        local = value.astimezone(BERLIN)
        suffix = f", {local:%H:%M}"
        value = local.date()
    if language == "de":
        return f"{value:%d.%m.%Y}{suffix}"
    return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}{suffix}"

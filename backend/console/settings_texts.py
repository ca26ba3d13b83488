"""Labels and plain-language explanations of every settings field, in German and English, by field key.

A key is the field's JSON pointer without list indexes (``/bureau/min_amount``); weights and velocity limits
share one explanation per group and take their label from the signal's or identity's name.
"""

from __future__ import annotations

FIELD_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "de": {
        "/buyer_message": (
            "Hinweis für Käufer",
            "Was jeder Ihrer Shops einem Käufer sagt, dem Kauf auf Rechnung nicht angeboten wird. Bleiben Sie "
            "neutral und nennen Sie keine Gründe; leer lassen für den Standardtext von ClaimBridge.",
        ),
        "/buyer_message/de": (
            "Deutsch",
            "Leer: „Kauf auf Rechnung ist für diese Bestellung leider nicht verfügbar. …“",
        ),
        "/buyer_message/en": (
            "Englisch",
            "Leer: „Unfortunately, paying by invoice is not available for this order. …“",
        ),
        "/invoice_methods": (
            "Rechnungsartige Zahlarten",
            "Technische Namen der Zahlarten, bei denen Sie in Vorleistung gehen (eine pro Zeile), für alle Ihre "
            "Shops. Nur sie werden riskanten Käufern ausgeblendet, und nur so bezahlte Bestellungen werden "
            "verfolgt.",
        ),
        "/review_at": (
            "Prüfen ab Punktzahl",
            "Ab dieser Punktzahl (0 bis 100) wird die Bestellung zur Prüfung markiert.",
        ),
        "/decline_at": (
            "Ablehnen ab Punktzahl",
            "Ab dieser Punktzahl wird Kauf auf Rechnung ausgeblendet. Muss mindestens so hoch sein wie „Prüfen ab“.",
        ),
        "/currency": (
            "Währung der Grenzen",
            "Die Währung, in der die Betragsgrenzen unten gelten (z. B. EUR).",
        ),
        "/max_order_amount": ("Höchstbetrag je Bestellung", "Größere Bestellungen gehen nicht auf Rechnung."),
        "/max_first_order_amount": (
            "Höchstbetrag der ersten Bestellung",
            "Grenze für Käufer, die noch nie bei Ihnen bestellt haben.",
        ),
        "/max_open_exposure": (
            "Höchster offener Betrag je Käufer",
            "Summe aller unbezahlten Rechnungen eines Käufers einschließlich dieser Bestellung.",
        ),
        "/max_open_invoices_without_payment": (
            "Offene Rechnungen ohne Zahlung",
            "So viele Rechnungen darf ein Käufer, der bei Ihnen noch nie bezahlt hat, gleichzeitig offen haben.",
        ),
        "/weights": (
            "Gewicht",
            "Punkte, die dieses Signal zur Punktzahl beiträgt, wenn es zutrifft. 0 schaltet es aus.",
        ),
        "/review_mode": (
            "Bei „Prüfen“",
            "Was geschieht, wenn die Punktzahl im Prüfbereich liegt: Rechnung weiter anbieten (die Bestellung wird "
            "markiert) oder ausblenden.",
        ),
        "/fail_mode": (
            "Wenn die Prüfung ausfällt",
            "Wenn die Prüfung nicht antwortet: Rechnung ausblenden, oder bis zum Betrag unten weiter anbieten.",
        ),
        "/bureau_fail_max_amount": (
            "Ohne Prüfung erlaubt bis",
            "Bis zu diesem Betrag bleibt Rechnung angeboten, wenn Auskunftei oder Prüfung nicht antworten.",
        ),
        "/bureau/enabled": (
            "Auskunftei fragen",
            "Fragt bei größeren Beträgen eine Bonitätsauskunft ab (kostet Geld).",
        ),
        "/bureau/min_amount": (
            "Auskunft ab Betrag",
            "Erst ab diesem Warenkorbwert wird die Auskunftei gefragt.",
        ),
        "/bureau/score_type": ("Art der Auskunft", "Der Score-Typ Ihres Vertrags bei PAYONE, z. B. IH."),
        "/bureau/address_check_type": (
            "Adressprüfung",
            "Welche Adressprüfung PAYONE mit der Auskunft macht (Ihr Vertrag bestimmt, was möglich ist).",
        ),
        "/bureau/cache_days": (
            "Auskunft wiederverwenden (Tage)",
            "So lange gilt eine Auskunft für denselben Käufer.",
        ),
        "/bureau/min_score_value": (
            "Mindest-Score",
            "Optional: unter diesem Wert zählt die Auskunft als negativ. Leer: nur die Ampel zählt.",
        ),
        "/retention_days": (
            "Rohdaten aufbewahren (Tage)",
            "Danach werden die Käuferdaten einer Prüfung gelöscht; nur verschlüsselte Kennungen bleiben.",
        ),
        "/velocity": (
            "Häufigkeitsgrenze",
            "So viele frühere Bestellungen derselben Kennung sind erlaubt, bevor das Signal zutrifft. 0 schaltet "
            "es aus.",
        ),
    },
    "en": {
        "/buyer_message": (
            "Message to buyers",
            "What each of your shops tells a buyer who is not offered payment by invoice. Keep it neutral and "
            "name no reasons; leave it empty for ClaimBridge's standard text.",
        ),
        "/buyer_message/de": (
            "German",
            "Empty: „Kauf auf Rechnung ist für diese Bestellung leider nicht verfügbar. …“",
        ),
        "/buyer_message/en": (
            "English",
            "Empty: “Unfortunately, paying by invoice is not available for this order. …”",
        ),
        "/invoice_methods": (
            "Invoice-like payment methods",
            "Technical names of the methods where you deliver before being paid (one per line), for all your "
            "shops. Only these are hidden from risky buyers, and only orders paid this way are tracked.",
        ),
        "/review_at": ("Review from score", "From this score (0 bis 100) the order is flagged for review."),
        "/decline_at": (
            "Decline from score",
            "From this score invoice payment is hidden. Must be at least the review score.",
        ),
        "/currency": ("Currency of the limits", "The currency the amount limits below are in (e.g. EUR)."),
        "/max_order_amount": ("Largest order", "Larger orders cannot be paid by invoice."),
        "/max_first_order_amount": (
            "Largest first order",
            "The limit for buyers who never ordered from you.",
        ),
        "/max_open_exposure": (
            "Largest open amount per buyer",
            "All of a buyer's unpaid invoices together, this order included.",
        ),
        "/max_open_invoices_without_payment": (
            "Open invoices without a payment",
            "How many invoices a buyer who never paid you may have open at once.",
        ),
        "/weights": (
            "Weight",
            "Points this signal adds to the score when it fires. 0 switches it off.",
        ),
        "/review_mode": (
            "On review",
            "What happens when the score lies in the review band: keep offering invoice (the order is flagged) or "
            "hide it.",
        ),
        "/fail_mode": (
            "When the check fails",
            "When the check does not answer: hide invoice, or keep offering it up to the amount below.",
        ),
        "/bureau_fail_max_amount": (
            "Allowed without a check up to",
            "Up to this amount invoice stays offered when the bureau or the check does not answer.",
        ),
        "/bureau/enabled": (
            "Ask a credit bureau",
            "Asks for a credit report on larger amounts (it costs money).",
        ),
        "/bureau/min_amount": ("Report from amount", "The bureau is asked only from this cart value."),
        "/bureau/score_type": ("Report type", "The score type of your PAYONE contract, e.g. IH."),
        "/bureau/address_check_type": (
            "Address check",
            "Which address check PAYONE runs with the report (your contract decides what is available).",
        ),
        "/bureau/cache_days": ("Reuse a report (days)", "How long a report counts for the same buyer."),
        "/bureau/min_score_value": (
            "Lowest score",
            "Optional: below this value the report counts as negative. Empty: only the traffic light counts.",
        ),
        "/retention_days": (
            "Keep raw data (days)",
            "After this a check's buyer data is deleted; only keyed identity hashes remain.",
        ),
        "/velocity": (
            "Frequency limit",
            "How many earlier orders with the same identity are allowed before the signal fires. 0 switches it off.",
        ),
    },
}


def field_text(language: str, key: str) -> tuple[str, str]:
    """Return a field's label and explanation; weights and velocity limits are named by their last parts."""
    texts = FIELD_TEXTS[language]
    if key in texts:
        return texts[key]
    parts = key.strip("/").split("/")
    label, explanation = texts.get(f"/{parts[0]}", ("", ""))
    name = " ".join(parts[1:] or parts).replace("_", " ")
    # A field added to the policy before its text here still gets a readable label.
    return (f"{label}: {name}" if label else name.capitalize()), explanation

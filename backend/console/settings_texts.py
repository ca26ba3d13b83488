"""Labels and plain-language explanations of every settings field, in German and English, by field key.

A key is the field's JSON pointer without list indexes (``/bureau/min_amount``); weights and velocity limits
share one explanation per group and take their label from the signal's or identity's name.
"""

from __future__ import annotations

from backend.risk.messages import term_for

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


# The name of each signal whose weight the policy sets, as the merchant reads it beside its weight field.
SIGNAL_NAMES: dict[str, dict[str, str]] = {
    "de": {
        "ORDER_AMOUNT_LIMIT": "Bestellwert über dem Höchstbetrag",
        "FIRST_ORDER_AMOUNT_LIMIT": "Erstbestellung über ihrem Höchstbetrag",
        "OPEN_EXPOSURE_LIMIT": "Offener Betrag über dem Höchstbetrag",
        "FIRST_ORDER": "Erste Bestellung",
        "SHIPPING_NAME_DIFFERS": "Anderer Name in der Lieferadresse",
        "SHIPPING_ADDRESS_DIFFERS": "Abweichende Lieferadresse",
        "PACKSTATION_SHIPPING": "Lieferung an eine Abholstelle",
        "PACKSTATION_BILLING": "Rechnungsadresse ist eine Packstation",
        "POSTAL_CODE_INVALID": "Ungültige Postleitzahl",
        "POSTAL_CODE_CITY_MISMATCH": "Postleitzahl passt nicht zum Ort",
        "EMAIL_INVALID": "Ungültige E-Mail-Adresse",
        "EMAIL_DISPOSABLE": "Wegwerf-E-Mail-Adresse",
        "EMAIL_NAME_MISMATCH": "E-Mail-Adresse passt nicht zum Namen",
        "PHONE_INVALID": "Ungültige Telefonnummer",
        "PHONE_COUNTRY_MISMATCH": "Telefonnummer aus einem anderen Land",
        "PHONE_PREMIUM_RATE": "Mehrwertdienste-Nummer",
        "PHONE_VOIP": "Internet-Telefonnummer",
        "TEST_ORDER_NAME": "Platzhalter- oder Testname",
        "COMPANY_IN_CONSUMER_ORDER": "Firmenname in einer Verbraucherbestellung",
        "VELOCITY_ORDERS": "Viele Bestellungen in kurzer Zeit",
        "VELOCITY_NAMES": "Viele Namen zu einer Identität",
        "VELOCITY_ADDRESSES": "Viele Adressen zu einer Identität",
        "VELOCITY_INVOICE_ORDERS": "Viele Rechnungsbestellungen in 24 Stunden",
        "OPEN_INVOICES_WITHOUT_PAYMENT": "Offene Rechnungen ohne je eine Zahlung",
        "HISTORY_UNPAID": "Unbezahlte Rechnungen in der Vergangenheit",
        "HISTORY_DUNNED": "Bestellungen in der Mahnung",
        "HISTORY_HANDED_OVER": "Früher an das Inkasso übergeben",
        "BUREAU_RED": "Auskunftei: rot",
        "BUREAU_YELLOW": "Auskunftei: gelb",
        "BUREAU_LOW_SCORE": "Auskunftei: niedriger Punktwert",
        "BUREAU_PERSON_STATUS": "Auskunftei: unter der Adresse nicht zustellbar",
    },
    "en": {
        "ORDER_AMOUNT_LIMIT": "Order amount above the limit",
        "FIRST_ORDER_AMOUNT_LIMIT": "First order above its limit",
        "OPEN_EXPOSURE_LIMIT": "Open amount above the limit",
        "FIRST_ORDER": "First order",
        "SHIPPING_NAME_DIFFERS": "Another name in the shipping address",
        "SHIPPING_ADDRESS_DIFFERS": "Different shipping address",
        "PACKSTATION_SHIPPING": "Shipping to a pickup point",
        "PACKSTATION_BILLING": "Billing address is a Packstation",
        "POSTAL_CODE_INVALID": "Invalid postal code",
        "POSTAL_CODE_CITY_MISMATCH": "Postal code does not match the city",
        "EMAIL_INVALID": "Invalid e-mail address",
        "EMAIL_DISPOSABLE": "Disposable e-mail address",
        "EMAIL_NAME_MISMATCH": "E-mail address does not match the name",
        "PHONE_INVALID": "Invalid phone number",
        "PHONE_COUNTRY_MISMATCH": "Phone number from another country",
        "PHONE_PREMIUM_RATE": "Premium-rate number",
        "PHONE_VOIP": "Internet phone number",
        "TEST_ORDER_NAME": "Placeholder or test name",
        "COMPANY_IN_CONSUMER_ORDER": "Company name in a consumer order",
        "VELOCITY_ORDERS": "Many orders in a short time",
        "VELOCITY_NAMES": "Many names for one identity",
        "VELOCITY_ADDRESSES": "Many addresses for one identity",
        "VELOCITY_INVOICE_ORDERS": "Many invoice orders in 24 hours",
        "OPEN_INVOICES_WITHOUT_PAYMENT": "Open invoices without any payment",
        "HISTORY_UNPAID": "Unpaid invoices in the past",
        "HISTORY_DUNNED": "Orders in dunning",
        "HISTORY_HANDED_OVER": "Handed over to collection before",
        "BUREAU_RED": "Credit bureau: red",
        "BUREAU_YELLOW": "Credit bureau: yellow",
        "BUREAU_LOW_SCORE": "Credit bureau: low score",
        "BUREAU_PERSON_STATUS": "Credit bureau: not deliverable at the address",
    },
}

# A velocity limit is named "<what is counted> per <identity> in <window>", e.g. /velocity/email/orders_24h.
_VELOCITY_WORDS: dict[str, dict[str, str]] = {
    "de": {
        "orders": "Bestellungen",
        "invoice_orders": "Rechnungsbestellungen",
        "other_names": "Andere Namen",
        "other_addresses": "Andere Adressen",
        "per": "je",
        "in": "in",
    },
    "en": {
        "orders": "Orders",
        "invoice_orders": "Invoice orders",
        "other_names": "Other names",
        "other_addresses": "Other addresses",
        "per": "per",
        "in": "in",
    },
}


def field_text(language: str, key: str) -> tuple[str, str]:
    """Return a field's label and explanation; weights and velocity limits are named by their last parts."""
    texts = FIELD_TEXTS[language]
    if key in texts:
        return texts[key]
    parts = key.strip("/").split("/")
    label, explanation = texts.get(f"/{parts[0]}", ("", ""))
    if parts[0] == "weights" and len(parts) == 2 and parts[1] in SIGNAL_NAMES[language]:
        return f"{label}: {SIGNAL_NAMES[language][parts[1]]}", explanation
    if parts[0] == "velocity" and len(parts) == 3:
        counted, _, window = parts[2].rpartition("_")
        words = _VELOCITY_WORDS[language]
        if counted in words:
            identity, period = term_for(parts[1], language), term_for(window, language)
            return f"{words[counted]} {words['per']} {identity} {words['in']} {period}", explanation
    name = " ".join(parts[1:] or parts).replace("_", " ")
    # A field added to the policy before its text here still gets a readable label.
    return (f"{label}: {name}" if label else name.capitalize()), explanation

"""German and English texts for reason codes, warning codes, decision rules and the buyer-facing message.

``message_for(code, lang, **params)`` fills a code's template with the parameters its reason or warning
carries; amounts are formatted for the language, lists joined, identity kinds and address roles named.
``pick_language(accept_language)`` chooses "de" or "en" from an ``Accept-Language`` header value.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from backend.merchants.policy import LANGUAGES, RiskPolicy

DEFAULT_LANGUAGE = "en"
# The neutral text a shop shows a buyer whose cart may not be paid by invoice (no reasons: GDPR, fraud).
INVOICE_UNAVAILABLE = "INVOICE_UNAVAILABLE"

_MONEY_PARAMS = frozenset({"amount", "limit", "exposure"})
# Codes whose ``limit`` counts invoices rather than euros.
_COUNTED_LIMITS = frozenset({"OPEN_INVOICES_WITHOUT_PAYMENT"})

_TERMS: Mapping[str, Mapping[str, str]] = {
    "de": {
        "billing": "Rechnungsadresse",
        "shipping": "Lieferadresse",
        "email": "E-Mail-Adresse",
        "phone": "Telefonnummer",
        "address": "Rechnungsadresse",
        "shipping_address": "Lieferadresse",
        "ip": "IP-Adresse",
        "24h": "24 Stunden",
        "30d": "30 Tagen",
        "packstation": "Packstation",
        "post_office": "Postfiliale",
        "parcel_shop": "Paketshop",
        "po_box": "Postfach",
    },
    "en": {
        "billing": "billing address",
        "shipping": "shipping address",
        "email": "e-mail address",
        "phone": "phone number",
        "address": "billing address",
        "shipping_address": "shipping address",
        "ip": "IP address",
        "24h": "24 hours",
        "30d": "30 days",
        "packstation": "Packstation",
        "post_office": "post office",
        "parcel_shop": "parcel shop",
        "po_box": "PO box",
    },
}

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "de": {
        # reasons
        "ORDER_AMOUNT_LIMIT": "Der Bestellwert von {amount} liegt über dem Rechnungslimit von {limit}.",
        "FIRST_ORDER_AMOUNT_LIMIT": "Erstbestellung über {amount}; das Limit für Erstbestellungen ist {limit}.",
        "OPEN_EXPOSURE_LIMIT": "Offene Rechnungen und dieser Warenkorb ergeben {exposure}, mehr als das Limit "
        "von {limit}.",
        "FIRST_ORDER": "Erste Bestellung dieses Käufers.",
        "SHIPPING_NAME_DIFFERS": "Der Name in der Lieferadresse weicht von der Rechnungsadresse ab.",
        "SHIPPING_ADDRESS_DIFFERS": "Die Lieferadresse weicht von der Rechnungsadresse ab.",
        "PACKSTATION_SHIPPING": "Die Lieferadresse ist eine Abholstelle ({kind}).",
        "PACKSTATION_BILLING": "Die Rechnungsadresse ist eine Abholstelle ({kind}).",
        "POSTAL_CODE_INVALID": "Ungültiges Postleitzahlformat ({addresses}).",
        "POSTAL_CODE_CITY_MISMATCH": "Postleitzahl und Ort passen nicht zusammen ({addresses}).",
        "EMAIL_INVALID": "Die E-Mail-Adresse ist ungültig.",
        "EMAIL_DISPOSABLE": "Wegwerf-E-Mail-Adresse ({domain}).",
        "EMAIL_NAME_MISMATCH": "Die E-Mail-Adresse enthält weder Vor- noch Nachnamen.",
        "PHONE_INVALID": "Die Telefonnummer ist ungültig.",
        "PHONE_COUNTRY_MISMATCH": "Telefonnummer aus {phone_country}, Rechnungsadresse in {billing_country}.",
        "PHONE_PREMIUM_RATE": "Kostenpflichtige Sonderrufnummer.",
        "PHONE_VOIP": "Internet-Telefonnummer (VoIP).",
        "TEST_ORDER_NAME": "Test- oder Platzhaltername (z. B. „Test“, „Max Mustermann“, „asdf“).",
        "COMPANY_IN_CONSUMER_ORDER": "Firmenname im Namensfeld einer Privatbestellung.",
        "VELOCITY_ORDERS": "{count} Bestellungen in {window} mit derselben {identities}.",
        "VELOCITY_NAMES": "{count} weitere Namen in {window} mit derselben {identities}.",
        "VELOCITY_ADDRESSES": "{count} weitere Adressen in {window} mit derselben {identities}.",
        "VELOCITY_INVOICE_ORDERS": "{count} Rechnungsbestellungen in {window} mit derselben {identities}.",
        "OPEN_INVOICES_WITHOUT_PAYMENT": "{count} offene Rechnung(en) und noch keine Zahlung bei diesem Händler "
        "(ohne bezahlte Rechnung höchstens {limit}).",
        "HISTORY_UNPAID": "{count} überfällige unbezahlte Rechnung(en) bei diesem Händler.",
        "HISTORY_DUNNED": "{count} gemahnte Bestellung(en) bei diesem Händler.",
        "HISTORY_HANDED_OVER": "{count} Bestellung(en) an ein Inkassounternehmen übergeben.",
        "BUREAU_RED": "Auskunftei ({provider}): rote Ampel.",
        "BUREAU_YELLOW": "Auskunftei ({provider}): gelbe Ampel.",
        "BUREAU_LOW_SCORE": "Auskunftei ({provider}): Scorewert {score} unter dem Mindestwert {minimum}.",
        "BUREAU_PERSON_STATUS": "Auskunftei ({provider}): Person unter dieser Adresse nicht zustellbar "
        "(Status {status}).",
        # warnings
        "FIELD_MISSING": "Angabe fehlt.",
        "CURRENCY_NOT_POLICY_CURRENCY": "Währung {currency} statt {policy_currency}: Betragslimits gelten in "
        "{policy_currency}.",
        "POSTAL_CODE_FORMAT_INVALID": "„{postal_code}“ ist keine gültige Postleitzahl für {country}.",
        "POSTAL_CODE_NOT_FOUND": "Die Postleitzahl {postal_code} ist nicht bekannt.",
        "CITY_NOT_AT_POSTAL_CODE": "Die Postleitzahl {postal_code} gehört nicht zu {city}, sondern zu "
        "{expected}.",
        "CITY_SPELLING_VARIANT": "„{city}“ ist vermutlich {expected}.",
        "EMAIL_SYNTAX_INVALID": "Die E-Mail-Adresse ist formal ungültig.",
        "PHONE_NUMBER_INVALID": "„{phone}“ ist keine gültige Telefonnummer.",
        # decision rules
        "override_always_allow": "Der Händler hat Rechnungskauf für diesen Käufer immer erlaubt.",
        "override_never_allow": "Der Händler hat Rechnungskauf für diesen Käufer gesperrt.",
        "score_decline": "Der Risikowert erreicht die Ablehnungsschwelle.",
        "bureau_unavailable": "Die Auskunftei war nicht erreichbar; Rechnungskauf wird dann nicht angeboten.",
        "bureau_unavailable_over_limit": "Die Auskunftei war nicht erreichbar und der Betrag liegt über dem "
        "Limit für diesen Fall.",
        "score_review": "Der Risikowert erreicht die Prüfschwelle.",
        "score_accept": "Der Risikowert liegt unter der Prüfschwelle.",
        # buyer-facing
        INVOICE_UNAVAILABLE: "Kauf auf Rechnung ist für diese Bestellung leider nicht verfügbar. "
        "Bitte wählen Sie eine andere Zahlungsart.",
    },
    "en": {
        "ORDER_AMOUNT_LIMIT": "The order value of {amount} exceeds the invoice limit of {limit}.",
        "FIRST_ORDER_AMOUNT_LIMIT": "First order of {amount}; the first-order limit is {limit}.",
        "OPEN_EXPOSURE_LIMIT": "Open invoices plus this cart come to {exposure}, above the limit of {limit}.",
        "FIRST_ORDER": "This buyer's first order.",
        "SHIPPING_NAME_DIFFERS": "The shipping name differs from the billing name.",
        "SHIPPING_ADDRESS_DIFFERS": "The shipping address differs from the billing address.",
        "PACKSTATION_SHIPPING": "The shipping address is a pickup point ({kind}).",
        "PACKSTATION_BILLING": "The billing address is a pickup point ({kind}).",
        "POSTAL_CODE_INVALID": "Invalid postal code format ({addresses}).",
        "POSTAL_CODE_CITY_MISMATCH": "Postal code and city do not match ({addresses}).",
        "EMAIL_INVALID": "The e-mail address is invalid.",
        "EMAIL_DISPOSABLE": "Disposable e-mail address ({domain}).",
        "EMAIL_NAME_MISMATCH": "The e-mail address contains neither the first nor the last name.",
        "PHONE_INVALID": "The phone number is invalid.",
        "PHONE_COUNTRY_MISMATCH": "Phone number from {phone_country}, billing address in {billing_country}.",
        "PHONE_PREMIUM_RATE": "Premium-rate phone number.",
        "PHONE_VOIP": "Internet (VoIP) phone number.",
        "TEST_ORDER_NAME": 'Test or placeholder name (such as "Test", "Max Mustermann", "asdf").',
        "COMPANY_IN_CONSUMER_ORDER": "Company name in a person's name field of a consumer order.",
        "VELOCITY_ORDERS": "{count} orders within {window} with the same {identities}.",
        "VELOCITY_NAMES": "{count} other names within {window} with the same {identities}.",
        "VELOCITY_ADDRESSES": "{count} other addresses within {window} with the same {identities}.",
        "VELOCITY_INVOICE_ORDERS": "{count} invoice orders within {window} with the same {identities}.",
        "OPEN_INVOICES_WITHOUT_PAYMENT": "{count} open invoice(s) and no payment yet at this merchant (at most "
        "{limit} without a paid invoice).",
        "HISTORY_UNPAID": "{count} overdue unpaid invoice(s) at this merchant.",
        "HISTORY_DUNNED": "{count} order(s) in dunning at this merchant.",
        "HISTORY_HANDED_OVER": "{count} order(s) handed over to a collection agency.",
        "BUREAU_RED": "Credit bureau ({provider}): red traffic light.",
        "BUREAU_YELLOW": "Credit bureau ({provider}): yellow traffic light.",
        "BUREAU_LOW_SCORE": "Credit bureau ({provider}): score {score} below the minimum of {minimum}.",
        "BUREAU_PERSON_STATUS": "Credit bureau ({provider}): person not deliverable at this address "
        "(status {status}).",
        "FIELD_MISSING": "This field is missing.",
        "CURRENCY_NOT_POLICY_CURRENCY": "Currency {currency} instead of {policy_currency}: amount limits are in "
        "{policy_currency}.",
        "POSTAL_CODE_FORMAT_INVALID": '"{postal_code}" is not a valid postal code for {country}.',
        "POSTAL_CODE_NOT_FOUND": "The postal code {postal_code} is not known.",
        "CITY_NOT_AT_POSTAL_CODE": "The postal code {postal_code} belongs to {expected}, not to {city}.",
        "CITY_SPELLING_VARIANT": '"{city}" is probably {expected}.',
        "EMAIL_SYNTAX_INVALID": "The e-mail address is not well-formed.",
        "PHONE_NUMBER_INVALID": '"{phone}" is not a valid phone number.',
        "override_always_allow": "The merchant always allows invoice payment for this buyer.",
        "override_never_allow": "The merchant has blocked invoice payment for this buyer.",
        "score_decline": "The risk score reaches the decline threshold.",
        "bureau_unavailable": "The credit bureau was unavailable; invoice payment is then not offered.",
        "bureau_unavailable_over_limit": "The credit bureau was unavailable and the amount exceeds the limit for "
        "that case.",
        "score_review": "The risk score reaches the review threshold.",
        "score_accept": "The risk score is below the review threshold.",
        INVOICE_UNAVAILABLE: "Unfortunately, paying by invoice is not available for this order. "
        "Please choose another payment method.",
    },
}


# What a buyer can do about each reason, so that a merchant can explain a decision and the buyer can contest
# or avoid it (GDPR Art. 22(3)). The buyer never sees the reasons themselves unasked.
_ADVICE_BY_REASON: Mapping[str, str] = {
    "ORDER_AMOUNT_LIMIT": "smaller_order",
    "FIRST_ORDER_AMOUNT_LIMIT": "smaller_order",
    "OPEN_EXPOSURE_LIMIT": "pay_open",
    "OPEN_INVOICES_WITHOUT_PAYMENT": "pay_open",
    "HISTORY_UNPAID": "pay_open",
    "HISTORY_DUNNED": "pay_open",
    "HISTORY_HANDED_OVER": "settle_claim",
    "FIRST_ORDER": "nothing",
    "EMAIL_NAME_MISMATCH": "nothing",
    "PHONE_VOIP": "nothing",
    "SHIPPING_NAME_DIFFERS": "ship_to_billing",
    "SHIPPING_ADDRESS_DIFFERS": "ship_to_billing",
    "PACKSTATION_SHIPPING": "ship_to_billing",
    "PACKSTATION_BILLING": "home_address",
    "POSTAL_CODE_INVALID": "correct_data",
    "POSTAL_CODE_CITY_MISMATCH": "correct_data",
    "EMAIL_INVALID": "correct_data",
    "PHONE_INVALID": "correct_data",
    "PHONE_COUNTRY_MISMATCH": "correct_data",
    "PHONE_PREMIUM_RATE": "correct_data",
    "TEST_ORDER_NAME": "correct_data",
    "COMPANY_IN_CONSUMER_ORDER": "correct_data",
    "EMAIL_DISPOSABLE": "own_email",
    "VELOCITY_ORDERS": "contact_shop",
    "VELOCITY_NAMES": "contact_shop",
    "VELOCITY_ADDRESSES": "contact_shop",
    "VELOCITY_INVOICE_ORDERS": "contact_shop",
    "BUREAU_RED": "bureau",
    "BUREAU_YELLOW": "bureau",
    "BUREAU_LOW_SCORE": "bureau",
    "BUREAU_PERSON_STATUS": "bureau",
}

ADVICE: Mapping[str, Mapping[str, str]] = {
    "de": {
        "smaller_order": "Diese Bestellung mit einer anderen Zahlungsart bezahlen oder eine kleinere Bestellung auf "
        "Rechnung aufgeben.",
        "pay_open": "Die offenen Rechnungen bezahlen; danach ist Rechnungskauf wieder möglich. Bis dahin eine andere "
        "Zahlungsart wählen.",
        "settle_claim": "Sich an den Shop wenden, um die offene Forderung zu klären; bis dahin eine andere "
        "Zahlungsart wählen.",
        "nothing": "Nichts zu tun: Dieser Hinweis allein verhindert den Rechnungskauf nicht.",
        "ship_to_billing": "An die Rechnungsadresse liefern lassen oder eine andere Zahlungsart wählen.",
        "home_address": "Als Rechnungsadresse die Wohn- oder Geschäftsadresse angeben.",
        "correct_data": "Name, Adresse und Kontaktdaten prüfen und berichtigen.",
        "own_email": "Eine dauerhafte eigene E-Mail-Adresse angeben.",
        "contact_shop": "Sich an den Shop wenden, wenn diese Bestellungen von Ihnen stammen; sonst eine andere "
        "Zahlungsart wählen.",
        "bureau": "Bei der Auskunftei Auskunft über die eigenen Daten verlangen (Art. 15 DSGVO) und sie berichtigen "
        "lassen; bis dahin eine andere Zahlungsart wählen.",
    },
    "en": {
        "smaller_order": "Pay this order another way, or place a smaller order on invoice.",
        "pay_open": "Pay the open invoices; invoice is offered again afterwards. Until then, choose another payment "
        "method.",
        "settle_claim": "Contact the shop to settle the open claim; until then, choose another payment method.",
        "nothing": "Nothing to do: this alone does not withhold invoice payment.",
        "ship_to_billing": "Ship to the billing address, or choose another payment method.",
        "home_address": "Give a home or business address as the billing address.",
        "correct_data": "Check and correct the name, address and contact details.",
        "own_email": "Give a permanent e-mail address of your own.",
        "contact_shop": "Contact the shop if these orders are yours; otherwise choose another payment method.",
        "bureau": "Ask the credit bureau for your data (GDPR Art. 15) and have it corrected; until then, choose "
        "another payment method.",
    },
}


def advice_for(code: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Return what a buyer can do about a reason, "" for codes without advice."""
    key = _ADVICE_BY_REASON.get(str(code))
    return ADVICE[normalise_language(lang)][key] if key else ""


def explain_reason(reason: Mapping[str, Any], lang: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """Return a stored reason (``code``, ``weight``, ``params``) with its ``message`` and ``advice`` in ``lang``."""
    code = reason["code"]
    return {
        **reason,
        "message": message_for(code, lang, **reason.get("params", {})),
        "advice": advice_for(code, lang),
    }


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _money(value: Any, lang: str) -> str:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return str(value)
    grouped = f"{amount:,.2f}"
    if lang == "de":
        return grouped.replace(",", "\0").replace(".", ",").replace("\0", ".") + " €"
    return f"€{grouped}"


def _render(name: str, value: Any, lang: str, *, money: bool) -> str:
    terms = _TERMS[lang]
    if money:
        return _money(value, lang)
    if isinstance(value, list | tuple):
        return ", ".join(terms.get(str(item), str(item)) for item in value)
    return terms.get(str(value), str(value))


def term_for(name: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Return the word for an identity or time window ("email", "24h") in the language; the name if unknown."""
    return _TERMS[normalise_language(lang)].get(name, name)


def normalise_language(lang: str | None) -> str:
    """Map a language tag ("de-DE", "EN") to a supported language, else the default."""
    primary = (lang or "").split("-", 1)[0].split("_", 1)[0].strip().lower()
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


def message_for(code: str, lang: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """Return the human text of a reason, warning, rule or buyer message code; the code itself if unknown."""
    language = normalise_language(lang)
    template = MESSAGES[language].get(str(code))
    if template is None:
        return str(code)
    return template.format_map(
        _Params(
            {
                name: _render(
                    name,
                    value,
                    language,
                    money=name in _MONEY_PARAMS and not (name == "limit" and code in _COUNTED_LIMITS),
                )
                for name, value in params.items()
            }
        )
    )


def pick_language(accept_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Choose "de" or "en" from an Accept-Language header value by quality, else ``default``."""
    candidates: list[tuple[float, int, str]] = []
    for position, entry in enumerate((accept_language or "").split(",")):
        tag, _, quality = entry.strip().partition(";")
        weight = 1.0
        name, _, value = quality.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                continue
        primary = tag.split("-", 1)[0].strip().lower()
        if weight > 0 and primary in LANGUAGES:
            candidates.append((-weight, position, primary))
    return min(candidates)[2] if candidates else default


def invoice_unavailable_message(policy: RiskPolicy, lang: str) -> str:
    """Return the buyer's "invoice not available" text in ``lang``: the merchant's words (policy) or ours."""
    return policy.buyer_message.get(lang) or message_for(INVOICE_UNAVAILABLE, lang)

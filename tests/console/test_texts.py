"""The console's texts: German and English say the same things, and every ledger event has a name."""

from __future__ import annotations

from decimal import Decimal

from backend.console.forms import policy_fields
from backend.console.settings_texts import field_text
from backend.console.texts import TEXTS, format_money, format_percent
from backend.dunning.models import NoticeStatus
from backend.merchants.policy import RiskPolicy
from backend.receivables.ledger import EventKind


def keys(texts: dict, prefix: str = "") -> set[str]:
    found = set()
    for key, value in texts.items():
        found.add(prefix + key)
        if isinstance(value, dict):
            found |= keys(value, f"{prefix}{key}.")
    return found


def test_german_and_english_have_the_same_texts():
    assert keys(TEXTS["de"]) == keys(TEXTS["en"])


def test_every_event_of_the_ledger_has_a_name_in_the_timeline():
    for language in ("de", "en"):
        assert {kind.value for kind in EventKind} <= set(TEXTS[language]["events"]), language


def test_money_and_percentages_are_written_per_language():
    assert format_money(Decimal("1234.5"), "EUR", "de") == "1.234,50\u00a0€"
    assert format_money(Decimal("-1234.5"), "EUR", "en") == "-€1,234.50"
    assert format_percent(Decimal("1.270"), "de") == "1,27\u00a0%"
    assert format_percent(Decimal("5"), "en") == "5%"


def test_every_policy_field_has_a_label_and_an_explanation():
    for field in policy_fields(RiskPolicy().to_dict()):
        for language in ("de", "en"):
            label, explanation = field_text(language, field.key)
            assert label and explanation, (field.pointer, language)


def test_signals_and_frequency_limits_are_named_not_shown_as_codes():
    """A weight or velocity field is labelled with the signal's or limit's name, never its code."""
    for field in policy_fields(RiskPolicy().to_dict()):
        if field.pointer.startswith(("/weights/", "/velocity/")):
            for language in ("de", "en"):
                label, _ = field_text(language, field.key)
                code = field.pointer.rsplit("/", 1)[1]
                assert code not in label and code.replace("_", " ") not in label, (
                    field.pointer,
                    language,
                    label,
                )
    assert (
        field_text("de", "/velocity/ip/invoice_orders_24h")[0]
        == "Rechnungsbestellungen je IP-Adresse in 24 Stunden"
    )
    assert field_text("en", "/weights/EMAIL_DISPOSABLE")[0] == "Weight: Disposable e-mail address"


def test_every_notice_status_has_a_name():
    for language in ("de", "en"):
        assert {status.value for status in NoticeStatus} <= set(TEXTS[language]["notice_statuses"]), language

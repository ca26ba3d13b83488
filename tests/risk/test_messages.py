from __future__ import annotations

import string

import pytest

from backend.merchants.policy import LANGUAGES, ReasonCode
from backend.risk.engine import Rule
from backend.risk.messages import INVOICE_UNAVAILABLE, MESSAGES, message_for, pick_language
from backend.risk.signals import WarningCode

ALL_CODES = [*ReasonCode, *WarningCode, *Rule, INVOICE_UNAVAILABLE]


class TestMessageFor:
    @pytest.mark.parametrize("lang", LANGUAGES)
    @pytest.mark.parametrize("code", ALL_CODES)
    def test_every_code_has_a_text_in_every_language(self, code: str, lang: str) -> None:
        assert str(code) in MESSAGES[lang]

    def test_languages_use_the_same_placeholders(self) -> None:
        def placeholders(template: str) -> set[str]:
            return {name for _, name, _, _ in string.Formatter().parse(template) if name}

        for code in ALL_CODES:
            assert placeholders(MESSAGES["de"][code]) == placeholders(MESSAGES["en"][code]), code

    def test_buyer_message(self) -> None:
        assert message_for(INVOICE_UNAVAILABLE, "de") == (
            "Kauf auf Rechnung ist für diese Bestellung leider nicht verfügbar. "
            "Bitte wählen Sie eine andere Zahlungsart."
        )
        assert "another payment method" in message_for(INVOICE_UNAVAILABLE, "en")

    def test_amounts_are_formatted_per_language(self) -> None:
        assert message_for("ORDER_AMOUNT_LIMIT", "de", amount="1800.00", limit="1500.00") == (
            "Der Bestellwert von 1.800,00 € liegt über dem Rechnungslimit von 1.500,00 €."
        )
        assert "€1,800.00" in message_for("ORDER_AMOUNT_LIMIT", "en", amount="1800.00", limit="1500.00")

    def test_a_limit_on_open_invoices_is_a_count_not_an_amount(self) -> None:
        text = message_for("OPEN_INVOICES_WITHOUT_PAYMENT", "de", count=4, limit=2)
        assert text.endswith("(ohne bezahlte Rechnung höchstens 2).")
        assert "€" not in message_for("OPEN_INVOICES_WITHOUT_PAYMENT", "en", count=4, limit=2)

    def test_lists_and_terms_are_translated(self) -> None:
        text = message_for("VELOCITY_ORDERS", "de", identities=["email", "ip"], window="24h", count=5)
        assert text == "5 Bestellungen in 24 Stunden mit derselben E-Mail-Adresse, IP-Adresse."
        assert "billing address" in message_for("POSTAL_CODE_CITY_MISMATCH", "en", addresses=["billing"])

    def test_region_tags_and_unknown_languages(self) -> None:
        assert message_for("FIRST_ORDER", "de-AT") == message_for("FIRST_ORDER", "de")
        assert message_for("FIRST_ORDER", "fr") == message_for("FIRST_ORDER", "en")

    def test_unknown_code_returns_the_code(self) -> None:
        assert message_for("SOMETHING_NEW", "de") == "SOMETHING_NEW"

    def test_missing_parameters_do_not_raise(self) -> None:
        assert message_for("EMAIL_DISPOSABLE", "en").startswith("Disposable e-mail address")


class TestPickLanguage:
    @pytest.mark.parametrize(
        ("header", "language"),
        [
            ("de-DE,de;q=0.9,en;q=0.8", "de"),
            ("en-US,en;q=0.9,de;q=0.8", "en"),
            ("fr-FR,fr;q=0.9,de;q=0.7,en;q=0.5", "de"),
            ("en;q=0.4, de;q=0.6", "de"),
            ("de;q=0, en", "en"),
            ("fr", "en"),
            ("", "en"),
            (None, "en"),
            ("de;q=abc, en", "en"),
        ],
    )
    def test_picks_the_best_supported_language(self, header: str | None, language: str) -> None:
        assert pick_language(header) == language

    def test_default_is_configurable(self) -> None:
        assert pick_language("fr", default="de") == "de"

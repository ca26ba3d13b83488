from decimal import Decimal

import pytest
import segno.helpers

from backend.payments.girocode import GiroCodeError, girocode, girocode_payload, girocode_png, girocode_svg

IBAN = "DE89 3704 0044 0532 0130 00"


def payload(**overrides):
    arguments = {
        "name": "Muster Moden GmbH",
        "iban": IBAN,
        "amount": Decimal("12.34"),
        "reference": "CB-7K4Q-2",
    }
    return girocode_payload(**(arguments | overrides))


class TestGiroCodePayload:
    def test_follows_epc069_12_version_002_without_bic(self):
        assert payload() == (
            "BCD\n002\n1\nSCT\n\nMuster Moden GmbH\nDE89370400440532013000\nEUR12.34\n\n\nCB-7K4Q-2"
        )

    def test_carries_a_given_bic(self):
        assert payload(bic="COBADEFFXXX").split("\n")[4] == "COBADEFFXXX"

    def test_writes_two_decimals_and_keeps_utf8_names(self):
        lines = payload(name="Jürgen Größ e.K.", amount=Decimal("1000")).split("\n")

        assert lines[5] == "Jürgen Größ e.K."
        assert lines[7] == "EUR1000.00"

    @pytest.mark.parametrize("iban", ["DE89370400440532013001", "XX89370400440532013000", "DE8937"])
    def test_rejects_an_invalid_iban(self, iban):
        with pytest.raises(GiroCodeError, match="bank details"):
            payload(iban=iban)

    def test_rejects_an_invalid_bic(self):
        with pytest.raises(GiroCodeError, match="bank details"):
            payload(bic="NOTABIC")

    @pytest.mark.parametrize("amount", ["0.01", "999999999.99"])
    def test_accepts_the_amount_bounds(self, amount):
        assert payload(amount=Decimal(amount)).split("\n")[7] == f"EUR{amount}"

    @pytest.mark.parametrize(
        "amount", [Decimal("0.00"), Decimal("-5"), Decimal("1000000000.00"), Decimal("1.234"), 12.34]
    )
    def test_rejects_amounts_outside_the_standard(self, amount):
        with pytest.raises(GiroCodeError, match="amount"):
            payload(amount=amount)

    def test_rejects_a_name_longer_than_70_characters(self):
        with pytest.raises(GiroCodeError, match="name"):
            payload(name="x" * 71)
        assert payload(name="x" * 70)

    def test_rejects_a_remittance_longer_than_140_characters(self):
        with pytest.raises(GiroCodeError, match="remittance"):
            payload(reference="x" * 141)

    def test_rejects_line_breaks_that_would_shift_the_fields(self):
        with pytest.raises(GiroCodeError, match="single line"):
            payload(name="Muster\nGmbH")


class TestGiroCodeImage:
    def test_uses_error_correction_m_and_at_most_version_13(self):
        code = girocode(name="Muster Moden GmbH", iban=IBAN, amount=Decimal("12.34"), reference="CB-7K4Q-2")

        assert code.error == "M"
        assert code.version <= 13

    def test_encodes_the_same_symbol_as_segnos_own_epc_helper(self):
        ours = girocode(name="Muster Moden GmbH", iban=IBAN, amount=Decimal("12.34"), reference="CB-7K4Q-2")
        theirs = segno.helpers.make_epc_qr(
            name="Muster Moden GmbH",
            iban="DE89370400440532013000",
            amount=Decimal("12.34"),
            text="CB-7K4Q-2",
            encoding="utf-8",
        )

        assert ours.matrix == theirs.matrix

    def test_renders_png_and_svg(self):
        code = girocode(name="Muster Moden GmbH", iban=IBAN, amount=Decimal("12.34"), reference="CB-7K4Q-2")

        assert girocode_png(code).startswith(b"\x89PNG\r\n\x1a\n")
        svg = girocode_svg(code)
        assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")

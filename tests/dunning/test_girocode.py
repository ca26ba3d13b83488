import io
from decimal import Decimal

import pytest
import zxingcpp
from PIL import Image

from backend.dunning.girocode import MODULE_PIXELS, GiroCodeError, girocode, girocode_payload, girocode_png

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


def scanned(png: bytes) -> zxingcpp.Barcode:
    """Read the one QR code in the PNG with zxing-cpp, as a banking app's scanner does."""
    [result] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return result


class TestGiroCodeImage:
    def test_uses_error_correction_m_and_at_most_version_13(self):
        code = girocode(name="Muster Moden GmbH", iban=IBAN, amount=Decimal("12.34"), reference="CB-7K4Q-2")

        assert code.error == "M"
        assert code.version <= 13

    @pytest.mark.parametrize("name", ["Muster Moden GmbH", "Jürgen Größ e.K.", "Łódź Sp. z o.o. ČŠŽ €"])
    def test_a_scanner_reads_the_payloads_utf8_bytes_without_an_eci_header(self, name):
        code = girocode(
            name=name, iban=IBAN, bic="COBADEFFXXX", amount=Decimal("12.34"), reference="CB-7K4Q-2"
        )

        result = scanned(girocode_png(code))

        assert result.text == code.payload == payload(name=name, bic="COBADEFFXXX")
        assert result.bytes == code.payload.encode("utf-8")  # character set line "1": UTF-8, as written
        assert result.symbology_identifier == "]Q1"  # no ECI header, which older banking apps do not expect
        assert result.extra["ECLevel"] == "M"
        assert int(result.extra["Version"]) == code.version

    def test_the_longest_payload_stays_within_version_13_at_level_m(self):
        longest = {"name": "x" * 70, "reference": "Y" * 140, "bic": "COBADEFFXXX"}
        code = girocode(iban=IBAN, amount=Decimal("999999999.99"), **longest)

        result = scanned(girocode_png(code))

        assert len(code.payload.encode()) <= 331
        assert result.text == code.payload
        assert result.extra["ECLevel"] == "M" and int(result.extra["Version"]) <= 13

    def test_renders_a_png_with_the_four_module_quiet_zone(self):
        code = girocode(name="Muster Moden GmbH", iban=IBAN, amount=Decimal("12.34"), reference="CB-7K4Q-2")

        image = Image.open(io.BytesIO(girocode_png(code))).convert("L")

        modules, pixels = len(code.rows), MODULE_PIXELS
        assert image.size == ((modules + 8) * pixels, (modules + 8) * pixels)
        assert image.getpixel((4 * pixels - 1, 4 * pixels - 1)) == 255  # the margin is light
        assert (
            image.getpixel((4 * pixels, 4 * pixels)) == 0
        )  # the finder pattern's dark corner starts after it
        # every module is a square of pixels, dark where the code's module is dark, out to the last column
        for y, row in enumerate(code.rows):
            for x, module in enumerate(row):
                for dx, dy in ((0, 0), (pixels - 1, pixels - 1)):
                    pixel = ((x + 4) * pixels + dx, (y + 4) * pixels + dy)
                    assert image.getpixel(pixel) == module
        assert image.getpixel(((modules + 4) * pixels, 4 * pixels)) == 255  # the right margin is light

"""Statements that are odd but not ours to crash on: encodings, oversized amounts, control characters."""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa

from backend.payments.models import BankTransactionRecord
from tests.payments.generate import write_camt053, write_mt940
from tests.payments.test_import import UPLOAD, transfer, upload


def _camt(*transfers: Any) -> str:
    out = io.StringIO()
    write_camt053(transfers, out)
    return out.getvalue()


def _mt940(*transfers: Any) -> str:
    out = io.StringIO()
    write_mt940(transfers, out)
    return out.getvalue()


def _stored(db: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(BankTransactionRecord))


@pytest.fixture
def headers(merchant: Any, auth_headers: Any) -> dict[str, str]:
    return auth_headers(merchant, UPLOAD)


class TestEncodings:
    def test_camt_in_a_declared_single_byte_encoding_imports(
        self, client: Any, db: Any, headers: Any
    ) -> None:
        text = _camt(transfer("12.50", name="Jörg Müßig", remittance="Rechnung 4711"))
        text = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"', 1)
        response = upload(client, headers, text.encode("iso-8859-1"))
        assert response.status_code == 200, response.get_json()
        assert db.session.scalar(sa.select(BankTransactionRecord.counterparty_name)) == "Jörg Müßig"

    @pytest.mark.parametrize(
        ("declared", "encoding"), [("UTF-16", "utf-16"), ("UTF-8", "utf-16-le"), ("UTF-8", "utf-32")]
    )
    def test_camt_in_a_multibyte_encoding_is_422_not_500(
        self, client: Any, db: Any, headers: Any, declared: str, encoding: str
    ) -> None:
        text = _camt(transfer("12.50", name="Jörg", remittance="x")).replace(
            'encoding="UTF-8"', f'encoding="{declared}"', 1
        )
        response = upload(client, headers, text.encode(encoding))
        assert response.status_code == 422
        assert response.get_json()["error"] == "invalid_request"
        assert _stored(db) == 0


class TestAmounts:
    @pytest.mark.parametrize("amount", ["123456789012345678901234567890.00", "1000000000000.00"])
    def test_mt940_amount_beyond_the_column_is_422(
        self, client: Any, db: Any, headers: Any, amount: str
    ) -> None:
        text = _mt940(transfer("1.00", name="Erika", remittance="x")).replace(
            "C1,00N", f"C{amount.replace('.', ',')}N"
        )
        response = upload(client, headers, text.encode())
        assert response.status_code == 422
        assert _stored(db) == 0

    def test_camt_amount_beyond_the_column_is_422(self, client: Any, db: Any, headers: Any) -> None:
        text = _camt(transfer("1.00", name="Erika", remittance="x")).replace(
            ">1.00<", ">123456789012345678901234.00<"
        )
        response = upload(client, headers, text.encode())
        assert response.status_code == 422
        assert _stored(db) == 0


class TestControlCharacters:
    """Statement texts are the bank's: controls and bidi overrides are dropped, the payment still counts."""

    def test_nul_in_an_mt940_purpose_is_dropped(self, client: Any, db: Any, headers: Any) -> None:
        text = _mt940(transfer("1.00", name="Erika", remittance="Rechnung"))
        response = upload(client, headers, text.replace("Rechnung", "Rech\x00nung").encode())
        assert response.status_code == 200, response.get_json()
        assert "Rechnung" in db.session.scalar(sa.select(BankTransactionRecord.remittance))

    def test_bidi_override_in_a_camt_name_is_dropped(self, client: Any, db: Any, headers: Any) -> None:
        text = _camt(transfer("1.00", name="Erika", remittance="Rechnung")).replace(
            ">Erika<", ">Er\u202eika<"
        )
        response = upload(client, headers, text.encode())
        assert response.status_code == 200, response.get_json()
        assert db.session.scalar(sa.select(BankTransactionRecord.counterparty_name)) == "Erika"


def test_decimal_places_are_checked_too(client: Any, db: Any, headers: Any) -> None:
    text = _mt940(transfer("1.00", name="Erika", remittance="x")).replace("C1,00N", "C1,001N")
    response = upload(client, headers, text.encode())
    assert response.status_code == 422
    assert _stored(db) == 0


class TestMalformedStatements:
    """What the parsers themselves trip over is the file's fault: a 422 that says where, never a 500."""

    def test_an_mt940_field_the_library_cannot_read_is_422(self, client: Any, db: Any, headers: Any) -> None:
        # mt-940 knows ":90:" only as a base for ":90D:"/":90C:" and fails with an AttributeError on it.
        text = _mt940(transfer("1.00", name="Erika", remittance="x")).replace(":62F:", ":90:3EUR1,00\n:62F:")
        response = upload(client, headers, text.encode())
        assert response.status_code == 422, response.get_json()
        assert _stored(db) == 0

    def test_camt_declaring_an_unknown_encoding_is_422(self, client: Any, db: Any, headers: Any) -> None:
        text = _camt(transfer("1.00", name="Erika", remittance="x")).replace(
            'encoding="UTF-8"', 'encoding="UTF-9"', 1
        )
        response = upload(client, headers, text.encode())
        assert response.status_code == 422, response.get_json()
        assert "UTF-9" in response.get_json()["message"]
        assert _stored(db) == 0

    @pytest.mark.parametrize("currency", ["\x00UR", "eu ", "€UR"])
    def test_mt940_currency_that_is_not_three_letters_is_422(
        self, client: Any, db: Any, headers: Any, currency: str
    ) -> None:
        text = _mt940(transfer("1.00", name="Erika", remittance="x"))
        opening = next(line for line in text.splitlines() if line.startswith(":60F:"))
        text = text.replace(opening, opening[:12] + currency + opening[15:])
        response = upload(client, headers, text.encode())
        assert response.status_code == 422, response.get_json()
        assert _stored(db) == 0

"""POST /api/v1/girocodes: the EPC QR code a shop shows in its payment instructions, decoded as a bank app would."""

from __future__ import annotations

import base64
import io

import pytest
import zxingcpp
from PIL import Image

from tests.dunning.factories import BIC, IBAN, set_payment_details


def decoded(png_base64: str) -> list[str]:
    """Read every QR code in the PNG with zxing-cpp, as a banking app's scanner does."""
    image = Image.open(io.BytesIO(base64.b64decode(png_base64)))
    return [result.text for result in zxingcpp.read_barcodes(image)]


@pytest.fixture
def headers(merchant, auth_headers):
    return auth_headers(merchant, "risk:check")


def test_the_image_decodes_to_the_epc_payload_of_the_transfer(client, merchant, headers):
    set_payment_details(merchant)
    response = client.post(
        "/api/v1/girocodes", json={"amount": "89.90", "reference": "Bestellung 1042"}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["payload"].split("\n") == [
        "BCD",
        "002",
        "1",
        "SCT",
        BIC,
        merchant.name,
        IBAN,
        "EUR89.90",
        "",
        "",
        "Bestellung 1042",
    ]
    assert decoded(body["png"]) == [body["payload"]]
    assert body["account"] == {"account_holder": merchant.name, "iban": IBAN, "bic": BIC}


def test_without_the_merchants_account_there_is_no_code(client, headers):
    response = client.post(
        "/api/v1/girocodes", json={"amount": "89.90", "reference": "1042"}, headers=headers
    )
    assert response.status_code == 422
    assert response.get_json()["error"] == "payment_details_missing"


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "0.00", "reference": "1042"},
        {"amount": "12.345", "reference": "1042"},
        {"amount": "89.90", "reference": "a\nb"},
        {"amount": "89.90"},
    ],
)
def test_a_transfer_no_code_can_carry_is_refused(client, merchant, headers, body):
    set_payment_details(merchant)
    response = client.post("/api/v1/girocodes", json=body, headers=headers)
    assert response.status_code == 422, response.get_json()

"""EPC QR codes ("GiroCode", EPC069-12 version 002) that let a buyer pay a receivable by scanning.

The payload is twelve lines at most, separated by LF: service tag ``BCD``, version ``002``, character set
``1`` (UTF-8), identification ``SCT``, BIC (optional since version 002), beneficiary name (<= 70),
IBAN, amount (``EUR`` + amount with a dot, 0.01 to 999999999.99), purpose code (empty), structured
remittance (empty) and unstructured remittance (<= 140): here the payment reference, so the buyer's bank
carries it into the statement. The last optional line (note to the payer) is left out. The code uses error
correction level M and at most QR version 13, as the standard demands.
"""

from __future__ import annotations

import base64
import io
from decimal import Decimal

import segno
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")
MAX_NAME_LENGTH = 70
MAX_REMITTANCE_LENGTH = 140
MAX_PAYLOAD_BYTES = 331
MAX_QR_VERSION = 13
_CENT = Decimal("0.01")


class GiroCodeError(ValueError):
    """Input that cannot go into an EPC QR code."""


def _single_line(value: str, field: str, max_length: int) -> str:
    value = value.strip()
    if not value:
        raise GiroCodeError(f"{field} must not be empty")
    if "\n" in value or "\r" in value:
        raise GiroCodeError(f"{field} must be a single line")
    if len(value) > max_length:
        raise GiroCodeError(f"{field} is longer than {max_length} characters")
    return value


def _amount(amount: Decimal) -> str:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise GiroCodeError("amount must be a finite Decimal")
    if amount != amount.quantize(_CENT):
        raise GiroCodeError("amount must not have more than two decimal places")
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise GiroCodeError(f"amount must be between {MIN_AMOUNT} and {MAX_AMOUNT}")
    return f"EUR{amount.quantize(_CENT)}"


def girocode_payload(*, name: str, iban: str, amount: Decimal, reference: str, bic: str = "") -> str:
    """Build the EPC QR payload for a transfer of ``amount`` euros to ``iban`` quoting ``reference``."""
    try:
        account = IBAN(iban)
        bank = BIC(bic) if bic.strip() else None
    except SchwiftyException as exc:
        raise GiroCodeError(f"invalid bank details: {exc}") from exc
    lines = [
        "BCD",
        "002",
        "1",
        "SCT",
        bank.compact if bank else "",
        _single_line(name, "name", MAX_NAME_LENGTH),
        account.compact,
        _amount(amount),
        "",  # purpose code
        "",  # structured remittance (ISO 11649); only one of the two remittance fields may be filled
        _single_line(reference, "remittance", MAX_REMITTANCE_LENGTH),
    ]
    payload = "\n".join(lines)
    if len(payload.encode()) > MAX_PAYLOAD_BYTES:
        raise GiroCodeError(f"payload is longer than {MAX_PAYLOAD_BYTES} bytes")
    return payload


def girocode(*, name: str, iban: str, amount: Decimal, reference: str, bic: str = "") -> segno.QRCode:
    """Build the EPC QR code (error correction M, never boosted) for a transfer."""
    payload = girocode_payload(name=name, iban=iban, amount=amount, reference=reference, bic=bic)
    code = segno.make_qr(payload, error="m", boost_error=False, encoding="utf-8")
    if code.version > MAX_QR_VERSION:
        raise GiroCodeError("payload needs a QR version above 13")
    return code


def girocode_png(code: segno.QRCode, *, scale: int = 4) -> bytes:
    """Render an EPC QR code as PNG bytes with the standard four-module quiet zone."""
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def girocode_svg(code: segno.QRCode, *, scale: int = 4) -> str:
    """Render an EPC QR code as a standalone SVG document."""
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=scale, border=4, xmldecl=False)
    return buffer.getvalue().decode()


def girocode_document(
    *, name: str, iban: str, amount: Decimal, reference: str, bic: str = ""
) -> dict[str, str]:
    """Return a transfer's EPC payload and its code as a base64 PNG (for a shop's pages and e-mails)."""
    code = girocode(name=name, iban=iban, amount=amount, reference=reference, bic=bic)
    payload = girocode_payload(name=name, iban=iban, amount=amount, reference=reference, bic=bic)
    return {"payload": payload, "png": base64.b64encode(girocode_png(code)).decode("ascii")}

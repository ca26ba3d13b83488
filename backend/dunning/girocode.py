"""EPC QR codes ("GiroCode", EPC069-12 version 002) that let a buyer pay a receivable by scanning.

The payload is twelve lines at most, separated by LF: service tag ``BCD``, version ``002``, character set
``1`` (UTF-8), identification ``SCT``, BIC (optional since version 002), beneficiary name (<= 70),
IBAN, amount (``EUR`` + amount with a dot, 0.01 to 999999999.99), purpose code (empty), structured
remittance (empty) and unstructured remittance (<= 140): here the payment reference, so the buyer's bank
carries it into the statement. The last optional line (note to the payer) is left out. The code uses error
correction level M and at most QR version 13, as the standard demands.

The symbol is encoded by zxing-cpp's writer (zint, in C): the payload's UTF-8 bytes exactly as they are, without an
ECI header (as character set ``1`` promises), the segment modes and the mask chosen by the standard's rules. It
costs a fraction of a millisecond, where a pure-Python encoder's mask search took several; every notice's code
differs (amount and reference), so this is paid per notice. The PNG is written here with zlib (1 bit per pixel).
"""

from __future__ import annotations

import base64
import binascii
import functools
import struct
import zlib
from dataclasses import dataclass
from decimal import Decimal

import zxingcpp
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")
MAX_NAME_LENGTH = 70
MAX_REMITTANCE_LENGTH = 140
MAX_PAYLOAD_BYTES = 331
MAX_QR_VERSION = 13
QUIET_ZONE = 4  # modules of light margin on every side, as ISO/IEC 18004 demands
_CENT = Decimal("0.01")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MODULE_PIXELS = 4  # a module is 4 x 4 pixels: 4 bits of a PNG line, one hex digit
# zxing-cpp's dark (0) and light (255) modules as hex digits of 4 black (0) or 4 white (1) pixels.
_MODULE_DIGITS = bytes.maketrans(b"\x00\xff", b"0f")


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


@functools.lru_cache(maxsize=256)
def _bank_account(iban: str, bic: str) -> tuple[str, str]:
    """Return the IBAN and the BIC (or "") checked and compacted by schwifty.

    Cached: the merchant's account is on every notice, and checking it cost as much as encoding the code.
    """
    try:
        account = IBAN(iban)
        bank = BIC(bic) if bic.strip() else None
    except SchwiftyException as exc:
        raise GiroCodeError(f"invalid bank details: {exc}") from exc
    return account.compact, bank.compact if bank else ""


def girocode_payload(*, name: str, iban: str, amount: Decimal, reference: str, bic: str = "") -> str:
    """Build the EPC QR payload for a transfer of ``amount`` euros to ``iban`` quoting ``reference``."""
    account, bank = _bank_account(iban, bic)
    lines = [
        "BCD",
        "002",
        "1",
        "SCT",
        bank,
        _single_line(name, "name", MAX_NAME_LENGTH),
        account,
        _amount(amount),
        "",  # purpose code
        "",  # structured remittance (ISO 11649); only one of the two remittance fields may be filled
        _single_line(reference, "remittance", MAX_REMITTANCE_LENGTH),
    ]
    payload = "\n".join(lines)
    if len(payload.encode()) > MAX_PAYLOAD_BYTES:
        raise GiroCodeError(f"payload is longer than {MAX_PAYLOAD_BYTES} bytes")
    return payload


@dataclass(frozen=True)
class GiroCode:
    """An encoded EPC QR code: its payload, QR version, error correction level and modules.

    ``rows`` holds one byte string per row of modules without the quiet zone: ``0`` dark, ``255`` light.
    """

    payload: str
    version: int
    error: str
    rows: tuple[bytes, ...]


def girocode(*, name: str, iban: str, amount: Decimal, reference: str, bic: str = "") -> GiroCode:
    """Build the EPC QR code (error correction M, never boosted) for a transfer."""
    payload = girocode_payload(name=name, iban=iban, amount=amount, reference=reference, bic=bic)
    # Bytes, not text: zint would otherwise write non-ASCII text as ISO-8859-1 or Shift JIS. "eci=0": no ECI
    # header (the payload's own character set line says UTF-8), where zint marks bytes as binary (ECI 899).
    symbol = zxingcpp.create_barcode(payload.encode(), zxingcpp.BarcodeFormat.QRCode, ec_level="M", eci="0")
    image = symbol.to_image(scale=1, add_quiet_zones=False)
    size = image.shape[1]
    version = (size - 17) // 4
    if version > MAX_QR_VERSION:
        raise GiroCodeError("payload needs a QR version above 13")
    modules = bytes(image)
    rows = tuple(modules[start : start + size] for start in range(0, len(modules), size))
    return GiroCode(payload=payload, version=version, error=symbol.ec_level, rows=rows)


def girocode_png(code: GiroCode) -> bytes:
    """Render an EPC QR code as a black-and-white PNG (1 bit per pixel) with the four-module quiet zone."""
    modules = len(code.rows[0]) + 2 * QUIET_ZONE
    quiet = b"f" * QUIET_ZONE
    padding = b"f" * (modules % 2)  # each PNG line fills whole bytes: an odd count of modules ends light
    light_line = _png_line(b"f" * (modules + len(padding)))
    lines = [light_line] * (QUIET_ZONE * MODULE_PIXELS)
    for row in code.rows:
        lines += [_png_line(quiet + row.translate(_MODULE_DIGITS) + quiet + padding)] * MODULE_PIXELS
    lines += [light_line] * (QUIET_ZONE * MODULE_PIXELS)
    width = modules * MODULE_PIXELS
    header = struct.pack(">IIBBBBB", width, len(lines), 1, 0, 0, 0, 0)  # 1-bit greyscale, not interlaced
    image = zlib.compress(b"".join(lines))
    return (
        _PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", image) + _png_chunk(b"IEND", b"")
    )


def _png_line(digits: bytes) -> bytes:
    """Return one PNG scanline (filter type 0) of the modules ``digits`` spells in hex, four pixels each."""
    return b"\x00" + binascii.unhexlify(digits)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def girocode_document(
    *, name: str, iban: str, amount: Decimal, reference: str, bic: str = ""
) -> dict[str, str]:
    """Return a transfer's EPC payload and its code as a base64 PNG (for a shop's pages and e-mails)."""
    code = girocode(name=name, iban=iban, amount=amount, reference=reference, bic=bic)
    return {"payload": code.payload, "png": base64.b64encode(girocode_png(code)).decode("ascii")}

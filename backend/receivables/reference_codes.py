"""Payment references ("CB-7K4Q-2"): the receivable's identity on a transfer, made, checked and read back. Pure.

A reference is ``CB-`` + body + ``-`` + check character, written in a 31-symbol alphabet that leaves out
0/O, 1/I/L so nobody misreads it. The body is a keyed permutation of the receivable id: an 8-round Feistel
network (keyed BLAKE2b as round function) over ``[0, 31**k)``, k = 4 body characters for ids below
31**4 = 923,521, then 6, 8, ... So consecutive ids give unrelated references and a buyer cannot read off
how many receivables the merchant has. The key ("salt") is a per-merchant secret of 16-64 bytes, e.g.
``HMAC(installation secret, "payment-reference:" + merchant id)``: the same id and salt always give the
same reference, and references are unique per merchant (a permutation never collides).

The check character makes the weighted sum of all symbol values (weights 1, 2, ...) divisible by 31. As 31 is
prime and the weights differ, it catches every single wrong character and every swap of two characters.

``backend.receivables.payment_references`` stores each receivable's reference; ``backend.payments.references``
finds references in remittance text.
"""

from __future__ import annotations

import functools
import hashlib

PREFIX = "CB"
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BODY_LENGTHS = (4, 6, 8, 10, 12)
_BASE = len(ALPHABET)  # 31, a prime
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_FEISTEL_ROUNDS = 8
_SALT_LENGTHS = range(16, 65)  # BLAKE2b takes keys of up to 64 bytes
_MAX_ID = _BASE ** BODY_LENGTHS[-1] - 1


class InvalidReferenceError(ValueError):
    """A text that is not a well-formed payment reference (or not one of this merchant's)."""


def check_symbol(body: str) -> str:
    """Return the check character that completes a reference's body."""
    total = sum(weight * _VALUE[symbol] for weight, symbol in enumerate(body, start=1))
    check_weight = len(body) + 1
    return ALPHABET[(-total * pow(check_weight, -1, _BASE)) % _BASE]


# A body of 4 characters has 8 * 31**2 round inputs per salt: bulk imports compute each once.
@functools.lru_cache(maxsize=1 << 16)
def _round_value(key: bytes, body_length: int, round_number: int, half: int) -> int:
    digest = hashlib.blake2b(f"{body_length}:{round_number}:{half}".encode(), key=key, digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _check_salt(salt: bytes) -> None:
    if len(salt) not in _SALT_LENGTHS:
        raise ValueError("reference salt must be 16 to 64 bytes")


def _permute(value: int, body_length: int, salt: bytes, *, inverse: bool = False) -> int:
    modulus = _BASE ** (body_length // 2)
    left, right = divmod(value, modulus)
    rounds = range(_FEISTEL_ROUNDS)
    if not inverse:
        for round_number in rounds:
            left, right = right, (left + _round_value(salt, body_length, round_number, right)) % modulus
    else:
        for round_number in reversed(rounds):
            left, right = (right - _round_value(salt, body_length, round_number, left)) % modulus, left
    return left * modulus + right


def _encode(value: int, length: int) -> str:
    symbols = []
    for _ in range(length):
        value, digit = divmod(value, _BASE)
        symbols.append(ALPHABET[digit])
    return "".join(reversed(symbols))


def _decode(symbols: str) -> int:
    value = 0
    for symbol in symbols:
        value = value * _BASE + _VALUE[symbol]
    return value


def make_reference(receivable_id: int, salt: bytes) -> str:
    """Return the payment reference of a receivable id under a merchant's salt."""
    _check_salt(salt)
    if not 0 <= receivable_id <= _MAX_ID:
        raise ValueError(f"receivable id out of range: {receivable_id}")
    body_length = next(length for length in BODY_LENGTHS if receivable_id < _BASE**length)
    body = _encode(_permute(receivable_id, body_length, salt), body_length)
    return f"{PREFIX}-{body}-{check_symbol(body)}"


def _canonical_symbols(text: str) -> str | None:
    compact = "".join(text.upper().split()).replace("-", "")
    if not compact.startswith(PREFIX):
        return None
    symbols = compact[len(PREFIX) :]
    if len(symbols) - 1 not in BODY_LENGTHS or any(symbol not in _VALUE for symbol in symbols):
        return None
    return symbols


def normalise_reference(text: str) -> str | None:
    """Return the canonical form of a text that is exactly one valid reference ("cb 7k4q2"), else None."""
    symbols = _canonical_symbols(text)
    if symbols is None or check_symbol(symbols[:-1]) != symbols[-1]:
        return None
    return f"{PREFIX}-{symbols[:-1]}-{symbols[-1]}"


def is_valid_reference(text: str) -> bool:
    """Tell whether a text is a well-formed reference with a correct check character."""
    return normalise_reference(text) is not None


def reference_id(reference: str, salt: bytes) -> int:
    """Return the receivable id a reference was made from under this salt."""
    _check_salt(salt)
    canonical = normalise_reference(reference)
    if canonical is None:
        raise InvalidReferenceError(f"not a valid payment reference: {reference!r}")
    body = canonical.split("-")[1]
    receivable_id = _permute(_decode(body), len(body), salt, inverse=True)
    shorter = [length for length in BODY_LENGTHS if length < len(body)]
    if shorter and receivable_id < _BASE ** shorter[-1]:
        # Such an id is always written with a shorter body: this reference was never issued.
        raise InvalidReferenceError(f"not a reference of this merchant: {reference!r}")
    return receivable_id

"""Payment references ("CB-7K4Q-2") and the references and invoice/order numbers found in remittance text.

A reference is ``CB-`` + body + ``-`` + check character, written in a 31-symbol alphabet that leaves out
0/O, 1/I/L so nobody misreads it. The body is a keyed permutation of the receivable id: an 8-round Feistel
network (keyed BLAKE2b as round function) over ``[0, 31**k)``, k = 4 body characters for ids below
31**4 = 923,521, then 6, 8, ... So consecutive ids give unrelated references and a buyer cannot read off
how many receivables the merchant has. The key ("salt") is a per-merchant secret of 16-64 bytes, e.g.
``HMAC(installation secret, "payment-reference:" + merchant id)``: the same id and salt always give the
same reference, and references are unique per merchant (a permutation never collides).

The check character makes the weighted sum of all symbol values (weights 1, 2, ...) divisible by 31. As 31 is
prime and the weights differ, it catches every single wrong character and every swap of two characters.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

PREFIX = "CB"
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_BASE = len(ALPHABET)  # 31, a prime
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_BODY_LENGTHS = (4, 6, 8, 10, 12)
_FEISTEL_ROUNDS = 8
_SALT_LENGTHS = range(16, 65)  # BLAKE2b takes keys of up to 64 bytes
_MAX_ID = _BASE ** _BODY_LENGTHS[-1] - 1

_PREFIX_PATTERN = re.compile(r"C\s*B")
_LEADING_SEPARATORS = frozenset(" \t\r\n-_.:/#")
_INNER_SEPARATORS = frozenset(" \t\r\n-")  # banks wrap lines anywhere and people type dashes anywhere

_NUMBER_TOKEN = re.compile(r"[A-Z0-9]+(?:[-/.][A-Z0-9]+)*")
_DIGIT_RUN = re.compile(r"\d+")
_TRAILING_DIGITS = re.compile(r"\d+$")
_LEADING_DIGITS = re.compile(r"\d+")
_NON_ALNUM = re.compile(r"[^A-Z0-9]")


class InvalidReferenceError(ValueError):
    """A text that is not a well-formed payment reference (or not one of this merchant's)."""


def _check_symbol(body: str) -> str:
    total = sum(weight * _VALUE[symbol] for weight, symbol in enumerate(body, start=1))
    check_weight = len(body) + 1
    return ALPHABET[(-total * pow(check_weight, -1, _BASE)) % _BASE]


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
    body_length = next(length for length in _BODY_LENGTHS if receivable_id < _BASE**length)
    body = _encode(_permute(receivable_id, body_length, salt), body_length)
    return f"{PREFIX}-{body}-{_check_symbol(body)}"


def _canonical_symbols(text: str) -> str | None:
    compact = "".join(text.upper().split()).replace("-", "")
    if not compact.startswith(PREFIX):
        return None
    symbols = compact[len(PREFIX) :]
    if len(symbols) - 1 not in _BODY_LENGTHS or any(symbol not in _VALUE for symbol in symbols):
        return None
    return symbols


def normalise_reference(text: str) -> str | None:
    """Return the canonical form of a text that is exactly one valid reference ("cb 7k4q2"), else None."""
    symbols = _canonical_symbols(text)
    if symbols is None or _check_symbol(symbols[:-1]) != symbols[-1]:
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
    shorter = [length for length in _BODY_LENGTHS if length < len(body)]
    if shorter and receivable_id < _BASE ** shorter[-1]:
        # Such an id is always written with a shorter body: this reference was never issued.
        raise InvalidReferenceError(f"not a reference of this merchant: {reference!r}")
    return receivable_id


def _symbols_after(text: str, start: int) -> list[tuple[str, int]]:
    """Collect reference symbols from ``start`` with the offset after each, skipping separators."""
    position = start
    while position < len(text) and text[position] in _LEADING_SEPARATORS:
        position += 1
    symbols: list[tuple[str, int]] = []
    limit = _BODY_LENGTHS[-1] + 1
    while position < len(text) and len(symbols) < limit:
        char = text[position]
        if char in _VALUE:
            symbols.append((char, position + 1))
        elif char not in _INNER_SEPARATORS:
            break
        position += 1
    return symbols


@dataclass(frozen=True, slots=True)
class ReferenceMention:
    """One place in a text that reads as a reference: its readings and where each one ends."""

    start: int
    readings: tuple[str, ...]
    ends: tuple[int, ...]
    word_start: bool  # False when glued to a word before it, as when a bank drops the space at a line wrap


def find_references(text: str) -> list[ReferenceMention]:
    """Find the references mentioned in free text.

    Tolerates case, missing or extra dashes, spaces and line breaks anywhere (banks wrap remittance lines at
    27 or 35 characters). Only readings whose check character is right are kept; a mention can have several
    readings because its length is unknown ("CB-7K4Q-2 ABC" reads as CB-7K4Q-2 and, with a 1-in-31 chance,
    as a six-character reference too). Readings are canonical ("CB-7K4Q-2"), shortest first.
    """
    upper = text.upper()
    mentions: list[ReferenceMention] = []
    for prefix in _PREFIX_PATTERN.finditer(upper):
        symbols = _symbols_after(upper, prefix.end())
        chars = "".join(char for char, _ in symbols)
        lengths = [
            length
            for length in _BODY_LENGTHS
            if len(chars) > length and _check_symbol(chars[:length]) == chars[length]
        ]
        if lengths:
            mentions.append(
                ReferenceMention(
                    start=prefix.start(),
                    readings=tuple(f"{PREFIX}-{chars[:length]}-{chars[length]}" for length in lengths),
                    ends=tuple(symbols[length][1] for length in lengths),
                    word_start=prefix.start() == 0 or not upper[prefix.start() - 1].isalpha(),
                )
            )
    return mentions


def _number_keys(number: str, min_length: int) -> set[str]:
    compact = _NON_ALNUM.sub("", number.upper())
    keys = set()
    if len(compact) >= min_length:
        keys.add(compact.lstrip("0") if compact.isdigit() else compact)
    digits = "".join(_DIGIT_RUN.findall(compact)).lstrip("0")
    if len(digits) >= min_length:
        # "RE-10023" is also written "Rechnung 10023": the digits alone identify it.
        keys.add(digits)
    return keys


def _token_variants(token: str) -> set[str]:
    compact = _NON_ALNUM.sub("", token)
    runs = _DIGIT_RUN.findall(compact)
    variants = {compact, *(run.lstrip("0") for run in runs)}
    if runs:
        variants.add("".join(runs).lstrip("0"))
    return variants


class NumberFinder:
    """Find which of a set of invoice or order numbers a text mentions.

    A number is found as a whole word or a whole digit run: "Rechnung 10023", "RE-10023", "RE10023" and
    "Rg.Nr.: 10023" find 10023, "100234" does not. Two neighbouring words are also tried joined, because a
    bank may wrap a line inside a number ("Rechnung 100" / "23"). Numbers shorter than ``min_length``
    characters are ignored: they would be found in every date and postcode.
    """

    def __init__(self, numbers: Iterable[str], *, min_length: int = 4) -> None:
        self._by_key: dict[str, set[str]] = {}
        for number in numbers:
            for key in _number_keys(number, min_length):
                self._by_key.setdefault(key, set()).add(number)

    def find(self, text: str) -> set[str]:
        """Return the known numbers the text mentions."""
        tokens = _NUMBER_TOKEN.findall(text.upper())
        variants: set[str] = set()
        for index, token in enumerate(tokens):
            variants |= _token_variants(token)
            if index + 1 < len(tokens):
                following = tokens[index + 1]
                variants.add(_NON_ALNUM.sub("", token + following))
                tail = _TRAILING_DIGITS.search(token)
                head = _LEADING_DIGITS.match(following)
                if tail and head:
                    variants.add((tail.group() + head.group()).lstrip("0"))
        found: set[str] = set()
        for variant in variants:
            found |= self._by_key.get(variant, set())
        return found


def find_numbers(text: str, numbers: Iterable[str]) -> set[str]:
    """Return which of the given invoice or order numbers the text mentions (see ``NumberFinder``)."""
    return NumberFinder(numbers).find(text)

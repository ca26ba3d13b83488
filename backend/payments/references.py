"""The payment references and the invoice/order numbers found in remittance text.

Which texts are references, and what they mean, is the receivable's own business
(``backend.receivables.reference_codes``); here they are found in what banks and buyers write around them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from backend.receivables.reference_codes import ALPHABET, BODY_LENGTHS, PREFIX, check_symbol

_REFERENCE_SYMBOLS = frozenset(ALPHABET)
_PREFIX_PATTERN = re.compile(r"C\s*B")
_LEADING_SEPARATORS = frozenset(" \t\r\n-_.:/#")
_INNER_SEPARATORS = frozenset(" \t\r\n-")  # banks wrap lines anywhere and people type dashes anywhere

_NUMBER_TOKEN = re.compile(r"[A-Z0-9]+(?:[-/.][A-Z0-9]+)*")
_DIGIT_RUN = re.compile(r"\d+")
_DIGITS = "0123456789"  # tokens are ASCII
_NON_ALNUM = re.compile(r"[^A-Z0-9]")


def _symbols_after(text: str, start: int) -> list[tuple[str, int]]:
    """Collect reference symbols from ``start`` with the offset after each, skipping separators."""
    position = start
    while position < len(text) and text[position] in _LEADING_SEPARATORS:
        position += 1
    symbols: list[tuple[str, int]] = []
    limit = BODY_LENGTHS[-1] + 1
    while position < len(text) and len(symbols) < limit:
        char = text[position]
        if char in _REFERENCE_SYMBOLS:
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
            for length in BODY_LENGTHS
            if len(chars) > length and check_symbol(chars[:length]) == chars[length]
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
        # Nearly every key names one number: kept as that string, a tuple only for several (a hundred thousand
        # sets cost 60 MiB).
        self._by_key: dict[str, str | tuple[str, ...]] = {}
        for number in numbers:
            for found in _number_keys(number, min_length):
                key = number if found == number else found  # the number's own string where it is its key
                known = self._by_key.get(key)
                if known is None:
                    self._by_key[key] = number
                elif isinstance(known, str):
                    if known != number:
                        self._by_key[key] = (known, number)
                elif number not in known:
                    self._by_key[key] = (*known, number)

    def find(self, text: str) -> set[str]:
        """Return the known numbers the text mentions."""
        variants: set[str] = set()
        before = before_compact = ""  # the token before, as written and without separators
        for token in _NUMBER_TOKEN.findall(text.upper()):
            compact = token if token.isalnum() else _NON_ALNUM.sub("", token)
            # A word of letters or of digits alone is its own variant (the digits also without leading zeros);
            # only a mixed one has digit runs to take apart.
            if compact.isdigit():
                variants.add(compact)
                variants.add(compact.lstrip("0"))
            elif compact.isalpha():
                variants.add(compact)
            else:
                variants |= _token_variants(token)
            if before:
                variants.add(before_compact + compact)
                tail = before[len(before.rstrip(_DIGITS)) :]
                head = token[: len(token) - len(token.lstrip(_DIGITS))]
                if tail and head:
                    variants.add((tail + head).lstrip("0"))
            before, before_compact = token, compact
        found: set[str] = set()
        for variant in variants:
            numbers = self._by_key.get(variant, ())
            if isinstance(numbers, str):
                found.add(numbers)
            else:
                found.update(numbers)
        return found


def find_numbers(text: str, numbers: Iterable[str]) -> set[str]:
    """Return which of the given invoice or order numbers the text mentions (see ``NumberFinder``)."""
    return NumberFinder(numbers).find(text)

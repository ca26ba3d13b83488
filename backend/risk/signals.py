"""Risk signals: small offline checks, each yielding reasons (weighted, explainable) and input warnings.

Every signal is a function ``signal(facts, context, policy) -> list[Finding]``; ``SIGNALS`` lists them in
the order the engine runs them. A signal yields at most one ``Reason`` per reason code (so a code is counted
once) and any number of ``InputWarning``s, each pointing at the request field it is about with a JSON
pointer. Nothing here does I/O per call: data tables load once, on first use.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cache, cached_property, lru_cache, wraps
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from disposable_email_domains import blocklist as _DISPOSABLE_DOMAINS
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneNumberType
from rapidfuzz import fuzz, process

from backend.merchants.policy import VELOCITY_KINDS, ReasonCode, RiskPolicy
from backend.risk.identity import (
    PhoneFacts,
    fold,
    fold_spellings,
    normalise_address,
    normalise_name,
    normalise_postal_code,
    phone_facts,
)
from backend.risk.inputs import Address, BuyerContext, CheckInput

if TYPE_CHECKING:
    from connectors.bureaus.base import BureauResult

DATA_DIR = Path(__file__).resolve().parent / "data"


class WarningCode(StrEnum):
    """Machine codes of warnings about individual input fields."""

    FIELD_MISSING = "FIELD_MISSING"
    CURRENCY_NOT_POLICY_CURRENCY = "CURRENCY_NOT_POLICY_CURRENCY"
    POSTAL_CODE_FORMAT_INVALID = "POSTAL_CODE_FORMAT_INVALID"
    POSTAL_CODE_NOT_FOUND = "POSTAL_CODE_NOT_FOUND"
    CITY_NOT_AT_POSTAL_CODE = "CITY_NOT_AT_POSTAL_CODE"
    CITY_SPELLING_VARIANT = "CITY_SPELLING_VARIANT"
    EMAIL_SYNTAX_INVALID = "EMAIL_SYNTAX_INVALID"
    PHONE_NUMBER_INVALID = "PHONE_NUMBER_INVALID"


@dataclass(frozen=True, slots=True)
class Reason:
    """A signal that fired: its code, the weight it adds to the score and the values that explain it."""

    code: str
    weight: int
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InputWarning:
    """Something wrong with one input field, which ``field`` names as a JSON pointer."""

    code: str
    field: str
    params: Mapping[str, Any] = field(default_factory=dict)


Finding = Reason | InputWarning
Signal = Callable[["Facts", BuyerContext, RiskPolicy], list[Finding]]


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """An e-mail address split for the signals; ``error`` says why it is not valid, "" when it is."""

    local_part: str
    domain: str
    error: str


class Facts:
    """Derived views of one check input, each computed at most once and shared by the signals."""

    def __init__(self, check: CheckInput) -> None:
        self.check = check

    @cached_property
    def addresses(self) -> tuple[tuple[str, Address], ...]:
        """Return the addresses by role ("billing", "shipping"), shipping only when sent."""
        if self.check.shipping is None:
            return (("billing", self.check.billing),)
        return (("billing", self.check.billing), ("shipping", self.check.shipping))

    @cached_property
    def billing_name(self) -> str:
        """Return the normalised billing name, falling back to the buyer's name."""
        billing = self.check.billing
        buyer = self.check.buyer
        return normalise_name(billing.first_name or buyer.first_name, billing.last_name or buyer.last_name)

    @cached_property
    def person_names(self) -> tuple[str, ...]:
        """Return the distinct folded names on the order (buyer, billing, shipping)."""
        check = self.check
        people = [check.buyer, check.billing, *([check.shipping] if check.shipping else [])]
        names = (fold(f"{person.first_name} {person.last_name}") for person in people)
        return tuple(dict.fromkeys(name for name in names if name))

    @cached_property
    def email(self) -> ParsedEmail | None:
        """Return the parsed e-mail address, None when none was sent."""
        return parse_email(self.check.buyer.email) if self.check.buyer.email else None

    @cached_property
    def phone(self) -> PhoneFacts | None:
        """Return what the phone number is, national numbers read in the billing country; None when none."""
        raw = self.check.buyer.phone
        return phone_facts(raw, self.check.billing.country) if raw else None


# Buyers repeat checks (cart reloads, retries); parsing is the costliest step, so results are memoised.
_PARSE_CACHE_SIZE = 8192
# Domains whose check is remembered: most buyers share a few dozen (gmail.com, web.de); made-up ones only push
# those out, which costs CPU, never a wrong answer.
_DOMAIN_CACHE_SIZE = 4096


def _remember_domain_checks() -> None:
    """Make ``validate_email`` check each domain once, process-wide: its domain check's answers kept by domain.

    That check depends only on its arguments (and ``SPECIAL_USE_DOMAIN_NAMES``, which must not change after
    import); a refused domain raises again each time (``lru_cache`` keeps no exceptions); each caller gets a copy
    of the answer, so no caller can change another's.
    """
    module = sys.modules[validate_email.__module__]  # the module, shadowed by the function in the package
    check = module.validate_email_domain_name
    if hasattr(check, "remembered"):  # once per process
        return
    remembered = lru_cache(maxsize=_DOMAIN_CACHE_SIZE)(check)

    @wraps(check)
    def check_once(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return dict(remembered(*args, **kwargs))

    check_once.remembered = remembered  # type: ignore[attr-defined]
    module.validate_email_domain_name = check_once


_remember_domain_checks()


@lru_cache(maxsize=_PARSE_CACHE_SIZE)
def parse_email(raw: str) -> ParsedEmail:
    """Validate an e-mail address's syntax (no DNS) and split it."""
    try:
        # check_deliverability=False: the default DNS lookup can block the checkout for seconds.
        validated = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as error:
        local, _, domain = raw.lower().rpartition("@")
        return ParsedEmail(local, domain, str(error))
    return ParsedEmail(validated.local_part.lower(), validated.ascii_domain.lower(), "")


def _reason(policy: RiskPolicy, code: ReasonCode, **params: Any) -> Reason:
    return Reason(code, policy.weight(code), params)


def _money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


# --- amounts and history ---------------------------------------------------------------------------


def amount_limits(facts: Facts, context: BuyerContext, policy: RiskPolicy) -> list[Finding]:
    """Flag orders above the per-order, first-order and open-exposure limits."""
    check = facts.check
    findings: list[Finding] = []
    if check.currency != policy.currency:
        findings.append(
            InputWarning(
                WarningCode.CURRENCY_NOT_POLICY_CURRENCY,
                "/currency",
                {"currency": check.currency, "policy_currency": policy.currency},
            )
        )
    if check.amount > policy.max_order_amount:
        findings.append(
            _reason(
                policy,
                ReasonCode.ORDER_AMOUNT_LIMIT,
                amount=_money(check.amount),
                limit=_money(policy.max_order_amount),
            )
        )
    if context.previous_orders == 0 and check.amount > policy.max_first_order_amount:
        findings.append(
            _reason(
                policy,
                ReasonCode.FIRST_ORDER_AMOUNT_LIMIT,
                amount=_money(check.amount),
                limit=_money(policy.max_first_order_amount),
            )
        )
    exposure = context.open_exposure + check.amount
    if exposure > policy.max_open_exposure:
        findings.append(
            _reason(
                policy,
                ReasonCode.OPEN_EXPOSURE_LIMIT,
                exposure=_money(exposure),
                limit=_money(policy.max_open_exposure),
            )
        )
    return findings


def first_order(facts: Facts, context: BuyerContext, policy: RiskPolicy) -> list[Finding]:
    """Flag a buyer identity that has never ordered at this merchant."""
    if context.previous_orders:
        return []
    return [_reason(policy, ReasonCode.FIRST_ORDER)]


def history(facts: Facts, context: BuyerContext, policy: RiskPolicy) -> list[Finding]:
    """Flag a buyer identity with overdue, dunned or handed-over invoices at this merchant."""
    counts = (
        (ReasonCode.HISTORY_UNPAID, context.unpaid_orders),
        (ReasonCode.HISTORY_DUNNED, context.dunned_orders),
        (ReasonCode.HISTORY_HANDED_OVER, context.handed_over_orders),
    )
    return [_reason(policy, code, count=count) for code, count in counts if count > 0]


def payment_history(facts: Facts, context: BuyerContext, policy: RiskPolicy) -> list[Finding]:
    """Flag a buyer identity that never paid here yet already has the policy's number of open invoices."""
    limit = policy.max_open_invoices_without_payment
    if context.paid_orders or context.open_orders < limit:
        return []
    return [_reason(policy, ReasonCode.OPEN_INVOICES_WITHOUT_PAYMENT, count=context.open_orders, limit=limit)]


def velocity(facts: Facts, context: BuyerContext, policy: RiskPolicy) -> list[Finding]:
    """Flag identity keys with many recent orders, or used with many other names or addresses."""
    exceeded: dict[ReasonCode, dict[str, Any]] = {}
    for kind in VELOCITY_KINDS:
        counts = context.velocity.get(kind)
        limits = policy.velocity.get(kind)
        if counts is None or limits is None:
            continue
        checks = (
            (ReasonCode.VELOCITY_ORDERS, "24h", counts.orders_24h, limits.orders_24h),
            (ReasonCode.VELOCITY_ORDERS, "30d", counts.orders_30d, limits.orders_30d),
            (ReasonCode.VELOCITY_NAMES, "30d", counts.other_names_30d, limits.other_names_30d),
            (ReasonCode.VELOCITY_ADDRESSES, "30d", counts.other_addresses_30d, limits.other_addresses_30d),
            (ReasonCode.VELOCITY_INVOICE_ORDERS, "24h", counts.invoice_orders_24h, limits.invoice_orders_24h),
        )
        for code, window, count, limit in checks:
            if limit and count >= limit:
                entry = exceeded.setdefault(code, {"identities": [], "window": window, "count": count})
                if kind not in entry["identities"]:
                    entry["identities"].append(kind)
                if count > entry["count"]:
                    entry.update(window=window, count=count)
    return [_reason(policy, code, **params) for code, params in exceeded.items()]


# --- addresses -------------------------------------------------------------------------------------


def shipping_differs(facts: Facts, context: BuyerContext, policy: RiskPolicy) -> list[Finding]:
    """Flag a shipping name or address that differs from the billing one (a name counts more)."""
    shipping = facts.check.shipping
    if shipping is None:
        return []
    findings: list[Finding] = []
    shipping_name = normalise_name(shipping.first_name, shipping.last_name)
    if shipping_name and facts.billing_name and shipping_name != facts.billing_name:
        findings.append(_reason(policy, ReasonCode.SHIPPING_NAME_DIFFERS))
    shipping_address = normalise_address(shipping)
    if shipping_address and shipping_address != normalise_address(facts.check.billing):
        findings.append(_reason(policy, ReasonCode.SHIPPING_ADDRESS_DIFFERS))
    return findings


# Run on folded text (lower-case ASCII words). DHL writes "Packstation 123" in the street and the
# PostNummer in a name or company line; PO boxes appear as "Postfach 10 01 23" or "P.O. Box".
_PICKUP_POINT = re.compile(
    r"\b(?:"
    r"(?P<packstation>pack ?stat(?:ion)?|paket ?station|post ?nummer|packstation\d+)"
    r"|(?P<post_office>post ?filiale|postfiliale\d+|filiale \d+)"
    r"|(?P<parcel_shop>paket ?shop|parcel ?shop|paket ?box|paket ?kasten|pick ?up ?(?:point|station)"
    r"|hermes ?shop|dpd ?pickup)"
    r"|(?P<po_box>postfach|p ?o ?box|post ?box|postlagernd)"
    r")\b"
)


def pickup_point_kind(address: Address) -> str:
    """Return "packstation", "post_office", "parcel_shop" or "po_box" for such an address, else ""."""
    match = _PICKUP_POINT.search(fold(f"{address.street} {address.house_number} {address.company}"))
    return (match.lastgroup or "") if match else ""


def pickup_points(facts: Facts, context: BuyerContext, policy: RiskPolicy) -> list[Finding]:
    """Flag a Packstation, post office, parcel shop or PO box, as billing or shipping address."""
    findings: list[Finding] = []
    for role, address in facts.addresses:
        kind = pickup_point_kind(address)
        if kind:
            code = ReasonCode.PACKSTATION_BILLING if role == "billing" else ReasonCode.PACKSTATION_SHIPPING
            findings.append(_reason(policy, code, kind=kind))
    return findings


@cache
def postal_code_formats() -> Mapping[str, re.Pattern[str]]:
    """Return the postal code pattern per country (loaded once)."""
    with (DATA_DIR / "postal_code_formats.json").open(encoding="utf-8") as source:
        return MappingProxyType({country: re.compile(regex) for country, regex in json.load(source).items()})


# Place-name parts that say which river or region, cut off to get the name people write.
_PLACE_QUALIFIER = re.compile(
    r"\s*(?:[(,/]|\s(?:am|an der|an|a\.|a\.d\.|a\.\s?d\.|im|in der|in|i\.|ob der|vor der|v\.\s?d\.|bei|b\.)\s)",
    re.IGNORECASE,
)
# Words that alone name no place: a buyer's "Bad" must not match "Bad Homburg".
_GENERIC_PLACE_WORDS = frozenset({"bad", "sankt", "gross", "klein", "neu", "alt", "ober", "unter", "nieder"})
_SANKT = re.compile(r"^st ")
_CITY_VARIANT_MIN_SIMILARITY = 88


def place_key(name: str) -> str:
    """Fold a place name for matching ("St. Ingbert" -> "sankt ingbert")."""
    return _SANKT.sub("sankt ", fold(name))


@dataclass(frozen=True, slots=True)
class PostalPlaces:
    """The places one German postal code serves, as GeoNames lists them."""

    names: tuple[str, ...]
    # Folded full names and their cores ("frankfurt am main", "frankfurt").
    full_keys: frozenset[str]
    # full_keys plus the leading and trailing word runs of district names ("dresden" of "dresden klotzsche").
    partial_keys: frozenset[str]

    def matches(self, city: str) -> bool:
        """Tell whether a city as a buyer wrote it names one of these places."""
        key = place_key(city)
        if key in self.partial_keys:
            return True
        words = key.split()
        return any(" ".join(words[:end]) in self.full_keys for end in range(1, len(words)))

    def resembles(self, city: str) -> bool:
        """Tell whether a city is a likely misspelling of one of these places."""
        return (
            process.extractOne(
                place_key(city), self.full_keys, scorer=fuzz.WRatio, score_cutoff=_CITY_VARIANT_MIN_SIMILARITY
            )
            is not None
        )


def _postal_places(names: tuple[str, ...]) -> PostalPlaces:
    full_keys = {place_key(name) for name in names} | {
        place_key(_PLACE_QUALIFIER.split(name)[0]) for name in names
    }
    partial_keys = set(full_keys)
    for key in full_keys:
        words = key.split()
        for end in range(1, len(words)):
            partial_keys.update((" ".join(words[:end]), " ".join(words[end:])))
    partial_keys -= _GENERIC_PLACE_WORDS
    return PostalPlaces(names, frozenset(full_keys), frozenset(partial_keys))


@cache
def german_postal_places() -> Mapping[str, PostalPlaces]:
    """Return the places per German postal code (GeoNames, CC BY 4.0; loaded once)."""
    places: dict[str, PostalPlaces] = {}
    with (DATA_DIR / "de_postal_places.tsv").open(encoding="utf-8") as source:
        for line in source:
            postal_code, _, names = line.rstrip("\n").partition("\t")
            places[postal_code] = _postal_places(tuple(names.split("|")))
    return MappingProxyType(places)


def postal_codes(facts: Facts, context: BuyerContext, policy: RiskPolicy) -> list[Finding]:
    """Check postal code formats and, for Germany, that postal code and city belong together."""
    findings: list[Finding] = []
    invalid: list[str] = []
    mismatched: list[str] = []
    for role, address in facts.addresses:
        pointer = f"/{role}_address"
        postal_code = address.postal_code.strip().upper()
        if not postal_code:
            findings.append(InputWarning(WarningCode.FIELD_MISSING, f"{pointer}/postal_code"))
            continue
        pattern = postal_code_formats().get(address.country)
        if pattern is not None and not pattern.fullmatch(postal_code):
            invalid.append(role)
            findings.append(
                InputWarning(
                    WarningCode.POSTAL_CODE_FORMAT_INVALID,
                    f"{pointer}/postal_code",
                    {"postal_code": address.postal_code, "country": address.country},
                )
            )
            continue
        if address.country != "DE" or not address.city:
            continue
        places = german_postal_places().get(normalise_postal_code(postal_code))
        if places is None:
            findings.append(
                InputWarning(
                    WarningCode.POSTAL_CODE_NOT_FOUND, f"{pointer}/postal_code", {"postal_code": postal_code}
                )
            )
        elif places.matches(address.city):
            continue
        elif places.resembles(address.city):
            findings.append(
                InputWarning(
                    WarningCode.CITY_SPELLING_VARIANT,
                    f"{pointer}/city",
                    {"city": address.city, "expected": places.names[0]},
                )
            )
        else:
            mismatched.append(role)
            findings.append(
                InputWarning(
                    WarningCode.CITY_NOT_AT_POSTAL_CODE,
                    f"{pointer}/postal_code",
                    {"postal_code": postal_code, "city": address.city, "expected": places.names[0]},
                )
            )
    if invalid:
        findings.append(_reason(policy, ReasonCode.POSTAL_CODE_INVALID, addresses=invalid))
    if mismatched:
        findings.append(_reason(policy, ReasonCode.POSTAL_CODE_CITY_MISMATCH, addresses=mismatched))
    return findings


# --- e-mail ----------------------------------------------------------------------------------------


def email_syntax(facts: Facts, context: BuyerContext, policy: RiskPolicy) -> list[Finding]:
    """Flag a missing or syntactically invalid e-mail address (no DNS lookup)."""
    email = facts.email
    if email is None:
        return [InputWarning(WarningCode.FIELD_MISSING, "/buyer/email")]
    if not email.error:
        return []
    return [
        _reason(policy, ReasonCode.EMAIL_INVALID),
        InputWarning(WarningCode.EMAIL_SYNTAX_INVALID, "/buyer/email", {"error": email.error}),
    ]


def is_disposable_domain(domain: str) -> bool:
    """Tell whether a domain or one of its parent domains is a known disposable-mail domain."""
    labels = domain.lower().split(".")
    return any(".".join(labels[start:]) in _DISPOSABLE_DOMAINS for start in range(len(labels) - 1))


def disposable_email(facts: Facts, context: BuyerContext, policy: RiskPolicy) -> list[Finding]:
    """Flag an e-mail address at a disposable-mail domain."""
    email = facts.email
    if email is None or not email.domain or not is_disposable_domain(email.domain):
        return []
    return [_reason(policy, ReasonCode.EMAIL_DISPOSABLE, domain=email.domain)]


_MIN_NAME_PART = 3
_SHORT_NAME_PART = 2
_LOCAL_PART_WORDS = re.compile(r"[^a-z]+")


def _name_in_local_part(part: str, folded_local: str, raw_local: str) -> bool:
    """Tell whether a name part is written in an e-mail local part.

    Parts of three letters and more count anywhere in it; two-letter names (Ho, Le, Vu, Ly are common
    Vietnamese surnames) count as a word of their own or after an initial ("t.ho", "tho85").
    """
    if len(part) >= _MIN_NAME_PART:
        return part in folded_local
    words = [word for word in _LOCAL_PART_WORDS.split(fold(raw_local).replace(" ", "-")) if word]
    return any(word == part or word[1:] == part for word in words)


def email_name_mismatch(facts: Facts, context: BuyerContext, policy: RiskPolicy) -> list[Finding]:
    """Flag (weakly) an e-mail address whose local part holds neither the first nor the last name."""
    email = facts.email
    if email is None or email.error or not facts.billing_name:
        return []
    local = fold(email.local_part).replace(" ", "")
    billing, buyer = facts.check.billing, facts.check.buyer
    # Every ASCII spelling counts: "ozturk" is as much Öztürk's address as "oeztuerk".
    spellings = fold_spellings(
        f"{billing.first_name or buyer.first_name} {billing.last_name or buyer.last_name}"
    )
    name_parts = {
        part for spelling in spellings for part in spelling.split() if len(part) >= _SHORT_NAME_PART
    }
    if not name_parts or any(_name_in_local_part(part, local, email.local_part) for part in name_parts):
        return []
    return [_reason(policy, ReasonCode.EMAIL_NAME_MISMATCH)]


# --- phone -----------------------------------------------------------------------------------------

_PREMIUM_TYPES = frozenset({PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST})


def phone(facts: Facts, context: BuyerContext, policy: RiskPolicy) -> list[Finding]:
    """Flag an invalid phone number, one from another country than billing, premium-rate and VoIP numbers."""
    number = facts.phone
    if number is None:
        return []
    if not number.valid:
        return [
            _reason(policy, ReasonCode.PHONE_INVALID),
            InputWarning(
                WarningCode.PHONE_NUMBER_INVALID, "/buyer/phone", {"phone": facts.check.buyer.phone}
            ),
        ]
    findings: list[Finding] = []
    billing_country = facts.check.billing.country
    if billing_country and number.country != billing_country:
        findings.append(
            _reason(
                policy,
                ReasonCode.PHONE_COUNTRY_MISMATCH,
                phone_country=number.country,
                billing_country=billing_country,
            )
        )
    if number.number_type in _PREMIUM_TYPES:
        findings.append(_reason(policy, ReasonCode.PHONE_PREMIUM_RATE))
    elif number.number_type == PhoneNumberType.VOIP:
        findings.append(_reason(policy, ReasonCode.PHONE_VOIP))
    return findings


# --- names -----------------------------------------------------------------------------------------

_TEST_FULL_NAMES = frozenset(
    {
        "max mustermann",
        "erika mustermann",
        "maxi mustermann",
        "hans muster",
        "john doe",
        "jane doe",
        "foo bar",
    }
)
_TEST_NAME_WORD = re.compile(
    r"\b(?:test\d*|tester|testkunde|testperson|testuser|testbestellung|dummy|fake|asdf|qwertz?|xxx+)\b"
)
_KEYBOARD_ROWS = ("qwertzuiop", "qwertyuiop", "asdfghjkl", "yxcvbnm", "zxcvbnm", "1234567890")
# A run from a row's start ("asdf") is mashing already at 4 keys; elsewhere ("wert" is a surname) from 5.
_KEYBOARD_RUN_FROM_ROW_START = 4
_KEYBOARD_RUN_ANYWHERE = 5
_SAME_LETTER_RUN = 3


def _keyboard_runs() -> frozenset[str]:
    runs: set[str] = set()
    for row in _KEYBOARD_ROWS:
        for keys in (row, row[::-1]):
            runs.update(keys[:end] for end in range(_KEYBOARD_RUN_FROM_ROW_START, len(keys) + 1))
            runs.update(
                keys[start:end]
                for start in range(len(keys))
                for end in range(start + _KEYBOARD_RUN_ANYWHERE, len(keys) + 1)
            )
    return frozenset(runs)


_KEYBOARD_RUNS = _keyboard_runs()


def _is_keyboard_mash(word: str) -> bool:
    return word in _KEYBOARD_RUNS or (len(word) >= _SAME_LETTER_RUN and len(set(word)) == 1)


def looks_like_test_name(name: str) -> bool:
    """Tell whether a folded name is a test or placeholder name ("Test", "Max Mustermann", "asdf")."""
    if name in _TEST_FULL_NAMES or _TEST_NAME_WORD.search(name):
        return True
    return any(_is_keyboard_mash(word) for word in name.split())


def placeholder_names(facts: Facts, context: BuyerContext, policy: RiskPolicy) -> list[Finding]:
    """Flag test and placeholder names anywhere on the order."""
    names = [name for name in facts.person_names if looks_like_test_name(name)]
    if not names:
        return []
    return [_reason(policy, ReasonCode.TEST_ORDER_NAME)]


_LEGAL_FORM = re.compile(r"\b(?:gmbh|mbh|ag|ug|kg|kgaa|ohg|gbr|e k|e kfr|e v|ltd|inc|llc|plc|sarl|bv)\b")


def company_in_consumer_order(facts: Facts, context: BuyerContext, policy: RiskPolicy) -> list[Finding]:
    """Flag a company's legal form in a person's name field while no company was given."""
    check = facts.check
    if check.buyer.company or check.billing.company:
        return []
    if not any(_LEGAL_FORM.search(name) for name in facts.person_names):
        return []
    return [_reason(policy, ReasonCode.COMPANY_IN_CONSUMER_ORDER)]


# --- credit bureau ---------------------------------------------------------------------------------

# PAYONE personstatus values saying the person cannot be reached at this address.
NEGATIVE_PERSON_STATUSES = frozenset({"PNZ", "PPV", "PPF", "PUG", "PUZ"})


def bureau_findings(result: BureauResult, policy: RiskPolicy) -> list[Finding]:
    """Turn a successful bureau answer into reasons: red/yellow light, low score, bad person status."""
    findings: list[Finding] = []
    provider = result.provider
    if result.traffic_light == "R":
        findings.append(_reason(policy, ReasonCode.BUREAU_RED, provider=provider))
    elif result.traffic_light == "Y":
        findings.append(_reason(policy, ReasonCode.BUREAU_YELLOW, provider=provider))
    minimum = policy.bureau.min_score_value
    if minimum is not None and result.score_value is not None and result.score_value < minimum:
        findings.append(
            _reason(
                policy,
                ReasonCode.BUREAU_LOW_SCORE,
                provider=provider,
                score=result.score_value,
                minimum=minimum,
            )
        )
    if result.person_status in NEGATIVE_PERSON_STATUSES:
        findings.append(
            _reason(policy, ReasonCode.BUREAU_PERSON_STATUS, provider=provider, status=result.person_status)
        )
    return findings


SIGNALS: tuple[Signal, ...] = (
    amount_limits,
    first_order,
    history,
    payment_history,
    velocity,
    shipping_differs,
    pickup_points,
    postal_codes,
    email_syntax,
    disposable_email,
    email_name_mismatch,
    phone,
    placeholder_names,
    company_in_consumer_order,
)


def preload() -> None:
    """Load the data tables now (at app start, before workers fork) rather than in the first check."""
    postal_code_formats()
    german_postal_places()


def run_signals(check: CheckInput, context: BuyerContext, policy: RiskPolicy) -> Iterator[Finding]:
    """Run every signal over one check input."""
    facts = Facts(check)
    for signal in SIGNALS:
        yield from signal(facts, context, policy)

"""Identity normalisation and keyed hashes.

Raw buyer data is normalised so that trivially different spellings of the same identity compare equal
("Hauptstr. 5" / "Hauptstraße 5", "Max.Mustermann+shop@googlemail.com" / "maxmustermann@gmail.com"), then
stored only as ``HMAC-SHA256(installation_secret, kind + ":" + normalised)`` in hex. History, velocity and
merchant overrides match on these keys, so raw data can be purged after the retention period.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import unicodedata
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import TYPE_CHECKING

import phonenumbers
from phonenumbers import PhoneNumberType

if TYPE_CHECKING:
    from backend.risk.inputs import Address, CheckInput

_GERMAN_FOLDS = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "ß": "ss",
        # Letters Unicode does not decompose, so NFKD below would drop them ("Yılmaz" -> "ylmaz").
        "ı": "i",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "ħ": "h",
    }
)
# Umlauts as many write them where only ASCII fits (an e-mail address): "Öztürk" -> "ozturk".
_SHORT_UMLAUTS = str.maketrans({"ä": "a", "ö": "o", "ü": "u"})
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# "Hauptstr. 5", "Hauptstr 5", "Hauptstr5": "str" closing a word (not "strand", not "strasse").
_STREET_ABBREVIATION = re.compile(r"str(?=\b|\d)")
# Google ignores dots in the local part and both domains reach the same mailbox.
_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_IPV6_NETWORK_PREFIX = 64  # privacy extensions rotate the interface half of an IPv6 address
_IPV6_HOST_BITS = 128 - _IPV6_NETWORK_PREFIX


def _ascii_fold(text: str) -> str:
    folded = text.casefold().translate(_GERMAN_FOLDS)
    if folded.isascii():
        return folded
    return unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode("ascii")


def fold(text: str) -> str:
    """Fold text for comparison: casefold, German umlauts to ae/oe/ue/ss, accents off, words by single spaces.

    Every run of anything but a letter or digit, whitespace included, becomes one space.
    """
    return _NON_ALNUM.sub(" ", _ascii_fold(text)).strip()


def fold_spellings(text: str) -> tuple[str, ...]:
    """Return the folded ways a name is written in ASCII: umlauts as "oe" and, where it differs, as "o"."""
    folded = fold(text)
    short = fold(text.casefold().translate(_SHORT_UMLAUTS))
    return (folded,) if short == folded else (folded, short)


def normalise_email(email: str) -> str:
    """Lower-case an e-mail address, drop its +tag and, for Gmail, the dots and the googlemail alias."""
    local, at, domain = email.strip().lower().rpartition("@")
    if not at or not local or not domain:
        return email.strip().lower()
    local = local.split("+", 1)[0]
    if domain in _GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


@dataclass(frozen=True, slots=True)
class PhoneFacts:
    """A phone number's validity, E.164 form and country ("" when invalid) and line type."""

    valid: bool
    e164: str
    country: str
    number_type: int


# Buyers repeat checks (cart reloads, retries) and parsing is costly, so results are memoised.
_PHONE_CACHE_SIZE = 8192


@lru_cache(maxsize=_PHONE_CACHE_SIZE)
def phone_facts(phone: str, region: str) -> PhoneFacts:
    """Parse and classify a phone number once, national numbers read in ``region`` (the billing country)."""
    try:
        number = phonenumbers.parse(phone, region.upper() or None) if phone.strip() else None
    except phonenumbers.NumberParseException:
        number = None
    if number is None:
        return PhoneFacts(False, "", "", PhoneNumberType.UNKNOWN)
    # phonenumbers.is_valid_number is "the number's region is known and its type is not UNKNOWN"; asking for
    # the type once instead of twice halves the cost of matching the number against its region's patterns.
    region = phonenumbers.region_code_for_number(number)
    number_type = phonenumbers.number_type(number) if region else PhoneNumberType.UNKNOWN
    if number_type == PhoneNumberType.UNKNOWN:
        return PhoneFacts(False, "", "", PhoneNumberType.UNKNOWN)
    return PhoneFacts(
        True, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), region, number_type
    )


def normalise_phone(phone: str, region: str) -> str:
    """Return the phone number in E.164, or "" when it is not a valid number.

    Invalid input ("12", "0000") would otherwise give many unrelated buyers one shared key.
    """
    return phone_facts(phone, region).e164


def normalise_name(first_name: str, last_name: str) -> str:
    """Fold a person's name into sorted words, so a swapped first/last name field still matches."""
    return " ".join(sorted(fold(f"{first_name} {last_name}").split()))


def normalise_street(street: str, house_number: str = "") -> str:
    """Fold street and house number into one token: "Karl-Marx-Str. 5 a" -> "karlmarxstrasse5a"."""
    words = _NON_ALNUM.sub(" ", _ascii_fold(f"{street} {house_number}"))
    return _NON_ALNUM.sub("", _STREET_ABBREVIATION.sub("strasse", words))


def normalise_postal_code(postal_code: str) -> str:
    """Upper-case a postal code and drop spaces and dashes."""
    return _NON_ALNUM.sub("", postal_code.casefold()).upper()


def normalise_address(address: Address) -> str:
    """Return the comparable form of a postal address: country, postal code, street with number.

    The city is left out where a postal code exists because it adds only spelling variants
    ("Frankfurt" / "Frankfurt am Main") to what the postal code already says.
    """
    street = normalise_street(address.street, address.house_number)
    postal_code = normalise_postal_code(address.postal_code)
    if not street and not postal_code:
        return ""
    place = postal_code or fold(address.city).replace(" ", "")
    return f"{address.country.upper()}|{place}|{street}"


def normalise_name_address(address: Address) -> str:
    """Return the comparable form of the person at a postal address."""
    return _person_at(normalise_name(address.first_name, address.last_name), normalise_address(address))


def _person_at(name: str, location: str) -> str:
    return f"{name}|{location}" if location and name else ""


def normalise_ip(ip: str) -> str:
    """Return an IPv4 address as is, an IPv4-mapped address as IPv4, an IPv6 address as its /64 network."""
    text = ip.strip()
    try:
        # What ipaddress.ip_address accepts, without its try as IPv4 first, which raised (and formatted) an error
        # for every IPv6 address: an address with a colon can only be IPv6, one without only IPv4.
        parsed = ipaddress.IPv6Address(text) if ":" in text else ipaddress.IPv4Address(text)
    except ValueError:
        return ""
    if isinstance(parsed, ipaddress.IPv4Address):
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    if parsed.scope_id is not None:
        # IPv6Network keeps the zone of an address without host bits ("fe80::%eth0/64"), and drops any other's.
        return str(ipaddress.IPv6Network((parsed, _IPV6_NETWORK_PREFIX), strict=False))
    # The network as IPv6Network writes it, without building one (which parsed the address a second time).
    network = ipaddress.IPv6Address(int(parsed) >> _IPV6_HOST_BITS << _IPV6_HOST_BITS)
    return f"{network}/{_IPV6_NETWORK_PREFIX}"


def keyed_hash(secret: bytes, kind: str, normalised: str) -> str:
    """Return HMAC-SHA256(secret, kind ":" normalised) in hex, or "" for an empty value."""
    if not normalised:
        return ""
    mac = _keyed_hmac(secret).copy()
    mac.update(f"{kind}:{normalised}".encode())
    return mac.hexdigest()


@lru_cache(maxsize=4)
def _keyed_hmac(secret: bytes) -> hmac.HMAC:
    """Return HMAC-SHA256 with ``secret`` taken in, to be copied: ``hmac.digest`` set up the key anew for each of
    a check's seven hashes (OpenSSL looks the digest up and hashes the padded key twice)."""
    return hmac.new(secret, digestmod="sha256")


@dataclass(frozen=True, slots=True)
class IdentityKeys:
    """Keyed hashes of one check's identities; "" where the input lacked the data."""

    email: str = ""
    phone: str = ""
    name: str = ""
    name_address: str = ""
    address: str = ""
    shipping_address: str = ""
    ip: str = ""

    def as_dict(self) -> dict[str, str]:
        """Return the non-empty keys by kind."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name))}


def identity_keys(check: CheckInput, secret: bytes) -> IdentityKeys:
    """Compute the keyed hashes of a check's e-mail, phone, name, addresses and IP."""
    if not secret:
        raise ValueError("installation secret must not be empty")
    billing = check.billing
    first_name = billing.first_name or check.buyer.first_name
    last_name = billing.last_name or check.buyer.last_name
    shipping = check.shipping
    # Each normalised form once: the billing address is also the shipping address of most checkouts, and the
    # billing name that of the buyer (normalise_name_address of the billing address, without its repeats).
    name = normalise_name(first_name, last_name)
    location = normalise_address(billing)
    shipping_location = location if shipping is None or shipping == billing else normalise_address(shipping)
    billing_name = (
        name
        if (first_name, last_name) == (billing.first_name, billing.last_name)
        else normalise_name(billing.first_name, billing.last_name)
    )
    address = keyed_hash(secret, "address", location)
    # The same text hashes alike: most checkouts ship to the billing address.
    shipping_address = (
        address if shipping_location == location else keyed_hash(secret, "address", shipping_location)
    )
    return IdentityKeys(
        email=keyed_hash(secret, "email", normalise_email(check.buyer.email)),
        phone=keyed_hash(secret, "phone", normalise_phone(check.buyer.phone, billing.country)),
        name=keyed_hash(secret, "name", name),
        name_address=keyed_hash(secret, "name_address", _person_at(billing_name, location)),
        address=address,
        shipping_address=shipping_address,
        ip=keyed_hash(secret, "ip", normalise_ip(check.ip)),
    )

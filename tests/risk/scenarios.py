"""Labelled checkout scenarios for measuring the risk engine: good buyers and the fraud a German shop meets.

Everything is generated with a fixed seed. Addresses are real postcode–city pairs (GeoNames, the table the
engine itself uses), streets and house numbers as Germans write them (``12a``, ``14-16``, ``3 b``, c/o),
names from the origins common in Germany, e-mail addresses at the providers Germans use and written the way
people write their own names in them (``yilmaz`` for Yılmaz, ``mueller`` or ``muller`` for Müller).

A ``Scenario`` is one buyer (or one fraud attempt) with an optional payment history at the merchant and a
sequence of checkouts. ``run_scenarios`` plays them through the real API (risk check, then the order pushed
as the shop would when invoice stayed on offer) on a fresh database and reports, per scenario, whether
invoice was withheld. A good buyer is *falsely declined* when invoice was hidden at any of their checkouts;
a bad scenario is *caught* when invoice was hidden at its last, harmful checkout.
"""

from __future__ import annotations

import random
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from flask_migrate import upgrade

from backend import create_app
from backend.auth.services import create_client as create_api_client
from backend.extensions import db
from backend.merchants.services import create_merchant
from backend.risk.signals import DATA_DIR

PAYMENT_METHODS = ["invoice", "paypal", "prepayment"]
# The groups the fairness test compares; every list holds names as their bearers write them in Germany.
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "german": (
        (
            "Anna",
            "Lukas",
            "Sophie",
            "Jonas",
            "Marie",
            "Felix",
            "Katrin",
            "Jürgen",
            "Birgit",
            "Uwe",
            "Lea",
            "Jörg",
        ),
        (
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Hoffmann",
            "Schäfer",
            "Koch",
            "Bauer",
            "Richter",
            "Klein",
            "Wolf",
            "Schröder",
            "Neumann",
            "Zimmermann",
            "Krüger",
            "Hartmann",
        ),
    ),
    "turkish": (
        (
            "Mehmet",
            "Ayşe",
            "Mustafa",
            "Fatma",
            "Emre",
            "Elif",
            "Hüseyin",
            "Zeynep",
            "Can",
            "Merve",
            "Ömer",
            "Özlem",
        ),
        (
            "Yılmaz",
            "Kaya",
            "Demir",
            "Şahin",
            "Çelik",
            "Yıldız",
            "Öztürk",
            "Aydın",
            "Arslan",
            "Doğan",
            "Koç",
            "Kurt",
            "Özdemir",
            "Kılıç",
            "Aslan",
            "Çetin",
            "Erdoğan",
            "Polat",
            "Güneş",
            "Acar",
        ),
    ),
    "polish": (
        (
            "Łukasz",
            "Agnieszka",
            "Piotr",
            "Małgorzata",
            "Krzysztof",
            "Katarzyna",
            "Paweł",
            "Joanna",
            "Michał",
            "Ewa",
            "Wojciech",
            "Magdalena",
        ),
        (
            "Nowak",
            "Kowalski",
            "Wiśniewski",
            "Wójcik",
            "Kowalczyk",
            "Kamiński",
            "Lewandowski",
            "Zieliński",
            "Szymański",
            "Woźniak",
            "Dąbrowski",
            "Kozłowski",
            "Jankowski",
            "Mazur",
            "Kwiatkowski",
            "Krawczyk",
            "Piotrowski",
            "Grabowski",
            "Nowakowski",
            "Pawłowski",
        ),
    ),
    "russian": (
        (
            "Dmitri",
            "Olga",
            "Sergej",
            "Natalia",
            "Andrej",
            "Jelena",
            "Alexej",
            "Tatjana",
            "Igor",
            "Swetlana",
            "Wladimir",
            "Irina",
        ),
        (
            "Iwanow",
            "Smirnow",
            "Kusnezow",
            "Popow",
            "Wassiljew",
            "Petrow",
            "Sokolow",
            "Michailow",
            "Nowikow",
            "Fjodorow",
            "Morosow",
            "Wolkow",
            "Aleksejew",
            "Lebedew",
            "Semjonow",
            "Jegorow",
            "Pawlow",
            "Koslow",
            "Stepanow",
            "Nikolajew",
        ),
    ),
    "arabic": (
        (
            "Mohammed",
            "Fatima",
            "Ahmad",
            "Aisha",
            "Omar",
            "Mariam",
            "Ali",
            "Layla",
            "Hassan",
            "Nour",
            "Khaled",
            "Yasmin",
        ),
        (
            "Al-Hassan",
            "El-Amin",
            "Haddad",
            "Khalil",
            "Nasser",
            "Abdallah",
            "Saleh",
            "Mansour",
            "Hamdan",
            "Al-Masri",
            "Darwish",
            "Suleiman",
            "Ibrahim",
            "Youssef",
            "Aziz",
            "Rahman",
            "Karim",
            "Farouk",
            "El-Sayed",
            "Hussein",
        ),
    ),
    "vietnamese": (
        (
            "Thi Lan",
            "Van Minh",
            "Thu Trang",
            "Duc Anh",
            "Hoa",
            "Tuan",
            "Linh",
            "Quang",
            "Mai",
            "Hung",
            "Ngoc",
            "Thanh",
        ),
        (
            "Nguyen",
            "Tran",
            "Le",
            "Pham",
            "Hoang",
            "Phan",
            "Vu",
            "Dang",
            "Bui",
            "Do",
            "Ho",
            "Ngo",
            "Duong",
            "Ly",
            "Vo",
            "Truong",
            "Dinh",
            "Lam",
            "Mai",
            "Trinh",
        ),
    ),
    "italian": (
        (
            "Giuseppe",
            "Francesca",
            "Marco",
            "Giulia",
            "Luca",
            "Chiara",
            "Alessandro",
            "Sara",
            "Matteo",
            "Elena",
            "Davide",
            "Valentina",
        ),
        (
            "Rossi",
            "Russo",
            "Ferrari",
            "Esposito",
            "Bianchi",
            "Romano",
            "Colombo",
            "Ricci",
            "Marino",
            "Greco",
            "Bruno",
            "Gallo",
            "Conti",
            "De Luca",
            "Costa",
            "Giordano",
            "Mancini",
            "Rizzo",
            "Lombardi",
            "Moretti",
        ),
    ),
    "greek": (
        (
            "Georgios",
            "Maria",
            "Dimitrios",
            "Eleni",
            "Konstantinos",
            "Katerina",
            "Ioannis",
            "Sofia",
            "Nikolaos",
            "Anastasia",
            "Christos",
            "Despina",
        ),
        (
            "Papadopoulos",
            "Pappas",
            "Georgiou",
            "Oikonomou",
            "Vasileiou",
            "Nikolaidis",
            "Karagiannis",
            "Christodoulou",
            "Papadakis",
            "Ioannidis",
            "Dimitriou",
            "Antoniou",
            "Makris",
            "Alexiou",
            "Petridis",
            "Konstantinidis",
            "Athanasiou",
            "Stavropoulos",
            "Michailidis",
            "Angelopoulos",
        ),
    ),
}
ORIGINS = tuple(NAMES)

STREETS = (
    "Hauptstraße",
    "Schulstraße",
    "Gartenstraße",
    "Bahnhofstr.",
    "Dorfstraße",
    "Bergstraße",
    "Birkenweg",
    "Lindenstraße",
    "Kirchstraße",
    "Waldstraße",
    "Ringstraße",
    "Schillerstr.",
    "Goethestraße",
    "Am Markt",
    "Mühlenweg",
    "Jahnstraße",
    "Friedrich-Ebert-Straße",
    "Karl-Marx-Str.",
    "Rosenweg",
    "Im Winkel",
    "Wilhelmstraße",
    "Poststraße",
    "Ahornweg",
    "Feldstraße",
    "An der Kirche",
    "Sonnenhang",
)
PROVIDERS = (
    ("gmx.de", 18),
    ("web.de", 17),
    ("gmail.com", 20),
    ("t-online.de", 10),
    ("outlook.de", 5),
    ("hotmail.de", 4),
    ("yahoo.de", 4),
    ("icloud.com", 5),
    ("posteo.de", 2),
    ("freenet.de", 3),
    ("mail.de", 2),
    ("aol.com", 1),
)
DISPOSABLE = ("mailinator.com", "guerrillamail.com", "10minutemail.com", "trashmail.com", "yopmail.com")
FAKE_NAMES = (
    ("Max", "Mustermann"),
    ("Erika", "Mustermann"),
    ("Test", "Test"),
    ("Asdf", "Jkl"),
    ("Qwertz", "Uiop"),
    ("Test", "Kunde"),
    ("Hans", "Wurst"),
)
# Access networks of large German providers (Telekom, Vodafone, O2, 1&1): realistic, and none of them shared.
ACCESS_NETWORKS = ((79, 192), (91, 0), (84, 128), (87, 160), (93, 192), (188, 96), (37, 4), (95, 112))
PUBLIC_PREFIX_LENGTH = 16
# Latin letters people replace when they write their name into an e-mail address.
_TRANSLIT = str.maketrans(
    {
        "ı": "i",
        "ş": "s",
        "ç": "c",
        "ğ": "g",
        "ł": "l",
        "ń": "n",
        "ó": "o",
        "ś": "s",
        "ź": "z",
        "ż": "z",
        "ą": "a",
        "ę": "e",
        "ć": "c",
        "İ": "i",
        "ß": "ss",
    }
)
_UMLAUTS_LONG = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
_UMLAUTS_SHORT = str.maketrans({"ä": "a", "ö": "o", "ü": "u"})

REPEAT_ORDER_PATTERNS = ("repeat_orders_before_due", "repeat_orders_new_emails")
FRESH_IDENTITY_PATTERNS = ("fresh_identities_one_address", "fresh_identities_one_device", "ip_burst")
OTHER_PATTERNS = (
    "fake_name",
    "disposable_email",
    "packstation_other_person",
    "postcode_not_in_city",
    "country_mismatch",
    "known_defaulter_address",
    "high_first_order",
)
BAD_PATTERNS = REPEAT_ORDER_PATTERNS + FRESH_IDENTITY_PATTERNS + OTHER_PATTERNS


@dataclass
class PastOrder:
    """An earlier invoice order at the merchant: its amount, age in days and whether it was paid."""

    amount: Decimal
    days_ago: int
    paid: bool


@dataclass
class Checkout:
    """One checkout: the risk-check body, and whether the buyer places the order when invoice stays."""

    body: dict[str, Any]
    places_order: bool = True


@dataclass
class Scenario:
    """One buyer or one fraud attempt: labels for grouping, the identity's history and its checkouts."""

    label: str
    groups: dict[str, str]
    checkouts: list[Checkout]
    history: list[PastOrder] = field(default_factory=list)
    history_identity: dict[str, Any] | None = None

    @property
    def good(self) -> bool:
        """Tell whether this is a good buyer (every other label is a bad pattern)."""
        return self.label == "good"


@dataclass
class Outcome:
    """What the engine did with one scenario."""

    scenario: Scenario
    hidden: list[bool]
    decisions: list[str]
    reasons: list[list[str]]

    @property
    def withheld(self) -> bool:
        """A good buyer lost invoice at some checkout; a bad scenario lost it at its last one."""
        return any(self.hidden) if self.scenario.good else self.hidden[-1]

    @property
    def flagged(self) -> bool:
        """The harmful (last) checkout was sent to review or declined: a human looks before shipping."""
        return self.decisions[-1] != "accept"

    @property
    def amount_at_stake(self) -> Decimal:
        """The invoice revenue this outcome moved: lost for a good buyer, exposure for a bad scenario."""
        amounts = [Decimal(checkout.body["amount"]) for checkout in self.scenario.checkouts]
        if self.scenario.good:
            return sum((a for a, hidden in zip(amounts, self.hidden, strict=True) if hidden), Decimal(0))
        return sum((a for a, hidden in zip(amounts, self.hidden, strict=True) if not hidden), Decimal(0))


# -- building blocks -----------------------------------------------------------------------------------------


@cache
def postal_places() -> tuple[tuple[str, str], ...]:
    """Return real (postal code, place) pairs, the first place named for each German postcode."""
    pairs = []
    for line in (DATA_DIR / "de_postal_places.tsv").read_text(encoding="utf-8").splitlines():
        postal_code, places = line.split("\t", 1)
        pairs.append((postal_code, places.split("|", 1)[0]))
    return tuple(pairs)


def region_of(postal_code: str) -> str:
    """Return the postal zone (Leitzone 0–9: 0 Saxony/Thuringia … 8 Bavaria south) a postcode lies in."""
    return f"zone {postal_code[0]}"


def email_local(first: str, last: str, rng: random.Random) -> str:
    """Write a name into an e-mail local part as its bearer would."""
    umlauts = _UMLAUTS_LONG if rng.random() < 0.6 else _UMLAUTS_SHORT

    def plain(text: str) -> str:
        text = text.lower().translate(umlauts).translate(_TRANSLIT)
        return "".join(ch for ch in text if ch.isalnum())

    first_part, last_part = plain(first.split()[0]), plain(last)
    styles = (
        f"{first_part}.{last_part}",
        f"{first_part[0]}.{last_part}",
        f"{first_part}{last_part}{rng.randint(60, 99)}",
        f"{last_part}.{first_part}",
        f"{first_part}_{last_part}",
        f"{first_part}{rng.randint(1, 999)}",
    )
    return rng.choices(styles, weights=(30, 15, 15, 10, 10, 10))[0]


def email_for(first: str, last: str, rng: random.Random, *, nickname: bool = False) -> str:
    """Return an e-mail address at a common provider; with ``nickname`` one without the name in it."""
    providers, weights = zip(*PROVIDERS, strict=True)
    domain = rng.choices(providers, weights=weights)[0]
    if nickname:
        local = rng.choice(("sonnenschein", "bluebird", "krümel", "tiger", "dragon", "sternchen", "schnecke"))
        local = f"{local.translate(_UMLAUTS_LONG)}{rng.randint(1, 9999)}"
    else:
        local = email_local(first, last, rng)
    return f"{local}@{domain}"


def phone_number(rng: random.Random) -> str:
    """Return a German phone number in one of the ways people type them (valid numbers only)."""
    prefix = rng.choice(("151", "152", "157", "160", "162", "170", "171", "172", "175", "176", "177", "178"))
    number = f"{rng.randint(1000000, 9999999)}"
    if prefix in {"151", "152", "157", "160", "162", "170", "171", "175"} and rng.random() < 0.5:
        number += str(rng.randint(0, 9))
    style = rng.random()
    if style < 0.4:
        return f"0{prefix} {number}"
    if style < 0.7:
        return f"+49 {prefix} {number}"
    if style < 0.85:
        return f"0{prefix}/{number}"
    return f"0049{prefix}{number}"


def house_number(rng: random.Random) -> str:
    """Return a house number as written in Germany: 12, 12a, 3 b, 14-16."""
    number = rng.randint(1, 120)
    style = rng.random()
    if style < 0.75:
        return str(number)
    if style < 0.88:
        return f"{number}{rng.choice('abc')}"
    if style < 0.94:
        return f"{number} {rng.choice('ab')}"
    return f"{number}-{number + rng.choice((1, 2, 4))}"


def address(rng: random.Random, first: str, last: str, *, company: str = "") -> dict[str, str]:
    """Return a billing address at a real German postcode and place."""
    postal_code, city = rng.choice(postal_places())
    return {
        "first_name": first,
        "last_name": last,
        "company": company,
        "street": rng.choice(STREETS),
        "house_number": house_number(rng),
        "postal_code": postal_code,
        "city": city,
        "country": "DE",
    }


def buyer_ip(rng: random.Random) -> str:
    """Return an address from a large German access network (households do not share them here)."""
    first, second = rng.choice(ACCESS_NETWORKS)
    return f"{first}.{second + rng.randint(0, 15)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def order_amount(rng: random.Random, *, business: bool = False) -> Decimal:
    """Return a cart total: log-normal around €70 (consumers) or €220 (businesses), cents included."""
    median = 220 if business else 70
    value = min(rng.lognormvariate(0, 0.8) * median, 2400)
    return Decimal(str(round(max(value, 4.99), 2))).quantize(Decimal("0.01"))


@dataclass
class Person:
    """A buyer's identity as the checkout shows it."""

    first: str
    last: str
    email: str
    phone: str
    billing: dict[str, str]
    shipping: dict[str, str] | None
    ip: str
    is_guest: bool
    company: str = ""

    def body(self, amount: Decimal, reference: str) -> dict[str, Any]:
        """Return the risk-check request for a cart of ``amount``."""
        body: dict[str, Any] = {
            "reference": reference,
            "amount": str(amount),
            "currency": "EUR",
            "payment_methods": list(PAYMENT_METHODS),
            "buyer": {
                "email": self.email,
                "first_name": self.first,
                "last_name": self.last,
                "is_guest": self.is_guest,
                **({"phone": self.phone} if self.phone else {}),
                **({"company": self.company} if self.company else {}),
            },
            "billing_address": dict(self.billing),
            "ip": self.ip,
        }
        if self.shipping is not None:
            body["shipping_address"] = dict(self.shipping)
        return body


def new_person(rng: random.Random, origin: str, *, business: bool = False) -> Person:
    """Return an ordinary buyer of a name origin, with the small quirks real buyers have."""
    firsts, lasts = NAMES[origin]
    first, last = rng.choice(firsts), rng.choice(lasts)
    company = ""
    if business:
        company = (
            f"{rng.choice(lasts)} {rng.choice(('GmbH', 'KG', 'e.K.', 'GbR', 'UG (haftungsbeschränkt)'))}"
        )
    billing = address(rng, first, last, company=company)
    if not business and rng.random() < 0.02:
        billing["company"] = f"c/o {rng.choice(NAMES['german'][1])}"
    shipping = None
    quirk = rng.random()
    if quirk < 0.07:  # a gift or the workplace: another name at another real address
        other = rng.choice(ORIGINS)
        shipping = address(rng, rng.choice(NAMES[other][0]), rng.choice(NAMES[other][1]))
    elif quirk < 0.11:  # Packstation used honestly: the buyer's own name and PostNummer
        postal_code, city = rng.choice(postal_places())
        shipping = {
            "first_name": first,
            "last_name": last,
            "street": "Packstation",
            "house_number": str(rng.randint(100, 299)),
            "postal_code": postal_code,
            "city": city,
            "country": "DE",
        }
    elif quirk < 0.16:  # the same person, another address (holiday flat, parents)
        shipping = address(rng, first, last)
    return Person(
        first=first,
        last=last,
        email=email_for(first, last, rng, nickname=rng.random() < 0.12),
        phone=phone_number(rng) if rng.random() < 0.7 else "",
        billing=billing,
        shipping=shipping,
        ip=buyer_ip(rng),
        is_guest=rng.random() < 0.45,
        company=company,
    )


def rename(person: Person, origin: str, rng: random.Random) -> Person:
    """Return the same buyer under a name of another origin (the e-mail written from the new name)."""
    first, last = rng.choice(NAMES[origin][0]), rng.choice(NAMES[origin][1])
    local, _, domain = person.email.partition("@")
    written = (person.first.split()[0].lower(), person.last.lower())
    plain = [part.translate(_UMLAUTS_SHORT).translate(_TRANSLIT)[:4] for part in written]
    name_based = any(part in local.replace("ae", "a").replace("oe", "o").replace("ue", "u") for part in plain)
    # A nickname address stays as it is: only what the name changes may change.
    email = f"{email_local(first, last, rng)}@{domain}" if name_based else person.email

    def renamed(addr: dict[str, str] | None) -> dict[str, str] | None:
        if addr is None:
            return None
        same_person = addr["first_name"] == person.first and addr["last_name"] == person.last
        return {**addr, "first_name": first, "last_name": last} if same_person else dict(addr)

    return replace(
        person,
        first=first,
        last=last,
        email=email,
        billing=renamed(person.billing),  # type: ignore[arg-type]
        shipping=renamed(person.shipping),
    )


# -- good buyers ---------------------------------------------------------------------------------------------


def good_buyer(rng: random.Random, origin: str) -> Scenario:
    """Return an ordinary buyer: first-time or returning, consumer or business, with a payment history."""
    business = rng.random() < 0.15
    person = new_person(rng, origin, business=business)
    returning = rng.random() < 0.4
    history: list[PastOrder] = []
    if returning:
        for _ in range(rng.randint(1, 5)):
            history.append(PastOrder(order_amount(rng, business=business), rng.randint(20, 360), paid=True))
        if rng.random() < 0.15:  # one invoice still open, not yet due
            history.append(PastOrder(order_amount(rng, business=business), rng.randint(1, 10), paid=False))
    checkouts = [Checkout(person.body(order_amount(rng, business=business), f"good-{uuid.uuid4().hex[:12]}"))]
    if not returning and rng.random() < 0.04:  # forgot something: a second order before paying the first
        checkouts.append(Checkout(person.body(order_amount(rng), f"good-{uuid.uuid4().hex[:12]}")))
    groups = {
        "origin": origin,
        "region": region_of(person.billing["postal_code"]),
        "account": "guest" if person.is_guest else "account",
        "debtor": "business" if business else "consumer",
        "history": "returning" if returning else "first-time",
    }
    return Scenario("good", groups, checkouts, history)


# -- bad patterns ----------------------------------------------------------------------------------------------


def _fresh(rng: random.Random) -> Person:
    person = new_person(rng, rng.choice(ORIGINS))
    person.shipping = None
    return person


def bad_scenario(rng: random.Random, pattern: str) -> Scenario:
    """Return one attempt of a fraud or default pattern; its last checkout is the one that must be stopped."""
    person = _fresh(rng)
    ref = f"{pattern}-{uuid.uuid4().hex[:10]}"
    checkouts: list[Checkout] = []
    history: list[PastOrder] = []
    history_identity = None
    if pattern == "repeat_orders_before_due":
        # No paid invoice, ordering again and again before the first falls due.
        for n in range(5):
            checkouts.append(
                Checkout(person.body(Decimal(rng.choice(("299.00", "189.90", "249.00"))), f"{ref}-{n}"))
            )
    elif pattern == "repeat_orders_new_emails":
        for n in range(4):
            person.email = email_for(person.first, person.last, rng)
            checkouts.append(Checkout(person.body(Decimal("219.00"), f"{ref}-{n}")))
    elif pattern == "fresh_identities_one_address":
        drop = address(rng, person.first, person.last)
        for n in range(4):
            buyer = _fresh(rng)
            buyer.shipping = {**drop, "first_name": buyer.first, "last_name": buyer.last}
            checkouts.append(Checkout(buyer.body(Decimal("249.00"), f"{ref}-{n}")))
    elif pattern == "fresh_identities_one_device":
        for n in range(5):
            buyer = _fresh(rng)
            buyer.ip = person.ip
            checkouts.append(Checkout(buyer.body(Decimal("199.00"), f"{ref}-{n}")))
    elif pattern == "ip_burst":
        for n in range(8):
            buyer = _fresh(rng)
            buyer.ip = person.ip
            checkouts.append(Checkout(buyer.body(order_amount(rng) + 50, f"{ref}-{n}")))
    elif pattern == "fake_name":
        first, last = rng.choice(FAKE_NAMES)
        person.first, person.last = first, last
        person.billing = {**person.billing, "first_name": first, "last_name": last}
        person.email = email_for(first, last, rng)
        checkouts.append(Checkout(person.body(order_amount(rng) + 80, ref)))
    elif pattern == "disposable_email":
        person.email = f"{email_local(person.first, person.last, rng)}@{rng.choice(DISPOSABLE)}"
        checkouts.append(Checkout(person.body(order_amount(rng) + 80, ref)))
    elif pattern == "packstation_other_person":
        other = _fresh(rng)
        postal_code, city = rng.choice(postal_places())
        person.shipping = {
            "first_name": other.first,
            "last_name": other.last,
            "street": "Packstation",
            "house_number": str(rng.randint(100, 299)),
            "postal_code": postal_code,
            "city": city,
            "country": "DE",
        }
        checkouts.append(Checkout(person.body(order_amount(rng) + 150, ref)))
    elif pattern == "postcode_not_in_city":
        _, other_city = rng.choice(postal_places())
        while other_city == person.billing["city"]:
            _, other_city = rng.choice(postal_places())
        person.billing = {**person.billing, "city": other_city}
        checkouts.append(Checkout(person.body(order_amount(rng) + 80, ref)))
    elif pattern == "country_mismatch":
        person.phone = f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}"
        person.shipping = {
            "first_name": person.first,
            "last_name": person.last,
            "street": "Kerkstraat",
            "house_number": str(rng.randint(1, 90)),
            "postal_code": f"{rng.randint(1000, 9999)} AB",
            "city": "Amsterdam",
            "country": "NL",
        }
        checkouts.append(Checkout(person.body(order_amount(rng) + 80, ref)))
    elif pattern == "known_defaulter_address":
        # An earlier buyer at this address never paid; a new name now ships there.
        defaulter = _fresh(rng)
        history = [PastOrder(Decimal("349.00"), 75, paid=False)]
        history_identity = defaulter.body(Decimal("349.00"), f"{ref}-history")
        person.shipping = {**defaulter.billing, "first_name": person.first, "last_name": person.last}
        checkouts.append(Checkout(person.body(order_amount(rng) + 80, ref)))
    elif pattern == "high_first_order":
        checkouts.append(Checkout(person.body(Decimal(rng.randint(650, 1450)), ref)))
    else:
        raise ValueError(f"unknown pattern {pattern}")
    return Scenario(pattern, {"pattern": pattern}, checkouts, history, history_identity)


def generate(good: int = 3000, bad_each: int = 100, seed: int = 20261206) -> list[Scenario]:
    """Return ``good`` good buyers spread over the name origins and ``bad_each`` attempts of every bad pattern."""
    rng = random.Random(seed)
    scenarios = [good_buyer(rng, ORIGINS[n % len(ORIGINS)]) for n in range(good)]
    scenarios += [bad_scenario(rng, pattern) for pattern in BAD_PATTERNS for _ in range(bad_each)]
    return scenarios


def paired_by_origin(count: int, seed: int = 31) -> dict[str, list[Scenario]]:
    """Return the same ``count`` buyers once per name origin, alike in everything but the name."""
    rng = random.Random(seed)
    base = [good_buyer(rng, "german") for _ in range(count)]
    batches: dict[str, list[Scenario]] = {}
    for origin in ORIGINS:
        rename_rng = random.Random(f"{seed}-{origin}")

        def change(person: Person, origin: str = origin, rename_rng: random.Random = rename_rng) -> Person:
            return rename(person, origin, rename_rng) if origin != "german" else person

        batches[origin] = [_restyled(scenario, {"origin": origin}, change) for scenario in base]
    return batches


def paired_by_region(count: int, seed: int = 37) -> dict[str, list[Scenario]]:
    """Return the same ``count`` buyers once per postal zone, each moved to a real postcode in that zone."""
    rng = random.Random(seed)
    base = [good_buyer(rng, ORIGINS[n % len(ORIGINS)]) for n in range(count)]
    batches: dict[str, list[Scenario]] = {}
    for zone in "0123456789":
        places = [place for place in postal_places() if place[0].startswith(zone)]
        move_rng = random.Random(f"{seed}-{zone}")

        def move(
            person: Person, places: list[tuple[str, str]] = places, move_rng: random.Random = move_rng
        ) -> Person:
            postal_code, city = move_rng.choice(places)
            return replace(person, billing={**person.billing, "postal_code": postal_code, "city": city})

        batches[f"zone {zone}"] = [_restyled(scenario, {"region": f"zone {zone}"}, move) for scenario in base]
    return batches


def _restyled(scenario: Scenario, groups: dict[str, str], change: Callable[[Person], Person]) -> Scenario:
    """Return the scenario with ``change`` applied once to each buyer in it, every checkout alike."""
    people: dict[str, Person] = {}
    checkouts = []
    for checkout in scenario.checkouts:
        email = checkout.body["buyer"]["email"]
        if email not in people:
            people[email] = change(_person_of(checkout.body))
        person = people[email]
        checkouts.append(Checkout(person.body(Decimal(checkout.body["amount"]), checkout.body["reference"])))
    return replace(scenario, groups={**scenario.groups, **groups}, checkouts=checkouts)


def _person_of(body: dict[str, Any]) -> Person:
    buyer = body["buyer"]
    return Person(
        first=buyer["first_name"],
        last=buyer["last_name"],
        email=buyer["email"],
        phone=buyer.get("phone", ""),
        billing=body["billing_address"],
        shipping=body.get("shipping_address"),
        ip=body["ip"],
        is_guest=buyer["is_guest"],
        company=buyer.get("company", ""),
    )


# -- running -------------------------------------------------------------------------------------------------


class ScenarioShop:
    """A backend on a scratch database; every run of scenarios plays at a merchant of its own.

    Merchants share nothing (history, velocity and policy are per merchant), so runs on one database are as
    independent as runs on fresh ones, without migrating a database per run.
    """

    def __init__(self, database_url: str | None = None) -> None:
        self.database_url = database_url
        self._stack = ExitStack()
        self.runs = 0

    def __enter__(self) -> ScenarioShop:
        # A scratch database in memory-backed /dev/shm where there is one: thousands of commits, nothing to keep.
        scratch = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
        folder = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="cb-scenarios-", dir=scratch))
        self.app = create_app(
            {
                "CLAIMBRIDGE_ENV": "testing",
                "CLAIMBRIDGE_DATABASE_URL": self.database_url or f"sqlite:///{Path(folder) / 'scenarios.db'}",
                "CLAIMBRIDGE_INSTANCE_PATH": folder,
                "CLAIMBRIDGE_LOG_LEVEL": "WARNING",
            }
        )
        self._stack.enter_context(self.app.app_context())
        upgrade()
        self.client = self.app.test_client()
        return self

    def __exit__(self, *exc: object) -> None:
        db.session.remove()
        db.engine.dispose()
        self._stack.close()

    def _new_merchant(self) -> dict[str, str]:
        self.runs += 1
        merchant = create_merchant(f"Szenario Shop {self.runs}", actor="scenarios")
        credentials = create_api_client(
            merchant.id, "risk:check orders:write settings:write", name="scenarios", actor="scenarios"
        )
        db.session.commit()
        token = self.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(credentials.client.client_id, credentials.client_secret),
        ).get_json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def run(self, scenarios: Iterable[Scenario], *, policy: dict[str, Any] | None = None) -> list[Outcome]:
        """Play scenarios at a new merchant (with ``policy``, else the default); return what happened."""
        client, headers = self.client, self._new_merchant()
        if policy:
            response = client.put("/api/v1/policy", json=policy, headers=headers)
            if response.status_code != 200:
                raise ValueError(f"policy refused: {response.get_json()}")
        now = datetime.now(UTC)
        outcomes = []
        for number, scenario in enumerate(scenarios):
            identity = scenario.history_identity or scenario.checkouts[0].body
            for position, past in enumerate(scenario.history):
                _push_order(client, headers, f"h{number}-{position}", identity, past.amount, now, past)
            hidden, decisions, reasons = [], [], []
            for position, checkout in enumerate(scenario.checkouts):
                response = client.post("/api/v1/risk-checks", json=checkout.body, headers=headers)
                answer = response.get_json()
                if response.status_code != 201:
                    raise RuntimeError(f"risk check failed: {response.status_code} {answer}")
                is_hidden = "invoice" in answer["payment_methods"]["hidden"]
                hidden.append(is_hidden)
                decisions.append(answer["decision"])
                reasons.append([reason["code"] for reason in answer["reasons"]])
                if checkout.places_order and not is_hidden:
                    amount = Decimal(checkout.body["amount"])
                    external_id = f"o{number}-{position}"
                    _push_order(
                        client,
                        headers,
                        external_id,
                        checkout.body,
                        amount,
                        now,
                        None,
                        risk_check_id=answer["id"],
                    )
            outcomes.append(Outcome(scenario, hidden, decisions, reasons))
        return outcomes


def run_scenarios(
    scenarios: Iterable[Scenario], *, policy: dict[str, Any] | None = None, database_url: str | None = None
) -> list[Outcome]:
    """Play scenarios through the API on a fresh database; return what happened to each."""
    with ScenarioShop(database_url) as shop:
        return shop.run(scenarios, policy=policy)


def _push_order(
    client: FlaskClient,
    headers: dict[str, str],
    external_id: str,
    body: dict[str, Any],
    amount: Decimal,
    now: datetime,
    past: PastOrder | None,
    *,
    risk_check_id: str | None = None,
) -> None:
    ordered_at = now - timedelta(days=past.days_ago) if past else now
    buyer = {
        key: body["buyer"][key]
        for key in ("email", "first_name", "last_name", "phone")
        if key in body["buyer"]
    }
    order = {
        "number": external_id,
        "total": str(amount),
        "currency": "EUR",
        "payment_method": "invoice",
        "ordered_at": ordered_at.isoformat(),
        "state": "paid" if past and past.paid else "open",
        "buyer": buyer,
        "billing_address": body["billing_address"],
        "shipping_address": body.get("shipping_address"),
        **({"risk_check_id": risk_check_id} if risk_check_id else {}),
    }
    if past and past.paid:
        order["paid_amount"] = str(amount)
    response = client.put(f"/api/v1/orders/{external_id}", json=order, headers=headers)
    if response.status_code not in (200, 201):
        raise RuntimeError(f"order push failed: {response.status_code} {response.get_json()}")


# -- reporting ---------------------------------------------------------------------------------------------


@dataclass
class Rate:
    """A share: how many of how many."""

    hits: int = 0
    total: int = 0

    @property
    def share(self) -> float:
        """Return hits / total (0 for none)."""
        return self.hits / self.total if self.total else 0.0


def false_declines_by(outcomes: Sequence[Outcome], dimension: str) -> dict[str, Rate]:
    """Return the good buyers' false-decline rate for each value of a group dimension ("origin", …)."""
    rates: dict[str, Rate] = defaultdict(Rate)
    for outcome in outcomes:
        if outcome.scenario.good:
            rate = rates[outcome.scenario.groups[dimension]]
            rate.total += 1
            rate.hits += outcome.withheld
    return dict(sorted(rates.items()))


def catch_rates(outcomes: Sequence[Outcome]) -> dict[str, Rate]:
    """Return the share of each bad pattern's attempts stopped at their harmful checkout."""
    rates: dict[str, Rate] = defaultdict(Rate)
    for outcome in outcomes:
        if not outcome.scenario.good:
            rate = rates[outcome.scenario.label]
            rate.total += 1
            rate.hits += outcome.withheld
    return {pattern: rates[pattern] for pattern in BAD_PATTERNS if pattern in rates}


def flag_rates(outcomes: Sequence[Outcome]) -> dict[str, Rate]:
    """Return the share of each bad pattern's attempts flagged (review or decline) at their harmful checkout."""
    rates: dict[str, Rate] = defaultdict(Rate)
    for outcome in outcomes:
        if not outcome.scenario.good:
            rate = rates[outcome.scenario.label]
            rate.total += 1
            rate.hits += outcome.flagged
    return {pattern: rates[pattern] for pattern in BAD_PATTERNS if pattern in rates}


def overall(outcomes: Sequence[Outcome], patterns: Iterable[str] | None = None) -> Rate:
    """Return the false-decline rate of all good buyers, or the catch rate over ``patterns``."""
    rate = Rate()
    wanted = set(patterns) if patterns is not None else None
    for outcome in outcomes:
        if (outcome.scenario.good and wanted is None) or (wanted and outcome.scenario.label in wanted):
            rate.total += 1
            rate.hits += outcome.withheld
    return rate

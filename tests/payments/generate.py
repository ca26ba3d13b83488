"""Generate labelled bank statements of realistic messiness, as camt.053 XML and MT940, with ground truth.

``generate_set(transfers=..., receivables=..., seed=...)`` makes open receivables (buyers with one to three
each, popular price points so amounts collide, some known IBANs) and incoming transfers of many kinds:
clean and mangled references, references in the wrong field, invoice and order numbers, name plus amount
with typos and transliterations, bank fees, rounding, combined and partial payments, foreign names,
double payments, unrelated credits and debits. Each transfer carries what a correct automatic match
allocates (``expected``; empty where nothing may be applied). ``write_camt053`` and ``write_mt940`` render
the transfers in statement order; parsers return them in the same order, so truth lines up by position.

Run as a script to write sample files: ``python tests/payments/generate.py OUT_DIR [--transfers N]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from backend.payments.matching import MatchProposal, OpenReceivable
from backend.payments.statements import BankTransaction
from backend.receivables.reference_codes import make_reference

SALT = b"claimbridge-test-merchant-salt-1"
ACCOUNT_IBAN = "DE02120300000000202051"
STATEMENT_DATE = date(2024, 3, 13)
CENT = Decimal("0.01")

FIRST_NAMES = [
    "Anna",
    "Jonas",
    "Lea",
    "Lukas",
    "Marie",
    "Paul",
    "Sophie",
    "Felix",
    "Jürgen",
    "Özlem",
    "Björn",
    "Jörg",
    "Günther",
    "Käthe",
    "Mia",
    "Emma",
    "Ben",
    "Finn",
    "Noah",
    "Leon",
    "Elias",
    "Hannah",
    "Emilia",
    "Lina",
    "Clara",
    "Ida",
    "Frieda",
    "Karl",
    "Theo",
    "Anton",
    "Oskar",
    "Mats",
    "Greta",
    "Lotta",
    "Ella",
    "Mathilda",
    "Max",
    "Moritz",
    "Niklas",
    "Tim",
    "Tom",
    "Laura",
    "Julia",
    "Katharina",
    "Sabine",
    "Petra",
    "Monika",
    "Ursula",
    "Thomas",
    "Michael",
    "Andreas",
    "Stefan",
    "Markus",
    "Christian",
    "Wolfgang",
    "Klaus",
    "Dieter",
    "Uwe",
    "Heike",
    "Birgit",
    "Susanne",
    "Renate",
    "Manfred",
    "Gerhard",
    "Helmut",
    "Horst",
    "Sebastian",
    "Tobias",
    "Florian",
    "Daniel",
    "Alexander",
    "Philipp",
    "Johanna",
    "Franziska",
    "Lisa",
    "Sarah",
    "Miriam",
    "Nadine",
    "Sandra",
    "Tanja",
    "Yvonne",
    "Ömer",
    "Ayşe",
    "Mehmet",
    "Fatma",
    "Ali",
    "Zeynep",
    "Can",
    "Elif",
]
LAST_NAMES = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Schmitz",
    "Krause",
    "Meier",
    "Lehmann",
    "Schmid",
    "Schulze",
    "Maier",
    "Köhler",
    "Herrmann",
    "König",
    "Walter",
    "Mayer",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Schubert",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Frank",
    "Berger",
    "Winkler",
    "Roth",
    "Beck",
    "Lorenz",
    "Baumann",
    "Franke",
    "Albrecht",
    "Schuster",
    "Simon",
    "Ludwig",
    "Böhm",
    "Winter",
    "Kraus",
    "Martin",
    "Schumacher",
    "Krämer",
    "Vogt",
    "Stein",
    "Jäger",
    "Otto",
    "Sommer",
    "Groß",
    "Seidel",
    "Heinrich",
    "Brandt",
    "Haas",
    "Schreiber",
    "Graf",
    "Schulte",
    "Dietrich",
    "Ziegler",
    "Kuhn",
    "Kühn",
    "Pohl",
    "Engel",
    "Horn",
    "Busch",
    "Bergmann",
    "Thomas",
    "Voigt",
    "Sauer",
    "Arnold",
    "Wolff",
    "Pfeiffer",
    "Y\u0131lmaz",
    "Kaya",
    "Demir",
    "Şahin",
    "Çelik",
    "Öztürk",
    "Nowak",
    "Kowalski",
    "Wiśniewski",
    "Wójcik",
    "Łukaszewicz",
    "Dąbrowski",
    "Popescu",
    "Ionescu",
    "Novák",
    "Dvořák",
    "Müller-Lüdenscheidt",
    "Großkopf",
    "Brückner",
    "Blümel",
    "Fröhlich",
    "Gärtner",
    "Jähn",
    "Löffler",
    "Mößner",
    "Rößler",
    "Schüßler",
    "Stöckl",
    "Süß",
    "Thürmer",
]
COMPANY_WORDS = [
    "Haustechnik",
    "Elektro",
    "Bau",
    "Design",
    "Handel",
    "Logistik",
    "Medien",
    "Software",
    "Consulting",
    "Gastro",
    "Optik",
    "Fahrrad",
    "Garten",
    "Immobilien",
    "Reisen",
    "Druck",
    "Werbeagentur",
    "Metallbau",
    "Sanitär",
    "Holzbau",
]
COMPANY_FORMS = ("GmbH", "GmbH & Co. KG", "UG (haftungsbeschränkt)", "e.K.", "AG", "OHG")
POPULAR_PRICES = tuple(
    Decimal(p)
    for p in [
        "9.99",
        "14.99",
        "19.90",
        "19.99",
        "24.95",
        "29.90",
        "29.99",
        "34.99",
        "39.90",
        "39.99",
        "49.00",
        "49.90",
        "49.95",
        "59.99",
        "69.90",
        "79.00",
        "79.99",
        "89.90",
        "99.00",
        "99.95",
        "119.00",
        "129.99",
        "149.00",
        "199.00",
        "249.00",
    ]
)
SUPPLIERS = (
    "Amazon Payments Europe S.C.A.",
    "PayPal Europe S.a.r.l. et Cie S.C.A.",
    "Finanzamt Berlin-Mitte",
    "Stadtwerke München GmbH",
    "Deutsche Telekom AG",
    "DHL Paket GmbH",
    "Papier Union GmbH",
    "Versandkarton24 e.K.",
    "Techniker Krankenkasse",
    "AOK Nordost",
)
SUPPLIER_TEXTS = (
    "Gutschrift Retoure Lieferschein 88231",
    "Erstattung Umsatzsteuer 2023",
    "Rueckerstattung Abschlag Strom",
    "Bonus Gutschrift Q4",
    "Auszahlung Verkaeufe KW 10",
    "Korrektur Rechnung 2024-0311",
    "Erstattung Beitrag",
    "Zinsen",
)
GREETINGS = (
    "",
    "Vielen Dank",
    "Danke",
    "Zahlung",
    "Ihre Rechnung",
    "Einkauf Onlineshop",
    "Bestellung",
    "Gruss",
)
_SPECIAL_LETTERS = str.maketrans({"ł": "l", "Ł": "L", "\u0131": "i", "ø": "o", "Ø": "O", "đ": "d"})


@dataclass
class Buyer:
    """A buyer of the generated merchant."""

    name: str
    iban: str
    iban_known: bool
    foreign: bool
    receivables: list[OpenReceivable] = field(default_factory=list)


@dataclass
class GeneratedTransfer:
    """One booking of the generated statement, with what a correct automatic match allocates."""

    kind: str
    credit: bool
    amount: Decimal
    booking_date: date
    name: str
    iban: str
    remittance: str
    end_to_end_id: str = ""
    creditor_reference: str = ""
    bank_reference: str = ""
    batch: int = 0  # camt: credits with the same non-zero batch share one entry
    expected: dict[int, Decimal] = field(default_factory=dict)


@dataclass
class GeneratedSet:
    """Receivables, transfers and the truth that links them."""

    receivables: list[OpenReceivable]
    transfers: list[GeneratedTransfer]


def german_iban(rng: random.Random) -> str:
    """Return a random German IBAN with correct check digits."""
    bban = f"{rng.randrange(10_000_000, 99_999_999)}{rng.randrange(10**10):010d}"
    check = 98 - int(bban + "131400") % 97  # "DE00" moved to the end, letters as numbers (D=13, E=14)
    return f"DE{check:02d}{bban}"


def _person_name(rng: random.Random) -> str:
    first = rng.choice(FIRST_NAMES)
    if rng.random() < 0.08:
        first = f"{first}-{rng.choice(FIRST_NAMES)}"
    return f"{first} {rng.choice(LAST_NAMES)}"


def _company_name(rng: random.Random) -> str:
    return f"{rng.choice(LAST_NAMES)} {rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_FORMS)}"


def _amount(rng: random.Random) -> Decimal:
    if rng.random() < 0.4:
        return rng.choice(POPULAR_PRICES)
    return Decimal(rng.randrange(500, 80_000)) * CENT


def _without_accents(text: str, *, transliterate: bool) -> str:
    if transliterate:
        for letter, written in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue")):
            text = text.replace(letter, written)
        text = text.replace("ß", "ss")
    text = text.translate(_SPECIAL_LETTERS)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word
    position = rng.randrange(1, len(word) - 2)
    operation = rng.randrange(3)
    if operation == 0:  # swap two neighbours
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    if operation == 1:  # drop one letter
        return word[:position] + word[position + 1 :]
    return word[:position] + rng.choice("aeinrst") + word[position + 1 :]


def messy_name(rng: random.Random, name: str) -> str:
    """Return the name as a bank statement might show the payer: reordered, folded, misspelt, cut."""
    words = name.split()
    roll = rng.random()
    if roll < 0.15 and len(words) == 2:
        name = f"{words[1]}, {words[0]}"
    elif roll < 0.25:
        name = f"{rng.choice(('Herr', 'Frau', 'Dr.'))} {name}"
    if rng.random() < 0.5:
        name = _without_accents(name, transliterate=rng.random() < 0.6)
    if rng.random() < 0.35:
        name = name.upper()
    if rng.random() < 0.12:
        words = name.split()
        longest = max(range(len(words)), key=lambda index: len(words[index]))
        words[longest] = _typo(rng, words[longest])
        name = " ".join(words)
    return name[:70]


def mangle_reference(rng: random.Random, reference: str) -> str:
    """Return a reference as a person or a bank might have mangled it (still readable)."""
    roll = rng.random()
    if roll < 0.25:
        return reference.lower()
    if roll < 0.5:
        return reference.replace("-", "")
    if roll < 0.7:
        return reference.replace("-", " ")
    if roll < 0.85:
        cut = rng.randrange(1, len(reference))
        return f"{reference[:cut]}\n{reference[cut:]}"
    return reference.replace("-", " ", 1).replace("-", "")


def _build_receivables(rng: random.Random, count: int) -> list[Buyer]:
    buyers: list[Buyer] = []
    next_id = 1
    while next_id <= count:
        foreign = rng.random() < 0.04
        name = _company_name(rng) if rng.random() < 0.12 else _person_name(rng)
        buyer = Buyer(name=name, iban=german_iban(rng), iban_known=rng.random() < 0.4, foreign=foreign)
        for _ in range(min(rng.choices((1, 2, 3), (70, 22, 8))[0], count - next_id + 1)):
            buyer.receivables.append(
                OpenReceivable(
                    id=next_id,
                    payment_reference=make_reference(next_id, SALT),
                    invoice_number=f"RE-{10_000 + next_id}",
                    order_number=str(500_000 + next_id),
                    open_amount=_amount(rng),
                    currency="EUR",
                    debtor_names=(name,),
                    known_ibans=frozenset({buyer.iban}) if buyer.iban_known else frozenset(),
                    due_date=STATEMENT_DATE - timedelta(days=rng.randrange(-14, 60)),
                )
            )
            next_id += 1
        buyers.append(buyer)
    return buyers


class _Maker:
    """Draw transfers of each kind, using every receivable at most once."""

    def __init__(self, rng: random.Random, buyers: list[Buyer]) -> None:
        self.rng = rng
        self.buyers = buyers
        self.unused = [(buyer, receivable) for buyer in buyers for receivable in buyer.receivables]
        rng.shuffle(self.unused)
        self.used: set[int] = set()
        self.multi = [buyer for buyer in buyers if len(buyer.receivables) > 1]
        rng.shuffle(self.multi)

    def _take(self) -> tuple[Buyer, OpenReceivable]:
        while True:
            buyer, receivable = self.unused.pop()
            if receivable.id not in self.used:
                self.used.add(receivable.id)
                return buyer, receivable

    def _take_buyer_with_several(self) -> tuple[Buyer, list[OpenReceivable]]:
        while True:
            buyer = self.multi.pop()
            receivables = [r for r in buyer.receivables if r.id not in self.used]
            if len(receivables) >= 2:
                self.used.update(r.id for r in receivables)
                return buyer, receivables

    def _payer(self, buyer: Buyer) -> tuple[str, str]:
        iban = buyer.iban if self.rng.random() < 0.9 else german_iban(self.rng)
        name = messy_name(self.rng, buyer.name)
        if buyer.foreign:
            name = name.upper()
        return name, iban

    def _transfer(
        self, kind: str, buyer: Buyer, amount: Decimal, remittance: str, **extra: object
    ) -> GeneratedTransfer:
        name, iban = self._payer(buyer)
        return GeneratedTransfer(
            kind=kind,
            credit=True,
            amount=amount,
            booking_date=STATEMENT_DATE,
            name=name,
            iban=iban,
            remittance=remittance,
            **extra,  # type: ignore[arg-type]
        )

    def reference(self) -> GeneratedTransfer:
        buyer, receivable = self._take()
        text = self.rng.choice(
            ("{ref}", "Rechnung {invoice} {ref}", "{ref} Danke", "Zahlung {ref} Bestellung {order}")
        )
        remittance = text.format(
            ref=receivable.payment_reference, invoice=receivable.invoice_number, order=receivable.order_number
        )
        return self._transfer(
            "reference",
            buyer,
            receivable.open_amount,
            remittance,
            expected={receivable.id: receivable.open_amount},
        )

    def mangled_reference(self) -> GeneratedTransfer:
        buyer, receivable = self._take()
        filler = "".join(self.rng.choice("abcdefghkmnprstuvw ") for _ in range(self.rng.randrange(0, 30)))
        remittance = f"{self.rng.choice(GREETINGS)} {filler} {mangle_reference(self.rng, receivable.payment_reference)}"
        return self._transfer(
            "mangled_reference",
            buyer,
            receivable.open_amount,
            remittance.strip(),
            expected={receivable.id: receivable.open_amount},
        )

    def reference_elsewhere(self) -> GeneratedTransfer:
        buyer, receivable = self._take()
        reference = receivable.payment_reference
        field_name = "end_to_end_id" if self.rng.random() < 0.5 else "creditor_reference"
        return self._transfer(
            "reference_elsewhere",
            buyer,
            receivable.open_amount,
            self.rng.choice(GREETINGS),
            expected={receivable.id: receivable.open_amount},
            **{field_name: reference.replace("-", "") if self.rng.random() < 0.5 else reference},
        )

    def invoice_number(self) -> GeneratedTransfer:
        buyer, receivable = self._take()
        digits = receivable.invoice_number.removeprefix("RE-")
        text = self.rng.choice(
            ("Rechnung {d}", "RE-{d}", "Rg.Nr. {d}", "RE{d}", "Rechnungsnr.:{d} vielen Dank", "re {d}")
        )
        return self._transfer(
            "invoice_number",
            buyer,
            receivable.open_amount,
            text.format(d=digits),
            expected={receivable.id: receivable.open_amount},
        )

    def order_number(self) -> GeneratedTransfer:
        buyer, receivable = self._take()
        text = self.rng.choice(
            ("Bestellung {n}", "Best.-Nr. {n}", "Auftrag #{n}", "Order {n} Danke", "Bestellnummer{n}")
        )
        return self._transfer(
            "order_number",
            buyer,
            receivable.open_amount,
            text.format(n=receivable.order_number),
            expected={receivable.id: receivable.open_amount},
        )

    def name_and_amount(self) -> GeneratedTransfer:
        buyer, receivable = self._take()
        return self._transfer(
            "name_and_amount",
            buyer,
            receivable.open_amount,
            self.rng.choice(GREETINGS),
            expected={receivable.id: receivable.open_amount},
        )

    def bank_fee(self) -> GeneratedTransfer:
        buyer, receivable = self._take()
        fee = min(
            Decimal(self.rng.choice((50, 150, 250, 500, 750, 1200))) * CENT,
            receivable.open_amount * Decimal("0.1"),
        )
        amount = (receivable.open_amount - fee).quantize(CENT)
        remittance = receivable.payment_reference if self.rng.random() < 0.5 else self.rng.choice(GREETINGS)
        return self._transfer("bank_fee", buyer, amount, remittance, expected={receivable.id: amount})

    def rounded_up(self) -> GeneratedTransfer:
        buyer, receivable = self._take()
        amount = receivable.open_amount.quantize(Decimal(1), rounding=ROUND_CEILING)
        if amount == receivable.open_amount:
            amount += 1
        return self._transfer(
            "rounded_up",
            buyer,
            amount,
            self.rng.choice(GREETINGS),
            expected={receivable.id: receivable.open_amount},
        )

    def combined(self) -> GeneratedTransfer:
        buyer, receivables = self._take_buyer_with_several()
        by_number = self.rng.random() < 0.4
        mentions = [r.invoice_number if by_number else r.payment_reference for r in receivables]
        remittance = self.rng.choice(("Rechnungen ", "", "Sammelzahlung ")) + " ".join(mentions)
        total = sum((r.open_amount for r in receivables), Decimal(0))
        return self._transfer(
            "combined", buyer, total, remittance, expected={r.id: r.open_amount for r in receivables}
        )

    def combined_without_numbers(self) -> GeneratedTransfer:
        buyer, receivables = self._take_buyer_with_several()
        total = sum((r.open_amount for r in receivables), Decimal(0))
        return self._transfer(
            "combined_without_numbers",
            buyer,
            total,
            "Rechnungen",
            expected={r.id: r.open_amount for r in receivables},
        )

    def partial(self) -> GeneratedTransfer:
        buyer, receivable = self._take()
        amount = (receivable.open_amount * Decimal(self.rng.randrange(20, 70)) / 100).quantize(CENT)
        remittance = f"Teilzahlung {receivable.payment_reference}"
        return self._transfer("partial", buyer, amount, remittance, expected={receivable.id: amount})

    def partial_without_reference(self) -> GeneratedTransfer:
        buyer, receivable = self._take()
        amount = (receivable.open_amount / 2).quantize(CENT)
        return self._transfer(
            "partial_without_reference", buyer, amount, "Erste Rate", expected={receivable.id: amount}
        )

    def double_payment(self) -> GeneratedTransfer:
        buyer, receivable = self._take()
        settled = make_reference(
            10_000_000 + receivable.id, SALT
        )  # a receivable paid long ago, not open any more
        return self._transfer("double_payment", buyer, receivable.open_amount, f"Rechnung {settled}")

    def unrelated(self) -> GeneratedTransfer:
        return GeneratedTransfer(
            kind="unrelated",
            credit=True,
            amount=Decimal(self.rng.randrange(100, 500_000)) * CENT,
            booking_date=STATEMENT_DATE,
            name=self.rng.choice(SUPPLIERS),
            iban=german_iban(self.rng),
            remittance=self.rng.choice(SUPPLIER_TEXTS),
        )

    def debit(self) -> GeneratedTransfer:
        return GeneratedTransfer(
            kind="debit",
            credit=False,
            amount=Decimal(self.rng.randrange(100, 300_000)) * CENT,
            booking_date=STATEMENT_DATE,
            name=self.rng.choice(SUPPLIERS),
            iban=german_iban(self.rng),
            remittance=self.rng.choice(("Miete Maerz", "Lastschrift Telefon", "Wareneinkauf", "Gehalt")),
        )


KIND_WEIGHTS = {
    "reference": 22,
    "mangled_reference": 10,
    "reference_elsewhere": 5,
    "invoice_number": 10,
    "order_number": 6,
    "name_and_amount": 14,
    "bank_fee": 4,
    "rounded_up": 2,
    "combined": 5,
    "combined_without_numbers": 2,
    "partial": 5,
    "partial_without_reference": 2,
    "double_payment": 2,
    "unrelated": 8,
    "debit": 3,
}


def generate_set(*, transfers: int, receivables: int, seed: int) -> GeneratedSet:
    """Generate open receivables and labelled transfers (``receivables`` should exceed ``transfers``)."""
    rng = random.Random(seed)
    buyers = _build_receivables(rng, receivables)
    maker = _Maker(rng, buyers)
    kinds = list(KIND_WEIGHTS)
    generated = []
    for kind in rng.choices(kinds, [KIND_WEIGHTS[k] for k in kinds], k=transfers):
        try:
            generated.append(getattr(maker, kind)())
        except IndexError:  # every receivable is taken: the rest of the statement is other money
            generated.append(maker.unrelated())
    for number, transfer in enumerate(generated, 1):
        # Most bookings carry the bank's reference; some do not and get a content-hash id.
        transfer.bank_reference = f"B{number:08d}" if rng.random() < 0.9 else ""
    # A few credits are booked as batch entries: a credit and the one to three credits after it.
    batch = 0
    for index, transfer in enumerate(generated):
        if transfer.credit and not transfer.batch and rng.random() < 0.04:
            batch += 1
            members = [transfer]
            for following in generated[index + 1 : index + 1 + rng.randrange(1, 4)]:
                if not following.credit:
                    break
                members.append(following)
            if len(members) > 1:
                for member in members:
                    member.batch = batch
    return GeneratedSet(receivables=[r for buyer in buyers for r in buyer.receivables], transfers=generated)


# rendering --------------------------------------------------------------------------------------------------


def _camt_party(transfer: GeneratedTransfer, version: int) -> str:
    role = "Dbtr" if transfer.credit else "Cdtr"
    name = f"<Nm>{escape(transfer.name)}</Nm>"
    party = f"<Pty>{name}</Pty>" if version >= 8 else name
    return f"<RltdPties><{role}>{party}</{role}><{role}Acct><Id><IBAN>{transfer.iban}</IBAN></Id></{role}Acct></RltdPties>"


def _camt_details(transfer: GeneratedTransfer, version: int, *, with_amount: bool) -> str:
    refs = f"<EndToEndId>{escape(transfer.end_to_end_id or 'NOTPROVIDED')}</EndToEndId>"
    amount = f'<Amt Ccy="EUR">{transfer.amount}</Amt>' if with_amount else ""
    # Long texts arrive as several 35-character Ustrd lines, cut anywhere.
    text = transfer.remittance.replace("\n", " ")
    lines = [text[i : i + 35] for i in range(0, len(text), 35)] or [""]
    structured = ""
    if transfer.creditor_reference:
        structured = f"<Strd><CdtrRefInf><Ref>{escape(transfer.creditor_reference)}</Ref></CdtrRefInf></Strd>"
    remittance = "".join(f"<Ustrd>{escape(line)}</Ustrd>" for line in lines if line) + structured
    return (
        f"<TxDtls><Refs>{refs}</Refs>{amount}{_camt_party(transfer, version)}"
        f"{f'<RmtInf>{remittance}</RmtInf>' if remittance else ''}</TxDtls>"
    )


def _camt_entry(group: Sequence[GeneratedTransfer], version: int) -> str:
    first = group[0]
    total = sum((t.amount for t in group), Decimal(0))
    reference = f"<AcctSvcrRef>{first.bank_reference}</AcctSvcrRef>" if first.bank_reference else ""
    status = "<Sts><Cd>BOOK</Cd></Sts>" if version >= 8 else "<Sts>BOOK</Sts>"
    details = "".join(_camt_details(t, version, with_amount=len(group) > 1) for t in group)
    return (
        f'<Ntry><Amt Ccy="EUR">{total}</Amt><CdtDbtInd>{"CRDT" if first.credit else "DBIT"}</CdtDbtInd>'
        f"{status}<BookgDt><Dt>{first.booking_date}</Dt></BookgDt><ValDt><Dt>{first.booking_date}</Dt></ValDt>"
        f"{reference}<BkTxCd/><NtryDtls>{details}</NtryDtls></Ntry>\n"
    )


def _groups(transfers: Iterable[GeneratedTransfer]) -> Iterable[list[GeneratedTransfer]]:
    group: list[GeneratedTransfer] = []
    for transfer in transfers:
        if group and (not transfer.batch or transfer.batch != group[0].batch):
            yield group
            group = []
        group.append(transfer)
    if group:
        yield group


def write_camt053(transfers: Iterable[GeneratedTransfer], out: TextIO, *, version: int = 8) -> None:
    """Write the transfers as one camt.053 statement (batch groups as one entry with several TxDtls)."""
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>GEN-1</MsgId><CreDtTm>2024-03-14T06:00:00+01:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>GEN-STMT-1</Id><Acct><Id><IBAN>{ACCOUNT_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
    )
    for group in _groups(transfers):
        out.write(_camt_entry(group, version))
    out.write("</Stmt></BkToCstmrStmt></Document>\n")


def _segments(text: str, first: int, last: int) -> list[str]:
    pieces = [text[i : i + 27] for i in range(0, len(text), 27)][: last - first + 1]
    return [f"?{first + n:02d}{piece}" for n, piece in enumerate(pieces)]


def _mt940_details(transfer: GeneratedTransfer) -> str:
    purpose = ""
    if transfer.end_to_end_id:
        purpose += f"EREF+{transfer.end_to_end_id}"
    purpose += f"SVWZ+{transfer.remittance.replace(chr(10), ' ')}"
    if transfer.creditor_reference:
        purpose += f" {transfer.creditor_reference}"
    purpose = purpose.replace("?", ".")
    name = transfer.name.replace("?", ".")
    fields = [
        "166?00SEPA-GUTSCHRIFT" if transfer.credit else "105?00SEPA-LASTSCHRIFT",
        *_segments(purpose, 20, 29),
        "?30COBADEFFXXX",
        f"?31{transfer.iban}",
        *_segments(name[:54], 32, 33),
    ]
    details = "".join(fields)
    return "\n".join(details[i : i + 65] for i in range(0, len(details), 65))


def write_mt940(transfers: Iterable[GeneratedTransfer], out: TextIO) -> None:
    """Write the transfers as one MT940 statement with German structured :86: fields."""
    day = STATEMENT_DATE
    out.write(f":20:GEN{day:%y%m%d}\n:25:{ACCOUNT_IBAN}\n:28C:00072/001\n:60F:C{day:%y%m%d}EUR0,00\n")
    for transfer in transfers:
        mark = "C" if transfer.credit else "D"
        amount = str(transfer.amount).replace(".", ",")
        bank_reference = f"//{transfer.bank_reference}" if transfer.bank_reference else ""
        out.write(f":61:{day:%y%m%d}{day:%m%d}{mark}{amount}NTRFNONREF{bank_reference}\n")
        out.write(f":86:{_mt940_details(transfer)}\n")
    out.write(f":62F:C{day:%y%m%d}EUR0,00\n-\n")


# evaluation --------------------------------------------------------------------------------------------------


@dataclass
class Quality:
    """Precision and recall of automatic matches against the ground truth."""

    transfers: int = 0
    matchable: int = 0
    automatic: int = 0
    automatic_correct: int = 0
    review: int = 0
    review_with_right_guess: int = 0
    wrong: list[tuple[str, str]] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [count, automatic correct]

    @property
    def precision(self) -> float:
        """Share of automatic matches that allocate exactly what the truth says."""
        return self.automatic_correct / self.automatic if self.automatic else 1.0

    @property
    def recall(self) -> float:
        """Share of matchable transfers settled correctly without review."""
        return self.automatic_correct / self.matchable if self.matchable else 1.0

    def report(self) -> str:
        """Return a short human-readable summary."""
        lines = [
            f"transfers {self.transfers}, matchable {self.matchable}, automatic {self.automatic}, "
            f"review {self.review} (right first guess {self.review_with_right_guess})",
            f"precision {self.precision:.4f}, recall {self.recall:.4f}",
        ]
        for kind, (count, correct) in sorted(self.by_kind.items()):
            lines.append(f"  {kind:<26} {count:>6}  automatic correct {correct:>6}")
        return "\n".join(lines)


def evaluate(
    transfers: Sequence[GeneratedTransfer],
    transactions: Sequence[BankTransaction],
    proposals: Iterable[MatchProposal],
) -> Quality:
    """Compare proposals with the truth; ``transactions`` are the parsed ``transfers`` in the same order."""
    truth = {t.transaction_id: g for g, t in zip(transfers, transactions, strict=True)}
    quality = Quality()
    for proposal in proposals:
        generated = truth[proposal.transaction_id]
        allocated = {a.receivable_id: a.amount for a in proposal.allocations}
        right = bool(generated.expected) and allocated == generated.expected
        quality.transfers += 1
        quality.matchable += bool(generated.expected)
        counts = quality.by_kind.setdefault(generated.kind, [0, 0])
        counts[0] += 1
        if proposal.automatic:
            quality.automatic += 1
            quality.automatic_correct += right
            counts[1] += right
            if not right:
                quality.wrong.append((generated.kind, proposal.explanation))
        else:
            quality.review += bool(proposal.allocations)
            quality.review_with_right_guess += right
    return quality


def main() -> None:
    """Write a generated camt.053 and MT940 statement to a directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--transfers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    data = generate_set(transfers=args.transfers, receivables=args.transfers * 2, seed=args.seed)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with (args.out_dir / "statement.camt053.xml").open("w", encoding="utf-8") as out:
        write_camt053(data.transfers, out)
    with (args.out_dir / "statement.mt940").open("w", encoding="utf-8") as out:
        write_mt940(data.transfers, out)


if __name__ == "__main__":
    main()

"""Bank statements (camt.053 and MT940) read into one ``BankTransaction`` shape.

camt.053 (ISO 20022 BankToCustomerStatement, versions 001.02 to 001.08) is streamed through the C
``XMLPullParser``: each ``Ntry`` is read, turned into transactions and dropped, so memory stays bounded by one
entry however large the file. Element names are matched without their namespace, the namespace is only
checked to be one of the supported camt.053 versions. Document type declarations are refused (as
``defusedxml`` does, raising its ``DTDForbidden``) by a second expat parser that reads each chunk before the
pull parser does, which shuts out entity expansion ("billion laughs") and external entities: entities can
only be declared in a DTD. An entry with several ``TxDtls`` (a batch) gives
one transaction per ``TxDtls`` when each carries its own amount.

MT940 is parsed with the ``mt-940`` package, German structured ``:86:`` fields included (``?20``-``?29``
remittance, ``?32``/``?33`` name, ``?31`` IBAN, ``EREF+``/``SVWZ+`` keywords).

Transaction ids are stable: the same statement imported twice gives the same ids. With a bank reference
(camt ``AcctSvcrRef``, MT940 ``:61:`` ``//`` reference) the id hashes account, bank reference, booking
date, amount and direction. Without one it hashes account, dates, amount, currency, direction,
counterparty, remittance and end-to-end id, plus an ordinal that counts earlier transactions of the same
file with identical content, so two identical transfers on one day stay two transactions.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError, XMLPullParser
from xml.parsers import expat

import mt940
from defusedxml import DefusedXmlException, DTDForbidden
from mt940.processors import transaction_details_post_processor_with_space

from backend.types import fits_money
from backend.untrusted import strip_unsafe_text

CAMT053_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.0[2-8]")
_CURRENCY = re.compile(r"[A-Z]{3}")
_IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_ENTRY_DEPTH = 4  # Document / BkToCstmrStmt / Stmt / Ntry
_NOT_PROVIDED = frozenset({"", "NOTPROVIDED", "NONREF"})
_MT940_OPTIONS = mt940.Options.all()
_MT940_PROCESSORS = {"post_transaction_details": [transaction_details_post_processor_with_space]}


class StatementError(ValueError):
    """A statement file that cannot be read; ``location`` says where (line/column or element path)."""

    def __init__(self, message: str, location: str = "") -> None:
        super().__init__(f"{message} (at {location})" if location else message)
        self.message = message
        self.location = location


class CreditDebit(StrEnum):
    """Direction of a booking as seen from the statement's account."""

    CREDIT = "CRDT"
    DEBIT = "DBIT"


@dataclass(frozen=True, slots=True)
class BankTransaction:
    """One booking on the merchant's account, whatever format it came in."""

    transaction_id: str
    account: str
    statement_id: str
    bank_reference: str
    booking_date: date
    value_date: date | None
    amount: Decimal
    currency: str
    credit_debit: CreditDebit
    reversal: bool
    booked: bool
    counterparty_name: str
    counterparty_iban: str
    remittance: str
    end_to_end_id: str
    creditor_reference: str
    additional_info: str

    @property
    def is_incoming_payment(self) -> bool:
        """Tell whether this is booked money received (a credit that reverses nothing)."""
        return self.credit_debit is CreditDebit.CREDIT and not self.reversal and self.booked


class _TransactionIds:
    """Give transactions of one file their stable ids (see the module docstring)."""

    def __init__(self) -> None:
        self._seen: Counter[bytes] = Counter()

    def assign(self, transaction: BankTransaction) -> BankTransaction:
        """Fill in the id of a transaction just built (nobody else holds it yet) and return it."""
        if transaction.bank_reference:
            parts = [
                "ref",
                transaction.account,
                transaction.bank_reference,
                transaction.booking_date.isoformat(),
                str(transaction.amount),
                transaction.credit_debit.value,
            ]
        else:
            parts = [
                "content",
                transaction.account,
                transaction.booking_date.isoformat(),
                transaction.value_date.isoformat() if transaction.value_date else "",
                str(transaction.amount),
                transaction.currency,
                transaction.credit_debit.value,
                transaction.counterparty_name,
                transaction.counterparty_iban,
                transaction.remittance,
                transaction.end_to_end_id,
            ]
        content = hashlib.sha256("\x1f".join(parts).encode()).digest()
        ordinal = self._seen[content]
        self._seen[content] += 1
        transaction_id = hashlib.sha256(content + str(ordinal).encode()).hexdigest()[:32]
        # In place: dataclasses.replace() copied every transaction and cost a tenth of the parse.
        object.__setattr__(transaction, "transaction_id", transaction_id)
        return transaction


def _clean(text: str | None) -> str:
    # The bank's text, shown to merchants: controls and bidi overrides are dropped, not refused.
    return " ".join(strip_unsafe_text(text or "").split())


def _money(amount: Decimal, location: str) -> Decimal:
    if not fits_money(amount):
        raise StatementError(f"amount {amount} is not a money amount of at most 2 decimal places", location)
    return amount


def _reference(text: str | None) -> str:
    value = _clean(text)
    return "" if value.upper() in _NOT_PROVIDED else value


def _iban(text: str | None) -> str:
    compact = "".join((text or "").split()).upper()
    return compact if _IBAN_SHAPE.fullmatch(compact) else ""


# camt.053 ------------------------------------------------------------------------------------------------


def _camt_amount(element: Element | None, location: str) -> tuple[Decimal, str]:
    if element is None:
        raise StatementError("amount missing", location)
    try:
        amount = Decimal((element.text or "").strip())
    except InvalidOperation:
        raise StatementError(f"invalid amount {element.text!r}", location) from None
    currency = element.get("Ccy", "")
    if not amount.is_finite() or amount < 0 or not _CURRENCY.fullmatch(currency):
        raise StatementError(f"invalid amount {element.text!r} {currency!r}", location)
    return _money(amount, location), currency


def _camt_date(element: Element | None, location: str, *, required: bool) -> date | None:
    text = None if element is None else (element.findtext("Dt") or element.findtext("DtTm"))
    if not text:
        if required:
            raise StatementError("date missing", location)
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise StatementError(f"invalid date {text!r}", location) from None


def _camt_direction(text: str | None, location: str) -> CreditDebit:
    try:
        return CreditDebit((text or "").strip())
    except ValueError:
        raise StatementError(f"invalid CdtDbtInd {text!r}", location) from None


def _party_name(parties: Element | None, role: str) -> str:
    if parties is None:
        return ""
    # camt.053.001.08 wraps the party in Pty; earlier versions name it directly.
    for path in (f"{role}/Nm", f"{role}/Pty/Nm", f"Ultmt{role}/Nm", f"Ultmt{role}/Pty/Nm"):
        name = _clean(parties.findtext(path))
        if name:
            return name
    return ""


@dataclass(frozen=True, slots=True)
class _CamtEntry:
    """Entry-level facts that every transaction of the entry shares."""

    account: str
    statement_id: str
    bank_reference: str
    booking_date: date
    value_date: date | None
    amount: Decimal
    currency: str
    credit_debit: CreditDebit
    reversal: bool
    booked: bool
    additional_info: str


def _camt_transaction(
    entry: _CamtEntry,
    detail: Element | None,
    location: str,
    *,
    amount: tuple[Decimal, str] | None,
    bank_reference: str,
) -> BankTransaction:
    if detail is None:
        detail = Element("TxDtls")
    direction = entry.credit_debit
    if detail.findtext("CdtDbtInd"):
        direction = _camt_direction(detail.findtext("CdtDbtInd"), f"{location}/CdtDbtInd")
    parties = detail.find("RltdPties")
    role = "Dbtr" if direction is CreditDebit.CREDIT else "Cdtr"
    iban = "" if parties is None else _iban(parties.findtext(f"{role}Acct/Id/IBAN"))
    remittance = detail.find("RmtInf")
    texts: list[str] = []
    creditor_reference = ""
    if remittance is not None:
        texts = [_clean(text.text) for text in remittance.iter("Ustrd")]
        texts += [_clean(text.text) for text in remittance.iter("AddtlRmtInf")]
        creditor_reference = _reference(remittance.findtext("Strd/CdtrRefInf/Ref"))
    additional = " ".join(filter(None, [entry.additional_info, _clean(detail.findtext("AddtlTxInf"))]))
    value, currency = amount or (entry.amount, entry.currency)
    return BankTransaction(
        transaction_id="",  # assigned per file by _TransactionIds
        account=entry.account,
        statement_id=entry.statement_id,
        bank_reference=bank_reference,
        booking_date=entry.booking_date,
        value_date=entry.value_date,
        amount=value,
        currency=currency,
        credit_debit=direction,
        reversal=entry.reversal,
        booked=entry.booked,
        counterparty_name=_party_name(parties, role),
        counterparty_iban=iban,
        remittance=" ".join(filter(None, texts)),
        end_to_end_id=_reference(detail.findtext("Refs/EndToEndId")),
        creditor_reference=creditor_reference,
        additional_info=additional,
    )


def _detail_amount(detail: Element, location: str) -> tuple[Decimal, str] | None:
    element = detail.find("Amt")
    if element is None:
        element = detail.find("AmtDtls/TxAmt/Amt")
    return None if element is None else _camt_amount(element, f"{location}/Amt")


def _camt_entry_transactions(
    entry_element: Element, account: str, statement_id: str, location: str
) -> list[BankTransaction]:
    status = entry_element.findtext("Sts/Cd") or entry_element.findtext("Sts") or "BOOK"
    amount, currency = _camt_amount(entry_element.find("Amt"), f"{location}/Amt")
    entry = _CamtEntry(
        account=account,
        statement_id=statement_id,
        bank_reference=_reference(entry_element.findtext("AcctSvcrRef")),
        booking_date=_camt_date(entry_element.find("BookgDt"), f"{location}/BookgDt", required=True),  # type: ignore[arg-type]
        value_date=_camt_date(entry_element.find("ValDt"), f"{location}/ValDt", required=False),
        amount=amount,
        currency=currency,
        credit_debit=_camt_direction(entry_element.findtext("CdtDbtInd"), f"{location}/CdtDbtInd"),
        reversal=(entry_element.findtext("RvslInd") or "").strip().lower() == "true",
        booked=status.strip() == "BOOK",
        additional_info=_clean(entry_element.findtext("AddtlNtryInf")),
    )
    details = entry_element.findall("NtryDtls/TxDtls")
    detail_locations = [f"{location}/NtryDtls/TxDtls[{number}]" for number in range(1, len(details) + 1)]
    if len(details) <= 1:
        detail = details[0] if details else None
        own_reference = "" if detail is None else _reference(detail.findtext("Refs/AcctSvcrRef"))
        return [
            _camt_transaction(
                entry,
                detail,
                detail_locations[0] if details else location,
                amount=None,
                bank_reference=own_reference or entry.bank_reference,
            )
        ]
    amounts = [_detail_amount(detail, where) for detail, where in zip(details, detail_locations, strict=True)]
    if any(amount is None for amount in amounts):
        # A batch without amounts per transaction cannot be split: keep it as one transaction.
        merged = Element("TxDtls")
        remittance = Element("RmtInf")
        merged.append(remittance)
        for detail in details:
            remittance.extend(detail.iter("Ustrd"))
        return [_camt_transaction(entry, merged, location, amount=None, bank_reference=entry.bank_reference)]
    transactions = []
    for number, (detail, where, detail_amount) in enumerate(
        zip(details, detail_locations, amounts, strict=True), 1
    ):
        own_reference = _reference(detail.findtext("Refs/AcctSvcrRef"))
        if not own_reference and entry.bank_reference:
            own_reference = f"{entry.bank_reference}/{number}"
        transactions.append(
            _camt_transaction(entry, detail, where, amount=detail_amount, bank_reference=own_reference)
        )
    return transactions


def _local_name(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _open_source(source: bytes | str | os.PathLike[str] | BinaryIO) -> tuple[BinaryIO, bool]:
    if isinstance(source, bytes):
        return io.BytesIO(source), True
    if isinstance(source, str | os.PathLike):
        return open(source, "rb"), True
    return source, False


def parse_camt053(source: bytes | str | os.PathLike[str] | BinaryIO) -> Iterator[BankTransaction]:
    """Stream the transactions of a camt.053 file (bytes, path or binary file), debits included."""
    stream, owned = _open_source(source)
    ids = _TransactionIds()
    path: list[str] = []  # down to the statement's children (entries), for error locations
    counters: list[Counter[str]] = [Counter()]
    depth = 0
    statement: Element | None = None
    statement_id = account = ""
    try:
        events = _pull_events(stream)
        for event, element in _guarded(events, path):
            if event == "start":
                depth += 1
                if depth > _ENTRY_DEPTH:
                    continue  # inside an entry: read as a whole when the entry ends
                namespace, local = _local_name(element.tag)
                if depth == 1 and (local != "Document" or not CAMT053_NAMESPACE.fullmatch(namespace)):
                    raise StatementError(f"not a camt.053 document: {element.tag}", "/" + local)
                counters[-1][local] += 1
                path.append(f"{local}[{counters[-1][local]}]")
                counters.append(Counter())
                if depth == _ENTRY_DEPTH - 1 and local == "Stmt":
                    statement, statement_id, account = element, "", ""
                continue
            depth -= 1
            if depth >= _ENTRY_DEPTH:
                continue
            location = "/".join(path)
            local = path.pop().partition("[")[0]
            counters.pop()
            if statement is None or depth != _ENTRY_DEPTH - 1:
                continue
            for node in element.iter():
                node.tag = node.tag.rpartition("}")[2]
            if local == "Id":
                statement_id = _clean(element.text)
            elif local == "Acct":
                account = _iban(element.findtext("Id/IBAN")) or _clean(element.findtext("Id/Othr/Id"))
            elif local == "Ntry":
                for details in _camt_entry_transactions(element, account, statement_id, location):
                    yield ids.assign(details)
                statement.remove(element)  # keep memory bounded to one entry
    finally:
        if owned:
            stream.close()


_CHUNK = 64 * 1024


class _PrologRead(Exception):
    """The root element began: no document type declaration can follow."""


def _refuse_dtd(name: str, sysid: str | None, pubid: str | None, has_internal_subset: bool) -> None:
    raise DTDForbidden(name, sysid, pubid)


def _root_started(name: str, attributes: dict[str, str]) -> None:
    raise _PrologRead


def _pull_events(stream: BinaryIO) -> Iterator[tuple[str, Element]]:
    """Yield (start|end, element) of a document read in chunks; a DTD is refused before it is parsed."""
    guard: expat.XMLParserType | None = expat.ParserCreate()
    guard.StartDoctypeDeclHandler = _refuse_dtd
    guard.StartElementHandler = _root_started
    parser = XMLPullParser(events=("start", "end"))
    while chunk := stream.read(_CHUNK):
        if guard is not None:
            try:
                guard.Parse(chunk, False)
            except (_PrologRead, expat.ExpatError):
                # Past the prolog; or malformed there, which the pull parser reports before reaching any DTD.
                guard = None
        parser.feed(chunk)
        yield from parser.read_events()
    parser.close()
    yield from parser.read_events()


def _guarded(events: Iterator[tuple[str, Element]], path: list[str]) -> Iterator[tuple[str, Element]]:
    """Turn XML syntax errors and forbidden constructs into ``StatementError``s that say where."""
    try:
        yield from events
    except ParseError as exc:
        line, column = exc.position
        reason = str(exc.msg).split(":", 1)[0]  # the message repeats the position
        raise StatementError(f"malformed XML: {reason}", f"line {line}, column {column}") from None
    except DefusedXmlException as exc:
        raise StatementError(f"forbidden XML construct: {type(exc).__name__}", "/".join(path)) from None
    # expat: "multi-byte encodings are not supported" (UTF-16 without a BOM); "unknown encoding: X"
    except (ValueError, LookupError) as exc:
        raise StatementError(f"unreadable XML ({exc}); send camt.053 as UTF-8", "line 1") from None


# MT940 ---------------------------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # German banks still deliver MT940 in Windows-1252 / Latin-1.
        return data.decode("cp1252", errors="replace")


def _line_of(text: str, fragment: str) -> str:
    offset = text.find(fragment) if fragment else -1
    return f"line {text.count(chr(10), 0, offset) + 1}" if offset >= 0 else ""


def _mt940_date(value: object) -> date | None:
    if value is None:
        return None
    return date(value.year, value.month, value.day)  # type: ignore[attr-defined]


def _mt940_transaction(
    data: dict[str, object], account: str, statement_id: str, location: str
) -> BankTransaction:
    status = str(data.get("status") or "")
    amount = data["amount"]
    booking_date = _mt940_date(data.get("entry_date") or data.get("guessed_entry_date") or data.get("date"))
    value_date = _mt940_date(data.get("date"))
    raw_details = data.get("transaction_details")  # left as is when :86: is not structured
    currency = str(amount.currency or data.get("currency") or "")  # type: ignore[attr-defined]
    if not _CURRENCY.fullmatch(currency):
        raise StatementError(f"invalid currency {currency!r}", location)
    remittance = " ".join(
        filter(
            None,
            [
                _clean(str(data.get("purpose") or raw_details or "")),
                _clean(str(data.get("additional_purpose") or "")),
            ],
        )
    )
    return BankTransaction(
        transaction_id="",  # assigned per file by _TransactionIds
        account=account,
        statement_id=statement_id,
        bank_reference=_reference(str(data.get("bank_reference") or "")),
        booking_date=booking_date or value_date,  # type: ignore[arg-type]
        value_date=value_date,
        amount=_money(abs(amount.amount), location),  # type: ignore[attr-defined]
        currency=currency,
        # RD reverses a debit (money comes back in), RC reverses a credit (money goes out).
        credit_debit=CreditDebit.CREDIT if status.upper() in {"C", "RD"} else CreditDebit.DEBIT,
        reversal=status.upper().startswith("R"),
        booked=True,
        counterparty_name=_clean(str(data.get("applicant_name") or "")),
        counterparty_iban=_iban(str(data.get("applicant_iban") or data.get("gvc_applicant_iban") or "")),
        remittance=remittance,
        end_to_end_id=_reference(str(data.get("end_to_end_reference") or "")),
        creditor_reference="",
        additional_info=_clean(str(data.get("posting_text") or "")),
    )


def parse_mt940(source: bytes | str) -> list[BankTransaction]:
    """Parse the transactions of an MT940 file (bytes or text), debits included."""
    text = _decode(source) if isinstance(source, bytes) else source
    try:
        statements = mt940.parse_statements(text, processors=_MT940_PROCESSORS, options=_MT940_OPTIONS)
    except RuntimeError as exc:
        fragment = exc.args[2] if len(exc.args) > 2 and isinstance(exc.args[2], str) else ""
        raise StatementError(f"malformed MT940 field {fragment[:60]!r}", _line_of(text, fragment)) from None
    except (InvalidOperation, ValueError) as exc:
        raise StatementError(f"malformed MT940 value: {exc}") from None
    except (AttributeError, TypeError, KeyError, IndexError) as exc:
        # The library's own slips on odd input (":90:" without D/C fails on a missing attribute): the file's fault.
        raise StatementError(f"unreadable MT940 ({type(exc).__name__})") from None
    statements = [statement for statement in statements if statement.data or statement.transactions]
    if not statements:
        raise StatementError("no MT940 statement found", "line 1")
    ids = _TransactionIds()
    transactions = []
    for number, statement in enumerate(statements, 1):
        account = _clean(statement.data.get("account_identification"))
        if not account:
            raise StatementError("statement has no account identification (:25:)", f"statement {number}")
        reference = _clean(statement.data.get("transaction_reference"))
        statement_number = _clean(statement.data.get("statement_number"))
        statement_id = "/".join(filter(None, [reference, statement_number]))
        for index, transaction in enumerate(statement, 1):
            location = f"statement {number}, transaction {index}"
            details = _mt940_transaction(transaction.data, account, statement_id, location)
            transactions.append(ids.assign(details))
    return transactions


# either --------------------------------------------------------------------------------------------------


def parse_statement(source: bytes | str | os.PathLike[str] | BinaryIO) -> Iterator[BankTransaction]:
    """Parse a camt.053 or MT940 statement (bytes, a path or a seekable binary file), told apart by its start.

    camt.053 is streamed from a path or file; MT940 is read whole (its parser takes text).
    """
    if isinstance(source, bytes):
        head = source[:512]
    elif isinstance(source, str | os.PathLike):
        with open(source, "rb") as stream:
            head = stream.read(512)
    else:
        head = source.read(512)
        source.seek(0)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return parse_camt053(source)
    if stripped.startswith(b":") or b"\n:20:" in head or stripped.startswith(b"{1:"):
        if isinstance(source, bytes):
            return iter(parse_mt940(source))
        if isinstance(source, str | os.PathLike):
            return iter(parse_mt940(Path(source).read_bytes()))
        return iter(parse_mt940(source.read()))
    raise StatementError("neither camt.053 XML nor MT940", "line 1")

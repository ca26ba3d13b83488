"""Bank statements (camt.053 and MT940) read into one ``BankTransaction`` shape.

camt.053 (ISO 20022 BankToCustomerStatement, versions 001.02 to 001.08) is streamed: the C tree builder
reads it in chunks (without a Python event per element), each finished ``Ntry`` is read in one pass over its
elements (indexed by path, ``_paths``), turned into transactions and dropped, so memory stays bounded by one
chunk however large the file. Element names are matched without their namespace, the namespace is only
checked to be one of the supported camt.053 versions. Document type declarations are refused (as
``defusedxml`` does, raising its ``DTDForbidden``) by a second expat parser that reads each chunk before the
tree builder does, which shuts out entity expansion ("billion laughs") and external entities: entities can
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

import contextlib
import dataclasses
import fcntl
import hashlib
import io
import multiprocessing
import operator
import os
import re
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, BinaryIO
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, XMLParser
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


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _paths(
    element: Element,
    prefix: str = "",
    found: dict[str, Element] | None = None,
    *,
    once: frozenset[str] = frozenset(),
) -> dict[str, Element]:
    """Index an element's descendants by their path of local names ("Refs/EndToEndId"), in one pass.

    Each path keeps its first element in document order, which is what ``findtext(path)`` finds. Of a child
    named in ``once`` only the first one's subtree is indexed (as ``find(name)`` and a look inside it would).
    """
    found = {} if found is None else found
    for child in element:
        name = child.tag.rpartition("}")[2]  # _local, inlined: this runs for every element of a statement
        path = prefix + name
        if path not in found:
            found[path] = child
        elif name in once:
            continue
        if len(child):
            _paths(child, path + "/", found)
    return found


def _text(found: dict[str, Element], path: str) -> str | None:
    """Return what ``findtext(path)`` would: the first element's text, "" when it has none, None when absent."""
    element = found.get(path)
    return None if element is None else element.text or ""


def _texts(element: Element | None, name: str) -> list[str]:
    """Return the cleaned texts of an element's descendants with this local name, in document order."""
    return (
        [] if element is None else [_clean(node.text) for node in element.iter() if _local(node.tag) == name]
    )


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


@lru_cache(maxsize=1024)
def _day(text: str) -> date:
    """Read an ISO day; a statement's transfers share a few days, so they share the objects too."""
    return date.fromisoformat(text)


def _camt_date(element: Element | None, location: str, *, required: bool) -> date | None:
    text = None
    if element is not None:
        found = _paths(element)
        text = _text(found, "Dt") or _text(found, "DtTm")
    if not text:
        if required:
            raise StatementError("date missing", location)
        return None
    try:
        return _day(text.strip()[:10])
    except ValueError:
        raise StatementError(f"invalid date {text!r}", location) from None


def _camt_direction(text: str | None, location: str) -> CreditDebit:
    try:
        return CreditDebit((text or "").strip())
    except ValueError:
        raise StatementError(f"invalid CdtDbtInd {text!r}", location) from None


def _party_name(detail: dict[str, Element], role: str) -> str:
    # camt.053.001.08 wraps the party in Pty; earlier versions name it directly.
    for path in (f"{role}/Nm", f"{role}/Pty/Nm", f"Ultmt{role}/Nm", f"Ultmt{role}/Pty/Nm"):
        name = _clean(_text(detail, f"RltdPties/{path}"))
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


_DETAIL_ONCE = frozenset({"RltdPties", "RmtInf"})  # read from their first occurrence only


def _camt_transaction(
    entry: _CamtEntry,
    detail: dict[str, Element],
    location: str,
    *,
    amount: tuple[Decimal, str] | None,
    bank_reference: str,
    texts: list[str] | None = None,
) -> BankTransaction:
    """Build a transaction from an entry and one of its ``TxDtls`` (as ``_paths`` indexes it; {} for none).

    ``texts`` replaces the remittance texts (a batch kept whole gives all its details' ``Ustrd``).
    """
    direction = entry.credit_debit
    if _text(detail, "CdtDbtInd"):
        direction = _camt_direction(_text(detail, "CdtDbtInd"), f"{location}/CdtDbtInd")
    role = "Dbtr" if direction is CreditDebit.CREDIT else "Cdtr"
    creditor_reference = ""
    if texts is None:
        remittance = detail.get("RmtInf")
        texts = _texts(remittance, "Ustrd") + _texts(remittance, "AddtlRmtInf")
        creditor_reference = _reference(_text(detail, "RmtInf/Strd/CdtrRefInf/Ref"))
    additional = " ".join(filter(None, [entry.additional_info, _clean(_text(detail, "AddtlTxInf"))]))
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
        counterparty_name=_party_name(detail, role),
        counterparty_iban=_iban(_text(detail, f"RltdPties/{role}Acct/Id/IBAN")),
        remittance=" ".join(filter(None, texts)),
        end_to_end_id=_reference(_text(detail, "Refs/EndToEndId")),
        creditor_reference=creditor_reference,
        additional_info=additional,
    )


def _detail_amount(detail: dict[str, Element], location: str) -> tuple[Decimal, str] | None:
    element = detail.get("Amt")
    if element is None:
        element = detail.get("AmtDtls/TxAmt/Amt")
    return None if element is None else _camt_amount(element, f"{location}/Amt")


def _camt_entry_transactions(
    entry_element: Element, account: str, statement_id: str, location: str
) -> list[BankTransaction]:
    elements: list[Element] = []  # NtryDtls/TxDtls
    found: dict[str, Element] = {}
    for child in entry_element:
        name = child.tag.rpartition("}")[2]
        found.setdefault(name, child)
        if name == "NtryDtls":
            elements.extend(detail for detail in child if _local(detail.tag) == "TxDtls")
        elif name == "Sts" and len(child):
            _paths(child, "Sts/", found)
    status = _text(found, "Sts/Cd") or _text(found, "Sts") or "BOOK"
    amount, currency = _camt_amount(found.get("Amt"), f"{location}/Amt")
    entry = _CamtEntry(
        account=account,
        statement_id=statement_id,
        bank_reference=_reference(_text(found, "AcctSvcrRef")),
        booking_date=_camt_date(found.get("BookgDt"), f"{location}/BookgDt", required=True),  # type: ignore[arg-type]
        value_date=_camt_date(found.get("ValDt"), f"{location}/ValDt", required=False),
        amount=amount,
        currency=currency,
        credit_debit=_camt_direction(_text(found, "CdtDbtInd"), f"{location}/CdtDbtInd"),
        reversal=(_text(found, "RvslInd") or "").strip().lower() == "true",
        booked=status.strip() == "BOOK",
        additional_info=_clean(_text(found, "AddtlNtryInf")),
    )
    details = [_paths(detail, once=_DETAIL_ONCE) for detail in elements]
    detail_locations = [f"{location}/NtryDtls/TxDtls[{number}]" for number in range(1, len(details) + 1)]
    if len(details) <= 1:
        detail = details[0] if details else {}
        own_reference = _reference(_text(detail, "Refs/AcctSvcrRef"))
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
        texts = [text for element in elements for text in _texts(element, "Ustrd")]
        return [
            _camt_transaction(
                entry, {}, location, amount=None, bank_reference=entry.bank_reference, texts=texts
            )
        ]
    transactions = []
    for number, (detail, where, detail_amount) in enumerate(
        zip(details, detail_locations, amounts, strict=True), 1
    ):
        own_reference = _reference(_text(detail, "Refs/AcctSvcrRef"))
        if not own_reference and entry.bank_reference:
            own_reference = f"{entry.bank_reference}/{number}"
        transactions.append(
            _camt_transaction(entry, detail, where, amount=detail_amount, bank_reference=own_reference)
        )
    return transactions


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
    statement: Element | None = None
    statement_id = account = ""
    try:
        for owner, location, name, element in _statement_children(stream):
            if owner is not statement:
                statement, statement_id, account = owner, "", ""
            if name == "Id":
                statement_id = _clean(element.text)
            elif name == "Acct":
                found = _paths(element)
                account = _iban(_text(found, "Id/IBAN")) or _clean(_text(found, "Id/Othr/Id"))
            elif name == "Ntry":
                for details in _camt_entry_transactions(element, account, statement_id, location):
                    yield ids.assign(details)
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


class _Root:
    """An element factory for the C tree builder that keeps the first element it makes: the document's root."""

    __slots__ = ("element",)

    def __init__(self) -> None:
        self.element: Element | None = None

    def __call__(self, tag: str, attributes: dict[str, str]) -> Element:
        element = Element(tag, attributes)
        if self.element is None:
            self.element = element
        return element


class _Walk:
    """Hand out each finished child of each ``Stmt`` once, in document order, as the tree grows; then drop it.

    The tree is built in C without an event per element (a statement has dozens per entry): after each chunk,
    every element but the last child on each level is finished. Finished elements are removed from the tree,
    so memory stays bounded by one chunk however large the file. Locations count siblings of the same name.
    """

    def __init__(self) -> None:
        self._known: dict[Element, tuple[str, Counter[str]]] = {}  # open element: its location, child names

    def children(self, root: Element, *, open_: bool) -> Iterator[tuple[Element, str, str, Element]]:
        """Yield (statement, location, local name, element) for the finished children of statements."""
        yield from self._level(root, f"{_local(root.tag)}[1]", 2, open_)

    def _level(
        self, parent: Element, location: str, depth: int, open_: bool
    ) -> Iterator[tuple[Element, str, str, Element]]:
        names = self._known.setdefault(parent, (location, Counter()))[1]
        children = list(parent)
        finished = len(children) - 1 if open_ else len(children)
        for index, child in enumerate(children):
            name = _local(child.tag)
            known = self._known.get(child)
            if known is None:
                names[name] += 1
                where = f"{location}/{name}[{names[name]}]"
                if index >= finished:  # still growing: counted once, looked at again after the next chunk
                    self._known[child] = (where, Counter())
            else:
                where = known[0]
            if depth == _ENTRY_DEPTH:
                if index >= finished:
                    return
                yield parent, where, name, child
            elif depth == 2 or name == "Stmt":
                yield from self._level(child, where, depth + 1, open_ and index >= finished)
            if index < finished:
                parent.remove(child)
                self._known.pop(child, None)


def _statement_children(stream: BinaryIO) -> Iterator[tuple[Element, str, str, Element]]:
    """Read a camt.053 document in chunks: yield (statement, location, name, element) per child of a Stmt.

    A DTD is refused before it is parsed; XML errors and forbidden constructs become ``StatementError``s.
    """
    guard: expat.XMLParserType | None = expat.ParserCreate()
    guard.StartDoctypeDeclHandler = _refuse_dtd
    guard.StartElementHandler = _root_started
    root = _Root()
    parser = XMLParser(target=TreeBuilder(element_factory=root))  # noqa: S314 (the guard refuses DTDs first)
    walk = _Walk()
    checked = False
    more = True
    while more:
        chunk = stream.read(_CHUNK)
        more = bool(chunk)
        error: StatementError | None = None
        try:
            if chunk and guard is not None:
                try:
                    guard.Parse(chunk, False)
                except (_PrologRead, expat.ExpatError):
                    # Past the prolog; or malformed there, which the parser reports before reaching any DTD.
                    guard = None
            parser.feed(chunk) if chunk else parser.close()
        except ParseError as exc:
            line, column = exc.position
            reason = str(exc.msg).split(":", 1)[0]  # the message repeats the position
            error = StatementError(f"malformed XML: {reason}", f"line {line}, column {column}")
        except DefusedXmlException as exc:
            raise StatementError(f"forbidden XML construct: {type(exc).__name__}") from None
        # expat: "multi-byte encodings are not supported" (UTF-16 without a BOM); "unknown encoding: X"
        except (ValueError, LookupError) as exc:
            raise StatementError(f"unreadable XML ({exc}); send camt.053 as UTF-8", "line 1") from None
        if root.element is not None:
            if not checked:
                namespace, _, name = root.element.tag[1:].partition("}")
                if not root.element.tag.startswith("{"):
                    namespace, name = "", root.element.tag
                if name != "Document" or not CAMT053_NAMESPACE.fullmatch(namespace):
                    raise StatementError(f"not a camt.053 document: {root.element.tag}", "/" + name)
                checked = True
            yield from walk.children(root.element, open_=more or error is not None)
        if error is not None:
            raise error


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


# in a process of its own ----------------------------------------------------------------------------------

_APART_BATCH = 500
# What the child may parse ahead of the caller: Linux's most for a pipe without privileges (the default 64 KiB
# is less than one batch), about 6,500 transactions.
_READ_AHEAD_BYTES = 1 << 20
_FIELDS = operator.attrgetter(*(field.name for field in dataclasses.fields(BankTransaction)))


def parse_statement_apart(
    source: bytes | str | os.PathLike[str] | BinaryIO, on_read: Callable[[int], None] | None = None
) -> Iterator[BankTransaction]:
    """Parse a statement as ``parse_statement`` does, in a child process, and stream its transactions back.

    The parse then runs on another core while the caller stores and matches the transactions before:
    reading camt.053 is a fifth of a statement import's CPU. The child is forked, so it has every module
    loaded and shares ``source`` (a file's position too: the caller reads nothing from it meanwhile); it
    sends what it parsed in batches, field values only (a pickled dataclass costs four times as much), and a
    ``StatementError`` of the file comes back as itself, after the transactions before it. Only for a process
    that may fork (the ``statements import`` command), not a web worker.

    ``on_read`` (for a binary file ``source``) is called here, never in the child, with the child's read
    position each time it has grown, up to the file's size: the child sends it with each batch.
    """
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    _read_ahead(sending)
    child = context.Process(target=_parse_into, args=(source, sending), daemon=True)
    child.start()
    sending.close()
    kind, reached = "rows", 0
    try:
        while kind == "rows":
            kind, payload = receiving.recv()
            if kind == "rows":
                batch, position = payload
                if on_read is not None and position is not None and position > reached:
                    reached = position
                    on_read(position)
                yield from (BankTransaction(*values) for values in batch)
        if kind == "error":
            raise StatementError(*payload)
        if kind == "failed":
            raise RuntimeError(f"parsing the statement failed in its process:\n{payload}")
    finally:
        receiving.close()
        if kind == "rows":
            child.kill()  # the caller stopped early (or the child died): it may wait to send more
        child.join()


def _read_ahead(sending: Connection) -> None:
    """Let the child parse ahead: while the caller indexes the open receivables after the first batch (a
    quarter of a second at 10,000), a full pipe stopped the child a batch ahead and the caller waited later."""
    with contextlib.suppress(AttributeError, OSError):  # F_SETPIPE_SZ is Linux's
        fcntl.fcntl(sending.fileno(), fcntl.F_SETPIPE_SZ, _READ_AHEAD_BYTES)


def _parse_into(source: bytes | str | os.PathLike[str] | BinaryIO, sending: Connection) -> None:
    """Parse in the child process: send ("rows", (values, read position)) batches, then ("done", None) or what
    went wrong. The position is None unless ``source`` is a file."""
    tell = (lambda: None) if isinstance(source, bytes | str | os.PathLike) else source.tell
    batch: list[tuple[Any, ...]] = []
    try:
        for transaction in parse_statement(source):
            batch.append(_FIELDS(transaction))
            if len(batch) == _APART_BATCH:
                sending.send(("rows", (batch, tell())))
                batch = []
        sending.send(("rows", (batch, tell())))
        sending.send(("done", None))
    except StatementError as error:
        sending.send(("rows", (batch, None)))
        sending.send(("error", (error.message, error.location)))
    except Exception:
        sending.send(("failed", traceback.format_exc()))
    finally:
        sending.close()

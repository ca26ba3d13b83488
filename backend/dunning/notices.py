"""Dunning notice e-mails in German and English, rendered from plain data. Pure, no I/O besides templates.

Build ``NoticeContent`` with ``notice_content(claim, breakdown, ...)`` so the amounts are exactly the claim
on the notice date (include the notice being sent, with its fee, in ``claim.notices``; a fee that is not
owed is then not shown), then ``render_notice(content)`` gives subject, text and HTML.

Templates live in ``templates/<language>/``: ``<kind>.txt`` holds the subject and the words of its stage
(blocks ``subject``, ``intro``, ``closing``) and extends ``_layout.txt`` with the amounts and payment
details; the HTML part is ``_layout.html`` filled with the same stage words, so each wording exists once
per language. Amounts are formatted by hand for euro only (claims are euro only): German ``1.234,56 €`` and
``8,62 %``, English ``€1,234.56`` and ``8.62%``; a no-break space keeps number and unit on one line.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

import jinja2

from backend.dunning.claims import CENT, Claim, ClaimBreakdown, InterestSegment, NoticeKind

Language = Literal["de", "en"]
LANGUAGES: tuple[Language, ...] = ("de", "en")
NBSP = "\u00a0"
_ENGLISH_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def format_money(amount: Decimal, language: Language) -> str:
    """Format a euro amount: ``1.234,56 €`` in German, ``€1,234.56`` in English."""
    rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    english = f"{abs(rounded):,.2f}"
    if language == "de":
        german = english.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return f"{sign}{german}{NBSP}€"
    return f"{sign}€{english}"


def format_percent(value: Decimal, language: Language) -> str:
    """Format a percentage with two decimals: ``8,62 %`` in German, ``8.62%`` in English."""
    text = f"{value.quantize(CENT, rounding=ROUND_HALF_UP):.2f}"
    return f"{text.replace('.', ',')}{NBSP}%" if language == "de" else f"{text}%"


def format_date(day: date, language: Language) -> str:
    """Format a date: ``15.08.2024`` in German, ``15 August 2024`` in English."""
    if language == "de":
        return day.strftime("%d.%m.%Y")
    return f"{day.day} {_ENGLISH_MONTHS[day.month - 1]} {day.year}"


def format_number(value: Decimal, language: Language) -> str:
    """Format a number without trailing zeros (interest points): ``5`` or ``2,5``/``2.5``."""
    text = f"{value.normalize():f}"
    return text.replace(".", ",") if language == "de" else text


def format_iban(iban: str) -> str:
    """Group an IBAN in blocks of four as printed on paper."""
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


@dataclass(frozen=True)
class PaymentDetails:
    """Where the debtor should pay to."""

    account_holder: str
    iban: str
    bic: str
    reference: str


@dataclass(frozen=True)
class NoticeContent:
    """Everything a notice says. ``total == principal - paid + dunning_fees + flat_fee + interest``."""

    kind: NoticeKind
    language: Language
    notice_date: date
    merchant_name: str
    debtor_name: str
    invoice_number: str
    invoice_date: date
    due_date: date
    principal: Decimal
    paid: Decimal
    dunning_fees: Decimal
    flat_fee: Decimal
    interest_segments: tuple[InterestSegment, ...]
    total: Decimal
    payment_deadline: date
    payment: PaymentDetails
    default_since: date | None = None
    collection_agency: str | None = None
    girocode_cid: str | None = None  # content id of the EPC QR code image attached to the HTML part

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", NoticeKind(self.kind))
        object.__setattr__(self, "interest_segments", tuple(self.interest_segments))
        if self.language not in LANGUAGES:
            raise ValueError(f"language: must be one of {', '.join(LANGUAGES)}, not {self.language!r}")
        expected = self.principal - self.paid + self.dunning_fees + self.flat_fee + self.interest
        if self.total != expected:
            raise ValueError(f"total: {self.total} does not add up to {expected}")
        if self.total <= 0:
            raise ValueError("total: nothing is owed, send no notice")
        if self.payment_deadline < self.notice_date:
            raise ValueError(f"payment_deadline: {self.payment_deadline} is before the notice date")

    @property
    def interest(self) -> Decimal:
        """Return the interest charged so far."""
        return sum((segment.amount for segment in self.interest_segments), Decimal("0.00"))


@dataclass(frozen=True)
class RenderedNotice:
    """A notice ready to be put into an e-mail."""

    subject: str
    text: str
    html: str


def notice_content(
    claim: Claim,
    breakdown: ClaimBreakdown,
    *,
    kind: NoticeKind,
    language: Language,
    merchant_name: str,
    debtor_name: str,
    invoice_number: str,
    payment_deadline: date,
    payment: PaymentDetails,
    collection_agency: str | None = None,
    girocode_cid: str | None = None,
) -> NoticeContent:
    """Return the content of a notice stating ``breakdown`` (the claim on the notice date)."""
    if breakdown.overpaid:
        raise ValueError("the debtor has overpaid: send no notice")
    return NoticeContent(
        kind=kind,
        language=language,
        notice_date=breakdown.as_of,
        merchant_name=merchant_name,
        debtor_name=debtor_name,
        invoice_number=invoice_number,
        invoice_date=claim.invoice_date,
        due_date=claim.due_date,
        principal=breakdown.principal,
        paid=breakdown.payments_total + breakdown.credits - breakdown.refunds,
        dunning_fees=breakdown.dunning_fees,
        flat_fee=breakdown.flat_fee,
        interest_segments=breakdown.interest_segments,
        total=breakdown.total_outstanding,
        payment_deadline=payment_deadline,
        payment=payment,
        default_since=breakdown.default_start,
        collection_agency=collection_agency,
        girocode_cid=girocode_cid,
    )


@functools.cache
def _environment(language: Language) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("backend.dunning", f"templates/{language}"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # the templates ship with the code: no stat() of the file at every notice
    )
    env.filters.update(
        money=functools.partial(format_money, language=language),
        percent=functools.partial(format_percent, language=language),
        date=functools.partial(format_date, language=language),
        number=functools.partial(format_number, language=language),
        iban=format_iban,
    )
    return env


def _paragraphs(text: str) -> list[str]:
    return [" ".join(chunk.split()) for chunk in text.split("\n\n") if chunk.strip()]


def render_notice(content: NoticeContent) -> RenderedNotice:
    """Render the subject, plain text and HTML of ``content`` in its language."""
    env = _environment(content.language)
    variables = {field.name: getattr(content, field.name) for field in dataclasses.fields(content)}
    variables["interest"] = content.interest
    kind_template = env.get_template(f"{content.kind.value}.txt")
    # The stage's words are rendered once, in one context, and the text's layout takes them as they came out:
    # rendering the kind's template whole rendered its intro and closing again.
    context = kind_template.new_context(variables)
    words = {name: "".join(render(context)) for name, render in kind_template.blocks.items()}
    subject = " ".join(words.get("subject", "").split())
    html = env.get_template("_layout.html").render(
        variables,
        subject=subject,
        intro=_paragraphs(words.get("intro", "")),
        closing=_paragraphs(words.get("closing", "")),
    )
    for name, rendered in words.items():
        context.blocks[name] = [functools.partial(_rendered_block, rendered)]
    return RenderedNotice(
        subject=subject, text=env.concat(kind_template.root_render_func(context)), html=html
    )


def _rendered_block(rendered: str, context: jinja2.runtime.Context) -> Iterator[str]:
    """Render a block as the text it rendered to before."""
    yield rendered

"""The merchant guide: invoice wording for consumers and what ClaimBridge can and cannot claim. Pure data.

One text, two places: the console shows it (``GET /api/v1/merchant-guide``) and the README's section "Merchant
guide" is ``guide_markdown("en")`` (a test keeps them equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GuideLanguage = Literal["de", "en"]

INVOICE_NOTICE_DE = (
    "Bitte zahlen Sie den Rechnungsbetrag bis zum <Fälligkeitsdatum>. Zahlen Sie nicht innerhalb von 30 Tagen "
    "nach Fälligkeit und Zugang dieser Rechnung, kommen Sie auch ohne Mahnung in Verzug (§ 286 Abs. 3 BGB)."
)


@dataclass(frozen=True)
class GuideSection:
    """One heading with its paragraphs."""

    title: str
    paragraphs: tuple[str, ...]


GUIDE: dict[GuideLanguage, tuple[GuideSection, ...]] = {
    "en": (
        GuideSection(
            "Invoice wording for consumers",
            (
                "Without a reminder, a consumer is in default only 30 days after the due date and receipt of "
                "the invoice, and only if the invoice said so expressly (§286(3) BGB). Print this on invoices "
                f'to consumers (German): "{INVOICE_NOTICE_DE}"',
                "Then tell ClaimBridge: set invoices_carry_default_notice in the claim settings, or send "
                "invoice_has_default_notice with each order (API, CSV, shop field). A payment date you set on "
                "the invoice alone does not put anyone in default; the first reminder after the due date does, "
                "from the day after the deadline it sets.",
            ),
        ),
        GuideSection(
            "What ClaimBridge claims",
            (
                "The open principal; default interest from the first day of default (consumers: base rate + 5 "
                "points, businesses: + 9 points, §288 BGB), only for days whose base rate is published; for "
                "businesses the €40 flat fee (§288(5) BGB), which counts against later collection costs; "
                "for a reminder sent as a letter after default began, its actual cost (at most the letter cost "
                "you state, €2.50 at most).",
                "Payments are credited to costs, then interest, then principal (§367 BGB). Receipt is assumed "
                "three days after the invoice date and one day after a notice; every notice is recorded with "
                "channel, time, message id and a hash of its content as proof of sending.",
            ),
        ),
        GuideSection(
            "What ClaimBridge does not claim",
            (
                "No fee for an e-mail or a reminder your shop sends, none for the notice that first puts the "
                "debtor in default, no staff time, overheads or flat processing fees. No interest before "
                "default and none at a guessed rate. Nothing for a time-barred claim: three years from the end "
                "of the year the invoice fell due, restarted by a part payment (§§195, 199, 212 BGB); such "
                "claims get no notice and no handover. Collection costs are the agency's, capped at what a "
                "lawyer could charge (§13e RDG).",
                "A company name alone does not make a buyer a business: without your statement, a VAT id or "
                "your setting that you sell to businesses only, a buyer is a consumer (§13 BGB).",
            ),
        ),
    ),
    "de": (
        GuideSection(
            "Rechnungstext für Verbraucher",
            (
                "Ohne Mahnung kommt ein Verbraucher erst 30 Tage nach Fälligkeit und Zugang der Rechnung in "
                "Verzug, und nur wenn die Rechnung ausdrücklich darauf hinweist (§ 286 Abs. 3 BGB). Drucken "
                f'Sie auf Rechnungen an Verbraucher: "{INVOICE_NOTICE_DE}"',
                "Sagen Sie es ClaimBridge: invoices_carry_default_notice in den Forderungseinstellungen setzen "
                "oder invoice_has_default_notice je Bestellung mitgeben (API, CSV, Shop-Feld). Ein von Ihnen "
                "gesetztes Zahlungsziel allein begründet keinen Verzug; die erste Erinnerung nach Fälligkeit "
                "tut es, ab dem Tag nach der darin gesetzten Frist.",
            ),
        ),
        GuideSection(
            "Was ClaimBridge fordert",
            (
                "Die offene Hauptforderung; Verzugszinsen ab dem ersten Verzugstag (Verbraucher: Basiszinssatz "
                "+ 5 Prozentpunkte, Unternehmer: + 9, § 288 BGB), nur für Tage mit veröffentlichtem "
                "Basiszinssatz; bei Unternehmern die Pauschale von 40 € (§ 288 Abs. 5 BGB), die auf spätere "
                "Inkassokosten angerechnet wird; für eine Mahnung per Brief nach Verzugsbeginn deren "
                "tatsächliche Kosten (höchstens die von Ihnen genannten Briefkosten, höchstens 2,50 €).",
                "Zahlungen werden auf Kosten, dann Zinsen, dann Hauptforderung angerechnet (§ 367 BGB). Zugang "
                "gilt drei Tage nach Rechnungsdatum und einen Tag nach einer Mahnung; jede Mahnung wird mit "
                "Kanal, Zeit, Message-ID und Prüfsumme des Inhalts als Versandnachweis gespeichert.",
            ),
        ),
        GuideSection(
            "Was ClaimBridge nicht fordert",
            (
                "Keine Gebühr für eine E-Mail oder eine Erinnerung Ihres Shops, keine für die Mahnung, die den "
                "Verzug erst begründet, keine Personal- oder Gemeinkosten, keine Bearbeitungspauschalen. Keine "
                "Zinsen vor Verzugsbeginn und keine zu einem geschätzten Satz. Nichts für verjährte "
                "Forderungen: drei Jahre ab Ende des Jahres der Fälligkeit, neu beginnend mit einer Teilzahlung "
                "(§§ 195, 199, 212 BGB); sie werden weder gemahnt noch übergeben. Inkassokosten berechnet das "
                "Inkassounternehmen, begrenzt auf Anwaltsgebühren (§ 13e RDG).",
                "Ein Firmenname allein macht keinen Unternehmer: ohne Ihre Angabe, eine USt-IdNr. oder Ihre "
                "Einstellung, nur an Unternehmer zu verkaufen, gilt ein Käufer als Verbraucher (§ 13 BGB).",
            ),
        ),
    ),
}


def guide_markdown(language: GuideLanguage = "en") -> str:
    """Return the guide as Markdown (level-3 headings), as the README shows it."""
    blocks = []
    for section in GUIDE[language]:
        blocks.append(f"### {section.title}")
        blocks.extend(section.paragraphs)
    return "\n\n".join(blocks)

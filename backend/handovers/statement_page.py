"""The fpdf2 page the claim statement (``backend.handovers.statement``) is drawn on.

Kept apart so that only rendering imports fpdf2 (with fontTools and Pillow, half a second of every process's start).
"""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT = "Helvetica"
PAGE_WIDTH = 180  # mm between the margins of an A4 page
NEXT_LINE = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}


def latin1(text: str) -> str:
    """Return the text as the built-in Helvetica can print it (other characters become "?")."""
    return text.encode("latin-1", "replace").decode("latin-1")


class StatementPage(FPDF):
    """An A4 page of the claim statement: Helvetica text lines, headings, tables and a page footer."""

    def __init__(self, title: str) -> None:
        super().__init__(format="A4")
        self.title_text = title
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(0, 5, latin1(f"{self.title_text} - Seite {self.page_no()}/{{nb}}"), align="C")

    def line_of_text(self, text: str, *, bold: bool = False, size: float = 10, height: float = 5) -> None:
        self.set_font(FONT, style="B" if bold else "", size=size)
        self.multi_cell(PAGE_WIDTH, height, latin1(text), **NEXT_LINE)

    def heading(self, text: str) -> None:
        self.ln(3)
        self.line_of_text(text, bold=True, size=11, height=6)

    def table(self, widths: Sequence[float], header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        aligns = ["L"] + ["R"] * (len(widths) - 1)
        self.set_font(FONT, style="B", size=9)
        for width, text, align in zip(widths, header, aligns, strict=True):
            self.cell(width, 6, latin1(text), border="B", align=align)
        self.ln()
        self.set_font(FONT, size=9)
        for row in rows:
            for width, text, align in zip(widths, row, aligns, strict=True):
                self.cell(width, 5.5, latin1(text), align=align)
            self.ln()

"""The page layout shared by the PDFs dcol writes: the deposit receipt, the committee's decision
letters, the agreement and the closure report.

They are one family of documents from Cités Unies France, so they share one A4 set-up, one set of
paragraph styles, the same key/value and ruled tables and the same footer; a fix made here (a row
taller than a page, a footer too long for its line) is made for all of them.

Two promises hold for every document built here:

- user text is shown literally: reportlab's ``Paragraph`` reads its text as markup, so every text
  goes through ``text`` (``paragraph`` does it);
- the same content gives the same bytes (reportlab's invariant mode: no clock nor random
  identifier in the file), which is what lets a party sign the SHA-256 of an agreement and a
  reader check a stored receipt against its hash.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table

ISSUER = "Cités Unies France"
CREATOR = "DCOL — Cités Unies France"
MARGIN = 2 * cm
WIDTH = A4[0] - 2 * MARGIN - 12  # the frame pads its content by 6 pt on each side
LABEL_WIDTH = 5 * cm  # the labels' column of ``pairs``
GRID = colors.HexColor("#999999")
HEADER = colors.HexColor("#e8eef5")  # a ruled table's header row
SHADE = colors.HexColor("#f3f3f3")  # its ``strong`` rows (totals, the final deliverable)
MARK = colors.HexColor("#fbe9e7")  # its ``marked`` rows (a milestone late or not done)
FOOTER_SIZE = 7.5
FOOTER_COLOUR = colors.HexColor("#555555")

# Fonts covering more than Latin-1 (place names such as Bình Định), when the system has them;
# otherwise reportlab's standard fonts.
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_FONT_FILES = {
    "regular": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
}


@lru_cache(maxsize=1)
def fonts() -> dict[str, str]:
    """The names of the regular, bold and mono fonts, registered with reportlab once."""
    for folder in _FONT_DIRS:
        paths = {role: folder / name for role, name in _FONT_FILES.items()}
        if all(path.is_file() for path in paths.values()):
            names = {}
            for role, path in paths.items():
                name = f"Dcol-{path.stem}"
                pdfmetrics.registerFont(TTFont(name, str(path)))
                names[role] = name
            return names
    return {"regular": "Helvetica", "bold": "Helvetica-Bold", "mono": "Courier"}


def text(value) -> str:
    """User text made safe for a ``Paragraph``: markup shown literally, line breaks kept."""
    return escape(str(value or "")).replace("\r\n", "\n").replace("\n", "<br/>")


@lru_cache(maxsize=1)
def styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles of every document, by name: ``base`` (running text), ``bold``,
    ``issuer``, ``title``, ``subtitle``, ``heading`` (kept with what follows it), ``label``;
    in tables ``cell``, ``strong_cell``, ``amount`` and ``strong_amount`` (right-aligned);
    ``hash`` (a SHA-256) and ``small`` (notes)."""
    font = fonts()
    base = ParagraphStyle("base", fontName=font["regular"], fontSize=10, leading=13)
    bold = ParagraphStyle("bold", base, fontName=font["bold"])
    cell = {"fontSize": 9, "leading": 11.5}
    derived = {
        "issuer": (bold, {"fontSize": 11, "alignment": TA_CENTER, "spaceAfter": 4}),
        "title": (bold, {"fontSize": 17, "leading": 21, "alignment": TA_CENTER, "spaceAfter": 12}),
        "subtitle": (base, {"fontSize": 11, "alignment": TA_CENTER, "spaceAfter": 12}),
        "heading": (
            bold,
            {"fontSize": 12, "leading": 15, "spaceBefore": 12, "spaceAfter": 6, "keepWithNext": 1},
        ),
        "label": (bold, {"fontSize": 9}),
        "cell": (base, cell),
        "strong_cell": (bold, cell),
        "amount": (base, {**cell, "alignment": TA_RIGHT}),
        "strong_amount": (bold, {**cell, "alignment": TA_RIGHT}),
        "hash": (base, {"fontName": font["mono"], "fontSize": 7, "leading": 9}),
        "small": (base, {"fontSize": 8, "leading": 10, "textColor": colors.HexColor("#444444")}),
    }
    named = {
        name: ParagraphStyle(name, parent, **attributes)
        for name, (parent, attributes) in derived.items()
    }
    return {"base": base, "bold": bold, **named}


def paragraph(value, style: str = "base") -> Paragraph:
    """A paragraph of plain text in one of ``styles()``: markup in ``value`` is shown
    literally."""
    return Paragraph(text(value), styles()[style])


def pairs(rows: Iterable[tuple[str, str]]) -> Table:
    """(label, text) rows, without rules. A text taller than a page goes on over the next one
    (``splitInRow``) rather than failing the whole document with a layout error."""
    return Table(
        [[paragraph(label, "label"), paragraph(value)] for label, value in rows],
        colWidths=[LABEL_WIDTH, WIDTH - LABEL_WIDTH],
        splitInRow=1,
        style=[
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ],
    )


def grid(
    header: Sequence[str],
    rows: list[list],
    widths: Sequence[float],
    strong: Iterable[int] = (),
    marked: Iterable[int] = (),
) -> Table:
    """A ruled table, its ``header`` repeated on each page; ``widths`` are parts of the page's
    width. ``strong`` rows are shaded, ``marked`` ones tinted; both count the header as row 0.
    A row taller than a page is split across pages (``splitInRow``)."""
    return Table(
        [[paragraph(label, "label") for label in header], *rows],
        colWidths=[WIDTH * part for part in widths],
        repeatRows=1,
        splitInRow=1,
        style=[
            ("BOX", (0, 0), (-1, -1), 0.4, GRID),
            ("INNERGRID", (0, 0), (-1, -1), 0.25, GRID),
            ("BACKGROUND", (0, 0), (-1, 0), HEADER),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            *[("BACKGROUND", (0, row), (-1, row), SHADE) for row in strong],
            *[("BACKGROUND", (0, row), (-1, row), MARK) for row in marked],
        ],
    )


def fit(value: str, width: float, size: float = FOOTER_SIZE) -> str:
    """``value`` cut with an ellipsis to fit ``width`` in the regular font at ``size``."""
    font = fonts()["regular"]
    if pdfmetrics.stringWidth(value, font, size) <= width:
        return value
    while value and pdfmetrics.stringWidth(f"{value}…", font, size) > width:
        value = value[:-1]
    return f"{value}…"


def numbered_canvas(footer: str) -> type[Canvas]:
    """A canvas class drawing ``footer`` (cut to fit its line) and "page n / total" at the foot
    of every page. It keeps its pages until the document is saved: only then is the total
    known."""

    def draw_footer(canvas: Canvas, total: int) -> None:
        page = _("page %(number)s / %(total)s", number=canvas.getPageNumber(), total=total)
        canvas.saveState()
        canvas.setFont(fonts()["regular"], FOOTER_SIZE)
        canvas.setFillColor(FOOTER_COLOUR)
        # 2 cm left for the page's number on the right.
        canvas.drawString(MARGIN, MARGIN / 2, fit(footer, A4[0] - 2 * MARGIN - 2 * cm))
        canvas.drawRightString(A4[0] - MARGIN, MARGIN / 2, page)
        canvas.restoreState()

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):  # reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            for state in self._pages:
                self.__dict__.update(state)
                draw_footer(self, len(self._pages))
                super().showPage()
            super().save()

    return NumberedCanvas


def new_document(buffer: io.BytesIO, title: str, subject: str | None = None) -> SimpleDocTemplate:
    """An A4 document writing into ``buffer``, with the house margins and metadata, in invariant
    mode: the date of a document belongs in its text, never in the file's metadata."""
    return SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=ISSUER,
        subject=subject,
        creator=CREATOR,
        invariant=True,  # no clock nor random identifier in the file: same content, same bytes
    )


def render(
    story: list[Flowable], title: str, subject: str | None = None, footer: str | None = None
) -> bytes:
    """The PDF bytes of ``story`` (see ``new_document``); with ``footer``, every page ends with
    it and "page n / total"."""
    buffer = io.BytesIO()
    document = new_document(buffer, title, subject)
    if footer is None:
        document.build(story)
    else:
        document.build(story, canvasmaker=numbered_canvas(footer))
    return buffer.getvalue()

"""The court chronology as a PDF, with reportlab: a title page, then the table on A4
landscape, every page numbered "Page n of m", the child and the short head digest in the
running header, the table's header row repeated on each page, and rows that break cleanly
between pages (never overprinted, never cut off).

The header and the columns are those of the other forms (`header_lines`, `COLUMNS` and
`cells` in projections/chronology_forms.py). The stamp line that `careledger verify-export`
reads is in the PDF's metadata (Keywords, exactly) and printed small on the last page (there
it may wrap at its spaces). The same chronology always gives the same bytes (reportlab's
invariant mode).

The text is set in DejaVu Sans when the system has it (Debian's fonts-dejavu-core), embedded,
so that names outside Latin-1 (Łucja, Nguyễn) print as written; otherwise in Helvetica, which
shows such letters as boxes.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    LayoutError,
    LongTable,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from careledger.projections.chronology import Chronology, Row
from careledger.projections.chronology_forms import COLUMNS, cells, header_lines

PAGE = landscape(A4)
MARGIN = 15 * mm
TOP, BOTTOM = 20 * mm, 16 * mm  # room for the running header and the footer
WIDTH = PAGE[0] - 2 * MARGIN

# The columns' widths, in points, summing to WIDTH (about 757 pt).
_FIXED: tuple[float, ...] = (36, 50, 172, 84, 78, 68, 90, 80)
WIDTHS: tuple[float, ...] = (*_FIXED, WIDTH - sum(_FIXED))  # the ledger record: the rest
WHAT, FLAGS = 2, 6

INK = colors.HexColor("#111111")
MUTED = colors.HexColor("#4a4a4a")
RULE = colors.HexColor("#9a9a9a")
HEAD = colors.HexColor("#e6e6e6")
FLAG = colors.HexColor("#8a1c00")
FIX = colors.HexColor("#00457a")

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def fonts() -> tuple[str, str, str]:
    """(regular, bold, mono) font names, registered with reportlab once."""
    files = {
        "CL-Sans": DEJAVU / "DejaVuSans.ttf",
        "CL-Sans-Bold": DEJAVU / "DejaVuSans-Bold.ttf",
        "CL-Mono": DEJAVU / "DejaVuSansMono.ttf",
    }
    if not all(path.is_file() for path in files.values()):
        return "Helvetica", "Helvetica-Bold", "Courier"
    registered = pdfmetrics.getRegisteredFontNames()
    for name, path in files.items():
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(
        "CL-Sans",
        normal="CL-Sans",
        bold="CL-Sans-Bold",
        italic="CL-Sans",
        boldItalic="CL-Sans-Bold",
    )
    return "CL-Sans", "CL-Sans-Bold", "CL-Mono"


class Styles:
    def __init__(self) -> None:
        sans, bold, mono = fonts()
        self.sans, self.bold, self.mono = sans, bold, mono
        base = ParagraphStyle("base", fontName=sans, fontSize=10, leading=13, textColor=INK)
        self.kind = ParagraphStyle(
            "kind", base, fontSize=11, textColor=MUTED, alignment=TA_CENTER, spaceAfter=4
        )
        self.title = ParagraphStyle(
            "title", base, fontName=bold, fontSize=30, leading=36, alignment=TA_CENTER
        )
        self.child = ParagraphStyle(
            "child", base, fontName=bold, fontSize=16, leading=20, alignment=TA_CENTER
        )
        self.label = ParagraphStyle("label", base, fontName=bold)
        self.value = ParagraphStyle("value", base)
        self.digest = ParagraphStyle("digest", base, fontName=mono, fontSize=9, leading=12)
        self.note = ParagraphStyle("note", base, fontSize=9, leading=12, textColor=MUTED)
        self.heading = ParagraphStyle("heading", base, fontName=bold, fontSize=8, leading=10)
        self.cell = ParagraphStyle("cell", base, fontSize=7, leading=8.6)
        self.head = ParagraphStyle("head", self.cell, fontName=bold, fontSize=7.5)
        self.number = ParagraphStyle("number", self.cell, alignment=TA_RIGHT)
        self.record = ParagraphStyle("record", self.cell, fontSize=6.2, leading=7.6)
        self.record.textColor = MUTED
        self.flag = ParagraphStyle("flag", self.cell, fontName=bold, textColor=FLAG)
        self.fixed = ParagraphStyle(
            "fixed", self.cell, textColor=FIX, leftIndent=3, borderPadding=0, spaceBefore=2.5
        )
        self.tag = ParagraphStyle(
            "tag", self.cell, fontName=bold, fontSize=4.8, leading=6, alignment=TA_RIGHT
        )
        self.stamp = ParagraphStyle("stamp", base, fontName=mono, fontSize=6, leading=7.5)


def render_pdf(made: Chronology) -> bytes:
    """The PDF. A row is never split between pages, unless it is taller than a whole page
    (a very long reason, say): then, and only then, rows may split, so that nothing is lost."""
    try:
        return _render(made, split_in_row=False)
    except LayoutError:
        return _render(made, split_in_row=True)


def _render(made: Chronology, split_in_row: bool) -> bytes:
    styles = Styles()
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=TOP,
        bottomMargin=BOTTOM,
        title=f"Chronology of {made.child}",
        author=made.produced_by,
        subject=f"Court chronology of {made.child}, {_period(made)}",
        keywords=[made.stamp()],  # one keyword: the stamp, as it is
        creator="careledger chronology --format pdf",
        invariant=1,
    )
    frame = Frame(MARGIN, BOTTOM, WIDTH, PAGE[1] - TOP - BOTTOM, id="body", showBoundary=0)
    doc.addPageTemplates(
        [
            PageTemplate(id="title", frames=[frame]),
            PageTemplate(id="table", frames=[frame], onPage=_running_header(made, styles)),
        ]
    )
    story = _title_page(made, styles)
    story += [NextPageTemplate("table"), PageBreak()]
    story += _table(made, styles, split_in_row)
    story += _stamp(made, styles)

    def canvas(*args: Any, **kwargs: Any) -> Canvas:
        return NumberedCanvas(*args, footer=_footer(made), font=styles.sans, **kwargs)

    doc.build(story, canvasmaker=canvas)
    return buffer.getvalue()


# --- the title page ------------------------------------------------------------------------


def _title_page(made: Chronology, s: Styles) -> list[Flowable]:
    facts = [_label(line) for line in header_lines(made)]
    rows = [
        [Paragraph(escape(label), s.label), Paragraph(_text(value), s.value)]
        for label, value in facts
        if label != "Ledger"  # said below, a line each: the events and the head digest
    ]
    flagged = sum(1 for row in made.rows if row.flags)
    corrected = sum(1 for row in made.rows if row.corrections)
    rows += [
        [Paragraph("Events", s.label), Paragraph(f"{made.events} in this case's ledger", s.value)],
        [
            Paragraph("Rows", s.label),
            Paragraph(
                f"{len(made.rows)} in this chronology ({flagged} flagged, {corrected} corrected)",
                s.value,
            ),
        ],
        [Paragraph("Head digest", s.label), Paragraph(escape(made.head_digest), s.digest)],
        [Paragraph("Content digest", s.label), Paragraph(made.content_digest(), s.digest)],
    ]
    facts_table = Table(rows, colWidths=(38 * mm, WIDTH - 60 * mm - 38 * mm), hAlign="CENTER")
    facts_table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -2), 0.4, RULE),
                ("BOX", (0, 0), (-1, -1), 1.2, INK),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
            ]
        )
    )
    note = (
        "One row per event of the case in date order (events of the same date in the order "
        "recorded), taken from the care ledger: the date, what happened, who decided (name "
        "and role), on what authority, the IRO's challenges, the flags of the ledger's rules, "
        "the source reference and the event's record in the ledger. A row marked "
        f'<font color="{_hex(FIX)}"><b>CORRECTED</b></font> shows '
        "the event as corrected and what was first recorded; the correction has its own row. "
        "Every event recorded in the case after its opening is here."
    )
    check = (
        f"<b>Checking this document.</b> The head digest is the hash of the case's last event "
        "in the ledger's integrity chain when this was produced; the content digest is the hash "
        "of the rows. To check that the ledger still holds these events, unchanged, and whether "
        f'the case has grown since, run <font face="{s.mono}">careledger verify-export FILE</font> '
        "on this PDF: it reads the stamp in the document's properties (Keywords), also printed "
        "at the end of the chronology."
    )
    return [
        Spacer(1, 14 * mm),
        Paragraph("CHRONOLOGY OF A LOOKED-AFTER CHILD", s.kind),
        Paragraph("Chronology", s.title),
        Spacer(1, 3 * mm),
        Paragraph(_text(made.child), s.child),
        Spacer(1, 8 * mm),
        facts_table,
        Spacer(1, 7 * mm),
        _indented(Paragraph(note, s.note)),
        Spacer(1, 3 * mm),
        _indented(Paragraph(check, s.note)),
    ]


def _indented(flowable: Flowable) -> Table:
    box = Table([[flowable]], colWidths=(WIDTH - 60 * mm,), hAlign="CENTER")
    box.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return box


# --- the table -----------------------------------------------------------------------------


def _table(made: Chronology, s: Styles, split_in_row: bool) -> list[Flowable]:
    header = [Paragraph(escape(column), s.head) for column in COLUMNS]
    if not made.rows:
        return [Paragraph(f"No events in this period ({_text(_period(made))}).", s.value)]
    table = LongTable(
        [header, *(_cells(made, row, s) for row in made.rows)],
        colWidths=WIDTHS,
        repeatRows=1,
        splitByRow=1,
        splitInRow=1 if split_in_row else 0,
        hAlign="LEFT",
    )
    commands: list[Any] = [
        ("FONT", (0, 0), (-1, -1), s.sans, 7),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD),
        ("LINEBELOW", (0, 0), (-1, 0), 1.2, INK),
        ("GRID", (0, 0), (-1, -1), 0.35, RULE),
        ("BOX", (0, 0), (-1, -1), 0.8, INK),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (0, -1), 1.5),
        ("RIGHTPADDING", (0, 0), (0, -1), 2),
    ]
    for i, row in enumerate(made.rows, start=1):
        if row.flags:
            commands.append(("LINEBEFORE", (0, i), (0, i), 3, FLAG))
        if row.corrections:
            commands.append(("LINEAFTER", (0, i), (0, i), 2, FIX))
    table.setStyle(TableStyle(commands))
    return [table]


def _cells(made: Chronology, row: Row, s: Styles) -> list[Any]:
    printed = cells(made, row)
    out: list[Any] = []
    for i, text in enumerate(printed):
        if i == 0:
            number = [Paragraph(escape(text), s.number)]
            if row.corrections:
                number.append(Paragraph(f'<font color="{_hex(FIX)}">CORRECTED</font>', s.tag))
            if row.flags:
                number.append(Paragraph(f'<font color="{_hex(FLAG)}">FLAG</font>', s.tag))
            out.append(number)
        elif i == WHAT:
            what: list[Flowable] = [Paragraph(_text(row.what), s.cell)]
            what += [Paragraph(f"<b>CORRECTED:</b> {_text(c)}", s.fixed) for c in row.corrections]
            out.append(what)
        elif i == FLAGS:
            out.append([Paragraph(f"\u25b2 {_text(f)}", s.flag) for f in row.flags])
        elif i == len(printed) - 1:
            out.append(Paragraph(_text(text), s.record))
        else:
            out.append(Paragraph(_text(text), s.cell))
    return out


def _stamp(made: Chronology, s: Styles) -> list[Flowable]:
    return [
        Spacer(1, 5 * mm),
        CondPageBreak(20 * mm),
        KeepTogether(
            [
                Paragraph("Verification stamp (read by careledger verify-export)", s.heading),
                Spacer(1, 1.5 * mm),
                Paragraph(escape(made.stamp()), s.stamp),
            ]
        ),
    ]


# --- running header and footer -------------------------------------------------------------


def _running_header(made: Chronology, s: Styles) -> Any:
    def draw(canvas: Canvas, _doc: BaseDocTemplate) -> None:
        canvas.saveState()
        y = PAGE[1] - 12 * mm
        canvas.setFont(s.bold, 9)
        canvas.setFillColor(INK)
        canvas.drawString(MARGIN, y, f"Chronology of {made.child}")
        canvas.setFont(s.sans, 8)
        canvas.drawString(
            MARGIN + canvas.stringWidth(f"Chronology of {made.child}", s.bold, 9) + 8,
            y,
            _period(made),
        )
        canvas.setFont(s.mono, 8)
        canvas.drawRightString(PAGE[0] - MARGIN, y, f"head {made.head_digest[:16]}")
        canvas.setStrokeColor(INK)
        canvas.setLineWidth(0.6)
        canvas.line(MARGIN, y - 2.5 * mm, PAGE[0] - MARGIN, y - 2.5 * mm)
        canvas.restoreState()

    return draw


def _footer(made: Chronology) -> str:
    return f"Produced {made.produced_at} by {made.produced_by} from the care ledger (careledger)"


class NumberedCanvas(Canvas):
    """Holds each page until the end, so that every footer can say "Page n of m"."""

    def __init__(self, *args: Any, footer: str, font: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []
        self._footer, self._font = footer, font

    def showPage(self) -> None:  # reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]  # reportlab's, not in its stubs

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        self.saveState()
        y = 9 * mm
        self.setStrokeColor(RULE)
        self.setLineWidth(0.4)
        self.line(MARGIN, y + 4 * mm, PAGE[0] - MARGIN, y + 4 * mm)
        self.setFillColor(MUTED)
        self.setFont(self._font, 7.5)
        self.drawString(MARGIN, y, self._footer)
        self.setFillColor(INK)
        self.setFont(self._font, 9)
        self.drawRightString(PAGE[0] - MARGIN, y, f"Page {self.getPageNumber()} of {total}")
        self.restoreState()


# --- text ----------------------------------------------------------------------------------


def _text(value: str) -> str:
    """Case text for a Paragraph: escaped (it is markup), line breaks kept."""
    return escape(value).replace("\n", "<br/>")


def _hex(color: colors.Color) -> str:
    return "#" + color.hexval()[2:]


def _label(line: str) -> tuple[str, str]:
    label, _, value = line.partition(": ")
    return (label, value) if value else ("", line)


def _period(made: Chronology) -> str:
    return f"{made.period_from or 'the beginning'} to {made.period_to or 'the latest record'}"

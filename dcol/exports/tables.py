"""Writing tables for French Excel: XLSX workbooks and CSV files, shared by every export.

A table is columns (a header and a number format each) and rows of Python values. Numbers are
numbers: Decimal values go into the workbook as they are (openpyxl writes their text, never
through a float), with the column's format (euros, two decimals, counts), dates as dates and
datetimes in Paris time. The CSV is what French Excel opens with a double click: UTF-8 *with a
BOM* (without it Excel reads Windows-1252), ``;`` as separator (``,`` being the French decimal
separator), decimal commas without thousands separators, dates as dd/mm/yyyy, CRLF line ends.

Formula injection. Text typed by people may start with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return, which a spreadsheet would evaluate. In the workbook such a cell is typed as text
with Excel's quote prefix: its value is exactly what was typed and it is never evaluated, even once
edited. The CSV has no types: the cell gets a leading apostrophe (OWASP's advice). Characters XML
forbids (control characters pasted from elsewhere) are removed from both.

Streaming. Rows may be any iterable, read once (a generator over a streamed query): the CSV is
produced as a generator of encoded chunks (``csv_chunks``) for a streamed response; the workbook is
written by openpyxl's *write-only* mode (``xlsx_file``): each sheet's rows go straight to a
temporary file, so its memory stays constant whatever the number of rows, and the zip is then
assembled in a temporary file that the response streams (a zip cannot be sent before it is
complete). The price of one pass: column widths are set before the first row, from the header and
the column's format, not fitted to the content.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from dcol.i18n import PARIS

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EURO_FORMAT = '#,##0.00 "€"'
DECIMAL_FORMAT = "0.00"
COUNT_FORMAT = "0"
DATE_FORMAT = "DD/MM/YYYY"
MOMENT_FORMAT = "DD/MM/YYYY HH:MM"
CSV_DATE = "%d/%m/%Y"
CSV_MOMENT = "%d/%m/%Y %H:%M"
MIN_WIDTH, MAX_WIDTH, HEADER_WIDTH, TEXT_WIDTH = 8, 60, 28, 22
# Widths by number format, for the cells under the header (text columns get TEXT_WIDTH).
FORMAT_WIDTHS = {EURO_FORMAT: 14, MOMENT_FORMAT: 16, DATE_FORMAT: 11}
CSV_CHUNK_ROWS = 500  # rows encoded together: a few dozen kilobytes per chunk
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"

# A column: its header and its number format (None: text).
Column = tuple[str, str | None]


@dataclass(frozen=True)
class Table:
    """A sheet of a workbook, or the whole of a CSV file. ``rows`` may be a generator: it is
    read once."""

    title: str
    columns: list[Column]
    rows: Iterable[list]


def clean(text: str) -> str:
    """``text`` without the characters XML forbids."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def excel_value(value):
    if isinstance(value, datetime):  # Excel has no time zones: Paris time
        return value.astimezone(PARIS).replace(tzinfo=None, microsecond=0)
    if isinstance(value, str):
        return clean(value)
    return value


def column_width(header: str, number_format: str | None) -> float:
    """A column's width, known before its first row: the header's (wrapped beyond
    ``HEADER_WIDTH``) or what the column's cells usually need, whichever is wider."""
    content = FORMAT_WIDTHS.get(number_format, 10) if number_format else TEXT_WIDTH
    return min(max(min(len(header), HEADER_WIDTH), content) + 2, MAX_WIDTH)


class SheetWriter:
    """Rows appended one by one to a sheet of a write-only workbook: a bold header row, frozen
    with the first column, an auto-filter, typed and formatted cells. Several sheets of a workbook
    may be filled in turn (each one writes to its own temporary file); ``close`` ends the sheet."""

    def __init__(self, workbook: Workbook, title: str, columns: list[Column]):
        self.sheet = workbook.create_sheet(title[:31])  # Excel's limit
        self.formats = [number_format for _header, number_format in columns]
        self.width = len(columns)
        self.count = 0
        for index, (header, number_format) in enumerate(columns, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = \
                max(column_width(header, number_format), MIN_WIDTH)
        self.sheet.freeze_panes = "B2"  # the header row and the reference stay in view
        bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
        header_cells = []
        for header, _format in columns:
            cell = WriteOnlyCell(self.sheet, value=header)
            cell.font, cell.alignment = bold, wrap
            header_cells.append(cell)
        self.sheet.append(header_cells)

    def append(self, row: Sequence) -> None:
        cells = []
        for index, value in enumerate(row):
            value = excel_value(value)
            if isinstance(value, str):
                cell = WriteOnlyCell(self.sheet, value=value)
                if value.startswith(FORMULA_START):
                    cell.data_type, cell.quotePrefix = "s", True  # text, never a formula
            elif value is None:
                cell = None
            else:
                cell = WriteOnlyCell(self.sheet, value=value)
                number_format = self.formats[index] if index < self.width else None
                if number_format:
                    cell.number_format = number_format
            cells.append(cell)
        self.sheet.append(cells)
        self.count += 1

    def close(self) -> None:
        if self.count:  # written after the rows: the writer puts it in the sheet's tail
            self.sheet.auto_filter.ref = \
                f"A1:{get_column_letter(self.width)}{self.count + 1}"
        self.sheet.close()


def new_workbook() -> Workbook:
    return Workbook(write_only=True)


def save_workbook(workbook: Workbook) -> IO[bytes]:
    """The workbook's file, in a temporary file (deleted once closed), at its start."""
    output = tempfile.TemporaryFile(prefix="dcol-export-", suffix=".xlsx")  # noqa: SIM115 (returned open)
    try:
        workbook.save(output)
    except BaseException:
        output.close()
        raise
    output.seek(0)
    return output


def xlsx_file(tables: Iterable[Table]) -> IO[bytes]:
    """A workbook with one sheet per table, in order, written in constant memory (see the
    module's docstring) to a temporary file returned at its start: the caller closes it."""
    workbook = new_workbook()
    for table in tables:
        writer = SheetWriter(workbook, table.title, table.columns)
        for row in table.rows:
            writer.append(row)
        writer.close()
    return save_workbook(workbook)


def xlsx_bytes(tables: Iterable[Table]) -> bytes:
    """``xlsx_file`` read into memory (small workbooks, tests)."""
    with xlsx_file(tables) as output:
        return output.read()


def csv_value(value) -> str:
    """A cell of the CSV, the French way (``1234,56``, ``23/11/2026``), formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    if isinstance(value, datetime):
        return value.astimezone(PARIS).strftime(CSV_MOMENT)
    if isinstance(value, date):
        return value.strftime(CSV_DATE)
    if isinstance(value, str):
        value = clean(value)
        return "'" + value if value.startswith(FORMULA_START) else value
    return str(value)


def csv_chunks(columns: list[Column], rows: Iterable[Sequence],
               chunk_rows: int = CSV_CHUNK_ROWS) -> Iterator[bytes]:
    """One table as a CSV for French Excel (UTF-8 with BOM, ``;``, CRLF), as encoded chunks of
    ``chunk_rows`` rows: the first holds the BOM and the header."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    text.write("\ufeff")
    writer.writerow([csv_value(header) for header, _format in columns])
    pending = 0
    for row in rows:
        writer.writerow([csv_value(value) for value in row])
        pending += 1
        if pending == chunk_rows:
            yield text.getvalue().encode("utf-8")
            text.seek(0)
            text.truncate()
            pending = 0
    yield text.getvalue().encode("utf-8")


def csv_bytes(columns: list[Column], rows: Iterable[Sequence]) -> bytes:
    """``csv_chunks`` joined (small tables, tests)."""
    return b"".join(csv_chunks(columns, rows))

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
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
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
MIN_WIDTH, MAX_WIDTH, HEADER_WIDTH = 8, 60, 28
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"

# A column: its header and its number format (None: text).
Column = tuple[str, str | None]


@dataclass(frozen=True)
class Table:
    """A sheet of a workbook, or the whole of a CSV file."""

    title: str
    columns: list[Column]
    rows: list[list]


def clean(text: str) -> str:
    """``text`` without the characters XML forbids."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def excel_value(value):
    if isinstance(value, datetime):  # Excel has no time zones: Paris time
        return value.astimezone(PARIS).replace(tzinfo=None, microsecond=0)
    if isinstance(value, str):
        return clean(value)
    return value


def write_sheet(sheet, columns: list[Column], rows: list[list]) -> None:
    """Fill ``sheet``: a bold header row, frozen with the first column, an auto-filter, typed
    and formatted cells, widths fitted to the content."""
    sheet.append([header for header, _format in columns])
    widths = [min(len(header), HEADER_WIDTH) for header, _format in columns]
    for row_number, row in enumerate(rows, start=2):
        for index, value in enumerate(row):
            cell = sheet.cell(row=row_number, column=index + 1, value=excel_value(value))
            number_format = columns[index][1] if index < len(columns) else None
            if isinstance(cell.value, str):
                if cell.value.startswith(FORMULA_START):
                    cell.data_type, cell.quotePrefix = "s", True  # text, never a formula
                widths[index] = max(widths[index], len(cell.value))
            elif cell.value is not None:
                if number_format:
                    cell.number_format = number_format
                widths[index] = max(widths[index], 12 if number_format == EURO_FORMAT else 10)
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    for cell in sheet[1]:
        cell.font, cell.alignment = bold, wrap
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = \
            min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
    sheet.freeze_panes = "B2"  # the header row and the reference stay in view
    if rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"


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


def xlsx_bytes(tables: Sequence[Table]) -> bytes:
    """A workbook with one sheet per table, in order."""
    workbook = Workbook()
    for index, table in enumerate(tables):
        sheet = workbook.active if index == 0 else workbook.create_sheet()
        sheet.title = table.title[:31]  # Excel's limit
        write_sheet(sheet, table.columns, table.rows)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(columns: list[Column], rows: list[list]) -> bytes:
    """One table as a CSV for French Excel (UTF-8 with BOM, ``;``, CRLF)."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow([csv_value(header) for header, _format in columns])
    for row in rows:
        writer.writerow([csv_value(value) for value in row])
    return ("\ufeff" + text.getvalue()).encode("utf-8")

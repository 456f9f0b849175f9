"""Streamed download responses for the exports (see ``dcol.exports.tables``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from flask import Response, send_file, stream_with_context

from dcol.exports.tables import CSV_MIMETYPE, XLSX_MIMETYPE


def csv_response(chunks: Iterator[bytes], filename: str) -> Response:
    """A download sending ``chunks`` as they are produced: the request's context (its database
    session, its locale) stays open until the last one is sent."""
    response = Response(stream_with_context(chunks), mimetype=CSV_MIMETYPE)
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    response.headers["Cache-Control"] = "no-cache"
    return response


def xlsx_response(output: IO[bytes], filename: str) -> Response:
    """A download streaming the workbook's temporary file, closed (hence deleted) once sent."""
    return send_file(output, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=filename,
                     max_age=0)

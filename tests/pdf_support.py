"""Reading back the PDFs dcol writes, to check what they say."""

from __future__ import annotations

import io

from pypdf import PdfReader

from dcol.documents import storage


def pdf_text(content: bytes) -> str:
    """The text of every page, its spaces (narrow and non-breaking ones too) made single."""
    raw = " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(raw.split())


def document_text(document) -> str:
    """The text of a stored PDF document."""
    return pdf_text(storage.path_of(document).read_bytes())

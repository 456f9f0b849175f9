"""Checks on an uploaded file before it is stored: its name, its size and its real type.

The type is read from the bytes, never from the name or the browser's Content-Type: magic numbers
(through ``filetype``) for PDF, JPEG and PNG, and the archive's members for the ZIP-based office
formats (OOXML: ``[Content_Types].xml`` with ``word/`` or ``xl/``; ODF: the ``mimetype`` member).
The name's extension must then match what the content is.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype
from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

MAX_NAME_LENGTH = 255  # Document.original_name
ZIP_MAGIC = b"PK\x03\x04"


class UploadRefused(Exception):
    """An upload that may not be stored, with the reason in French for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FileType:
    label: str  # shown to users
    content_type: str
    extensions: tuple[str, ...]  # the first one is the usual one


PDF = FileType("PDF", "application/pdf", ("pdf",))
DOCX = FileType(
    "DOCX",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ("docx",),
)
XLSX = FileType(
    "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",)
)
ODT = FileType("ODT", "application/vnd.oasis.opendocument.text", ("odt",))
ODS = FileType("ODS", "application/vnd.oasis.opendocument.spreadsheet", ("ods",))
JPEG = FileType("JPEG", "image/jpeg", ("jpg", "jpeg"))
PNG = FileType("PNG", "image/png", ("png",))

ALLOWED_TYPES: tuple[FileType, ...] = (PDF, DOCX, XLSX, ODT, ODS, JPEG, PNG)
# What ``filetype`` recognises by magic number, among the allowed types.
_BY_MAGIC = {PDF.content_type: PDF, JPEG.content_type: JPEG, PNG.content_type: PNG}
_ODF_TYPES = {ODT.content_type: ODT, ODS.content_type: ODS}
# For the file input's ``accept`` attribute (a hint for the browser; the server decides).
ACCEPT = ",".join(f".{ext}" for kind in ALLOWED_TYPES for ext in kind.extensions)


@dataclass(frozen=True)
class CheckedUpload:
    name: str
    content: bytes
    file_type: FileType

    @property
    def content_type(self) -> str:
        return self.file_type.content_type


def max_upload_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024


def allowed_labels() -> str:
    return ", ".join(kind.label for kind in ALLOWED_TYPES)


def check_name(filename: str | None) -> str:
    """The name as it will be shown and offered on download (NFC); refused when unsafe."""
    name = unicodedata.normalize("NFC", filename or "").strip()
    if not name:
        raise UploadRefused(_("Choisissez un fichier à envoyer."))
    if "/" in name or "\\" in name:
        raise UploadRefused(_("Le nom du fichier ne doit pas contenir de / ou de \\."))
    if any(unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"} for char in name):
        raise UploadRefused(
            _(
                "Le nom du fichier contient des caractères invisibles ou de contrôle : "
                "renommez-le avant de l'envoyer."
            )
        )
    if len(name) > MAX_NAME_LENGTH:
        raise UploadRefused(
            _("Le nom du fichier est trop long (%(max)s caractères au plus).", max=MAX_NAME_LENGTH)
        )
    return name


def read_upload(upload: FileStorage, name: str) -> bytes:
    """The upload's bytes, reading no more than one byte past the limit."""
    limit = max_upload_bytes()
    content = upload.stream.read(limit + 1)
    if len(content) > limit:
        raise UploadRefused(
            _(
                "Le fichier « %(name)s » dépasse la taille maximale autorisée (%(max)s Mo).",
                name=name,
                max=current_app.config["MAX_UPLOAD_MB"],
            )
        )
    if not content:
        raise UploadRefused(_("Le fichier « %(name)s » est vide.", name=name))
    return content


def detect_type(content: bytes) -> FileType | None:
    """The allowed type that ``content`` really is, or None."""
    if content.startswith(ZIP_MAGIC):
        return _zip_type(content)
    kind = filetype.guess(content)
    return _BY_MAGIC.get(kind.mime) if kind is not None else None


def _zip_type(content: bytes) -> FileType | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = {info.filename: info for info in archive.infolist()}
            if "mimetype" in members and members["mimetype"].file_size <= 200:
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                return _ODF_TYPES.get(declared)
            if "[Content_Types].xml" not in members:
                return None
            if any(name.lower().endswith("vbaproject.bin") for name in members):
                return None  # macro-enabled documents (docm, xlsm) are not accepted
            if any(name.startswith("word/") for name in members):
                return DOCX
            if any(name.startswith("xl/") for name in members):
                return XLSX
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        OSError,
        ValueError,
        RuntimeError,
        NotImplementedError,
    ):
        return None
    return None


def check_content(name: str, content: bytes) -> FileType:
    """The content's type, which must be allowed and match the name's extension."""
    detected = detect_type(content)
    if detected is None:
        raise UploadRefused(
            _(
                "Le fichier « %(name)s » n'est pas d'un type accepté. Types acceptés : %(types)s.",
                name=name,
                types=allowed_labels(),
            )
        )
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension not in detected.extensions:
        raise UploadRefused(
            _(
                "Le contenu du fichier ne correspond pas à son nom : « %(name)s » est un fichier "
                "%(type)s, son nom devrait se terminer par .%(extension)s.",
                name=name,
                type=detected.label,
                extension=detected.extensions[0],
            )
        )
    return detected


def validate_upload(upload: FileStorage | None) -> CheckedUpload:
    """Read and check an upload; raise ``UploadRefused`` (in French) when it may not be stored."""
    if upload is None:
        raise UploadRefused(_("Choisissez un fichier à envoyer."))
    name = check_name(upload.filename)
    content = read_upload(upload, name)
    return CheckedUpload(name=name, content=content, file_type=check_content(name, content))

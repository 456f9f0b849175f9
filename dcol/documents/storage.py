"""Stored files: written under generated names in the upload folder, read back only through
permission-checked views."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from flask import current_app, send_file

from dcol.models import Document


def upload_folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_stored_name() -> str:
    """A random name: nothing of the user's file name reaches the file system."""
    return secrets.token_hex(16)


def write_file(content: bytes) -> tuple[str, str]:
    """Store ``content``; return its generated name and its SHA-256."""
    name = new_stored_name()
    (upload_folder() / name).write_bytes(content)
    return name, hashlib.sha256(content).hexdigest()


def path_of(document: Document) -> Path:
    return upload_folder() / document.stored_name


def send_document(document: Document):
    return send_file(
        path_of(document),
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.original_name,
        max_age=0,
    )

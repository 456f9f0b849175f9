"""Stored files: written under generated names in the upload folder, read back only through
permission-checked views.

A file is written before its ``Document`` row is committed. So that a rolled-back transaction
leaves no orphan file behind, ``write_file(..., session=...)`` remembers the name in the session
and the file is deleted if that session's transaction rolls back (kept once it commits).
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from flask import abort, current_app, send_file
from sqlalchemy import event
from sqlalchemy.orm import Session

from dcol.models import Document

_PENDING_KEY = "dcol_uncommitted_files"


def upload_folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_stored_name() -> str:
    """A random name: nothing of the user's file name reaches the file system."""
    return secrets.token_hex(16)


def stored_path(stored_name: str) -> Path:
    """The path of a stored file; only generated names (no directory part) are accepted."""
    if not stored_name or Path(stored_name).name != stored_name or stored_name.startswith("."):
        raise ValueError(f"not a stored name: {stored_name!r}")
    return upload_folder() / stored_name


def write_file(content: bytes, session: Session | None = None) -> tuple[str, str]:
    """Store ``content``; return its generated name and its SHA-256.

    With ``session``, the file is deleted again if that session's transaction rolls back.
    """
    name = new_stored_name()
    (upload_folder() / name).write_bytes(content)
    if session is not None:
        session.info.setdefault(_PENDING_KEY, []).append(stored_path(name))
    return name, hashlib.sha256(content).hexdigest()


def delete_file(stored_name: str) -> None:
    stored_path(stored_name).unlink(missing_ok=True)


@event.listens_for(Session, "after_commit")
def _keep_committed_files(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


@event.listens_for(Session, "after_rollback")
def _delete_rolled_back_files(session: Session) -> None:
    for path in session.info.pop(_PENDING_KEY, []):
        path.unlink(missing_ok=True)


def path_of(document: Document) -> Path:
    return stored_path(document.stored_name)


def send_document(document: Document):
    path = path_of(document)
    if not path.is_file():
        current_app.logger.error("Stored file missing for document %s", document.id)
        abort(404)
    return send_file(
        path,
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.original_name,
        max_age=0,
    )

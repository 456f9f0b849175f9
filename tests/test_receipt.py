"""The receipt (accusé de réception) of a deposit: a PDF read back with pypdf, downloadable by those
who see the dossier, attached to the deposit mail delivered to a real SMTP server."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from dcol.applications.services import update_application
from dcol.documents import services
from dcol.documents.receipts import build_receipt_pdf
from dcol.extensions import db
from dcol.models import Application, CallKind, Document, DocumentKind, Submission
from tests import document_files as files
from tests import factories as f
from tests import workflow_support as ws
from tests.pdf_support import pdf_text

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
SCRIPT = "<script>alert(1)</script>"
NASTY_NAME = "<img src=x onerror=alert(1)>.pdf"  # no slash: names with one are refused


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


def paris_moment(moment: datetime) -> str:
    """``3 décembre 2024 à 23:59``, computed here independently of the app's formatting."""
    local = moment.astimezone(ZoneInfo("Europe/Paris"))
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} à {local:%H:%M}"


def upload(application, user, content: bytes, name: str, requirement=None) -> Document:
    kind = DocumentKind.APPLICATION if requirement is not None else DocumentKind.ATTACHMENT
    return services.store_upload(
        application,
        user,
        FileStorage(io.BytesIO(content), filename=name),
        kind=kind,
        requirement=requirement,
    )


@pytest.fixture
def dossier(app):
    """A complete DCOL draft whose documents are real stored files."""
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)  # its checklist row has no file: replace it
    upload(
        application,
        cast.signatory,
        files.pdf_bytes("Délibération"),
        "deliberation.pdf",
        call.document_requirements[0],
    )
    upload(application, cast.signatory, files.xlsx_bytes(), "budget-previsionnel.xlsx")
    db.session.commit()
    return call, cast, application


def submit_through_the_page(client, application, user):
    login(client, user)
    response = client.post(
        f"/dossiers/{application.id}/evenements/submit", data={"version": application.version}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()


def current_documents(application) -> list[Document]:
    return list(
        db.session.scalars(
            sa.select(Document).where(
                Document.application_id == application.id,
                Document.kind.in_((DocumentKind.APPLICATION, DocumentKind.ATTACHMENT)),
                Document.replaced_by_id.is_(None),
            )
        )
    )


def test_receipt_holds_reference_paris_time_and_document_hashes(client, dossier, smtp_server):
    call, cast, application = dossier
    submit_through_the_page(client, application, cast.signatory)

    submission = db.session.scalars(sa.select(Submission)).one()
    response = client.get(f"/dossiers/{application.id}/accuse-de-reception/1")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert hashlib.sha256(response.data).hexdigest() == submission.receipt_sha256
    text = pdf_text(response.data)
    assert "Accusé de réception" in text and "Cités Unies France" in text
    assert application.reference in text
    assert call.title in text and application.track.name in text
    assert application.organisation.name in text
    assert f"déposé le {paris_moment(submission.submitted_at)} (heure de Paris)" in text
    assert "Dépôt n° 1 (premier dépôt)" in text
    assert "Projet pilote eau potable" in text  # the summary's title
    deposited = current_documents(application)
    assert {doc.original_name for doc in deposited} == {
        "deliberation.pdf",
        "budget-previsionnel.xlsx",
    }
    for document in deposited:
        assert document.sha256 in text
    replaced = db.session.scalars(
        sa.select(Document).where(Document.replaced_by_id.is_not(None))
    ).one()
    assert replaced.sha256 not in text  # only what was deposited at that moment

    receipt = db.session.scalars(
        sa.select(Document).where(Document.kind == DocumentKind.RECEIPT)
    ).one()
    assert receipt.sha256 == submission.receipt_sha256

    mail = next(
        m
        for m in smtp_server.messages
        if m["To"] == cast.signatory.email and "déposé" in m["Subject"]
    )
    assert "L'accusé de réception est disponible" in mail.get_body(("plain",)).get_content()
    attachments = list(mail.iter_attachments())
    assert len(attachments) == 1
    assert attachments[0].get_content_type() == "application/pdf"
    assert (
        attachments[0].get_filename() == f"accuse-de-reception-{application.reference}-depot-1.pdf"
    )
    assert attachments[0].get_content() == response.data


def test_receipt_gives_the_deposit_moment_in_paris_time(app, dossier):
    call, cast, application = dossier
    submission = Submission(
        application_id=application.id,
        number=1,
        submitted_at=datetime(2024, 12, 3, 22, 59, tzinfo=UTC),
        submitted_by_id=cast.signatory.id,
        content={"title": application.title, "documents": []},
    )
    text = pdf_text(build_receipt_pdf(application, submission))
    assert "déposé le 3 décembre 2024 à 23:59 (heure de Paris)" in text


def test_script_in_text_fields_shows_literally_in_the_pdf_and_escaped_in_pages(client, app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    update_application(
        application,
        cast.signatory,
        {"title": f"Eau {SCRIPT}", "summary": f"Résumé <b>gras</b> & {SCRIPT}"},
    )
    upload(
        application, cast.signatory, files.pdf_bytes(), NASTY_NAME, call.document_requirements[0]
    )
    db.session.commit()
    submit_through_the_page(client, application, cast.signatory)

    text = pdf_text(client.get(f"/dossiers/{application.id}/accuse-de-reception/1").data)
    assert f"Eau {SCRIPT}" in text
    assert f"Résumé <b>gras</b> & {SCRIPT}" in text
    assert NASTY_NAME in text, text

    for path in (f"/dossiers/{application.id}/pieces", f"/dossiers/{application.id}"):
        page = client.get(path).get_data(as_text=True)
        assert SCRIPT not in page and "<img" not in page
    pieces = client.get(f"/dossiers/{application.id}/pieces").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;.pdf" in pieces


def test_resubmission_has_its_own_receipt_with_the_new_documents(client, dossier):
    call, cast, application = dossier
    submit_through_the_page(client, application, cast.signatory)
    ws.fire_step(db.session.get(Application, application.id), cast, "request_changes")
    application = db.session.get(Application, application.id)
    replacement = upload(
        application,
        cast.signatory,
        files.pdf_bytes("Délibération signée"),
        "deliberation-signee.pdf",
        call.document_requirements[0],
    )
    db.session.commit()
    submit_through_the_page(client, application, cast.signatory)

    first = pdf_text(client.get(f"/dossiers/{application.id}/accuse-de-reception/1").data)
    second = pdf_text(client.get(f"/dossiers/{application.id}/accuse-de-reception/2").data)
    assert "Dépôt n° 1 (premier dépôt)" in first and replacement.sha256 not in first
    assert "Dépôt n° 2" in second and replacement.sha256 in second
    submissions = db.session.scalars(sa.select(Submission).order_by(Submission.number)).all()
    assert submissions[0].receipt_sha256 != submissions[1].receipt_sha256
    # The first receipt is not taken for a deposited document of the second deposit.
    assert [doc["name"] for doc in submissions[1].content["documents"]] == [
        "budget-previsionnel.xlsx",
        "deliberation-signee.pdf",
    ]
    pieces = client.get(f"/dossiers/{application.id}/pieces").get_data(as_text=True)
    assert pieces.count("accusé de réception (PDF)") == 2


def test_receipt_is_downloaded_only_by_those_who_see_the_dossier(client, dossier):
    call, cast, application = dossier
    submit_through_the_page(client, application, cast.signatory)
    client.post("/deconnexion")

    assert client.get(f"/dossiers/{application.id}/accuse-de-reception/1").status_code in (302, 401)
    login(client, cast.outsider)
    assert client.get(f"/dossiers/{application.id}/accuse-de-reception/1").status_code == 404
    client.post("/deconnexion")
    login(client, cast.member)
    assert client.get(f"/dossiers/{application.id}/accuse-de-reception/1").status_code == 200
    assert client.get(f"/dossiers/{application.id}/accuse-de-reception/2").status_code == 404


def test_receipt_file_is_removed_when_the_deposit_rolls_back(app, dossier, monkeypatch):
    from pathlib import Path

    import workflows.engine as engine

    call, cast, application = dossier
    folder = Path(app.config["UPLOAD_FOLDER"])
    before = {p.name for p in folder.iterdir()}

    def failing_queue(ctx):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(engine, "queue_for", failing_queue)
    with pytest.raises(RuntimeError):
        ws.fire_step(application, cast, "submit")

    assert {p.name for p in folder.iterdir()} == before
    assert db.session.scalar(sa.select(sa.func.count(Submission.id))) == 0


def test_mail_attachment_whose_file_is_gone_is_left_out_not_retried_forever(app):
    from types import SimpleNamespace

    from dcol.mail import _build_message, queue_mail

    attachment = {
        "filename": "accuse.pdf",
        "stored_name": "0" * 32,
        "content_type": "application/pdf",
    }
    mail = queue_mail(
        "camille.martin@example.org",
        "password_reset",
        user=SimpleNamespace(full_name="Camille Martin"),
        minutes=60,
        link="http://dcol.test/",
        attachments=[attachment],
    )
    assert mail.attachments == [
        {"filename": "accuse.pdf", "stored_name": "0" * 32, "content_type": "application/pdf"}
    ]
    message = _build_message(mail)
    assert list(message.iter_attachments()) == []
    assert "Camille Martin" in message.get_content()

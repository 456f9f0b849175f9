"""A dossier's documents: uploads checked by content and size through the web form, stored under
generated names with their SHA-256, replaced with history, downloaded only by permitted users."""

from __future__ import annotations

import hashlib
import html
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from dcol.applications.services import create_application, update_application
from dcol.documents import services, storage
from dcol.documents.validation import UploadRefused, detect_type
from dcol.extensions import db
from dcol.models import (
    CallKind,
    Document,
    DocumentKind,
    DocumentRequirement,
    MembershipStatus,
    Message,
    Role,
    Track,
    utcnow,
)
from tests import document_files as files
from tests import factories as f
from tests import workflow_support as ws


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def world(app):
    call = ws.make_call_for(CallKind.DCOL)
    call.document_requirements.append(
        DocumentRequirement(
            code="budget", label="Budget prévisionnel détaillé", is_required=False, position=2
        )
    )
    other_track = Track(code="climate", name="Enjeux climat", position=2)
    call.tracks.append(other_track)
    db.session.flush()
    call.document_requirements.append(
        DocumentRequirement(
            code="bilan-carbone", label="Bilan carbone", track_id=other_track.id, position=3
        )
    )
    cast = ws.make_cast(call)
    application = create_application(
        call, cast.signatory, title="Projet pilote eau potable", track=call.tracks[0]
    )
    db.session.commit()
    return call, cast, application


def requirement(call, code: str) -> DocumentRequirement:
    return next(r for r in call.document_requirements if r.code == code)


def post_file(client, application, content: bytes, name: str, requirement_id=None):
    return client.post(
        f"/dossiers/{application.id}/pieces",
        data={"requirement_id": str(requirement_id or ""), "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def stored_files(app) -> set[str]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def document_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Document.id)))


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- accepted ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(files.ACCEPTED))
def test_each_accepted_type_is_stored_under_a_generated_name_with_its_sha256(
    client, app, world, name
):
    call, cast, application = world
    build, content_type = files.ACCEPTED[name]
    content = build()
    login(client, cast.signatory)

    response = post_file(client, application, content, name, requirement(call, "deliberation").id)

    assert response.status_code == 302, page_text(response)
    document = db.session.scalars(sa.select(Document)).one()
    assert document.original_name == name
    assert document.content_type == content_type
    assert document.size == len(content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert (
        document.kind is DocumentKind.APPLICATION and document.uploaded_by_id == cast.signatory.id
    )
    assert name not in document.stored_name
    assert storage.path_of(document).read_bytes() == content
    page = page_text(client.get(f"/dossiers/{application.id}/pieces"))
    assert name in page and document.sha256[:12] in page


def test_checklist_lists_the_calls_and_the_tracks_requirements_with_free_attachments(client, world):
    call, cast, application = world
    login(client, cast.signatory)
    assert post_file(client, application, files.pdf_bytes(), "annexe.pdf").status_code == 302

    page = page_text(client.get(f"/dossiers/{application.id}/pieces"))

    assert "Délibération ou lettre de l'exécutif" in page and "(obligatoire)" in page
    assert "Budget prévisionnel détaillé" in page and "(facultative)" in page
    assert "Bilan carbone" not in page  # another track's requirement
    assert "Pièces libres" in page and "annexe.pdf" in page
    free = db.session.scalars(sa.select(Document)).one()
    assert free.kind is DocumentKind.ATTACHMENT and free.requirement_id is None
    assert 'enctype="multipart/form-data"' in page
    assert f'<label for="fichier-{requirement(call, "deliberation").id}">' in page


# --- refused ----------------------------------------------------------------------------------


REFUSALS = {
    "too_big": (
        "gros.pdf",
        lambda: files.pdf_bytes() + b"%" * (1024 * 1024),
        "dépasse la taille maximale autorisée (1 Mo)",
    ),
    "png_named_pdf": (
        "deliberation.pdf",
        lambda: files.image_bytes("PNG"),
        "Le contenu du fichier ne correspond pas à son nom",
    ),
    "pdf_named_docx": (
        "lettre.docx",
        files.pdf_bytes,
        "Le contenu du fichier ne correspond pas à son nom",
    ),
    "slash": (
        "../../etc/deliberation.pdf",
        files.pdf_bytes,
        "Le nom du fichier ne doit pas contenir de / ou de \\",
    ),
    # Werkzeug's multipart parser drops a lone backslash of a quoted name: send two.
    "backslash": (
        "..\\\\deliberation.pdf",
        files.pdf_bytes,
        "Le nom du fichier ne doit pas contenir de / ou de \\",
    ),
    "control_character": (
        "deliberation\x00.pdf",
        files.pdf_bytes,
        "caractères invisibles ou de contrôle",
    ),
    "empty": ("deliberation.pdf", lambda: b"", "est vide"),
    "exe": ("installeur.exe", lambda: files.EXE, "n'est pas d'un type accepté"),
    "exe_named_pdf": ("deliberation.pdf", lambda: files.EXE, "n'est pas d'un type accepté"),
    "text_named_pdf": (
        "deliberation.pdf",
        lambda: b"ceci n'est pas un PDF",
        "n'est pas d'un type accepté",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_upload_explains_in_french_and_saves_nothing(client, app, world, case):
    call, cast, application = world
    name, build, message = REFUSALS[case]
    app.config["MAX_UPLOAD_MB"] = 1
    target = requirement(call, "deliberation").id
    login(client, cast.signatory)
    files_before = stored_files(app)

    response = post_file(client, application, build(), name, target)

    assert response.status_code == 422
    page = page_text(response)
    assert message in page
    assert "Le fichier n'a pas été enregistré" in page
    # The error sits by the form of the chosen item, which stays where the user was.
    assert f'id="fichier-{target}-erreur"' in response.get_data(as_text=True)
    assert document_count() == 0
    assert stored_files(app) == files_before


@pytest.mark.parametrize("name", ["a/b.pdf", "..\\b.pdf", "C:\\Users\\b.pdf", "/etc/passwd"])
def test_names_with_path_separators_are_refused(app, name):
    from dcol.documents.validation import check_name

    with pytest.raises(UploadRefused, match="ne doit pas contenir de / ou de"):
        check_name(name)


def test_missing_file_is_asked_for(client, world):
    call, cast, application = world
    login(client, cast.signatory)
    response = client.post(
        f"/dossiers/{application.id}/pieces",
        data={"requirement_id": ""},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Choisissez un fichier à envoyer." in page_text(response)
    assert document_count() == 0


def test_requirement_of_another_call_or_track_is_refused(client, world):
    call, cast, application = world
    login(client, cast.signatory)
    response = post_file(
        client, application, files.pdf_bytes(), "bilan.pdf", requirement(call, "bilan-carbone").id
    )
    assert response.status_code == 422
    assert "Cette pièce n'est pas demandée pour ce dossier." in page_text(response)
    assert document_count() == 0


@pytest.mark.parametrize(
    "content",
    [
        files.docx_bytes(),
        files.xlsx_bytes(),
    ],
)
def test_macro_enabled_office_files_are_not_accepted(content):
    import zipfile

    buffer = io.BytesIO(content)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("word/vbaProject.bin", b"\x00" * 16)
    assert detect_type(content) is not None
    assert detect_type(buffer.getvalue()) is None


def test_zip_archive_that_is_no_office_document_is_not_accepted():
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/readme.txt", "pas de [Content_Types].xml")
    assert detect_type(buffer.getvalue()) is None
    assert detect_type(b"PK\x03\x04 broken archive") is None


# --- replacement and history ------------------------------------------------------------------


def test_replacing_a_document_keeps_the_previous_version(client, app, world):
    call, cast, application = world
    item = requirement(call, "deliberation")
    first, second = files.pdf_bytes("Version 1"), files.pdf_bytes("Version 2")
    login(client, cast.signatory)
    assert post_file(client, application, first, "deliberation-v1.pdf", item.id).status_code == 302
    assert post_file(client, application, second, "deliberation-v2.pdf", item.id).status_code == 302

    old, new = db.session.scalars(sa.select(Document).order_by(Document.id)).all()
    assert new.is_current and not old.is_current
    assert old.replaced_by_id == new.id and old.replaced_at is not None
    assert storage.path_of(old).read_bytes() == first
    page = page_text(client.get(f"/dossiers/{application.id}/pieces"))
    assert "1 version remplacée" in page
    assert "deliberation-v1.pdf" in page and "deliberation-v2.pdf" in page
    old_download = client.get(f"/documents/{old.id}")
    assert old_download.status_code == 200 and old_download.data == first
    # The guard sees exactly one current document for the item.
    from workflows.dossier import EVENTS_BY_NAME
    from workflows.engine import unmet_guards

    unmet = unmet_guards(EVENTS_BY_NAME["submit"], application, cast.signatory)
    assert not any("Pièce obligatoire manquante" in problem for problem in unmet)


# --- who may upload and download ---------------------------------------------------------------


def test_member_downloads_with_the_original_name(client, world):
    call, cast, application = world
    login(client, cast.signatory)
    content = files.pdf_bytes()
    post_file(
        client, application, content, "Délibération n°12.pdf", requirement(call, "deliberation").id
    )
    document = db.session.scalars(sa.select(Document)).one()
    client.post("/deconnexion")
    login(client, cast.member)

    response = client.get(f"/documents/{document.id}")

    assert response.status_code == 200 and response.data == content
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "Délibération n°12.pdf" in response.headers["Content-Disposition"].replace(
        "D%C3%A9lib%C3%A9ration%20n%C2%B012.pdf", "Délibération n°12.pdf"
    )


def _stored_document(application, user) -> Document:
    upload = FileStorage(io.BytesIO(files.pdf_bytes()), filename="deliberation.pdf")
    document = services.store_upload(application, user, upload, kind=DocumentKind.ATTACHMENT)
    db.session.commit()
    return document


def test_another_organisations_documents_answer_404(client, world):
    call, cast, application = world
    document = _stored_document(application, cast.signatory)
    login(client, cast.outsider)
    assert client.get(f"/documents/{document.id}").status_code == 404
    assert client.get(f"/dossiers/{application.id}/pieces").status_code == 404
    response = post_file(client, application, files.pdf_bytes(), "intrus.pdf")
    assert response.status_code == 404
    assert document_count() == 1


def test_pending_member_sees_nothing_of_the_organisation(client, world):
    call, cast, application = world
    document = _stored_document(application, cast.signatory)
    pending = f.make_user(
        Role.APPLICANT, organisation=application.organisation, membership=MembershipStatus.PENDING
    )
    db.session.commit()
    login(client, pending)
    assert client.get(f"/documents/{document.id}").status_code == 404
    assert client.get(f"/dossiers/{application.id}/pieces").status_code == 404


def test_member_who_is_not_an_editor_sees_but_cannot_upload(client, world):
    call, cast, application = world
    login(client, cast.member)  # neither signatory, author nor co-editor
    page = client.get(f"/dossiers/{application.id}/pieces").get_data(as_text=True)
    assert 'type="file"' not in page
    response = post_file(client, application, files.pdf_bytes(), "deliberation.pdf")
    assert response.status_code == 403
    assert document_count() == 0


def test_documents_cannot_be_changed_once_submitted(client, app, world):
    call, cast, application = world
    update_application(
        application,
        cast.signatory,
        {
            "summary": "Appui",
            "data": ws.DCOL_DATA,
            "countries": ["VN"],
            "estimated_cost": "12500.00",
        },
    )
    login(client, cast.signatory)
    item = requirement(call, "deliberation")
    assert (
        post_file(client, application, files.pdf_bytes(), "deliberation.pdf", item.id).status_code
        == 302
    )
    ws.fire_step(application, cast, "submit")
    count, on_disk = document_count(), stored_files(app)

    page = client.get(f"/dossiers/{application.id}/pieces").get_data(as_text=True)
    response = post_file(client, application, files.pdf_bytes("autre"), "autre.pdf", item.id)

    assert 'type="file"' not in page
    assert response.status_code == 403
    assert "Ce dossier n'est pas modifiable" in page_text(response)
    assert document_count() == count and stored_files(app) == on_disk
    with pytest.raises(services.UploadForbidden):
        services.store_upload(
            application,
            cast.signatory,
            FileStorage(io.BytesIO(files.pdf_bytes()), filename="x.pdf"),
            kind=DocumentKind.APPLICATION,
            requirement=item,
        )


def test_message_attachments_follow_the_messaging_permission(app, world):
    call, cast, application = world
    ws.attach(application, cast.signatory, requirement=requirement(call, "deliberation"))
    update_application(
        application,
        cast.signatory,
        {
            "summary": "Appui",
            "data": ws.DCOL_DATA,
            "countries": ["VN"],
            "estimated_cost": "12500.00",
        },
    )
    ws.fire_step(application, cast, "submit")  # no longer editable, still a thread
    message = Message(
        application_id=application.id,
        author_id=cast.member.id,
        body="Voici le devis.",
        created_at=utcnow(),
    )
    db.session.add(message)

    document = services.store_upload(
        application,
        cast.member,
        FileStorage(io.BytesIO(files.pdf_bytes()), filename="devis.pdf"),
        kind=DocumentKind.MESSAGE,
        message=message,
    )
    db.session.commit()

    assert document.message_id == message.id and document.kind is DocumentKind.MESSAGE
    with pytest.raises(services.UploadForbidden):
        services.store_upload(
            application,
            cast.outsider,
            FileStorage(io.BytesIO(files.pdf_bytes()), filename="devis.pdf"),
            kind=DocumentKind.MESSAGE,
            message=message,
        )


# --- no orphan files ----------------------------------------------------------------------------


def test_file_is_deleted_when_the_database_part_fails(app, world, monkeypatch):
    call, cast, application = world
    before = stored_files(app)

    def broken(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(services, "_replace_current", broken)
    with pytest.raises(RuntimeError):
        services.store_upload(
            application,
            cast.signatory,
            FileStorage(io.BytesIO(files.pdf_bytes()), filename="deliberation.pdf"),
            kind=DocumentKind.APPLICATION,
            requirement=requirement(call, "deliberation"),
        )
    db.session.rollback()
    assert stored_files(app) == before


def test_file_is_deleted_when_the_transaction_rolls_back_and_kept_when_it_commits(app, world):
    call, cast, application = world
    before = stored_files(app)
    upload = FileStorage(io.BytesIO(files.pdf_bytes()), filename="deliberation.pdf")
    document = services.store_upload(
        application, cast.signatory, upload, kind=DocumentKind.ATTACHMENT
    )
    assert stored_files(app) == before | {document.stored_name}
    db.session.rollback()
    assert stored_files(app) == before

    upload = FileStorage(io.BytesIO(files.pdf_bytes()), filename="deliberation.pdf")
    kept = services.store_upload(application, cast.signatory, upload, kind=DocumentKind.ATTACHMENT)
    db.session.commit()
    db.session.rollback()
    assert kept.stored_name in stored_files(app)


def test_refusal_is_an_upload_refused_with_a_french_message(app, world):
    call, cast, application = world
    with pytest.raises(UploadRefused) as refusal:
        services.store_upload(
            application,
            cast.signatory,
            FileStorage(io.BytesIO(b""), filename="vide.pdf"),
            kind=DocumentKind.ATTACHMENT,
        )
    assert refusal.value.message == "Le fichier « vide.pdf » est vide."

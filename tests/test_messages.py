"""A dossier's message thread: the organisation and CUF write to each other (the expert joins
once assigned), with attachments, unread markers, work-queue counts and mail to the other side."""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import g
from markupsafe import escape
from reportlab.pdfgen import canvas
from werkzeug.datastructures import FileStorage

from dcol.extensions import db
from dcol.messages import services
from dcol.models import (
    ApplicationState,
    CallKind,
    Document,
    DocumentKind,
    MembershipStatus,
    Message,
    Role,
    ThreadReadMarker,
)
from tests import factories as f
from tests import workflow_support as ws


@pytest.fixture(autouse=True)
def _user_per_request(app):
    """The tests keep one application context open, so ``g`` outlives each request and would
    keep the first client's user: forget it, so that each client is its own session's user."""

    @app.before_request
    def forget_cached_user() -> None:
        g.pop("_login_user", None)


@pytest.fixture
def world(app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = f.make_application(
        call, cast.signatory.organisation, ApplicationState.SUBMITTED, title="Projet pilote eau"
    )
    db.session.commit()
    return cast, application


def client_for(app, user):
    client = app.test_client()
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302
    return client


def thread_url(application) -> str:
    return f"/dossiers/{application.id}/messages"


def post(client, application, body: str, files: list[tuple[bytes, str]] = ()):
    data = {"body": body, "attachments": [(io.BytesIO(c), name) for c, name in files]}
    return client.post(thread_url(application), data=data, content_type="multipart/form-data")


def pdf_bytes(text: str = "Devis de la mission") -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


def recipients(inbox) -> set[str]:
    return {mail["To"] for mail in inbox.messages}


def count_messages() -> int:
    return db.session.scalar(sa.select(sa.func.count(Message.id)))


@contextmanager
def counting_queries():
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


# --- the exchange -------------------------------------------------------------------------------


def test_member_and_manager_exchange_messages_and_the_other_side_is_mailed(app, world, smtp_server):
    cast, application = world
    member = client_for(app, cast.member)
    response = post(member, application, "Bonjour, pouvez-vous préciser le calendrier ?")
    assert response.status_code == 302

    # The organisation writes: CUF's managers are told, not the author nor its colleagues.
    assert recipients(smtp_server) == {cast.manager.email}
    mail = smtp_server.messages[0]
    assert application.reference in mail["Subject"]
    text = mail.get_content()
    assert "Bonjour, pouvez-vous préciser le calendrier ?" in text
    assert f"{cast.member.full_name} (Syndicat mixte Fensch Lorraine) a écrit" in text
    assert f"http://dcol.test/dossiers/{application.id}/messages" in text

    smtp_server.messages.clear()
    manager = client_for(app, cast.manager)
    page = manager.get(thread_url(application)).get_data(as_text=True)
    assert "Bonjour, pouvez-vous préciser le calendrier ?" in page
    assert post(manager, application, "Le comité se réunit en juin.").status_code == 302

    # CUF writes: the organisation's active members are told, not the manager.
    assert recipients(smtp_server) == {cast.signatory.email, cast.member.email}
    page = member.get(thread_url(application)).get_data(as_text=True)
    assert page.index("préciser le calendrier") < page.index("Le comité se réunit en juin.")
    assert "Cités Unies France" in page and cast.manager.full_name in page


def test_a_pending_or_disabled_member_is_not_mailed(app, world, smtp_server):
    cast, application = world
    org = cast.signatory.organisation
    pending = f.make_user(Role.APPLICANT, organisation=org, membership=MembershipStatus.PENDING)
    disabled = f.make_user(Role.APPLICANT, organisation=org, enabled=False)
    db.session.commit()
    post(client_for(app, cast.manager), application, "Merci pour votre dossier.")
    assert pending.email not in recipients(smtp_server)
    assert disabled.email not in recipients(smtp_server)
    assert recipients(smtp_server) == {cast.signatory.email, cast.member.email}


def test_the_expert_joins_the_thread_once_assigned(app, world, smtp_server):
    cast, application = world
    expert = client_for(app, cast.expert_user)
    assert expert.get(thread_url(application)).status_code == 404

    f.make_mission(application, cast.expert_user.expert)
    db.session.commit()
    assert expert.get(thread_url(application)).status_code == 200

    post(client_for(app, cast.signatory), application, "Voici nos disponibilités.")
    assert recipients(smtp_server) == {cast.manager.email, cast.expert_user.email}

    smtp_server.messages.clear()
    assert post(expert, application, "Je propose un atelier le 12.").status_code == 302
    assert recipients(smtp_server) == {cast.signatory.email, cast.member.email}
    page = client_for(app, cast.member).get(thread_url(application)).get_data(as_text=True)
    assert "Je propose un atelier le 12." in page
    assert "Coop&#39;Eau Conseil" in page  # the expert speaks for their firm


@pytest.mark.parametrize(
    "who", ["outsider", "other_expert", "proposed_expert", "reviewer", "pending_member"]
)
def test_people_outside_the_thread_get_404_and_post_nothing(app, world, who):
    cast, application = world
    if who == "outsider":
        user = cast.outsider
    elif who == "other_expert":
        f.make_mission(application, cast.expert_user.expert)
        user = cast.other_expert_user
    elif who == "proposed_expert":  # sees the dossier to answer the proposal, not the thread
        f.propose(application, cast.other_expert_user.expert, cast.manager)
        user = cast.other_expert_user
    elif who == "reviewer":  # sees the dossier to review it, not the thread
        user = cast.reviewers[0]
        f.assign_reviewer(application, user)
    else:
        user = f.make_user(
            Role.APPLICANT,
            organisation=cast.signatory.organisation,
            membership=MembershipStatus.PENDING,
        )
    services.post_message(application, cast.member, "Message existant.")
    db.session.commit()

    client = client_for(app, user)
    assert client.get(thread_url(application)).status_code == 404
    assert post(client, application, "Intrusion").status_code == 404
    assert count_messages() == 1
    with pytest.raises(services.MessageForbidden):
        services.post_message(application, user, "Intrusion")
    with pytest.raises(services.MessageForbidden):
        services.thread(application, user)


def test_missing_dossier_answers_404(app, world):
    cast, _ = world
    assert client_for(app, cast.manager).get("/dossiers/999999/messages").status_code == 404


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["", "   \n  "])
def test_empty_body_is_refused_in_french_and_nothing_is_saved(app, world, smtp_server, body):
    cast, application = world
    response = post(client_for(app, cast.member), application, body)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Écrivez votre message avant de l&#39;envoyer." in page
    assert 'aria-invalid="true"' in page
    assert count_messages() == 0
    assert smtp_server.messages == []


def test_too_long_body_is_refused_and_kept_in_the_form(app, world):
    cast, application = world
    body = "Très long. " * 1000
    response = post(client_for(app, cast.member), application, body)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Le message est trop long" in page
    assert "Très long. Très long." in page  # what was typed is not lost
    assert count_messages() == 0


def stored_files(app) -> set[str]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_refused_attachment_saves_no_message_and_keeps_the_text(app, world, smtp_server):
    cast, application = world
    before = stored_files(app)
    response = post(
        client_for(app, cast.member),
        application,
        "Voici le devis et la délibération.",
        files=[(pdf_bytes(), "devis.pdf"), (b"MZ\x90\x00 not a pdf", "deliberation.pdf")],
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "La pièce jointe « deliberation.pdf » a été refusée" in page
    assert "Voici le devis et la délibération." in page
    # All or nothing: neither the message nor the first (valid) attachment is kept.
    assert count_messages() == 0
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
    assert stored_files(app) == before
    assert smtp_server.messages == []


def test_too_many_attachments_are_refused(app, world):
    cast, application = world
    files = [(pdf_bytes(), f"piece-{n}.pdf") for n in range(services.MAX_ATTACHMENTS + 1)]
    response = post(client_for(app, cast.member), application, "Toutes les pièces.", files)
    assert response.status_code == 422
    assert "Joignez au plus 5 fichiers par message." in response.get_data(as_text=True)
    assert count_messages() == 0


def test_script_in_a_message_shows_escaped(app, world, smtp_server):
    cast, application = world
    body = '<script>alert("x")</script><b>gras</b>'
    post(client_for(app, cast.member), application, body)
    page = client_for(app, cast.manager).get(thread_url(application)).get_data(as_text=True)
    assert "<script>alert" not in page and "<b>gras</b>" not in page
    assert str(escape(body)) in page
    # The mail is plain text: the body is there as typed.
    assert body in smtp_server.messages[0].get_content()


# --- attachments --------------------------------------------------------------------------------


def test_attachment_is_stored_with_its_message_and_downloaded_by_participants(app, world):
    cast, application = world
    f.make_mission(application, cast.expert_user.expert)
    db.session.commit()
    content = pdf_bytes()
    response = post(
        client_for(app, cast.member), application, "Le devis signé.", [(content, "devis.pdf")]
    )
    assert response.status_code == 302

    message = db.session.scalars(sa.select(Message)).one()
    document = db.session.scalars(sa.select(Document)).one()
    assert document.message_id == message.id
    assert document.kind is DocumentKind.MESSAGE
    assert document.application_id == application.id
    assert document.original_name == "devis.pdf"
    assert [d.id for d in message.attachments] == [document.id]

    page = client_for(app, cast.manager).get(thread_url(application)).get_data(as_text=True)
    assert f'href="/documents/{document.id}"' in page and "devis.pdf" in page
    for participant in (cast.member, cast.signatory, cast.manager, cast.expert_user):
        download = client_for(app, participant).get(f"/documents/{document.id}")
        assert download.status_code == 200, participant
        assert download.data == content


@pytest.mark.parametrize(
    "who",
    [
        "outsider",
        "other_expert",
        "pending_member",
        "reviewer",  # sees the dossier, but the thread is between the collectivité and CUF
    ],
)
def test_attachment_is_not_downloaded_by_others(app, world, who):
    cast, application = world
    user = {
        "outsider": lambda: cast.outsider,
        "other_expert": lambda: cast.other_expert_user,
        "pending_member": lambda: f.make_user(
            Role.APPLICANT,
            organisation=cast.signatory.organisation,
            membership=MembershipStatus.PENDING,
        ),
        "reviewer": lambda: cast.reviewers[0],
    }[who]()
    f.assign_reviewer(application, cast.reviewers[0])
    message = services.post_message(
        application,
        cast.member,
        "Pièce confidentielle.",
        [FileStorage(io.BytesIO(pdf_bytes()), filename="devis.pdf")],
    )
    db.session.commit()
    document_id = message.attachments[0].id
    assert client_for(app, user).get(f"/documents/{document_id}").status_code == 404


# --- reading, unread markers and counts --------------------------------------------------------


def test_unread_markers_until_the_thread_is_opened(app, world):
    cast, application = world
    services.post_message(application, cast.member, "Question de la collectivité.")
    db.session.commit()
    manager = client_for(app, cast.manager)
    manager.get(thread_url(application))  # the manager has read the question
    post(manager, application, "Première réponse.")
    post(manager, application, "Seconde réponse.")

    assert services.unread_count(application, cast.member) == 2
    assert services.unread_count(application, cast.manager) == 0  # own messages are read

    member = client_for(app, cast.member)
    page = member.get(thread_url(application)).get_data(as_text=True)
    # "Non lu" is said in words on the two answers, not on the member's own question.
    items = re.findall(
        r'<li class="message([^"]*)"[^>]*>(.*?)</li>\s*(?=<li class="message|</ol>)', page, re.S
    )
    assert [("unread" in classes, "Non lu</strong>" in item) for classes, item in items] == [
        (False, False),
        (True, True),
        (True, True),
    ]
    assert "Question de la collectivité" in items[0][1]
    assert "2 non lus" in page

    db.session.expire_all()
    assert services.unread_count(application, cast.member) == 0
    # Markers are per person: the signatory has read neither the question nor the answers.
    assert services.unread_count(application, cast.signatory) == 3
    assert "Non lu</strong>" not in member.get(thread_url(application)).get_data(as_text=True)


def test_mark_read_never_moves_back(app, world):
    cast, application = world
    message = services.post_message(application, cast.manager, "Bonjour.")
    services.mark_read(application, cast.member)
    marker = db.session.get(ThreadReadMarker, (application.id, cast.member.id))
    first = marker.last_read_at
    services.mark_read(application, cast.member, up_to=message.created_at - timedelta(days=1))
    assert marker.last_read_at == first
    assert services.unread_count(application, cast.member) == 0


def test_unread_counts_for_a_list_in_one_query(app, world):
    cast, application = world
    other = f.make_application(application.call, cast.signatory.organisation)
    quiet = f.make_application(application.call, cast.signatory.organisation)
    services.post_message(application, cast.manager, "Un.")
    services.post_message(application, cast.manager, "Deux.")
    services.post_message(other, cast.manager, "Trois.")
    services.post_message(other, cast.member, "Quatre (de moi).")
    db.session.commit()

    ids = [application.id, other.id, quiet.id]
    db.session.refresh(cast.member)  # load what the commit expired, outside the count
    with counting_queries() as statements:
        counts = services.unread_counts(cast.member, ids)
    assert counts == {application.id: 2, other.id: 1}
    assert len(statements) == 1


def test_thread_loads_in_a_fixed_number_of_queries(app, world):
    cast, application = world
    f.make_mission(application, cast.expert_user.expert)

    def add(n: int) -> None:
        for i in range(n):
            author = (cast.member, cast.manager, cast.expert_user)[i % 3]
            services.post_message(
                application,
                author,
                f"Message {i}",
                [FileStorage(io.BytesIO(pdf_bytes(f"pièce {i}")), filename=f"piece-{i}.pdf")],
            )
        db.session.commit()
        g.pop("queued_mail_ids", None)  # not sent by the next request: not what is counted

    def queries() -> int:
        db.session.expire_all()
        with counting_queries() as statements:
            messages = services.thread(application, cast.manager)
            for message in messages:
                services.side_of(message.author, application)
                [d.original_name for d in message.attachments]
        return len(statements)

    def page_queries() -> int:
        with counting_queries() as statements:
            assert manager.get(thread_url(application)).status_code == 200
        return len(statements)

    add(3)  # one message of each kind of author
    manager = client_for(app, cast.manager)
    manager.get(thread_url(application))  # the first visit creates the read marker
    add(3)  # each measured visit then moves the marker
    few, few_on_page = queries(), page_queries()
    add(9)
    assert queries() == few
    assert page_queries() == few_on_page
    bodies = [m.body for m in services.thread(application, cast.manager)]
    assert bodies == [f"Message {i}" for n in (3, 3, 9) for i in range(n)]


def test_work_queues_show_unread_messages_with_a_link_to_the_thread(app, world):
    cast, application = world
    services.post_message(application, cast.member, "Question.")
    services.post_message(application, cast.manager, "Réponse 1.")
    services.post_message(application, cast.manager, "Réponse 2.")
    db.session.commit()
    link = f'<a href="/dossiers/{application.id}/messages">'

    member = client_for(app, cast.member)
    home = member.get("/").get_data(as_text=True)
    assert f"{link}2 messages non lus — {application.reference}</a>" in home

    manager_home = client_for(app, cast.manager).get("/").get_data(as_text=True)
    assert f"{link}1 message non lu — {application.reference}</a>" in manager_home

    member.get(thread_url(application))
    assert "non lu" not in member.get("/").get_data(as_text=True)


def test_a_nul_character_is_refused_in_french_on_the_page_and_the_api(app, world):
    """PostgreSQL text cannot hold U+0000: it is refused with the other invalid bodies, never
    a 500."""
    from dcol.accounts.services import create_api_token

    cast, application = world
    member = client_for(app, cast.member)
    response = post(member, application, "Bonjour\x00")
    assert response.status_code == 422
    assert "caractères non autorisés" in response.get_data(as_text=True)
    token = create_api_token(cast.member, "tests")
    db.session.commit()
    api = app.test_client().post(
        f"/api/v1/applications/{application.id}/messages",
        data={"body": "Bonjour\x00"}, content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 422 and "caractères non autorisés" in str(api.json)
    assert count_messages() == 0

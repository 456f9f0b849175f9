"""Selection committees: sessions and quorum, the agenda by rank with the running total against
the envelope, decisions one by one or in batch (all or nothing), decision letters and minutes
read back from their PDFs, the promotion of the waitlist, and who sees what."""

from __future__ import annotations

import html
import io
from datetime import timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from dcol.committee import documents, services
from dcol.documents.storage import path_of
from dcol.extensions import db
from dcol.models import (
    ApplicationState,
    CallKind,
    CommitteeDecision,
    Criterion,
    Document,
    DocumentKind,
    OutgoingMail,
    Role,
    SessionState,
    utcnow,
)
from dcol.reviews import services as reviews
from tests import factories as f
from tests import workflow_support as ws
from workflows import engine

S = ApplicationState


def login(client, user):
    assert client.post("/connexion", data={"email": user.email,
                                           "password": f.PASSWORD}).status_code == 302


def pdf_text(content: bytes) -> str:
    return " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(content)).pages)


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def world(app):
    """A DCOL call (envelope 25 000 €) with a one-criterion grid and three reviewed dossiers
    scored 90, 70 and 50, each with an estimated cofinancing of 10 000 €; two committee
    members besides the one of ``ws.make_cast``."""
    call = ws.make_call_for(CallKind.DCOL, envelope=D("25000.00"))
    call.criteria.append(Criterion(label="Qualité", weight=D("1"), scale_max=D("5"), position=1))
    cast = ws.make_cast(call)
    cast.committee.full_name = "Claire Dubois"
    dossiers = []
    for score in ("4.5", "3.5", "2.5"):
        application = ws.complete_dossier(call, cast)
        ws.drive_to(application, cast, S.UNDER_REVIEW)
        for reviewer in cast.reviewers:
            reviews.save_review(application, reviewer, {call.criteria[0].id: (score, "")},
                                "favourable", "", submit=True)
        assert application.state is S.REVIEWED
        dossiers.append(application)
    second, third = f.make_user(Role.COMMITTEE), f.make_user(Role.COMMITTEE)
    second.full_name, third.full_name = "Marc Petit", "Nadia Benali"
    db.session.commit()
    return call, cast, dossiers, [cast.committee, second, third]


def plan(call, manager, members, quorum=2):
    session = services.save_session(call, manager, {
        "title": "Comité de sélection DCOL", "date": (utcnow() + timedelta(days=3)).date(),
        "time": "10:00", "location": "Cités Unies France, Paris", "quorum": quorum,
        "member_ids": [m.id for m in members]})
    db.session.commit()
    return session


def open_with(session, manager, present):
    services.record_attendance(session, manager, {m.id for m in present})
    services.open_session(session, manager)
    db.session.commit()


def test_session_details_are_checked_and_the_quorum_opens_it(world):
    call, cast, _dossiers, members = world
    with pytest.raises(engine.Forbidden):
        services.save_session(call, members[0], {})
    with pytest.raises(services.SessionRefused) as refused:
        services.save_session(call, cast.manager, {
            "title": "", "date": "31/02", "quorum": "4", "member_ids": [members[0].id,
                                                                       cast.signatory.id]})
    assert set(refused.value.errors) == {"title", "date", "member_ids"}
    with pytest.raises(services.SessionRefused) as refused:
        services.save_session(call, cast.manager, {
            "title": "Comité", "date": "2026-12-10", "quorum": "4",
            "member_ids": [m.id for m in members]})
    assert refused.value.errors == {"quorum": "Le quorum (4) dépasse le nombre de membres (3)."}
    session = plan(call, cast.manager, members)
    assert session.held_at.hour == 9 and session.held_at.tzinfo is not None  # 10:00 in Paris
    services.record_attendance(session, cast.manager, {members[0].id})
    with pytest.raises(engine.NotApplicable) as refused:
        services.open_session(session, cast.manager)
    assert refused.value.message == "Quorum non atteint : 1 membre(s) présent(s) sur 2 requis."
    open_with(session, cast.manager, members[:2])
    assert session.state is SessionState.OPEN


def test_agenda_ranks_and_adds_up_cofinancing_against_the_envelope(world):
    call, cast, dossiers, members = world
    session = plan(call, cast.manager, members)
    agenda = services.agenda(session)
    assert [item.application.id for item in agenda.items] == [d.id for d in dossiers]
    assert [item.rank for item in agenda.items] == [1, 2, 3]
    assert [item.running_total for item in agenda.items] == [D("10000.00"), D("20000.00"),
                                                             D("30000.00")]
    assert [item.exceeds_envelope for item in agenda.items] == [False, False, True]
    assert agenda.envelope == D("25000.00") and agenda.remaining == D("25000.00")


def test_batch_decisions_are_all_or_nothing(world):
    call, cast, (first, second, third), members = world
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    # A member absent from the session does not decide.
    with pytest.raises(engine.Forbidden):
        services.decide(session, members[2], [(first.id, "select", "")])
    # Three selections need 30 000 € of a 25 000 € envelope: none is applied.
    with pytest.raises(services.DecisionsRefused) as refused:
        services.decide(session, members[0], [(first.id, "select", ""), (second.id, "select", ""),
                                               (third.id, "select", "")])
    db.session.rollback()
    assert list(refused.value.refusals) == [third.reference]
    assert "L'enveloppe de l'appel ne suffit pas : reste 5" in refused.value.refusals[
        third.reference][1]
    db.session.expire_all()
    assert [d.state for d in (first, second, third)] == [S.REVIEWED] * 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CommitteeDecision)) == 0
    # A rejection needs its reason: refused as well.
    with pytest.raises(services.DecisionsRefused):
        services.decide(session, members[0], [(first.id, "select", ""), (third.id, "reject", "")])
    db.session.rollback()
    rows = services.decide(session, members[0], [
        (first.id, "select", ""), (second.id, "select", ""),
        (third.id, "reject", "Ancrage territorial insuffisant.")])
    db.session.commit()
    assert [d.state for d in (first, second, third)] == [S.SELECTED, S.SELECTED, S.REJECTED]
    assert [(r.decision.value, r.decided_by_id) for r in rows] == [
        ("select", members[0].id), ("select", members[0].id), ("reject", members[0].id)]
    agenda = services.agenda(session)
    assert agenda.selected_total == D("20000.00") and agenda.remaining == D("5000.00")


def test_letters_are_stored_mailed_and_read_back(world):
    call, cast, (first, second, third), members = world
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    services.decide(session, members[0], [
        (first.id, "select", ""), (second.id, "waitlist", ""),
        (third.id, "reject", "Ancrage territorial insuffisant.")])
    db.session.commit()
    texts = {}
    for application in (first, second, third):
        letter = db.session.scalars(sa.select(Document).where(
            Document.application_id == application.id,
            Document.kind == DocumentKind.LETTER)).one()
        texts[application.id] = pdf_text(path_of(letter).read_bytes())
        mail = db.session.scalars(sa.select(OutgoingMail).where(
            OutgoingMail.application_id == application.id,
            OutgoingMail.to_address == cast.signatory.email,
            OutgoingMail.template == "event").order_by(OutgoingMail.id.desc())).first()
        assert mail.attachments == [{"filename": letter.original_name,
                                     "stored_name": letter.stored_name,
                                     "content_type": "application/pdf"}]
    normal = {k: " ".join(v.split()) for k, v in texts.items()}
    assert first.reference in normal[first.id] and "a retenu votre dossier" in normal[first.id]
    assert "10 000,00 €" in normal[first.id].replace("\u202f", " ").replace("\xa0", " ")
    assert "en liste d'attente" in normal[second.id]
    assert "n'a pas retenu votre dossier" in normal[third.id]
    assert "Ancrage territorial insuffisant." in normal[third.id]
    assert first.organisation.name in normal[third.id]


def test_minutes_list_members_present_and_every_decision(world, client):
    call, cast, (first, second, third), members = world
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    services.decide(session, members[1], [(first.id, "select", ""),
                                           (third.id, "reject", "Projet peu mûr.")])
    services.close_session(session, cast.manager)
    db.session.commit()
    login(client, members[0])
    response = client.get(f"/comites/{session.id}/proces-verbal.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(pdf_text(response.data).split())
    assert "Procès-verbal du comité de sélection" in text
    assert "Membres présents Claire Dubois, Marc Petit" in text
    assert "Membres absents Nadia Benali" in text
    assert "atteint" in text and "2 présent(s)" in text
    references = text.replace(" ", "")  # however the table's cells break lines
    assert first.reference in references and third.reference in references
    assert second.reference not in references
    assert "Projet peu mûr." in text and "Retenu" in text and "Non retenu" in text
    assert "Dossiers retenus : 1" in text


def test_a_withdrawn_laureate_proposes_the_first_waitlisted_dossier(world, client):
    call, cast, (first, second, third), members = world
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    services.decide(session, members[0], [(first.id, "select", ""), (second.id, "waitlist", ""),
                                          (third.id, "waitlist", "")])
    db.session.commit()
    assert services.promotion_proposals(call) == []
    engine.fire(first, "withdraw", cast.signatory, comment="Projet reporté par le conseil.")
    assert services.promotion_proposals(call) == [second.id]
    mail = db.session.scalars(sa.select(OutgoingMail).where(
        OutgoingMail.to_address == cast.manager.email,
        OutgoingMail.subject.contains("proposé pour promotion"))).one()
    assert second.reference in mail.subject and first.reference in mail.body_text
    login(client, members[0])
    body = page(client.get(f"/comites/{session.id}"))
    assert "Proposé pour promotion" in body
    # The committee confirms it by selecting the dossier; the proposal is then spent.
    response = client.post(f"/comites/{session.id}/decisions", data={
        f"decision-{second.id}": "select"})
    assert response.status_code == 302
    assert second.state is S.SELECTED
    assert services.promotion_proposals(call) == []


def test_decisions_through_the_session_page(world, client):
    call, cast, (first, second, third), members = world
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    login(client, members[1])
    response = client.post(f"/comites/{session.id}/decisions", data={
        f"decision-{first.id}": "select", f"decision-{third.id}": "reject",
        f"reason-{third.id}": ""})
    assert response.status_code == 422
    body = page(response)
    assert "Aucune décision n'a été enregistrée" in body and third.reference in body
    assert 'value="select" selected' in body  # the choices are kept
    assert first.state is S.REVIEWED
    response = client.post(f"/comites/{session.id}/decisions", data={
        f"decision-{first.id}": "select", f"decision-{third.id}": "reject",
        f"reason-{third.id}": "Hors priorités."})
    assert response.status_code == 302
    db.session.expire_all()
    assert first.state is S.SELECTED and third.state is S.REJECTED


def test_members_see_only_their_sessions_and_applicants_none(world, client):
    call, cast, dossiers, members = world
    mine = plan(call, cast.manager, members[:2])
    other_call = ws.make_call_for(CallKind.DCOL)
    outsider = f.make_user(Role.COMMITTEE)
    db.session.commit()
    theirs = plan(other_call, cast.manager, [outsider], quorum=1)
    login(client, members[2])  # sits on no session of the call
    assert client.get(f"/comites/{mine.id}").status_code == 404
    assert client.get(f"/comites/{mine.id}/proces-verbal.pdf").status_code == 404
    assert client.get(f"/comites/{theirs.id}").status_code == 404
    client.post("/deconnexion")
    login(client, members[0])
    assert client.get(f"/comites/{mine.id}").status_code == 200
    assert client.get(f"/comites/{theirs.id}").status_code == 404
    assert mine.title in page(client.get(f"/appels/{call.id}/comites"))
    client.post("/deconnexion")
    login(client, cast.signatory)
    for path in (f"/comites/{mine.id}", f"/appels/{call.id}/comites",
                 f"/comites/{mine.id}/proces-verbal.pdf"):
        assert client.get(path).status_code == 404, path
    # A plain member cannot plan or open sessions.
    client.post("/deconnexion")
    login(client, members[0])
    assert client.post(f"/appels/{call.id}/comites", data={"title": "X"}).status_code == 404
    response = client.post(f"/comites/{mine.id}/ouverture")
    assert response.status_code == 403
    assert documents.minutes_filename(mine).endswith(".pdf")


def test_manager_plans_and_runs_a_session_through_the_pages(world, client):
    call, cast, _dossiers, members = world
    login(client, cast.manager)
    assert "Programmer une séance" in page(client.get(f"/appels/{call.id}/comites"))
    response = client.post(f"/appels/{call.id}/comites", data={
        "title": "Comité d'automne", "date": "2026-12-10", "time": "14:30", "location": "Paris",
        "quorum": "3", "member_ids": [str(members[0].id), str(members[1].id)]})
    assert response.status_code == 422  # quorum above the members: the input is kept
    body = page(response)
    assert "Le quorum (3) dépasse le nombre de membres (2)." in body
    assert "Comité d'automne" in body
    response = client.post(f"/appels/{call.id}/comites", data={
        "title": "Comité d'automne", "date": "2026-12-10", "time": "14:30", "location": "Paris",
        "quorum": "2", "member_ids": [str(members[0].id), str(members[1].id)]})
    assert response.status_code == 302
    session = db.session.scalars(sa.select(services.CommitteeSession).where(
        services.CommitteeSession.title == "Comité d'automne")).one()
    assert client.post(f"/comites/{session.id}/ouverture").status_code == 409
    client.post(f"/comites/{session.id}/presences",
                data={"present": [str(members[0].id), str(members[1].id)]})
    assert client.post(f"/comites/{session.id}/ouverture").status_code == 302
    body = page(client.get(f"/comites/{session.id}"))
    assert "En séance" in body and "Ordre du jour" in body and "Clore la séance" in body
    assert client.post(f"/comites/{session.id}/cloture").status_code == 302
    assert session.state is SessionState.CLOSED

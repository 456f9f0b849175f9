"""Selection committees: sessions and quorum, the agenda by rank with the running total against
the envelope, decisions one by one or in batch (all or nothing, through the workflow, recorded
and audited), decision letters and minutes read back from their PDFs, the promotion of the
waiting list, the JSON API, and who sees what."""

from __future__ import annotations

import html
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from dcol.accounts.services import create_api_token
from dcol.committee import agenda as agendas
from dcol.committee import letters, minutes, services
from dcol.documents.storage import path_of, upload_folder
from dcol.extensions import db
from dcol.models import (
    ApplicationState,
    AuditEvent,
    CallKind,
    CommitteeDecision,
    CommitteeSession,
    Criterion,
    Decision,
    Document,
    DocumentKind,
    OutgoingMail,
    Role,
    SessionState,
)
from dcol.permissions import Action, can
from dcol.reviews import services as reviews
from tests import factories as f
from tests import workflow_support as ws
from tests.pdf_support import pdf_text
from workflows import engine

S = ApplicationState
# Each dossier's two reviews on a one-criterion grid (0–5, weight 1): 90 (close scores), 70
# (2 points apart: divergent), 50 (under the call's overall threshold of 60).
MARKS = (("5", "4"), ("4.5", "2.5"), ("2.5", "2.5"))


def login(client, user):
    assert client.post("/connexion", data={"email": user.email,
                                           "password": f.PASSWORD}).status_code == 302


def logout(client):
    client.post("/deconnexion")


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def letter_of(application) -> Document:
    return db.session.scalars(sa.select(Document).where(
        Document.application_id == application.id, Document.kind == DocumentKind.LETTER)).one()


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def world(app):
    """A DCOL call (envelope 25 000 €, overall threshold 60) with three reviewed dossiers scored
    90, 70 (divergent) and 50 (under the threshold), each with an estimated cofinancing of
    10 000 €; three committee members, none seated yet."""
    call = ws.make_call_for(CallKind.DCOL, envelope=D("25000.00"))
    call.overall_threshold = D("60")
    call.criteria.append(Criterion(label="Qualité", weight=D("1"), scale_max=D("5"), position=1))
    cast = ws.make_cast(call)
    # ``make_cast`` seats its committee member at an open session: start from none.
    for seat in db.session.scalars(sa.select(CommitteeSession)).all():
        db.session.delete(seat)
    cast.committee.full_name = "Claire Dubois"
    cast.reviewers[0].full_name, cast.reviewers[1].full_name = "Julien Moreau", "Inès Haddad"
    dossiers = []
    for marks in MARKS:
        application = ws.complete_dossier(call, cast)
        ws.drive_to(application, cast, S.UNDER_REVIEW)
        for reviewer, mark in zip(cast.reviewers, marks, strict=True):
            reviews.save_review(application, reviewer, {call.criteria[0].id: (mark, "")},
                                "favourable", "", submit=True)
        assert application.state is S.REVIEWED
        dossiers.append(application)
    second, third = f.make_user(Role.COMMITTEE), f.make_user(Role.COMMITTEE)
    second.full_name, third.full_name = "Marc Petit", "Nadia Benali"
    db.session.commit()
    return call, cast, dossiers, [cast.committee, second, third]


def plan(call, manager, members, quorum=2, day="2026-12-10", hour="10:00"):
    session = services.save_session(call, manager, {
        "title": "Comité de sélection DCOL", "date": day, "time": hour,
        "location": "Cités Unies France, Paris", "quorum": quorum,
        "member_ids": [m.id for m in members]})
    db.session.commit()
    return session


def open_with(session, manager, present):
    services.record_attendance(session, manager, {m.id for m in present})
    services.open_session(session, manager)
    db.session.commit()


# --- sessions and quorum ------------------------------------------------------------------------


def test_session_details_are_checked_and_nothing_is_half_saved(world):
    call, cast, _dossiers, members = world
    with pytest.raises(engine.Forbidden):
        services.save_session(call, members[0], {})
    with pytest.raises(services.SessionRefused) as refused:
        services.save_session(call, cast.manager, {
            "title": "", "date": "2026-02-31", "quorum": "0",
            "member_ids": [members[0].id, cast.signatory.id]})
    assert refused.value.errors == {
        "title": "Donnez un intitulé à la séance.",
        "date": "Indiquez la date et l'heure de la séance (heure de Paris).",
        "quorum": "Le quorum est un nombre entier d'au moins 1.",
        "member_ids": "Seuls des membres du comité de sélection peuvent siéger."}
    with pytest.raises(services.SessionRefused) as refused:
        services.save_session(call, cast.manager, {
            "title": "Comité", "date": "2026-12-10", "quorum": "4",
            "member_ids": [m.id for m in members]})
    assert refused.value.errors == {"quorum": "Le quorum (4) dépasse le nombre de membres (3)."}
    db.session.rollback()
    assert count(CommitteeSession) == 0


@pytest.mark.parametrize(("day", "utc_hour"), [("2026-12-10", 9), ("2026-07-10", 8)])
def test_session_time_is_typed_in_paris_and_stored_in_utc(world, day, utc_hour):
    call, cast, _dossiers, members = world
    session = plan(call, cast.manager, members, day=day, hour="10:00")
    db.session.expire_all()
    assert session.held_at.utcoffset().total_seconds() == 0
    assert (session.held_at.hour, session.held_at.minute) == (utc_hour, 0)


def test_quorum_opens_the_session_and_gates_the_decisions(world):
    call, cast, (first, _second, _third), members = world
    session = plan(call, cast.manager, members)
    with pytest.raises(engine.NotApplicable) as refused:
        services.decide(session, members[0], [(first.id, "select", "")])
    assert refused.value.message == ("La séance n'est pas ouverte : aucune décision ne peut être "
                                     "prise.")
    services.record_attendance(session, cast.manager, {members[0].id})
    with pytest.raises(engine.NotApplicable) as refused:
        services.open_session(session, cast.manager)
    assert refused.value.message == "Quorum non atteint : 1 membre(s) présent(s) sur 2 requis."
    with pytest.raises(engine.Forbidden):
        services.open_session(session, members[0])  # a member does not run the session
    open_with(session, cast.manager, members[:2])
    assert session.state is SessionState.OPEN
    # Once open, the quorum stays: attendance that would break it is refused.
    with pytest.raises(engine.NotApplicable) as refused:
        services.record_attendance(session, cast.manager, {members[0].id})
    assert "le quorum doit rester atteint" in refused.value.message
    db.session.rollback()
    # Only the members present decide; the others are refused in French.
    with pytest.raises(engine.Forbidden) as refused:
        services.decide(session, members[2], [(first.id, "select", "")])
    assert refused.value.message == "Seuls les membres présents à la séance décident."
    outsider = f.make_user(Role.COMMITTEE)
    with pytest.raises(engine.NotVisible):
        services.decide(session, outsider, [(first.id, "select", "")])
    assert [can(m, Action.SESSION_DECIDE, session) for m in members] == [True, True, False]
    assert [can(m, Action.APP_DECIDE, first) for m in members] == [True, True, False]
    services.close_session(session, cast.manager)
    assert not can(members[0], Action.APP_DECIDE, first)
    with pytest.raises(engine.NotApplicable):
        services.decide(session, members[0], [(first.id, "select", "")])


# --- agenda -------------------------------------------------------------------------------------


def test_agenda_ranks_flags_and_adds_up_cofinancing_against_the_envelope(world):
    call, cast, dossiers, members = world
    session = plan(call, cast.manager, members)
    agenda = agendas.agenda(session)
    assert [item.application.id for item in agenda.items] == [d.id for d in dossiers]
    assert [item.rank for item in agenda.items] == [1, 2, 3]
    assert [item.aggregate.final_score for item in agenda.items] == [D("90"), D("70"), D("50")]
    assert [bool(item.aggregate.divergent) for item in agenda.items] == [False, True, False]
    assert [item.aggregate.is_flagged for item in agenda.items] == [False, False, True]
    assert [item.running_total for item in agenda.items] == [D("10000.00"), D("20000.00"),
                                                             D("30000.00")]
    assert [item.exceeds_envelope for item in agenda.items] == [False, False, True]
    assert agenda.envelope == D("25000.00") and agenda.remaining == D("25000.00")


def test_agenda_counts_what_the_call_already_engaged(world, client):
    call, cast, (first, second, third), members = world
    earlier = plan(call, cast.manager, members)
    open_with(earlier, cast.manager, members[:2])
    services.decide(earlier, members[0], [(first.id, "select", ""), (second.id, "waitlist", "")])
    services.close_session(earlier, cast.manager)
    db.session.commit()
    later = plan(call, cast.manager, members, day="2027-01-15")
    agenda = agendas.agenda(later)
    # The closed session's agenda is what it decided; the next one takes up the rest.
    assert [i.application.id for i in agendas.agenda(earlier).items] == [first.id, second.id]
    assert [i.application.id for i in agenda.items] == [second.id, third.id]
    assert agenda.engaged_before == D("10000.00") and agenda.remaining == D("15000.00")
    assert [i.running_total for i in agenda.items] == [D("20000.00"), D("30000.00")]
    login(client, cast.manager)
    body = page(client.get(f"/comites/{later.id}"))
    assert "15 000,00 €" in body.replace("\u202f", " ").replace("\xa0", " ")
    assert "Divergence entre instructeurs" in body and "Sous un seuil" in body


# --- decisions ----------------------------------------------------------------------------------


def test_decisions_go_through_the_workflow_and_are_recorded_and_audited(world):
    call, cast, (first, second, third), members = world
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    rows = services.decide(session, members[1], [
        (first.id, "select", ""), (second.id, "waitlist", "Bon dossier, enveloppe limitée."),
        (third.id, "reject", "Ancrage territorial insuffisant.")])
    db.session.commit()
    assert [d.state for d in (first, second, third)] == [S.SELECTED, S.WAITLISTED, S.REJECTED]
    assert [(r.session_id, r.application_id, r.decision, r.decided_by_id) for r in rows] == [
        (session.id, first.id, Decision.SELECT, members[1].id),
        (session.id, second.id, Decision.WAITLIST, members[1].id),
        (session.id, third.id, Decision.REJECT, members[1].id)]
    assert rows[2].reason == "Ancrage territorial insuffisant."
    entry = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.application_id == third.id).order_by(AuditEvent.sequence.desc())).first()
    assert (entry.event, entry.from_state, entry.to_state, entry.actor_id, entry.comment) == (
        "reject", "reviewed", "rejected", members[1].id, "Ancrage territorial insuffisant.")


def test_batch_decisions_are_all_or_nothing(world):
    call, cast, (first, second, third), members = world
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    files_before = set(upload_folder().iterdir())
    mails_before = count(OutgoingMail)
    # Three selections need 30 000 € of a 25 000 € envelope: none is applied.
    with pytest.raises(services.DecisionsRefused) as refused:
        services.decide(session, members[0], [(first.id, "select", ""), (second.id, "select", ""),
                                               (third.id, "select", "")])
    assert list(refused.value.refusals) == [third.reference]
    assert "L'enveloppe de l'appel ne suffit pas : reste 5" in " ".join(
        refused.value.refusals[third.reference])
    assert refused.value.status == 409
    # The savepoint undid the two others, their letters and mails: even a commit keeps nothing.
    db.session.commit()
    db.session.expire_all()
    assert [d.state for d in (first, second, third)] == [S.REVIEWED] * 3
    assert count(CommitteeDecision) == 0
    assert count(OutgoingMail) == mails_before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document).where(
        Document.kind == DocumentKind.LETTER)) == 0
    assert set(upload_folder().iterdir()) == files_before
    # A rejection without its reason is refused as well, with the rest of its batch.
    with pytest.raises(services.DecisionsRefused) as refused:
        services.decide(session, members[0], [(first.id, "select", ""), (third.id, "reject", "")])
    assert refused.value.refusals == {third.reference: [
        "Le champ « Motif de la décision » est obligatoire."]}
    db.session.rollback()
    rows = services.decide(session, members[0], [
        (first.id, "select", ""), (second.id, "select", ""),
        (third.id, "reject", "Ancrage territorial insuffisant.")])
    db.session.commit()
    assert [d.state for d in (first, second, third)] == [S.SELECTED, S.SELECTED, S.REJECTED]
    assert len(rows) == 3
    agenda = agendas.agenda(session)
    assert agenda.selected_total == D("20000.00") and agenda.remaining == D("5000.00")


def test_decisions_through_the_session_page_keep_the_choices_when_refused(world, client):
    call, cast, (first, second, third), members = world
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    login(client, members[1])
    response = client.post(f"/comites/{session.id}/decisions", data={
        f"decision-{first.id}": "select", f"decision-{third.id}": "reject",
        f"reason-{third.id}": ""})
    assert response.status_code == 422
    body = page(response)
    assert "Aucune décision n'a été enregistrée : 1 dossier(s)" in body
    assert f"{third.reference} : Le champ « Motif de la décision » est obligatoire." in body
    assert 'value="select" selected' in body  # the choices are kept
    db.session.expire_all()
    assert first.state is S.REVIEWED
    response = client.post(f"/comites/{session.id}/decisions", data={
        f"decision-{first.id}": "select", f"decision-{third.id}": "reject",
        f"reason-{third.id}": "Hors priorités."})
    assert response.status_code == 302
    assert "2 décision(s) enregistrée(s)" in page(client.get(response.location))
    db.session.expire_all()
    assert first.state is S.SELECTED and third.state is S.REJECTED


def test_decisions_on_dossiers_off_the_agenda_are_refused(world, client):
    call, cast, (first, _second, _third), members = world
    other = ws.complete_dossier(ws.make_call_for(CallKind.DCOL), cast)
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    with pytest.raises(services.DecisionsRefused) as refused:
        services.decide(session, members[0], [(first.id, "select", ""), (other.id, "select", ""),
                                              (first.id, "reject", "Doublon."),
                                              (2**40, "select", ""), (first.id, "promote", "")])
    assert refused.value.refusals == {  # another call's dossier: not named, only its id
        str(other.id): ["Ce dossier n'est pas à l'ordre du jour."],
        first.reference: ["Une seule décision par dossier à la fois."],
        str(2**40): ["Ce dossier n'est pas à l'ordre du jour."]}
    assert refused.value.status == 422  # the highest of 404 and 422
    db.session.rollback()
    login(client, members[0])
    response = client.post(f"/comites/{session.id}/decisions", data={
        "decision-9999999999": "select", "decision-²": "select"})
    assert response.status_code == 404
    assert "9999999999 : Ce dossier n'est pas à l'ordre du jour." in page(response)
    assert client.post(f"/comites/{session.id}/decisions", data={}).status_code == 422
    db.session.expire_all()
    assert first.state is S.REVIEWED and count(CommitteeDecision) == 0


def test_a_decision_fired_from_the_dossier_page_is_recorded_in_the_session(world, client):
    call, cast, (first, _second, _third), members = world
    session = plan(call, cast.manager, members)
    login(client, members[0])
    # Before the session opens, the dossier page offers no decision.
    assert 'data-event="select"' not in page(client.get(f"/dossiers/{first.id}"))
    open_with(session, cast.manager, members[:2])
    assert 'data-event="select"' in page(client.get(f"/dossiers/{first.id}"))
    response = client.post(f"/dossiers/{first.id}/evenements/select",
                           data={"comment": "", "version": first.version})
    assert response.status_code == 302
    db.session.expire_all()
    assert first.state is S.SELECTED
    (row,) = db.session.scalars(sa.select(CommitteeDecision)).all()
    assert (row.session_id, row.application_id, row.decided_by_id) == (
        session.id, first.id, members[0].id)
    assert letter_of(first).original_name.endswith("-retenu.pdf")


# --- letters and minutes ------------------------------------------------------------------------


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
        letter = letter_of(application)
        texts[application.id] = pdf_text(path_of(letter).read_bytes())
        mail = db.session.scalars(sa.select(OutgoingMail).where(
            OutgoingMail.application_id == application.id,
            OutgoingMail.to_address == cast.signatory.email,
            OutgoingMail.template == "event").order_by(OutgoingMail.id.desc())).first()
        assert mail.attachments == [{"filename": letter.original_name,
                                     "stored_name": letter.stored_name,
                                     "content_type": "application/pdf"}]
    selected, waitlisted, rejected = (texts[d.id] for d in (first, second, third))
    assert first.reference in selected and "a retenu votre dossier « Projet pilote" in selected
    assert "Décision Retenu" in selected and "10 000,00 €" in selected
    assert second.reference in waitlisted and "en liste d'attente" in waitlisted
    assert "Décision Liste d'attente" in waitlisted
    assert third.reference in rejected and "n'a pas retenu votre dossier" in rejected
    assert "Décision Non retenu" in rejected and "Ancrage territorial insuffisant." in rejected
    for text in texts.values():  # the organisation, never a score or a reviewer
        assert first.organisation.name in text
        assert "/ 100" not in text and "Note" not in text and "Julien Moreau" not in text


def test_minutes_list_members_present_and_every_decision(world, client):
    call, cast, (first, second, third), members = world
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    services.decide(session, members[1], [(first.id, "select", ""),
                                           (third.id, "reject", "Projet peu mûr.")])
    db.session.commit()
    login(client, members[0])
    draft = pdf_text(client.get(f"/comites/{session.id}/proces-verbal.pdf").data)
    assert "Projet de procès-verbal du comité de sélection (séance non close)" in draft
    services.close_session(session, cast.manager)
    db.session.commit()
    response = client.get(f"/comites/{session.id}/proces-verbal.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "Procès-verbal du comité de sélection" in text and "non close" not in text
    assert call.title in text and "Comité de sélection DCOL" in text
    assert "10 décembre 2026" in text and "Cités Unies France, Paris" in text
    assert "Membres présents Claire Dubois, Marc Petit" in text
    assert "Membres absents Nadia Benali" in text
    assert "2 membre(s) requis, 2 présent(s) : atteint" in text
    assert first.reference in text and third.reference in text and second.reference not in text
    assert first.organisation.name in text and "10 000,00 €" in text
    assert "Projet peu mûr." in text and "Retenu" in text and "Non retenu" in text
    assert text.index(first.reference) < text.index(third.reference)
    assert "Dossiers retenus : 1, pour un cofinancement estimé de 10 000,00 €" in text
    assert "En liste d'attente : 0. Non retenus : 1." in text
    assert minutes.minutes_filename(session) in response.headers["Content-Disposition"]
    # The closed session's page is its record: the decisions, no more forms.
    body = page(client.get(f"/comites/{session.id}"))
    assert "Projet peu mûr." in body and "Procès-verbal (PDF)" in body
    assert "Enregistrer les décisions" not in body and second.reference not in body


def test_minutes_never_cut_a_long_reference(world):
    call, cast, (first, _second, third), members = world
    first.reference, third.reference = "AAP2026-ISERE-VOLET2-0123", "DCOL540-0001"
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    services.decide(session, members[1], [(first.id, "select", ""),
                                           (third.id, "reject", "Projet peu mûr.")])
    db.session.commit()
    text = pdf_text(minutes.build_minutes_pdf(session))
    assert "AAP2026-ISERE-VOLET2-0123" in text and "DCOL540-0001" in text


# --- promotion ----------------------------------------------------------------------------------


def test_a_withdrawn_laureate_proposes_the_first_waitlisted_dossier(world, client):
    call, cast, (first, second, third), members = world
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    services.decide(session, members[0], [(first.id, "select", ""), (second.id, "waitlist", ""),
                                          (third.id, "waitlist", "")])
    db.session.commit()
    assert agendas.promotion_proposals(call) == []
    engine.fire(first, "withdraw", cast.signatory, comment="Projet reporté par le conseil.")
    # Proposed, never selected automatically.
    assert agendas.promotion_proposals(call) == [second.id] and second.state is S.WAITLISTED
    mail = db.session.scalars(sa.select(OutgoingMail).where(
        OutgoingMail.to_address == cast.manager.email,
        OutgoingMail.subject.contains("proposé pour promotion"))).one()
    assert second.reference in mail.subject and first.reference in mail.body_text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail).where(
        OutgoingMail.to_address == members[2].email,
        OutgoingMail.subject.contains("proposé pour promotion"))) == 1
    login(client, cast.manager)
    assert second.reference in page(client.get(f"/appels/{call.id}/comites")).split(
        "Proposés pour promotion")[1]
    logout(client)
    login(client, members[0])
    assert "Proposé pour promotion" in page(client.get(f"/comites/{session.id}"))
    # A present member confirms it by selecting the dossier; the proposal is then spent.
    response = client.post(f"/comites/{session.id}/decisions", data={
        f"decision-{second.id}": "select"})
    assert response.status_code == 302
    db.session.expire_all()
    assert second.state is S.SELECTED
    assert agendas.promotion_proposals(call) == []
    letter = db.session.scalars(sa.select(Document).where(
        Document.application_id == second.id, Document.kind == DocumentKind.LETTER
    ).order_by(Document.id.desc())).first()
    promoted = pdf_text(path_of(letter).read_bytes())
    assert "Une place s'étant libérée" in promoted and "jusqu'ici en liste d'attente" in promoted


def test_a_waitlisted_dossier_selected_earlier_fills_no_later_place(world):
    call, cast, (first, second, third), members = world
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    services.decide(session, members[0], [(first.id, "select", ""), (second.id, "waitlist", ""),
                                          (third.id, "waitlist", "")])
    services.decide(session, members[0], [(second.id, "select", "")])  # room enough, no promotion
    db.session.commit()
    engine.fire(first, "withdraw", cast.signatory, comment="Projet abandonné.")
    assert agendas.promotion_proposals(call) == [third.id]


def test_managers_are_told_when_no_waitlisted_dossier_can_take_the_place(world):
    call, cast, (first, _second, _third), members = world
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    services.decide(session, members[0], [(first.id, "select", "")])
    db.session.commit()
    engine.fire(first, "withdraw", cast.manager, comment="Désistement de la collectivité.")
    assert agendas.promotion_proposals(call) == []
    mail = db.session.scalars(sa.select(OutgoingMail).where(
        OutgoingMail.to_address == cast.manager.email,
        OutgoingMail.subject.contains("Place libérée"))).one()
    assert "Aucun dossier de son volet n'est en liste d'attente" in mail.body_text


# --- who sees what ------------------------------------------------------------------------------


def test_members_see_only_their_sessions_and_applicants_none(world, client):
    call, cast, dossiers, members = world
    mine = plan(call, cast.manager, members[:2])
    other_call = ws.make_call_for(CallKind.DCOL)
    outsider = f.make_user(Role.COMMITTEE)
    db.session.commit()
    theirs = plan(other_call, cast.manager, [outsider], quorum=1)
    login(client, members[2])  # sits on no session of the call
    for path in (f"/comites/{mine.id}", f"/comites/{mine.id}/proces-verbal.pdf",
                 f"/appels/{call.id}/comites", f"/comites/{theirs.id}"):
        assert client.get(path).status_code == 404, path
    logout(client)
    login(client, members[0])
    assert client.get(f"/comites/{mine.id}").status_code == 200
    assert client.get(f"/comites/{theirs.id}").status_code == 404
    assert client.get(f"/comites/{theirs.id}/proces-verbal.pdf").status_code == 404
    assert mine.title in page(client.get(f"/appels/{call.id}/comites"))
    # A plain member neither plans nor opens sessions.
    assert client.post(f"/appels/{call.id}/comites", data={"title": "X"}).status_code == 404
    assert client.post(f"/comites/{mine.id}/ouverture").status_code == 403
    logout(client)
    login(client, cast.signatory)
    for path in (f"/comites/{mine.id}", f"/appels/{call.id}/comites",
                 f"/comites/{mine.id}/proces-verbal.pdf", f"/comites/{theirs.id}"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/comites/{mine.id}/decisions",
                       data={f"decision-{dossiers[0].id}": "select"}).status_code == 404


def test_the_applicant_gets_the_letter_and_never_a_score(world, client):
    call, cast, (first, second, third), members = world
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    services.decide(session, members[0], [
        (first.id, "select", ""), (third.id, "reject", "Ancrage territorial insuffisant.")])
    db.session.commit()
    login(client, cast.signatory)
    body = page(client.get(f"/dossiers/{third.id}"))
    assert "Courriers de décision" in body
    letter = letter_of(third)
    response = client.get(f"/documents/{letter.id}")
    assert response.status_code == 200 and response.data == path_of(letter).read_bytes()
    for word in ("/ 100", "Note finale", "Julien Moreau", "Inès Haddad", "Claire Dubois",
                 session.title):
        assert word not in body, word
    assert client.get(f"/dossiers/{third.id}/evaluations").status_code == 404
    # Another organisation's signatory sees neither the dossier nor its letter.
    logout(client)
    login(client, cast.outsider)
    assert client.get(f"/documents/{letter.id}").status_code == 404
    assert letters.decision_letters(third, cast.outsider) == []


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
    assert 'value="Comité d\'automne"' in body and 'value="14:30"' in body
    assert count(CommitteeSession) == 0
    response = client.post(f"/appels/{call.id}/comites", data={
        "title": "Comité d'automne", "date": "2026-12-10", "time": "14:30", "location": "Paris",
        "quorum": "2", "member_ids": [str(members[0].id), str(members[1].id)]})
    assert response.status_code == 302
    session = db.session.scalars(sa.select(CommitteeSession)).one()
    assert session.held_at.astimezone(services.PARIS).strftime("%H:%M") == "14:30"
    response = client.post(f"/comites/{session.id}/ouverture")
    assert response.status_code == 409
    assert "Quorum non atteint : 0 membre(s) présent(s) sur 2 requis." in page(response)
    client.post(f"/comites/{session.id}/presences",
                data={"present": [str(members[0].id), str(members[1].id)]})
    assert client.post(f"/comites/{session.id}/ouverture").status_code == 302
    body = page(client.get(f"/comites/{session.id}"))
    assert "En séance" in body and "Ordre du jour" in body and "Clore la séance" in body
    assert client.post(f"/comites/{session.id}", data={"title": "Autre"}).status_code == 409
    assert client.post(f"/comites/{session.id}/cloture").status_code == 302
    db.session.expire_all()
    assert session.state is SessionState.CLOSED and session.title == "Comité d'automne"


# --- the JSON API -------------------------------------------------------------------------------


def test_api_runs_a_session_and_decides_in_batch(world, client):
    call, cast, (first, second, third), members = world
    manager = {"Authorization": f"Bearer {create_api_token(cast.manager, 'test')}"}
    member = {"Authorization": f"Bearer {create_api_token(members[0], 'test')}"}
    applicant = {"Authorization": f"Bearer {create_api_token(cast.signatory, 'test')}"}
    db.session.commit()
    created = client.post(f"/api/v1/calls/{call.id}/committee-sessions", headers=manager, json={
        "title": "Comité API", "held_at": "2026-12-10T14:30", "quorum": 3,
        "member_ids": [members[0].id]})
    assert created.status_code == 422
    assert created.json["errors"] == {
        "quorum": "Le quorum (3) dépasse le nombre de membres (1)."}
    created = client.post(f"/api/v1/calls/{call.id}/committee-sessions", headers=manager, json={
        "title": "Comité API", "held_at": "2026-12-10T14:30", "quorum": 1,
        "member_ids": [members[0].id, members[1].id]})
    assert created.status_code == 201, created.json
    session_id = created.json["id"]
    assert created.json["held_at"].startswith("2026-12-10T13:30")
    assert [i["reference"] for i in created.json["agenda"]] == [
        first.reference, second.reference, third.reference]
    assert created.json["agenda"][1]["is_divergent"] is True
    assert created.json["agenda"][2]["is_below_threshold"] is True
    assert created.json["agenda"][2]["running_total"] == "30000.00"
    url = f"/api/v1/committee-sessions/{session_id}"
    assert client.post(f"{url}/open", headers=manager).status_code == 409
    response = client.put(f"{url}/attendance", headers=manager,
                          json={"present": [members[0].id]})
    assert response.status_code == 200 and response.json["quorum_reached"] is True
    assert client.post(f"{url}/open", headers=member).status_code == 403
    assert client.post(f"{url}/open", headers=manager).json["state"] == "open"
    assert client.get(url, headers=member).json["may_decide"] is True
    refused = client.post(f"{url}/decisions", headers=member, json={"decisions": [
        {"application_id": first.id, "decision": "select"},
        {"application_id": second.id, "decision": "select"},
        {"application_id": third.id, "decision": "select"}]})
    assert refused.status_code == 409
    assert list(refused.json["errors"]) == [third.reference]
    db.session.expire_all()
    assert first.state is S.REVIEWED
    decided = client.post(f"{url}/decisions", headers=member, json={"decisions": [
        {"application_id": first.id, "decision": "select"},
        {"application_id": third.id, "decision": "reject", "reason": "Hors priorités."}]})
    assert decided.status_code == 201
    assert [(d["application_id"], d["decision"]) for d in decided.json["decisions"]] == [
        (first.id, "select"), (third.id, "reject")]
    listing = client.get(f"/api/v1/calls/{call.id}/committee-sessions", headers=member)
    assert [s["id"] for s in listing.json] == [session_id]
    assert client.post(f"{url}/close", headers=manager).json["state"] == "closed"
    pdf = client.get(f"{url}/minutes", headers=member)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "Membres présents Claire Dubois" in pdf_text(pdf.data)
    # Applicants see no session, no agenda, no minutes.
    for path in (url, f"{url}/minutes", f"/api/v1/calls/{call.id}/committee-sessions"):
        assert client.get(path, headers=applicant).status_code == 404, path
    assert client.post(f"{url}/decisions", headers=applicant, json={"decisions": [
        {"application_id": second.id, "decision": "select"}]}).status_code == 404
    documents = client.get(f"/api/v1/applications/{third.id}/documents", headers=applicant).json
    assert "letter" in [d["kind"] for d in documents]


def test_a_long_agenda_is_shown_a_page_at_a_time_with_ranks_and_totals_of_the_whole(
        world, client, monkeypatch):
    """Ranks and the running total cover the whole agenda; each page shows its lines, and a
    decision taken on a page brings the committee back to that page."""
    from dcol.committee import views

    call, cast, (first, second, third), members = world
    session = plan(call, cast.manager, members)
    open_with(session, cast.manager, members[:2])
    monkeypatch.setattr(views, "AGENDA_PER_PAGE", 1)
    login(client, members[1])
    body = page(client.get(f"/comites/{session.id}?page=2"))
    assert second.reference in body and first.reference not in body
    assert third.reference not in body
    assert "Lignes 2 à 2 sur 3" in body
    shown = body.replace("\u202f", " ").replace("\xa0", " ")
    assert "20 000,00 €" in shown  # the running total counts the first line too
    assert f'action="/comites/{session.id}/decisions?page=2"' in body
    response = client.post(f"/comites/{session.id}/decisions?page=2", data={
        f"decision-{second.id}": "waitlist"})
    assert response.status_code == 302
    assert response.location.endswith(f"/comites/{session.id}?page=2")
    db.session.expire_all()
    assert second.state is S.WAITLISTED and first.state is S.REVIEWED

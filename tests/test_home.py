"""Each role's home page lists what awaits that user's action; the menu follows the roles."""

from __future__ import annotations

from dcol.extensions import db
from dcol.models import ApplicationState, ConflictStatus, MembershipStatus, Role
from tests import factories as f


def login(client, user):
    assert client.post("/connexion", data={"email": user.email, "password": f.PASSWORD}).status_code == 302


def home(client) -> str:
    return client.get("/").get_data(as_text=True)


def test_applicant_sees_drafts_of_own_organisation_only(client, app):
    org, other = f.make_organisation(), f.make_organisation()
    call = f.make_call()
    mine = f.make_application(call, org, ApplicationState.DRAFT, title="Coopération avec Binh Dinh")
    theirs = f.make_application(call, other, ApplicationState.DRAFT, title="Projet d'une autre ville")
    user = f.make_user(Role.APPLICANT, organisation=org, signatory=True)
    db.session.commit()
    login(client, user)
    page = home(client)
    assert mine.reference in page and "Coopération avec Binh Dinh" in page
    assert theirs.reference not in page
    assert "Mon organisation" in page and "Utilisateurs" not in page


def test_pending_applicant_is_told_to_wait(client, app):
    org = f.make_organisation()
    f.make_application(f.make_call(), org, ApplicationState.DRAFT, title="Brouillon secret")
    user = f.make_user(Role.APPLICANT, organisation=org, membership=MembershipStatus.PENDING)
    db.session.commit()
    login(client, user)
    page = home(client)
    assert "en attente de validation" in page
    assert "Brouillon secret" not in page


def test_reviewer_sees_assignments_and_what_is_expected(client, app):
    reviewer = f.make_user(Role.REVIEWER)
    call, org = f.make_call(), f.make_organisation()
    to_declare = f.make_application(call, org, ApplicationState.UNDER_REVIEW)
    to_score = f.make_application(call, org, ApplicationState.UNDER_REVIEW)
    conflicted = f.make_application(call, org, ApplicationState.UNDER_REVIEW)
    f.assign_reviewer(to_declare, reviewer, ConflictStatus.PENDING)
    f.assign_reviewer(to_score, reviewer, ConflictStatus.NONE)
    f.assign_reviewer(conflicted, reviewer, ConflictStatus.CONFLICT)
    db.session.commit()
    login(client, reviewer)
    page = home(client)
    assert to_declare.reference in page and "absence de conflit" in page
    assert to_score.reference in page and "Évaluation à rédiger" in page
    assert conflicted.reference not in page


def test_user_with_several_staff_roles_sees_each_queue(client, app):
    user = f.make_user(Role.REVIEWER, Role.COMMITTEE, Role.MANAGER)
    f.seat_on_committee(f.make_call(title="DCOL 13e appel"), user)
    f.make_application(f.make_call(), f.make_organisation(), ApplicationState.SUBMITTED)
    db.session.commit()
    login(client, user)
    page = home(client)
    for role in ("reviewer", "committee", "manager"):
        assert f'data-role="{role}"' in page
    assert "DCOL 13e appel" in page
    assert "1 dossier déposé dont la recevabilité est à vérifier" in page
    assert "/dossiers/?etat=submitted" in page
    assert "Organisations" in page


def test_expert_sees_pending_proposals(client, app):
    consultancy = f.make_expert()
    expert = f.make_user(Role.EXPERT, expert=consultancy)
    manager = f.make_user(Role.MANAGER)
    dossier = f.make_application(f.make_call(), f.make_organisation(), ApplicationState.EXPERT_PROPOSED)
    f.propose(dossier, consultancy, manager)
    db.session.commit()
    login(client, expert)
    page = home(client)
    assert dossier.reference in page and "Proposition de mission" in page
    assert "Ma fiche expert" in page


def test_anonymous_visitor_sees_open_calls_only(client, app):
    f.make_call(title="Appel ouvert aux collectivités")
    f.make_call(title="Appel déjà clos", is_open=False)
    f.make_call(title="Appel non publié", is_published=False)
    db.session.commit()
    page = home(client)
    assert "Appel ouvert aux collectivités" in page
    assert "Appel déjà clos" not in page and "Appel non publié" not in page

"""The follow-up pages of a support (« Suivi de la mission ») through the app, on the real
database and the real services: reports with their expenses, receipts and attachments, the
mission plan, the deliverables' course, the satisfaction questionnaire, the final cofinancing
and closure, the list of supports followed — and who may see or do what."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dcol.documents.storage import upload_folder
from dcol.extensions import db
from dcol.i18n import PARIS
from dcol.missions import closure, deliverables
from dcol.missions.alerts import check_alerts
from dcol.models import (
    ApplicationState,
    AuditEvent,
    CallKind,
    CofinancingSnapshot,
    Deliverable,
    DeliverableState,
    Document,
    DocumentKind,
    Expense,
    Milestone,
    MissionReport,
    Phase,
    Satisfaction,
    SnapshotKind,
    utcnow,
)
from tests import workflow_support as ws
from tests.document_files import image_bytes, pdf_bytes
from tests.query_counting import count_queries
from tests.test_finance_pages import client_of, text
from workflows.guards import mission_of

S = ApplicationState
D = Decimal
# What no stored document kind of a report may be after a refusal.
REPORT_KINDS = (DocumentKind.REPORT, DocumentKind.EXPENSE_RECEIPT, DocumentKind.DELIVERABLE)


def today():
    return utcnow().astimezone(PARIS).date()


def in_progress(kind: CallKind = CallKind.DCOL):
    call = ws.make_call_for(kind)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.IN_PROGRESS)
    db.session.commit()
    return application, cast


@pytest.fixture
def support(app):
    """A DCOL support under way: 12,5 days at 1 000 € contracted (tests/workflow_support.py)."""
    return in_progress(CallKind.DCOL)


def url(application, page: str = "") -> str:
    return f"/dossiers/{application.id}/suivi{page}"


def pdf(name: str = "facture.pdf", content: str = "Facture"):
    return io.BytesIO(pdf_bytes(content)), name


def stored_files() -> set[str]:
    return {path.name for path in upload_folder().iterdir()}


def documents_of(application, *kinds) -> list[Document]:
    return list(db.session.scalars(sa.select(Document).where(
        Document.application_id == application.id, Document.kind.in_(kinds))
        .order_by(Document.id)))


def report_form(**overrides) -> dict:
    data = {
        "report_date": today().isoformat(), "days_spent": "2,5",
        "activities": "Entretiens avec les services de l'eau ; atelier de diagnostic.",
        "is_field_mission": "y", "field_location": "Quy Nhon (Viêt Nam)",
        "expenses-0-label": "", "expenses-0-amount": "",
        "expenses-1-label": "Billet de train Paris–Metz", "expenses-1-amount": "120,50",
        "expenses-1-receipt": pdf("billet.pdf"),
        "expenses-2-label": "", "expenses-2-amount": "",
        "attachments": [pdf("compte-rendu.pdf", "Compte rendu"),
                        (io.BytesIO(image_bytes("PNG")), "atelier.png")],
    }
    data.update(overrides)
    return data


def post(client, path: str, data: dict):
    return client.post(path, data=data, content_type="multipart/form-data")


# --- reports ---------------------------------------------------------------------------------


def test_the_expert_logs_a_report_with_a_receipt_and_attachments(app, support):
    application, cast = support
    expert = client_of(app, cast.expert_user)
    assert expert.get(url(application, "/rapports/nouveau")).status_code == 200

    response = post(expert, url(application, "/rapports/nouveau"), report_form())
    assert response.status_code == 302
    assert response.headers["Location"].endswith(url(application) + "#rapports")

    report = db.session.scalars(sa.select(MissionReport)).one()
    assert (report.days_spent, report.field_location) == (D("2.50"), "Quy Nhon (Viêt Nam)")
    expense = db.session.scalars(sa.select(Expense)).one()  # the blank rows are ignored
    assert (expense.label, expense.amount) == ("Billet de train Paris–Metz", D("120.50"))
    assert expense.receipt.kind is DocumentKind.EXPENSE_RECEIPT
    assert expense.receipt.original_name == "billet.pdf"
    attachments = documents_of(application, DocumentKind.REPORT)
    assert [d.original_name for d in attachments] == ["compte-rendu.pdf", "atelier.png"]
    assert {d.mission_report_id for d in attachments} == {report.id}

    # The collectivité reads it, with the totals, and downloads the receipt.
    member = client_of(app, cast.member)
    page = text(member.get(url(application)))
    assert "2,5 jours sur 12,5 contractualisés" in page
    assert "2 620,50 € sur 12 500,00 € prévus par la convention" in page  # 2,5 × 1 000 + 120,50
    assert "Quy Nhon (Viêt Nam)" in page and "Entretiens avec les services de l'eau" in page
    assert f'href="/documents/{expense.receipt.id}"' in page and "120,50 €" in page
    for document in attachments:
        assert f'href="/documents/{document.id}"' in page
    download = member.get(f"/documents/{expense.receipt.id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    # Neither of them may write the collectivité's share of the work.
    assert "Nouveau rapport" not in page
    assert "Nouveau rapport" in text(expert.get(url(application)))


def test_an_invalid_report_is_refused_with_the_input_kept_and_nothing_written(app, support):
    application, cast = support
    expert = client_of(app, cast.expert_user)
    files_before = stored_files()

    # What the form cannot read: the days.
    response = post(expert, url(application, "/rapports/nouveau"),
                    report_form(days_spent="deux jours"))
    assert response.status_code == 422
    page = text(response)
    assert "Nombre de jours invalide" in page and 'value="deux jours"' in page

    # What the service refuses: no activities, a date to come, an expense without its receipt
    # (on the second row of the table, where the message must show).
    response = post(expert, url(application, "/rapports/nouveau"), report_form(
        activities="  ", report_date=(today() + timedelta(days=3)).isoformat(),
        **{"expenses-1-receipt": (io.BytesIO(b""), "")}))
    assert response.status_code == 422
    page = text(response)
    assert "Le rapport n'a pas été enregistré." in page
    assert "Décrivez les activités menées." in page
    assert "La date du rapport ne peut pas être dans le futur." in page
    assert 'id="expenses-1-receipt-error">Joignez le justificatif de la dépense.' in page
    assert 'value="Billet de train Paris–Metz"' in page and 'value="120,50"' in page
    assert 'value="Quy Nhon (Viêt Nam)"' in page

    assert db.session.scalar(sa.select(sa.func.count(MissionReport.id))) == 0
    assert documents_of(application, *REPORT_KINDS) == []
    assert stored_files() == files_before  # the files of the refused report are deleted


def test_a_receipt_that_is_not_a_real_pdf_is_refused(app, support):
    application, cast = support
    expert = client_of(app, cast.expert_user)
    files_before = stored_files()
    response = post(expert, url(application, "/rapports/nouveau"), report_form(
        **{"expenses-1-receipt": (io.BytesIO(b"MZ\x90\x00 not a pdf at all"), "facture.pdf")}))
    assert response.status_code == 422
    page = text(response)
    error = page.split('id="expenses-1-receipt-error">', 1)[1].split("</p>", 1)[0]
    assert error.startswith("Le fichier « facture.pdf » n'est pas d'un type accepté.")
    assert db.session.scalar(sa.select(sa.func.count(MissionReport.id))) == 0
    assert documents_of(application, *REPORT_KINDS) == []
    assert stored_files() == files_before


def test_a_project_report_needs_no_days(app):
    application, cast = in_progress(CallKind.AAP)
    signatory = client_of(app, cast.signatory)
    detail = text(signatory.get(f"/dossiers/{application.id}"))
    assert "Suivi du projet" in detail
    response = post(signatory, url(application, "/rapports/nouveau"), report_form(
        days_spent="", is_field_mission="", field_location=""))
    assert response.status_code == 302
    report = db.session.scalars(sa.select(MissionReport)).one()
    assert report.days_spent == D("0") and report.author_id == cast.signatory.id


# --- the mission plan ------------------------------------------------------------------------


def plan_rows(rows: list[dict], reason: str = "") -> dict:
    data = {"reason": reason}
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"milestones-{index}-{key}"] = value
    return data


def test_the_plan_is_laid_out_then_amended_with_a_reason(app, support):
    application, cast = support
    expert = client_of(app, cast.expert_user)
    assert client_of(app, cast.member).get(url(application, "/plan")).status_code == 404
    assert "Le plan de mission n'est pas encore établi." in text(expert.get(url(application)))
    first = today() + timedelta(days=20)
    page = text(expert.get(url(application, "/plan")))
    assert 'name="milestones-1-label"' in page and 'name="milestones-2-label"' not in page

    # The first plan needs no reason; the blank rows are left out.
    response = expert.post(url(application, "/plan"), data=plan_rows([
        {"phase": "scoping", "label": "Réunion de cadrage", "due_on": first.isoformat()},
        {"phase": "diagnosis", "label": "Diagnostic partagé",
         "due_on": (first + timedelta(days=30)).isoformat()},
        {"phase": "final_deliverable", "label": "Plan d'action",
         "due_on": (first + timedelta(days=90)).isoformat()},
        {"phase": "other", "label": "", "due_on": ""},
    ]))
    assert response.status_code == 302
    mission = mission_of(application)
    db.session.refresh(mission)
    scoping, diagnosis, final = mission.milestones
    assert [m.phase for m in mission.milestones] == [Phase.SCOPING, Phase.DIAGNOSIS,
                                                     Phase.FINAL_DELIVERABLE]

    # Amending it: the scoping done, the diagnosis removed, a restitution already late added.
    late_day = today() - timedelta(days=2)
    amended = [
        {"id": scoping.id, "phase": "scoping", "label": "Réunion de cadrage",
         "due_on": first.isoformat(), "done_on": today().isoformat()},
        {"id": diagnosis.id, "phase": "diagnosis", "label": "Diagnostic partagé",
         "due_on": (first + timedelta(days=30)).isoformat(), "remove": "y"},
        {"id": final.id, "phase": "final_deliverable", "label": "Plan d'action",
         "due_on": (first + timedelta(days=90)).isoformat()},
        {"phase": "restitution", "label": "Restitution aux élus", "due_on": late_day.isoformat()},
        {"phase": "other", "label": "", "due_on": ""},
    ]
    response = expert.post(url(application, "/plan"), data=plan_rows(amended))
    assert response.status_code == 422  # a plan exists: the reason is required
    page = text(response)
    assert "Indiquez le motif de la modification du plan." in page
    assert 'value="Restitution aux élus"' in page
    db.session.expire_all()
    assert len(mission_of(application).milestones) == 3

    # A row with a due date but no label: the message lands on that row.
    broken = [*amended[:3], {"phase": "restitution", "label": "", "due_on": late_day.isoformat()}]
    response = expert.post(url(application, "/plan"),
                           data=plan_rows(broken, "Le diagnostic est fusionné."))
    assert response.status_code == 422
    assert 'id="milestones-3-label-error">Indiquez l&#39;intitulé du jalon.' in \
        response.get_data(as_text=True)

    response = expert.post(url(application, "/plan"),
                           data=plan_rows(amended, "Le diagnostic est fusionné avec le cadrage."))
    assert response.status_code == 302
    db.session.expire_all()
    milestones = mission_of(application).milestones
    assert [(m.label, m.done_on) for m in milestones] == [
        ("Restitution aux élus", None), ("Réunion de cadrage", today()), ("Plan d'action", None)]
    assert db.session.get(Milestone, diagnosis.id) is None
    entry = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.event == "mission_plan.amended").order_by(AuditEvent.sequence.desc())).first()
    assert entry.comment == "Le diagnostic est fusionné avec le cadrage."
    assert entry.actor_id == cast.expert_user.id
    assert "Diagnostic partagé" in {m["label"] for m in entry.payload["before"]}
    assert "Restitution aux élus" in {m["label"] for m in entry.payload["after"]}

    page = text(expert.get(url(application)))
    late_row = page.split(f'id="jalon-{milestones[0].id}"', 1)[1].split("</tr>", 1)[0]
    assert "en retard" in late_row
    done_row = page.split(f'id="jalon-{scoping.id}"', 1)[1].split("</tr>", 1)[0]
    assert "en retard" not in done_row and today().strftime("%Y") in done_row


# --- deliverables ----------------------------------------------------------------------------


def deposit_form(**overrides) -> dict:
    data = {"title": "Plan d'action", "description": "Diagnostic et scénarios.",
            "is_final": "y", "file": pdf("plan-v1.pdf", "Plan v1")}
    data.update(overrides)
    return data


def test_the_final_deliverable_course_through_the_pages(app, support):
    application, cast = support
    app = app
    expert = client_of(app, cast.expert_user)
    signatory = client_of(app, cast.signatory)
    member = client_of(app, cast.member)
    manager = client_of(app, cast.manager)

    # No report yet: the final report is refused, nothing is kept.
    files_before = stored_files()
    response = post(expert, url(application, "/livrables/nouveau"), deposit_form())
    assert response.status_code == 409
    assert 'value="Plan d&#39;action"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Deliverable.id))) == 0
    assert documents_of(application, DocumentKind.DELIVERABLE) == []
    assert stored_files() == files_before
    db.session.refresh(application)
    assert application.state is S.IN_PROGRESS

    ws.log_report(application, cast.expert_user)
    db.session.commit()
    response = post(expert, url(application, "/livrables/nouveau"), deposit_form())
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.state is S.FINAL_REPORT
    final = db.session.scalars(sa.select(Deliverable)).one()
    assert final.is_final and final.state is DeliverableState.SUBMITTED
    first_file = final.current_file

    # The signatory sees the collectivité's buttons, the expert none.
    page = text(signatory.get(url(application)))
    assert "Valider le livrable" in page and "Demander une révision" in page
    assert "Valider pour Cités Unies France" not in page
    assert f'href="/documents/{first_file.id}"' in page
    page = text(expert.get(url(application)))
    assert "Valider le livrable" not in page and "Demander une révision" not in page
    assert "Nouveau rapport" not in page  # the final report is in: nothing more to log

    # A member who is not a signatory may not validate it.
    step = url(application, f"/livrables/{final.id}")
    response = member.post(f"{step}/accept")
    assert response.status_code == 403
    db.session.refresh(final)
    assert final.state is DeliverableState.SUBMITTED
    assert member.post(f"{step}/publish").status_code == 404

    # A revision needs its comment, then sends the dossier back in progress.
    response = signatory.post(f"{step}/ask_revision", data={"comment": "  "})
    assert response.status_code == 422
    assert "Indiquez ce qui doit être revu." in text(response)
    response = signatory.post(f"{step}/ask_revision",
                              data={"comment": "Chiffrer les trois scénarios."})
    assert response.status_code == 302
    db.session.refresh(final)
    db.session.refresh(application)
    assert final.state is DeliverableState.REVISION_REQUESTED
    assert application.state is S.IN_PROGRESS
    page = text(expert.get(url(application)))
    assert "Chiffrer les trois scénarios." in page and "Déposer la version révisée" in page

    # The revised version: the dossier's final report again, version 2, the first file kept.
    assert signatory.get(url(application, f"/livrables/{final.id}/revision")).status_code == 404
    assert expert.get(url(application, f"/livrables/{final.id}/revision")).status_code == 200
    response = post(expert, url(application, f"/livrables/{final.id}/revision"),
                    {"file": pdf("plan-v2.pdf", "Plan v2"), "note": "Scénarios chiffrés."})
    assert response.status_code == 302
    db.session.expire_all()
    final = db.session.get(Deliverable, final.id)
    assert application.state is S.FINAL_REPORT
    assert final.version == 2 and final.state is DeliverableState.SUBMITTED
    assert final.current_file.original_name == "plan-v2.pdf"
    assert db.session.get(Document, first_file.id).replaced_by_id == final.current_file.id
    page = text(manager.get(url(application)))
    assert "Versions précédentes" in page and f'href="/documents/{first_file.id}"' in page

    # The collectivité accepts, CUF validates.
    assert manager.post(f"{step}/validate").status_code == 409  # the collectivité first
    assert signatory.post(f"{step}/accept").status_code == 302
    assert "Valider pour Cités Unies France" in text(manager.get(url(application)))
    assert manager.post(f"{step}/validate").status_code == 302
    db.session.refresh(final)
    assert final.state is DeliverableState.VALIDATED
    assert (final.accepted_by_id, final.validated_by_id) == (cast.signatory.id, cast.manager.id)

    # A deliverable of another dossier is not this dossier's.
    other, other_cast = in_progress(CallKind.DCOL)
    assert manager.post(url(other, f"/livrables/{final.id}/accept")).status_code == 404
    assert client_of(app, other_cast.expert_user).get(
        url(other, f"/livrables/{final.id}/revision")).status_code == 404


# --- satisfaction and closure ----------------------------------------------------------------


def awaiting_closure(application, cast) -> None:
    """A report, the final deliverable deposited, validated by the collectivité and CUF."""
    ws.log_report(application, cast.expert_user, days="6")
    final = deliverables.submit_deliverable(
        application, cast.expert_user, title="Plan d'action", description="", is_final=True,
        upload=ws_upload())
    deliverables.review_deliverable(final, cast.signatory, "accept")
    deliverables.review_deliverable(final, cast.manager, "validate")
    db.session.commit()


def ws_upload():
    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(pdf_bytes("Plan d'action")), filename="plan.pdf",
                       content_type="application/pdf")


def test_satisfaction_final_cofinancing_and_closure(app, support):
    application, cast = support
    app = app
    awaiting_closure(application, cast)
    expert = client_of(app, cast.expert_user)
    signatory = client_of(app, cast.signatory)
    member = client_of(app, cast.member)
    manager = client_of(app, cast.manager)
    answer = {"quality": "4", "timeliness": "5", "relevance": "4", "overall": "5",
              "comment": "Restitution très appréciée des élus."}

    # The questionnaire: the signatory's, not another member's.
    assert member.get(url(application, "/satisfaction")).status_code == 404
    assert member.post(url(application, "/satisfaction"), data=answer).status_code == 404
    assert "Répondre au questionnaire" not in text(member.get(url(application)))
    assert "Répondre au questionnaire" in text(signatory.get(url(application)))
    page = text(signatory.get(url(application, "/satisfaction")))
    assert "Qualité du travail de l'expert" in page and "Respect des délais" in page
    assert "Pertinence des recommandations" in page and "Satisfaction globale" in page
    response = signatory.post(url(application, "/satisfaction"),
                              data={**answer, "quality": "", "overall": "7"})
    assert response.status_code == 422
    page = text(response)
    assert page.count("Choisissez une note de 1 à 5.") == 2
    assert "Restitution très appréciée des élus." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Satisfaction)) == 0
    assert signatory.post(url(application, "/satisfaction"), data=answer).status_code == 302
    satisfaction = closure.satisfaction_of(application)
    assert (satisfaction.quality, satisfaction.overall) == (4, 5)
    assert "5/5" in text(member.get(url(application)))
    assert "5/5" not in text(expert.get(url(application)))  # the expert is not shown the marks

    # Closing: managers only; the page says what is missing.
    assert expert.post(url(application, "/cloture")).status_code == 404
    assert expert.post(url(application, "/cofinancement-definitif")).status_code == 404
    assert "Clôturer" not in text(signatory.get(url(application)))
    page = text(manager.get(url(application)))
    assert "Le cofinancement définitif sur coûts réels n'a pas été calculé." in page
    assert "6 000,00 €" in page and "12 500,00 €" in page  # actual and planned
    response = manager.post(url(application, "/cloture"),
                            data={"comment": "Mission menée à bien."})
    assert response.status_code == 409
    assert "Mission menée à bien." in text(response)
    db.session.refresh(application)
    assert application.state is S.FINAL_REPORT

    assert manager.post(url(application, "/cofinancement-definitif")).status_code == 302
    snapshot = closure.final_snapshot(application)
    # 6 days at 1 000 €: 6 000 €, 80 % for CUF.
    assert (snapshot.total_cost, snapshot.scheme_share) == (D("6000.00"), D("4800.00"))
    page = text(manager.get(url(application)))
    assert "Cofinancement définitif" in page and "4 800,00 €" in page
    assert "n'a pas été calculé" not in page

    response = manager.post(url(application, "/cloture"),
                            data={"comment": "Mission menée à bien.",
                                  "version": str(application.version)})
    assert response.status_code == 302, text(response)
    db.session.expire_all()
    assert application.state is S.CLOSED
    report = documents_of(application, DocumentKind.CLOSURE_REPORT)
    assert len(report) == 1
    download = signatory.get(f"/documents/{report[0].id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")

    # Read-only from now on, for everyone.
    for client in (signatory, expert, manager):
        page = text(client.get(url(application)))
        assert "Le suivi est en lecture seule" in page
        assert f'href="/documents/{report[0].id}"' in page
        assert "Nouveau rapport" not in page and "Modifier le plan" not in page
    final = db.session.scalars(sa.select(Deliverable)).one()
    writes = [
        (expert, "get", "/rapports/nouveau"), (expert, "post", "/rapports/nouveau"),
        (expert, "get", "/livrables/nouveau"), (expert, "post", "/livrables/nouveau"),
        (expert, "get", f"/livrables/{final.id}/revision"),
        (expert, "get", "/plan"), (manager, "get", "/plan"), (manager, "post", "/plan"),
        (signatory, "get", "/satisfaction"), (signatory, "post", "/satisfaction"),
        (signatory, "post", f"/livrables/{final.id}/ask_revision"),
        (manager, "post", f"/livrables/{final.id}/validate"),
        (manager, "post", "/cofinancement-definitif"), (manager, "post", "/cloture"),
    ]
    for client, method, page in writes:
        status = getattr(client, method)(url(application, page)).status_code
        assert status in (403, 404), (method, page, status)
    assert db.session.scalar(sa.select(sa.func.count(CofinancingSnapshot.id)).where(
        CofinancingSnapshot.kind == SnapshotKind.FINAL)) == 1
    db.session.expire_all()
    assert application.state is S.CLOSED


# --- who sees what ---------------------------------------------------------------------------


def test_outsiders_get_404_on_every_page(app, support):
    application, cast = support
    app = app
    ws.log_report(application, cast.expert_user)
    db.session.commit()
    final = deliverables.submit_deliverable(
        application, cast.expert_user, title="Plan d'action", description="", is_final=True,
        upload=ws_upload())
    db.session.commit()
    pages = [
        ("get", ""), ("get", "/rapports/nouveau"), ("post", "/rapports/nouveau"),
        ("get", "/plan"), ("post", "/plan"), ("get", "/livrables/nouveau"),
        ("post", "/livrables/nouveau"), ("get", f"/livrables/{final.id}/revision"),
        ("post", f"/livrables/{final.id}/revision"), ("post", f"/livrables/{final.id}/accept"),
        ("post", f"/livrables/{final.id}/ask_revision"),
        ("post", f"/livrables/{final.id}/validate"), ("get", "/satisfaction"),
        ("post", "/satisfaction"), ("post", "/cofinancement-definitif"), ("post", "/cloture"),
    ]
    reviewer = cast.reviewers[0]  # assigned to the dossier, cleared: sees the dossier itself
    assert client_of(app, reviewer).get(f"/dossiers/{application.id}").status_code == 200
    for user in (cast.other_expert_user, cast.outsider, reviewer):
        client = client_of(app, user)
        for method, page in pages:
            assert getattr(client, method)(url(application, page)).status_code == 404, \
                (user.email, method, page)
        assert application.reference not in text(client.get("/missions"))
    assert "Suivi de la mission" not in text(client_of(app, reviewer).get(
        f"/dossiers/{application.id}"))
    assert "Suivi de la mission" in text(client_of(app, cast.member).get(
        f"/dossiers/{application.id}"))
    db.session.refresh(final)
    assert final.state is DeliverableState.SUBMITTED


def test_the_list_of_supports_followed(app, support):
    application, cast = support
    app = app
    # 13 days logged for 12,5 contracted: the alert is raised and the page warns.
    ws.log_report(application, cast.expert_user, days="13")
    db.session.commit()
    check_alerts(application_ids=[application.id])
    db.session.commit()
    project, project_cast = in_progress(CallKind.AAP)

    manager = client_of(app, cast.manager)
    page = text(manager.get("/missions"))
    assert application.reference in page and project.reference in page
    row = page.split(f'data-application="{application.id}"', 1)[1].split("</tr>", 1)[0]
    assert "13 / 12,5" in row and "dépassés" in row and "Coop'Eau Conseil" in row
    assert '<span class="tag tag-late">1</span>' in row  # the open alert
    page = text(manager.get(url(application)))
    assert "Jours consommés au-delà des jours contractualisés" in page
    assert "Jours contractualisés dépassés" in page

    for user, sees, hidden in ((cast.expert_user, application, project),
                               (cast.signatory, application, project),
                               (project_cast.member, project, application)):
        page = text(client_of(app, user).get("/missions"))
        assert sees.reference in page and hidden.reference not in page, user.email
    assert project.reference not in text(manager.get("/missions?etat=final_report"))
    assert project.reference in text(manager.get("/missions?etat=in_progress"))

    # A fixed number of queries, whatever the number of supports.
    few = count_queries(manager, "/missions")
    in_progress(CallKind.DCOL)
    in_progress(CallKind.AAP)
    assert count_queries(manager, "/missions") == few

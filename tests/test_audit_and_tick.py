"""The audit trail's hash chain, ``audit verify``, ``workflow tick`` reminders and the diagram."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from dcol.audit import verify_all
from dcol.extensions import db
from dcol.models import ApplicationState, AuditEvent, CallKind, OutgoingMail, utcnow
from tests import workflow_support as ws

S = ApplicationState


def a_dossier_with_history():
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.UNDER_REVIEW)
    return application


def test_each_entry_chains_to_the_previous_one(app):
    application = a_dossier_with_history()
    entries = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.application_id == application.id)
        .order_by(AuditEvent.sequence)
    ).all()
    assert [e.sequence for e in entries] == [1, 2, 3, 4]
    assert entries[0].previous_hash is None
    for previous, entry in zip(entries, entries[1:], strict=False):
        assert entry.previous_hash == previous.hash


def test_audit_verify_passes_on_an_intact_trail(app):
    a_dossier_with_history()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "Journal d'audit intègre : 4 entrée(s)" in result.output


def test_audit_verify_points_at_an_entry_edited_in_the_database(app):
    application = a_dossier_with_history()
    db.session.execute(
        sa.text("UPDATE audit_events SET comment = 'rien à signaler' "
                "WHERE application_id = :id AND sequence = 2"),
        {"id": application.id},
    )
    db.session.commit()
    edited_id = db.session.scalar(sa.select(AuditEvent.id).where(
        AuditEvent.application_id == application.id, AuditEvent.sequence == 2))
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code != 0
    assert f"entrée n° 2 (id {edited_id}) : le contenu de l'entrée a été modifié" in result.output


def test_audit_verify_detects_a_removed_entry(app):
    application = a_dossier_with_history()
    db.session.execute(sa.text("DELETE FROM audit_events WHERE application_id = :id AND sequence = 3"),
                       {"id": application.id})
    db.session.commit()
    _, problems = verify_all()
    assert len(problems) == 1 and "l'entrée n° 3 a été supprimée" in str(problems[0])


def test_audit_verify_detects_removed_last_entries(app):
    application = a_dossier_with_history()
    db.session.execute(sa.text("DELETE FROM audit_events WHERE application_id = :id AND sequence = 4"),
                       {"id": application.id})
    db.session.commit()
    _, problems = verify_all()
    assert "les dernières entrées ont été supprimées" in str(problems[0])


# --- workflow tick --------------------------------------------------------------------------


def test_tick_reminds_draft_owners_before_the_deadline_once(app, smtp_server):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    draft = ws.complete_dossier(call, cast)
    submitted = ws.complete_dossier(call, cast)
    ws.fire_step(submitted, cast, "submit")
    call.closes_at = utcnow() + timedelta(days=6)
    db.session.commit()
    runner = app.test_cli_runner()

    result = runner.invoke(args=["workflow", "tick"])
    assert result.exit_code == 0, result.output
    reminders = [m for m in smtp_server.messages if "Rappel" in m["Subject"]]
    assert [m["To"] for m in reminders] == [cast.signatory.email]
    assert draft.reference in reminders[0]["Subject"]

    runner.invoke(args=["workflow", "tick"])  # idempotent
    assert len([m for m in smtp_server.messages if "Rappel" in m["Subject"]]) == 1

    call.closes_at = utcnow() + timedelta(hours=40)  # the 48-hour reminder is a new one
    db.session.commit()
    runner.invoke(args=["workflow", "tick"])
    assert len([m for m in smtp_server.messages if "Rappel" in m["Subject"]]) == 2


def test_tick_reminds_before_a_response_deadline(app):
    from workflows.reminders import send_deadline_reminders

    call = ws.make_call_for(CallKind.AAP)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.SUBMITTED)
    ws.fire_step(application, cast, "request_changes")
    application.response_deadline = utcnow() + timedelta(days=1)
    db.session.commit()
    assert send_deadline_reminders() == 1
    assert send_deadline_reminders() == 0
    mail = db.session.scalars(sa.select(OutgoingMail).where(
        OutgoingMail.subject.like("%compléments attendus%"))).one()
    assert mail.to_address == cast.signatory.email


def test_tick_does_not_remind_far_from_the_deadline(app):
    from workflows.reminders import send_deadline_reminders

    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    ws.complete_dossier(call, cast)
    call.closes_at = utcnow() + timedelta(days=20)
    db.session.commit()
    assert send_deadline_reminders() == 0


# --- the diagram ---------------------------------------------------------------------------


def test_workflow_document_is_current(app):
    from workflows.diagram import DOCUMENT, document

    assert DOCUMENT.read_text(encoding="utf-8") == document(), (
        "docs/workflow.md is out of date: run `flask --app dcol workflow diagram`"
    )


def test_diagram_draws_every_transition(app):
    from workflows.diagram import mermaid
    from workflows.dossier import EVENTS

    drawing = mermaid()
    for event in EVENTS:
        for source in event.sources:
            assert f"{source.value} --> {event.target.value}: {event.name}" in drawing


def test_shortest_paths_lead_to_every_reachable_state(app):
    from workflows.paths import shortest_path

    for kind in CallKind:
        for state in S:
            if kind is CallKind.AAP and state in {S.MATCHING, S.EXPERT_PROPOSED}:
                continue
            path = shortest_path(kind, state)
            current = S.DRAFT
            for event in path:
                assert current in event.sources and kind in event.variants
                current = event.target
            assert current is state


def test_only_the_engine_assigns_a_dossier_state():
    """No code assigns a dossier's state but the engine (its one assignment)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    offenders = []
    for path in [*root.glob("dcol/**/*.py"), *root.glob("workflows/**/*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else [])
            for target in targets:
                if (isinstance(target, ast.Attribute) and target.attr == "state"
                        and isinstance(target.value, ast.Name)
                        and target.value.id in {"application", "app", "dossier"}):
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert [offender.split(":")[0] for offender in offenders] == ["workflows/engine.py"]

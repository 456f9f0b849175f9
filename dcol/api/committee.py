"""API endpoints of the selection committees: a call's sessions, a session with its agenda,
attendance, opening and closing, decisions in batch and the minutes. Thin, over the services the
web pages use; what the caller may not see answers 404 (applicants never see a session)."""

from __future__ import annotations

import io

from flask import g, send_file
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from dcol.api.common import alt, blp, not_found, problem_from
from dcol.api.schemas import StrictSchema
from dcol.committee import agenda as agendas
from dcol.committee import minutes, services
from dcol.extensions import db
from dcol.models import Call, CommitteeSession
from dcol.permissions import Action, can, has_quorum, present_count
from workflows import engine

DATABASE_ID = validate.Range(min=1, max=2**31 - 1)


# --- schemas ----------------------------------------------------------------------------------


class SessionDetailsSchema(StrictSchema):
    title = fields.Str(required=True, validate=validate.Length(max=services.MAX_TEXT))
    held_at = fields.Str(required=True, validate=validate.Length(max=40), metadata={
        "description": "Date et heure de la séance, ISO 8601 (heure de Paris sans décalage "
                       "horaire), par exemple « 2026-12-10T14:30 »."})
    location = fields.Str(load_default="", validate=validate.Length(max=services.MAX_TEXT))
    quorum = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=1000),
                        metadata={"description": "Membres présents requis pour décider."})
    member_ids = fields.List(fields.Int(strict=True, validate=DATABASE_ID), required=True,
                             validate=validate.Length(max=200), metadata={
                                 "description": "Les membres (utilisateurs ayant le rôle de "
                                                "membre du comité)."})


class SessionChangesSchema(SessionDetailsSchema):
    """The same fields, each optional: those sent replace the session's."""

    title = fields.Str(validate=validate.Length(max=services.MAX_TEXT))
    held_at = fields.Str(validate=validate.Length(max=40))
    location = fields.Str(validate=validate.Length(max=services.MAX_TEXT))
    quorum = fields.Int(strict=True, validate=validate.Range(min=1, max=1000))
    member_ids = fields.List(fields.Int(strict=True, validate=DATABASE_ID),
                             validate=validate.Length(max=200))


class AttendanceSchema(StrictSchema):
    present = fields.List(fields.Int(strict=True, validate=DATABASE_ID), required=True,
                          validate=validate.Length(max=200), metadata={
                              "description": "Les membres présents (les autres sont absents)."})


class DecisionRequestSchema(StrictSchema):
    application_id = fields.Int(required=True, strict=True, validate=DATABASE_ID)
    decision = fields.Str(required=True, validate=validate.OneOf(list(services.DECISION_OF)))
    reason = fields.Str(load_default="", validate=validate.Length(max=services.MAX_REASON),
                        metadata={"description": "Le motif ; obligatoire pour « reject »."})


class DecisionsRequestSchema(StrictSchema):
    decisions = fields.List(fields.Nested(DecisionRequestSchema), required=True,
                            validate=validate.Length(min=1, max=200), metadata={
                                "description": "Appliquées dans l'ordre, toutes ou aucune."})


class MemberSchema(Schema):
    user_id = fields.Int()
    full_name = fields.Str()
    is_present = fields.Bool()


class SessionSchema(Schema):
    id = fields.Int()
    call_id = fields.Int()
    title = fields.Str()
    held_at = fields.AwareDateTime()
    location = fields.Str()
    quorum = fields.Int()
    state = fields.Str()
    state_label = fields.Str()
    present_count = fields.Int()
    quorum_reached = fields.Bool()
    may_decide = fields.Bool(metadata={"description": "L'appelant peut décider maintenant."})
    members = fields.List(fields.Nested(MemberSchema))


class DecisionSchema(Schema):
    id = fields.Int()
    application_id = fields.Int()
    decision = fields.Str()
    reason = fields.Str()
    decided_at = fields.AwareDateTime()


class AgendaItemSchema(Schema):
    application_id = fields.Int()
    reference = fields.Str()
    organisation = fields.Str()
    title = fields.Str()
    track = fields.Str()
    rank = fields.Int()
    is_tied = fields.Bool()
    state = fields.Str()
    final_score = fields.Decimal(as_string=True, allow_none=True)
    is_below_threshold = fields.Bool()
    is_divergent = fields.Bool()
    estimated_cofinancing = fields.Decimal(as_string=True, allow_none=True)
    running_total = fields.Decimal(as_string=True)
    exceeds_envelope = fields.Bool()
    is_promotion_proposal = fields.Bool()
    decision = fields.Nested(DecisionSchema, allow_none=True)


class SessionDetailSchema(SessionSchema):
    envelope = fields.Decimal(as_string=True, allow_none=True)
    engaged_before = fields.Decimal(as_string=True)
    selected_total = fields.Decimal(as_string=True)
    remaining = fields.Decimal(as_string=True, allow_none=True)
    agenda = fields.List(fields.Nested(AgendaItemSchema))


class DecisionsSchema(Schema):
    decisions = fields.List(fields.Nested(DecisionSchema))


# --- helpers ----------------------------------------------------------------------------------


def _session(session_id: int) -> CommitteeSession | None:
    session = db.session.get(CommitteeSession, session_id)
    if session is None or not can(g.api_user, Action.SESSION_VIEW, session):
        return None
    return session


def _dump_session(session: CommitteeSession) -> dict:
    return {
        "id": session.id, "call_id": session.call_id, "title": session.title,
        "held_at": session.held_at, "location": session.location, "quorum": session.quorum,
        "state": session.state.value, "state_label": session.state.label,
        "present_count": present_count(session), "quorum_reached": has_quorum(session),
        "may_decide": can(g.api_user, Action.SESSION_DECIDE, session),
        "members": [{"user_id": m.user_id, "full_name": m.user.full_name,
                     "is_present": m.is_present} for m in session.members],
    }


def _dump_decision(row) -> dict | None:
    if row is None:
        return None
    return {"id": row.id, "application_id": row.application_id, "decision": row.decision.value,
            "reason": row.reason, "decided_at": row.decided_at}


def _dump_detail(session: CommitteeSession) -> dict:
    agenda = agendas.agenda(session)
    return {
        **_dump_session(session),
        "envelope": agenda.envelope, "engaged_before": agenda.engaged_before,
        "selected_total": agenda.selected_total, "remaining": agenda.remaining,
        "agenda": [
            {"application_id": item.application.id, "reference": item.application.reference,
             "organisation": item.application.organisation.name,
             "title": item.application.title or "", "track": item.track_name,
             "rank": item.rank, "is_tied": item.is_tied,
             "state": item.application.state.value,
             "final_score": item.aggregate.final_score,
             "is_below_threshold": item.aggregate.is_flagged,
             "is_divergent": bool(item.aggregate.divergent),
             "estimated_cofinancing": item.application.estimated_cofinancing,
             "running_total": item.running_total, "exceeds_envelope": item.exceeds_envelope,
             "is_promotion_proposal": item.is_promotion_proposal,
             "decision": _dump_decision(item.decision)}
            for item in agenda.items
        ],
    }


def _details(args: dict, session: CommitteeSession | None = None) -> dict:
    """The service's input: what was sent, over the session's current details."""
    data = {}
    if session is not None:
        data = {"title": session.title, "held_at": session.held_at,
                "location": session.location, "quorum": session.quorum,
                "member_ids": [m.user_id for m in session.members]}
    return data | args


def _run(session: CommitteeSession, operation):
    try:
        operation()
        db.session.commit()
    except engine.WorkflowError as error:
        db.session.rollback()
        return problem_from(error)
    return _dump_detail(session)


# --- endpoints --------------------------------------------------------------------------------


@blp.route("/calls/<int:call_id>/committee-sessions")
class CallCommitteeSessions(MethodView):
    @blp.response(200, SessionSchema(many=True))
    @alt(401, 404)
    def get(self, call_id: int):
        """Les séances du comité de sélection de l'appel (pour un membre du comité : celles où
        il siège)."""
        call = db.session.get(Call, call_id)
        if call is None or not can(g.api_user, Action.CALL_VIEW_RANKING, call):
            return not_found()
        return [_dump_session(session) for session in services.sessions_of(call, g.api_user)]

    @blp.arguments(SessionDetailsSchema)
    @blp.response(201, SessionDetailSchema)
    @alt(401, 403, 404, 422)
    def post(self, args, call_id: int):
        """Programmer une séance (chargé de mission) : intitulé, date et heure, lieu, quorum,
        membres."""
        call = db.session.get(Call, call_id)
        if call is None or not can(g.api_user, Action.CALL_VIEW_RANKING, call):
            return not_found()
        try:
            session = services.save_session(call, g.api_user, _details(args))
            db.session.commit()
        except engine.WorkflowError as error:
            db.session.rollback()
            return problem_from(error)
        return _dump_detail(session), 201


@blp.route("/committee-sessions/<int:session_id>")
class CommitteeSessionItem(MethodView):
    @blp.response(200, SessionDetailSchema)
    @alt(401, 404)
    def get(self, session_id: int):
        """Une séance : membres et présences, quorum, et l'ordre du jour par rang avec le total
        cumulé des cofinancements estimés face à l'enveloppe."""
        session = _session(session_id)
        return _dump_detail(session) if session else not_found()

    @blp.arguments(SessionChangesSchema)
    @blp.response(200, SessionDetailSchema)
    @alt(401, 403, 404, 409, 422)
    def patch(self, args, session_id: int):
        """Modifier une séance prévue (les champs envoyés remplacent les siens)."""
        session = _session(session_id)
        if session is None:
            return not_found()
        return _run(session, lambda: services.save_session(
            session.call, g.api_user, _details(args, session), session))


@blp.route("/committee-sessions/<int:session_id>/attendance")
class CommitteeSessionAttendance(MethodView):
    @blp.arguments(AttendanceSchema)
    @blp.response(200, SessionDetailSchema)
    @alt(401, 403, 404, 409, 422)
    def put(self, args, session_id: int):
        """Enregistrer les présences (chargé de mission), jusqu'à la clôture."""
        session = _session(session_id)
        if session is None:
            return not_found()
        return _run(session, lambda: services.record_attendance(session, g.api_user,
                                                                args["present"]))


@blp.route("/committee-sessions/<int:session_id>/open")
class CommitteeSessionOpening(MethodView):
    @blp.response(200, SessionDetailSchema)
    @alt(401, 403, 404, 409)
    def post(self, session_id: int):
        """Ouvrir la séance, quorum atteint (chargé de mission)."""
        session = _session(session_id)
        if session is None:
            return not_found()
        return _run(session, lambda: services.open_session(session, g.api_user))


@blp.route("/committee-sessions/<int:session_id>/close")
class CommitteeSessionClosing(MethodView):
    @blp.response(200, SessionDetailSchema)
    @alt(401, 403, 404, 409)
    def post(self, session_id: int):
        """Clore la séance (chargé de mission) : son procès-verbal devient définitif."""
        session = _session(session_id)
        if session is None:
            return not_found()
        return _run(session, lambda: services.close_session(session, g.api_user))


@blp.route("/committee-sessions/<int:session_id>/decisions")
class CommitteeSessionDecisions(MethodView):
    @blp.arguments(DecisionsRequestSchema)
    @blp.response(201, DecisionsSchema)
    @alt(401, 403, 404, 409, 422)
    def post(self, args, session_id: int):
        """Décider (membre présent, séance ouverte) : « select », « waitlist » ou « reject »
        (avec motif), pour un ou plusieurs dossiers de l'ordre du jour. Toutes les décisions
        sont enregistrées, ou aucune : le refus nomme chaque dossier refusé et pourquoi
        (``errors``, par référence)."""
        session = _session(session_id)
        if session is None:
            return not_found()
        requests = [services.DecisionRequest(item["application_id"], item["decision"],
                                             item["reason"]) for item in args["decisions"]]
        try:
            rows = services.decide(session, g.api_user, requests)
            db.session.commit()
        except engine.WorkflowError as error:
            db.session.rollback()
            return problem_from(error)
        return {"decisions": [_dump_decision(row) for row in rows]}, 201


@blp.route("/committee-sessions/<int:session_id>/minutes")
class CommitteeSessionMinutes(MethodView):
    @blp.response(200, description="Le procès-verbal (PDF).", content_type="application/pdf")
    @alt(401, 404)
    def get(self, session_id: int):
        """Le procès-verbal de la séance (projet tant qu'elle n'est pas close)."""
        session = _session(session_id)
        if session is None:
            return not_found()
        return send_file(io.BytesIO(minutes.build_minutes_pdf(session)),
                         mimetype="application/pdf", as_attachment=True,
                         download_name=minutes.minutes_filename(session), max_age=0)

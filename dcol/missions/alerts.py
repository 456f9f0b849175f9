"""Follow-up alerts, raised by ``flask --app dcol workflow tick`` (and re-checked for one dossier
when its reports, plan or agreement change):

- logged days beyond the contracted days;
- a milestone of the plan late (its date passed, not done);
- no report for the call's number of weeks (``Call.report_every_weeks``) since the last one,
  or since the start;
- an agreement version awaiting signatures for longer than the call allows
  (``Call.signature_within_days``).

Each condition has a key naming what it is about (the contracted days, the milestone and its
date, the last report, the agreement version). An alert is raised once per key, with its mails,
and resolved when its condition no longer holds; a resolved key is never raised again. A new
situation (the plan amended to a new date, a new report then weeks of silence, an amendment of
the days) has a new key, hence a new alert. Idempotent and safe when two servers tick at once
(the unique key makes the second insert fail in its own savepoint, and it is skipped).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from dcol import audit
from dcol.extensions import db, savepoint
from dcol.i18n import PARIS, format_day, format_number
from dcol.mail import external_url
from dcol.missions.reports import totals_by_mission
from dcol.models import (
    Agreement,
    AgreementState,
    Alert,
    AlertKind,
    Application,
    ApplicationState,
    AuditEvent,
    Milestone,
    Mission,
    utcnow,
)
from dcol.models.base import N_
from workflows.notifications import manager_users, reporters_of, signatories_of, tell

S = ApplicationState
FOLLOWED = frozenset({S.AGREEMENT, S.IN_PROGRESS, S.FINAL_REPORT})

MAILS = {
    AlertKind.DAYS_EXCEEDED: (
        N_("Alerte %(reference)s : jours contractualisés dépassés"),
        N_("Les jours consignés dans les rapports de « %(title)s » dépassent les jours "
           "contractualisés : %(detail)s. Un avenant est nécessaire pour les prendre en charge."),
    ),
    AlertKind.MILESTONE_LATE: (
        N_("Alerte %(reference)s : jalon en retard"),
        N_("Un jalon du plan de mission de « %(title)s » est dépassé sans être marqué comme "
           "réalisé : %(detail)s. Marquez-le comme réalisé ou modifiez le plan."),
    ),
    AlertKind.NO_REPORT: (
        N_("Alerte %(reference)s : aucun rapport récent"),
        N_("Aucun rapport n'a été déposé pour « %(title)s » %(detail)s. Merci de consigner "
           "l'avancement de la mission."),
    ),
    AlertKind.AGREEMENT_UNSIGNED: (
        N_("Alerte %(reference)s : convention non signée"),
        N_("La convention de « %(title)s » attend des signatures : %(detail)s."),
    ),
}


@dataclass(frozen=True)
class Condition:
    kind: AlertKind
    key: str
    detail: str


def _days(value: Decimal) -> str:
    return format_number(value.normalize())


def _conditions(applications: list[Application], today: date, now: datetime
                ) -> dict[int, list[Condition]]:
    """What holds now for each dossier (a fixed number of queries)."""
    ids = [app.id for app in applications]
    by_app: dict[int, list[Condition]] = defaultdict(list)
    missions = {m.application_id: m for m in db.session.scalars(
        sa.select(Mission).where(Mission.application_id.in_(ids)))}
    totals = totals_by_mission(list(missions.values()))
    late = defaultdict(list)
    for milestone in db.session.scalars(
            sa.select(Milestone).where(Milestone.mission_id.in_([m.id for m in missions.values()]),
                                       Milestone.done_on.is_(None), Milestone.due_on < today)
            .order_by(Milestone.due_on, Milestone.id)):
        late[milestone.mission_id].append(milestone)
    started = dict(db.session.execute(
        sa.select(AuditEvent.application_id, sa.func.max(AuditEvent.occurred_at))
        .where(AuditEvent.application_id.in_(ids), AuditEvent.to_state == S.IN_PROGRESS.value,
               AuditEvent.from_state == S.AGREEMENT.value)
        .group_by(AuditEvent.application_id)).all())
    pending = db.session.scalars(
        sa.select(Agreement).where(Agreement.application_id.in_(ids),
                                   Agreement.state.in_([AgreementState.DRAFT,
                                                        AgreementState.AWAITING_SIGNATURES])))
    for agreement in pending:
        app = next(a for a in applications if a.id == agreement.application_id)
        waited = now - agreement.created_at
        if waited >= timedelta(days=app.call.signature_within_days):
            by_app[app.id].append(Condition(
                AlertKind.AGREEMENT_UNSIGNED, f"agreement_unsigned:{agreement.id}",
                _("version %(version)s émise le %(day)s, il y a %(days)s jours",
                  version=agreement.version, day=format_day(agreement.created_at.astimezone(PARIS)),
                  days=waited.days)))
    for app in applications:
        mission = missions.get(app.id)
        if mission is None or app.state is S.AGREEMENT:
            continue
        total = totals[mission.id]
        if total.days_exceeded:
            by_app[app.id].append(Condition(
                AlertKind.DAYS_EXCEEDED, f"days_exceeded:{total.contracted_days}",
                _("%(logged)s jours consignés pour %(contracted)s contractualisés",
                  logged=_days(total.days_logged), contracted=_days(total.contracted_days))))
        if app.state is not S.IN_PROGRESS:
            continue
        for milestone in late[mission.id]:
            by_app[app.id].append(Condition(
                AlertKind.MILESTONE_LATE, f"milestone_late:{milestone.id}:{milestone.due_on}",
                _("« %(label)s », prévu le %(day)s", label=milestone.label,
                  day=format_day(milestone.due_on))))
        since = total.last_report_on
        if since is None:  # since the mission began: its planned start, or its signature if later
            start = started.get(app.id)
            moments = [start.astimezone(PARIS).date() if start else None, mission.starts_on]
            since = max((day for day in moments if day is not None), default=None)
        weeks = app.call.report_every_weeks
        if since is not None and today - since >= timedelta(weeks=weeks):
            key = "no_report:" + ("report" if total.last_report_on else "start") + f":{since}"
            by_app[app.id].append(Condition(
                AlertKind.NO_REPORT, key,
                _("depuis le %(day)s (plus de %(weeks)s semaines)", day=format_day(since),
                  weeks=weeks)))
    return by_app


def check_alerts(now: datetime | None = None, application_ids: list[int] | None = None, *,
                 raising: bool = True) -> int:
    """Raise the alerts whose condition holds (once per key, with their mails) and resolve those
    whose condition cleared, for every followed dossier or only ``application_ids``; without
    ``raising``, only resolve (a change just made, such as a signature, clears its alert at
    once; raising is the tick's). Returns the number of alerts raised. Flushes only; the caller
    commits."""
    now = now or utcnow()
    today = now.astimezone(PARIS).date()
    query = (sa.select(Application).options(joinedload(Application.call),
                                            joinedload(Application.organisation))
             .where(Application.state.in_(FOLLOWED)))
    if application_ids is not None:
        query = query.where(Application.id.in_(application_ids))
    applications = list(db.session.scalars(query))
    holding = _conditions(applications, today, now) if applications else {}
    known = defaultdict(dict)
    alert_query = sa.select(Alert)
    if application_ids is not None:
        alert_query = alert_query.where(Alert.application_id.in_(application_ids))
    for alert in db.session.scalars(alert_query.where(
            sa.or_(Alert.resolved_at.is_(None),
                   Alert.application_id.in_([app.id for app in applications])))):
        known[alert.application_id][alert.key] = alert
    raised = 0
    by_id = {app.id: app for app in applications}
    for app_id, conditions in holding.items() if raising else ():
        for condition in conditions:
            if condition.key in known[app_id]:
                continue
            alert = _raise(by_id[app_id], condition, now)
            if alert is not None:
                known[app_id][condition.key] = alert
                raised += 1
    for app_id, alerts in known.items():
        current = {condition.key for condition in holding.get(app_id, [])}
        for key, alert in alerts.items():
            if alert.resolved_at is None and key not in current:
                alert.resolved_at = now
                audit.record(application_id=app_id, actor=None, occurred_at=now,
                             event="alert.resolved",
                             payload={"alert": alert.id, "kind": alert.kind.value, "key": key})
    db.session.flush()
    return raised


def _raise(app: Application, condition: Condition, now: datetime) -> Alert | None:
    alert = Alert(application_id=app.id, kind=condition.kind, key=condition.key,
                  detail=condition.detail, raised_at=now)
    try:
        with savepoint():
            db.session.add(alert)
            db.session.flush()
    except IntegrityError:  # another server raised it meanwhile
        return None
    audit.record(application_id=app.id, actor=None, occurred_at=now, event="alert.raised",
                 comment=condition.detail,
                 payload={"alert": alert.id, "kind": condition.kind.value, "key": condition.key})
    if condition.kind is AlertKind.AGREEMENT_UNSIGNED:
        people = manager_users() + signatories_of(app) + reporters_of(app)
    else:
        people = manager_users() + reporters_of(app)
    subject, body = MAILS[condition.kind]
    tell(people, app, subject, body, params={"detail": condition.detail},
         link=external_url("missions.follow_up", application_id=app.id),
         dedupe_prefix=f"alert:{alert.id}")
    return alert


def open_alerts(application: Application) -> list[Alert]:
    return list(db.session.scalars(
        sa.select(Alert).where(Alert.application_id == application.id,
                               Alert.resolved_at.is_(None)).order_by(Alert.raised_at)))

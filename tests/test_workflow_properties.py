"""Random events fired by random people: the machine never reaches an undeclared state, never
skips an audit entry, and never changes a final state."""

from __future__ import annotations

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcol.audit import verify_all
from dcol.extensions import db
from dcol.models import AuditEvent, CallKind
from tests import workflow_support as ws
from tests.conftest import empty_database
from workflows import engine
from workflows.dossier import EVENTS, EVENTS_BY_NAME, FINAL

PERSONAS = ("signatory", "member", "manager", "reviewer", "committee", "expert_user",
            "other_expert_user", "outsider", None)
steps = st.lists(
    st.tuples(
        # "next": the happy path's next event, by the right person (to reach deep states too)
        st.sampled_from(["next", "next", *[event.name for event in EVENTS]]),
        st.sampled_from(PERSONAS),
        st.booleans(),  # prepare what the event needs (reviews, signatures...) first
        st.sampled_from(["", "Motif"]),
    ),
    min_size=1,
    max_size=30,
)


def next_step(application):
    for name in ws.PATHS[application.call.kind]:
        if application.state in EVENTS_BY_NAME[name].sources:
            return name
    return None


def right_person(cast, application, event_name):
    actor = ws.step_request(event_name, application, cast)[0]
    return next(name for name in PERSONAS if name and persona(cast, name) is actor)


def persona(cast, name):
    if name is None:
        return None  # dcol itself
    if name == "reviewer":
        return cast.reviewers[0]
    return getattr(cast, name)


def audit_count(application):
    return db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.application_id == application.id))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=st.sampled_from([CallKind.DCOL, CallKind.AAP]), moves=steps)
def test_random_events_keep_the_machine_sound(app, kind, moves):
    try:
        call = ws.make_call_for(kind)
        cast = ws.make_cast(call)
        application = ws.complete_dossier(call, cast)
        db.session.commit()
        for event_name, who, prepare, comment in moves:
            if event_name == "next":
                event_name = next_step(application)
                if event_name is None:
                    continue
                who, prepare = right_person(cast, application, event_name), True
                comment = ws.step_request(event_name, application, cast)[1]
            event = EVENTS_BY_NAME[event_name]
            if prepare and application.state in event.sources:
                ws.prepare_step(event_name, application, cast)
                db.session.commit()
            actor = persona(cast, who)
            _, _, payload = ws.step_request(event_name, application, cast)
            before_state, before_audit = application.state, audit_count(application)
            try:
                engine.fire(application, event_name, actor, comment=comment, payload=payload)
            except engine.WorkflowError:
                db.session.expire_all()
                assert application.state is before_state
                assert audit_count(application) == before_audit
                continue
            assert before_state not in FINAL, "a final state changed"
            assert kind in event.variants
            assert before_state in event.sources and application.state is event.target
            assert audit_count(application) == before_audit + 1
        count, problems = verify_all()
        assert problems == [] and count == audit_count(application)
    finally:
        db.session.rollback()
        empty_database()

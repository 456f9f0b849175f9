"""The rows of each table, generated from the plan (``bench.seed.plan``) in dependency order.

Each generator yields plain dicts for ``table.insert()``; ids are given, so that rows can refer
to each other without reading anything back. Audit entries are hashed exactly as
``dcol.audit.record`` hashes them (``dcol.audit.entry_hash`` on the same content).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from bench.seed import data as sd
from bench.seed.plan import Dossier, Plan
from dcol.audit import entry_hash
from dcol.demo import calls as demo_calls
from dcol.finance.computation import CostLine, FunderPart, Inputs, Terms, compute
from dcol.models import ApplicationState as S
from dcol.models import CallKind, OrganisationKind, Role, SnapshotKind

CENT = Decimal("0.01")
PAST_AGREEMENT = frozenset({S.IN_PROGRESS, S.FINAL_REPORT, S.CLOSED})
AAP_CRITERIA = [("Pertinence au regard du volet", "30", "2.5"),
                ("Qualité et réciprocité du partenariat", "25", None),
                ("Faisabilité et budget", "25", "2"), ("Impact et implication des habitants", "20", None)]


def _day(moment: datetime) -> date:
    return moment.astimezone(sd.PARIS).date()


def _user(user_id: int, email: str, name: str, **values) -> dict:
    return {"id": user_id, "email": email, "full_name": name, "password_hash": values.pop("hash"),
            "is_enabled": True, "locale": "fr", "is_signatory": False,
            "created_at": values.pop("at"), "updated_at": values.pop("updated", None) or
            datetime(2019, 1, 7, 9, tzinfo=UTC), **values}


def funders(plan: Plan) -> Iterator[dict]:
    for index, (code, name) in enumerate(sd.FUNDERS, start=1):
        yield {"id": index, "code": code, "name": name}


FUNDER_IDS = {code: index for index, (code, _) in enumerate(sd.FUNDERS, start=1)}
START = datetime(2019, 1, 7, 9, tzinfo=UTC)


def staff_users(plan: Plan) -> Iterator[dict]:
    rng = plan.rng("staff")
    people = [(plan.admin_id, "admin", "Administrateur")]
    people += [(i, "manager", "Chargé de mission") for i in plan.manager_ids]
    people += [(i, "reviewer", "Instructeur") for i in plan.reviewer_ids]
    people += [(i, "committee", "Membre du comité") for i in plan.committee_ids]
    for user_id, role, title in people:
        name = f"{rng.choice(sd.FIRST_NAMES)} {rng.choice(sd.LAST_NAMES)}"
        yield _user(user_id, f"{role}.{user_id}@cites-unies-france.example", name,
                    hash=plan.password_hash, at=START, job_title=title)


def experts(plan: Plan) -> Iterator[dict]:
    rng = plan.rng("experts")
    for index in range(len(plan.expert_user_ids)):
        is_firm = rng.random() < 0.4
        person = f"{rng.choice(sd.FIRST_NAMES)} {rng.choice(sd.LAST_NAMES)}"
        name = (f"{rng.choice(sd.NAME_ROOTS)} {rng.choice(sd.EXPERT_SUFFIXES)} {index + 1}"
                if is_firm else f"{person} ({index + 1})")
        countries = rng.sample(sd.COUNTRIES, rng.randint(1, 4))
        yield {
            "id": index + 1, "name": name, "kind": "consultancy" if is_firm else "person",
            "contact_name": person, "email": f"expert{index + 1}@experts.example",
            "skills": rng.sample(sd.THEMES, rng.randint(1, 4)), "keywords": [],
            "countries": countries, "regions": [], "languages": ["fr"] + (["en"] if rng.random() < .7 else []),
            "daily_rate": Decimal(rng.randrange(450, 1200, 25)), "vat_rate": Decimal("20"),
            "capacity": rng.choice((1, 2, 3)), "references": "Missions d'appui à des collectivités.",
            "is_active": rng.random() < 0.95, "created_at": START, "updated_at": START,
        }


def expert_users(plan: Plan) -> Iterator[dict]:
    for index, user_id in enumerate(plan.expert_user_ids, start=1):
        yield _user(user_id, f"compte.expert{index}@experts.example", f"Expert {index}",
                    hash=plan.password_hash, at=START, expert_id=index)


def organisations(plan: Plan) -> Iterator[dict]:
    rng = plan.rng("organisations")
    for org in plan.orgs:
        filed = org.signatory_id is not None
        status = "active" if filed else rng.choices(("active", "pending", "rejected"), (95, 4, 1))[0]
        yield {
            "id": org.id, "name": org.name, "kind": org.kind.value, "siren": org.siren,
            "status": status, "region": org.region, "department_code": org.department,
            "population": org.population, "is_cuf_member": org.is_member,
            "postcode": f"{org.department[:2].replace('2A', '20').replace('2B', '20')}{rng.randint(0, 999):03d}",
            "city": org.name.split(" de ", 1)[-1][:120], "address": "Place de la Mairie",
            "validated_at": START if status == "active" else None,
            "validated_by_id": plan.admin_id if status == "active" else None,
            "created_at": START, "updated_at": START,
        }


def applicant_users(plan: Plan) -> Iterator[dict]:
    rng = plan.rng("applicants")
    for org in plan.orgs:
        for user_id, signatory in ((org.signatory_id, True), (org.colleague_id, False)):
            if user_id is None:
                continue
            yield _user(user_id, f"{'signataire' if signatory else 'agent'}.{org.id}@collectivites.example",
                        f"{rng.choice(sd.FIRST_NAMES)} {rng.choice(sd.LAST_NAMES)}",
                        hash=plan.password_hash, at=START, organisation_id=org.id,
                        membership_status="active", is_signatory=signatory,
                        job_title="Maire" if signatory else "Chargé de coopération")


def user_roles(plan: Plan) -> Iterator[dict]:
    yield {"user_id": plan.admin_id, "role": Role.ADMIN.value}
    yield {"user_id": plan.admin_id, "role": Role.MANAGER.value}
    for ids, role in ((plan.manager_ids, Role.MANAGER), (plan.reviewer_ids, Role.REVIEWER),
                      (plan.committee_ids, Role.COMMITTEE), (plan.expert_user_ids, Role.EXPERT)):
        for user_id in ids:
            yield {"user_id": user_id, "role": role.value}
    for org in plan.orgs:
        for user_id in (org.signatory_id, org.colleague_id):
            if user_id is not None:
                yield {"user_id": user_id, "role": Role.APPLICANT.value}


def calls(plan: Plan) -> Iterator[dict]:
    for call in plan.calls:
        dcol = call.kind is CallKind.DCOL
        yield {
            "id": call.id, "kind": call.kind.value, "edition": call.edition, "code": call.code,
            "title": (f"DCOL — {call.edition}e appel à candidature" if dcol else
                      f"Appel à projets {call.edition} — {call.owner}"),
            "summary": "Appel du jeu de données national (bench).", "owner_name": call.owner,
            "is_published": True, "opens_at": call.opens_at, "closes_at": call.closes_at,
            "committee_planned_on": _day(call.committee_at),
            "eligible_kinds": (demo_calls.LOCAL_AUTHORITY_KINDS if dcol else
                               ["commune", "intercommunality", "syndicate"]),
            "members_only": False, "min_reviewers": 3, "report_every_weeks": 6,
            "signature_within_days": 30, "overall_threshold": Decimal("60" if dcol else "55"),
            "divergence_threshold": Decimal("2"), "tie_breaks": ["criterion:1", "submitted_at"],
            "grid_frozen_at": call.closes_at + timedelta(days=3), "last_number": call.dossiers,
            "created_at": call.opens_at - timedelta(days=30),
            "updated_at": call.opens_at - timedelta(days=30),
        }


def tracks(plan: Plan) -> Iterator[dict]:
    for call in plan.calls:
        specs = (demo_calls.DCOL_TRACKS if call.kind is CallKind.DCOL else [
            ("culture", "Coopération culturelle internationale", "", ["AM", "SN"], []),
            ("ecsi", "Éducation à la citoyenneté mondiale", "", ["FR"], [call.department])])
        for position, (track_id, spec) in enumerate(zip(call.track_ids, specs, strict=True)):
            code, name, description, countries, departments = spec
            yield {"id": track_id, "call_id": call.id, "code": code, "name": name,
                   "description": description, "position": position,
                   "eligible_countries": countries, "eligible_departments": departments,
                   "eligible_kinds": []}


def document_requirements(plan: Plan) -> Iterator[dict]:
    n = 0
    for call in plan.calls:
        for position, (code, label, description, required, _) in enumerate(demo_calls.DCOL_DOCUMENTS):
            n += 1
            yield {"id": n, "call_id": call.id, "track_id": None, "code": code, "label": label,
                   "description": description, "is_required": required, "position": position}


def eligibility_items(plan: Plan) -> Iterator[dict]:
    n = 0
    for call in plan.calls:
        for position, label in enumerate(demo_calls.DCOL_ELIGIBILITY):
            n += 1
            yield {"id": n, "call_id": call.id, "label": label, "position": position}


def criteria(plan: Plan) -> Iterator[dict]:
    for call in plan.calls:
        specs = ([(label, weight, threshold) for label, _, weight, threshold in demo_calls.DCOL_CRITERIA]
                 if call.kind is CallKind.DCOL else AAP_CRITERIA)
        for position, (criterion_id, (label, weight, threshold)) in enumerate(
                zip(call.criterion_ids, specs, strict=True)):
            yield {"id": criterion_id, "call_id": call.id, "label": label, "guidance": "",
                   "weight": Decimal(weight), "scale_max": Decimal(5), "step": Decimal("0.5"),
                   "threshold": Decimal(threshold) if threshold else None, "position": position}


def terms_of(call) -> Terms:
    if call.kind is CallKind.DCOL:
        return Terms(1, {kind: Decimal(rate) for kind, rate in demo_calls.DCOL_RATES.items()},
                     funders=tuple(FunderPart(part["funder"], Decimal(part["percent"]))
                                   for part in demo_calls.DCOL_FUNDER_SPLIT),
                     advance_percent=Decimal(30))
    return Terms(1, dict.fromkeys(("commune", "intercommunality", "syndicate"), Decimal(50)),
                 including_vat=True, ceiling=Decimal(15_000), advance_percent=Decimal(50))


def cofinancing_rules(plan: Plan) -> Iterator[dict]:
    for call in plan.calls:
        terms = terms_of(call)
        yield {"id": call.rule_id, "call_id": call.id, "version": 1,
               "effective_from": _day(call.opens_at),
               "rates": {kind: f"{rate:.2f}" for kind, rate in terms.rates.items()},
               "cost_base": "expert_days" if call.kind is CallKind.DCOL else "project_budget",
               "vat_mode": "including_vat" if terms.including_vat else "excluding_vat",
               "vat_rate": Decimal(20), "ceiling": terms.ceiling, "min_applicant_share": None,
               "funder_split": [part.as_json() for part in terms.funders],
               "advance_percent": terms.advance_percent, "created_at": call.opens_at,
               "created_by_id": plan.manager_ids[0]}


def envelopes(plan: Plan) -> Iterator[dict]:
    n = 0
    for call in plan.calls:
        # Room for every dossier the committee selected, and a margin.
        chosen = sum(dossier.requested for dossier in plan.dossiers if dossier.call is call
                     and dossier.moment("select"))
        total = (max(chosen * Decimal("1.2"), Decimal(50_000)) / 1000).quantize(Decimal(1)) * 1000
        n += 1
        yield {"id": n, "call_id": call.id, "funder_id": None, "amount": total}
        if call.kind is CallKind.DCOL:
            for code, percent in (("AFD", 50), ("CDC", 30), ("DCTCIV", 20)):
                n += 1
                yield {"id": n, "call_id": call.id, "funder_id": FUNDER_IDS[code],
                       "amount": total * percent / 100}


def committee_sessions(plan: Plan) -> Iterator[dict]:
    for call in plan.calls:
        yield {"id": call.session_id, "call_id": call.id, "title": f"Comité de sélection {call.code}",
               "held_at": call.committee_at, "location": "Cités Unies France, Paris", "quorum": 2,
               "state": "planned" if call.age == "instruction" else "closed",
               "created_by_id": plan.manager_ids[0]}


def committee_members(plan: Plan) -> Iterator[dict]:
    for call in plan.calls:
        for user_id in [*plan.committee_ids, plan.manager_ids[0]]:
            yield {"session_id": call.session_id, "user_id": user_id,
                   "is_present": call.age != "instruction"}


def applications(plan: Plan) -> Iterator[dict]:
    for d in plan.dossiers:
        submitted = d.moment("submit")
        yield {
            "id": d.id, "call_id": d.call.id, "track_id": d.track_id, "organisation_id": d.org.id,
            "number": d.number, "reference": f"{d.call.code}-{d.number:04d}",
            "state": d.state.value, "version": 1, "title": d.title,
            "summary": f"{d.title} avec nos partenaires.", "data": {}, "themes": d.themes,
            "countries": d.countries, "departments": [d.org.department],
            "estimated_cost": d.cost, "requested_amount": d.requested,
            "estimated_cofinancing": d.requested if submitted else None,
            "response_deadline": None, "submitted_at": submitted,
            "first_submitted_at": submitted, "closed_at": d.moment("close"),
            "is_public": d.state is S.CLOSED and d.id % 3 == 0,
            "created_by_id": d.org.signatory_id, "created_at": d.created,
            "updated_at": d.last_moment,
        }


def submissions(plan: Plan) -> Iterator[dict]:
    for d in plan.dossiers:
        submitted = d.moment("submit")
        if submitted:
            yield {"id": d.id, "application_id": d.id, "number": 1, "submitted_at": submitted,
                   "submitted_by_id": d.org.signatory_id, "receipt_sha256": None,
                   "content": {"title": d.title, "summary": "", "themes": d.themes,
                               "countries": d.countries, "departments": [d.org.department]}}


def audit_events(plan: Plan) -> Iterator[dict]:
    n = 0
    for d in plan.dossiers:
        previous = None
        entries = [(d.org.signatory_id, d.created, "create", None, S.DRAFT.value, "")]
        entries += [(s.actor_id, s.moment, s.event, s.from_state, s.to_state, s.comment)
                    for s in d.steps]
        for sequence, (actor_id, moment, event, from_state, to_state, comment) in enumerate(
                entries, start=1):
            n += 1
            entry = SimpleNamespace(
                id=n, application_id=d.id, sequence=sequence, actor_id=actor_id,
                occurred_at=moment, event=event, from_state=from_state, to_state=to_state,
                comment=comment, payload={}, previous_hash=previous)
            entry.hash = previous = entry_hash(entry)
            yield vars(entry)


def _review_ids(plan: Plan) -> Iterator[tuple[int, Dossier, int, int]]:
    n = 0
    for d in plan.dossiers:
        for position, reviewer_id in enumerate(d.reviewers):
            n += 1
            yield n, d, position, reviewer_id


def _is_review_submitted(d: Dossier, position: int) -> bool:
    return d.moment("complete_review") is not None or (d.id + position) % 3 == 0


def reviews(plan: Plan) -> Iterator[dict]:
    rng = plan.rng("reviews")
    for review_id, d, position, reviewer_id in _review_ids(plan):
        assigned = d.moment("start_review")
        done = _is_review_submitted(d, position)
        submitted = (d.moment("complete_review") or assigned + timedelta(days=5)) - timedelta(
            hours=position + 1)
        yield {
            "id": review_id, "application_id": d.id, "reviewer_id": reviewer_id,
            "assigned_by_id": plan.manager_ids[0], "assigned_at": assigned,
            "conflict_status": "none" if done or position % 2 else "pending",
            "conflict_note": "", "conflict_declared_at": assigned + timedelta(hours=2) if done else None,
            "state": "submitted" if done else "draft",
            "opinion": rng.choice(("favourable", "reserved", "unfavourable")) if done else None,
            "overall_comment": "Dossier solide, partenariat ancien." if done else "",
            "submitted_at": max(submitted, assigned + timedelta(hours=1)) if done else None,
            "last_reminded_at": None,
        }


def review_scores(plan: Plan) -> Iterator[dict]:
    rng = plan.rng("review_scores")
    for review_id, d, position, _ in _review_ids(plan):
        if _is_review_submitted(d, position):
            for criterion_id in d.call.criterion_ids:
                yield {"review_id": review_id, "criterion_id": criterion_id,
                       "score": Decimal(rng.randint(2, 10)) / 2, "comment": ""}


def consensus(plan: Plan) -> Iterator[dict]:
    rng = plan.rng("consensus")
    for d in plan.dossiers:
        moment = d.moment("complete_review")
        if moment:
            yield {"application_id": d.id, "score": Decimal(rng.randint(3000, 9500)) / 100,
                   "justification": "Moyenne des évaluations, écarts discutés.",
                   "recorded_by_id": plan.manager_ids[0], "recorded_at": moment}


def committee_decisions(plan: Plan) -> Iterator[dict]:
    n = 0
    for d in plan.dossiers:
        for step in d.steps:
            if step.event in {"select", "waitlist", "reject"}:
                n += 1
                yield {"id": n, "session_id": d.call.session_id, "application_id": d.id,
                       "decision": step.event, "reason": step.comment, "decided_at": step.moment,
                       "decided_by_id": step.actor_id}


def _mission_dossiers(plan: Plan) -> Iterator[tuple[int, Dossier, datetime]]:
    n = 0
    for d in plan.dossiers:
        opened = d.moment("accept_mission") or d.moment("prepare_agreement")
        if opened:
            n += 1
            yield n, d, opened


def matching_briefs(plan: Plan) -> Iterator[dict]:
    for d in plan.dossiers:
        moment = d.moment("start_matching")
        if moment:
            yield {"application_id": d.id, "themes": d.themes, "languages": ["fr"],
                   "indicative_days": Decimal(int(d.cost / 650) or 5),
                   "starts_on": _day(moment) + timedelta(days=60),
                   "ends_on": _day(moment) + timedelta(days=240), "budget": d.cost,
                   "expected_deliverables": "Rapport de diagnostic, plan d'action.",
                   "updated_by_id": plan.manager_ids[0], "updated_at": moment}


def mission_proposals(plan: Plan) -> Iterator[dict]:
    n = 0
    for d in plan.dossiers:
        proposed = d.moment("propose_expert")
        if proposed:
            n += 1
            accepted = d.moment("accept_mission")
            yield {"id": n, "application_id": d.id, "expert_id": d.expert_id,
                   "status": "accepted" if accepted else "pending",
                   "proposed_by_id": plan.manager_ids[0], "proposed_at": proposed,
                   "explanation": {}, "override_reason": "",
                   "indicative_days": Decimal(int(d.cost / 650) or 5),
                   "indicative_start": _day(proposed) + timedelta(days=30),
                   "indicative_end": _day(proposed) + timedelta(days=210),
                   "responded_at": accepted, "responded_by_id": d.expert_user_id if accepted else None,
                   "decline_reason": ""}


def missions(plan: Plan) -> Iterator[dict]:
    for n, d, opened in _mission_dossiers(plan):
        dcol = d.call.kind is CallKind.DCOL
        yield {"id": n, "application_id": d.id, "expert_id": d.expert_id,
               "contracted_days": Decimal(int(d.cost / 650) or 5) if dcol else None,
               "daily_rate": (d.cost / (int(d.cost / 650) or 5)).quantize(CENT) if dcol else None,
               "travel_costs": Decimal(0), "starts_on": _day(opened) + timedelta(days=30),
               "ends_on": _day(opened) + timedelta(days=240),
               "expected_deliverables": "Rapport final.", "summary": "", "created_at": opened}


PHASES = (("scoping", "Réunion de cadrage", 30), ("diagnosis", "Diagnostic", 90),
          ("field_mission", "Mission de terrain", 150), ("final_deliverable", "Livrable final", 230))


def milestones(plan: Plan) -> Iterator[dict]:
    n = 0
    for mission_id, d, opened in _mission_dossiers(plan):
        end = d.moment("submit_final_report") or sd.NOW
        for phase, label, days in PHASES:
            n += 1
            due = _day(opened) + timedelta(days=days)
            yield {"id": n, "mission_id": mission_id, "phase": phase, "label": label,
                   "due_on": due, "done_on": due if due <= _day(end) and d.state in PAST_AGREEMENT else None}


def _reports(plan: Plan) -> Iterator[tuple[int, int, Dossier, datetime]]:
    n = 0
    for mission_id, d, _ in _mission_dossiers(plan):
        started = d.moment("start")
        if started is None:
            continue
        end = d.moment("submit_final_report") or sd.NOW.astimezone(UTC)
        count = 1 + d.id % 4
        for index in range(count):
            n += 1
            yield n, mission_id, d, started + (end - started) * (index + 1) / (count + 1)


def mission_reports(plan: Plan) -> Iterator[dict]:
    for report_id, mission_id, d, moment in _reports(plan):
        yield {"id": report_id, "mission_id": mission_id,
               "author_id": d.expert_user_id or d.org.signatory_id, "report_date": _day(moment),
               "days_spent": Decimal(1 + report_id % 4), "activities": "Entretiens, ateliers.",
               "is_field_mission": report_id % 5 == 0,
               "field_location": d.countries[0] if report_id % 5 == 0 else "",
               "created_at": moment}


def expenses(plan: Plan) -> Iterator[dict]:
    n = 0
    for report_id, _, _, _ in _reports(plan):
        if report_id % 3 == 0:
            for label, amount in (("Billet d'avion", Decimal("742.30")), ("Hébergement", Decimal("310.00"))):
                n += 1
                yield {"id": n, "report_id": report_id, "label": label, "amount": amount,
                       "receipt_id": None}


def deliverables(plan: Plan) -> Iterator[dict]:
    n = 0
    for mission_id, d, _ in _mission_dossiers(plan):
        deposited = d.moment("submit_final_report")
        if deposited is None:
            continue
        closed = d.moment("close")
        n += 1
        yield {"id": n, "mission_id": mission_id, "title": "Rapport final", "description": "",
               "is_final": True, "state": "validated" if closed else "submitted", "version": 1,
               "revision_comment": "", "submitted_by_id": d.expert_user_id or d.org.signatory_id,
               "submitted_at": deposited - timedelta(hours=1),
               "accepted_by_applicant_at": closed - timedelta(days=2) if closed else None,
               "accepted_by_id": d.org.signatory_id if closed else None,
               "validated_at": closed - timedelta(days=1) if closed else None,
               "validated_by_id": plan.manager_ids[0] if closed else None}


def satisfactions(plan: Plan) -> Iterator[dict]:
    for mission_id, d, _ in _mission_dossiers(plan):
        closed = d.moment("close")
        if closed:
            rating = 3 + d.id % 3
            yield {"mission_id": mission_id, "respondent_id": d.org.signatory_id,
                   "quality": rating, "timeliness": max(1, rating - 1), "relevance": rating,
                   "overall": rating, "comment": "", "answered_at": closed - timedelta(days=3)}


def _breakdown(d: Dossier):
    kind = d.org.kind.value if d.org.kind is not OrganisationKind.OTHER else "commune"
    inputs = Inputs(kind, (CostLine("Coût estimé", amount=d.cost),),
                    d.requested if d.call.kind is CallKind.AAP else None)
    return inputs, compute(inputs, terms_of(d.call))


def _snapshots(plan: Plan) -> Iterator[tuple[int, int, Dossier, datetime, str]]:
    """(snapshot id, agreement id, dossier, moment, kind): the agreement's, then the final one."""
    n = 0
    for agreement, d, opened in _mission_dossiers(plan):
        n += 1
        yield n, agreement, d, opened, SnapshotKind.AGREEMENT.value
        if d.moment("close"):
            n += 1
            yield n, agreement, d, d.moment("close") - timedelta(days=1), SnapshotKind.FINAL.value


def cofinancing_snapshots(plan: Plan) -> Iterator[dict]:
    for snapshot_id, _, d, moment, kind in _snapshots(plan):
        inputs, result = _breakdown(d)
        yield {"id": snapshot_id, "application_id": d.id, "rule_id": d.call.rule_id, "kind": kind,
               "inputs": {"inputs": inputs.as_json(), "terms": terms_of(d.call).as_json()},
               "result": result.as_json(), "total_cost": result.total,
               "scheme_share": result.scheme, "applicant_share": result.applicant,
               "is_locked": True, "computed_by_id": plan.manager_ids[0], "computed_at": moment}


def cofinancing_shares(plan: Plan) -> Iterator[dict]:
    for snapshot_id, _, d, _, _ in _snapshots(plan):
        for code, amount in _breakdown(d)[1].funders:
            if code is not None:
                yield {"snapshot_id": snapshot_id, "funder_id": FUNDER_IDS[code], "amount": amount}


def agreements(plan: Plan) -> Iterator[dict]:
    for snapshot_id, agreement_id, d, moment, kind in _snapshots(plan):
        if kind == SnapshotKind.AGREEMENT.value:
            signed = d.moment("start")
            yield {"id": agreement_id, "application_id": d.id, "version": 1,
                   "state": "signed" if signed else "awaiting_signatures",
                   "snapshot_id": snapshot_id, "document_id": None,
                   "document_sha256": f"{d.id:064x}", "amendment_reason": "", "terms": {},
                   "created_at": moment + timedelta(hours=1), "created_by_id": plan.manager_ids[0],
                   "signed_at": signed}


def signatures(plan: Plan) -> Iterator[dict]:
    n = 0
    for _, agreement_id, d, _, kind in _snapshots(plan):
        signed = d.moment("start")
        if kind != SnapshotKind.AGREEMENT.value or signed is None:
            continue
        parties = [("applicant", d.org.signatory_id), ("cuf", plan.manager_ids[0])]
        if d.expert_user_id:
            parties.append(("expert", d.expert_user_id))
        for offset, (party, user_id) in enumerate(reversed(parties)):
            n += 1
            yield {"id": n, "agreement_id": agreement_id, "party": party, "method": "electronic",
                   "user_id": user_id, "signer_name": f"Signataire {user_id}",
                   "signer_capacity": "Représentant légal",
                   "signed_at": signed - timedelta(hours=offset), "ip_address": "127.0.0.1",
                   "document_sha256": f"{d.id:064x}", "scan_document_id": None}


def payments(plan: Plan) -> Iterator[dict]:
    n = 0
    for _, agreement_id, d, _, kind in _snapshots(plan):
        started = d.moment("start")
        if kind != SnapshotKind.AGREEMENT.value or started is None:
            continue
        closed = d.moment("close")
        _, result = _breakdown(d)
        advance_share = Decimal(30 if d.call.kind is CallKind.DCOL else 50) / 100
        scheme_advance = (result.scheme * advance_share).quantize(CENT)
        dcol = d.call.kind is CallKind.DCOL
        lines = [("expert_advance" if dcol else "grant_advance", "start", started,
                  (result.total * advance_share).quantize(CENT) if dcol else scheme_advance,
                  scheme_advance),
                 ("expert_balance" if dcol else "grant_balance", "closure", closed,
                  (result.total - (result.total * advance_share).quantize(CENT)) if dcol
                  else result.scheme - scheme_advance, result.scheme - scheme_advance)]
        if dcol:
            lines.append(("applicant_contribution", "start", started, result.applicant, Decimal(0)))
        for payment_kind, due, paid, amount, scheme_part in lines:
            n += 1
            yield {"id": n, "application_id": d.id, "agreement_id": agreement_id,
                   "funder_id": None, "kind": payment_kind, "amount": amount,
                   "scheme_part": min(scheme_part, amount), "funder_parts": {}, "due": due,
                   "due_on": _day(paid) if paid else None, "status": "paid" if paid else "scheduled",
                   "held_for_deliverable_id": None, "requested_at": paid, "paid_at": paid,
                   "note": ""}


# (label shown, table, rows): inserted in this order.
TABLE_ROWS = [
    ("funders", "funders", funders),
    ("users (staff)", "users", staff_users),
    ("experts", "experts", experts),
    ("users (experts)", "users", expert_users),
    ("organisations", "organisations", organisations),
    ("users (applicants)", "users", applicant_users),
    ("user_roles", "user_roles", user_roles),
    ("calls", "calls", calls),
    ("tracks", "tracks", tracks),
    ("document_requirements", "document_requirements", document_requirements),
    ("eligibility_items", "eligibility_items", eligibility_items),
    ("criteria", "criteria", criteria),
    ("cofinancing_rules", "cofinancing_rules", cofinancing_rules),
    ("envelopes", "envelopes", envelopes),
    ("committee_sessions", "committee_sessions", committee_sessions),
    ("committee_members", "committee_members", committee_members),
    ("applications", "applications", applications),
    ("submissions", "submissions", submissions),
    ("audit_events", "audit_events", audit_events),
    ("reviews", "reviews", reviews),
    ("review_scores", "review_scores", review_scores),
    ("consensus", "consensus", consensus),
    ("committee_decisions", "committee_decisions", committee_decisions),
    ("matching_briefs", "matching_briefs", matching_briefs),
    ("mission_proposals", "mission_proposals", mission_proposals),
    ("missions", "missions", missions),
    ("milestones", "milestones", milestones),
    ("mission_reports", "mission_reports", mission_reports),
    ("expenses", "expenses", expenses),
    ("deliverables", "deliverables", deliverables),
    ("satisfactions", "satisfactions", satisfactions),
    ("cofinancing_snapshots", "cofinancing_snapshots", cofinancing_snapshots),
    ("cofinancing_shares", "cofinancing_shares", cofinancing_shares),
    ("agreements", "agreements", agreements),
    ("signatures", "signatures", signatures),
    ("payments", "payments", payments),
]

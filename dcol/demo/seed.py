"""Load the demonstration data: reference data and calls here, dossiers in ``seed_dossiers``.

See ``dcol.demo.rows`` for how every step stays idempotent.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from dcol.accounts.services import check_password, create_user, find_user, set_password
from dcol.demo import data as d
from dcol.demo.calls import CALLS, SESSIONS
from dcol.demo.rows import Refs, assign, money, upsert
from dcol.demo.seed_dossiers import DOSSIERS, seed_dossier
from dcol.extensions import db
from dcol.missions.alerts import check_alerts
from dcol.models import (
    Application,
    Call,
    CofinancingRule,
    CommitteeMember,
    CommitteeSession,
    Criterion,
    DocumentRequirement,
    EligibilityItem,
    Envelope,
    Expert,
    ExpertConflict,
    Funder,
    Organisation,
    OrganisationStatus,
    Track,
    Unavailability,
    User,
)

# --- reference data --------------------------------------------------------------------------


def seed_funders(refs: Refs) -> None:
    for code, name in d.FUNDERS:
        refs.funders[code] = upsert(Funder, {"code": code}, {"name": name})


def seed_organisations(refs: Refs) -> None:
    for row in d.ORGANISATIONS:
        siren, name, kind, region, department, population, member, postcode, city = row
        pending = siren in d.PENDING_ORGANISATIONS
        status = OrganisationStatus.PENDING if pending else OrganisationStatus.ACTIVE
        refs.organisations[siren] = upsert(
            Organisation,
            {"siren": siren},
            {
                "name": name,
                "kind": kind,
                "region": region,
                "department_code": department,
                "population": population,
                "is_cuf_member": member,
                "postcode": postcode,
                "city": city,
                "status": status,
            },
        )


def validate_organisations(refs: Refs) -> None:
    """Active organisations were validated by the administrator (who needs the users first)."""
    admin_id = refs.user_id(d.ADMIN)
    for organisation in refs.organisations.values():
        validated = organisation.status is OrganisationStatus.ACTIVE
        assign(
            organisation,
            {
                "validated_at": d.ORGANISATIONS_VALIDATED_AT if validated else None,
                "validated_by_id": admin_id if validated else None,
            },
        )


def seed_experts(refs: Refs) -> None:
    for spec in d.EXPERTS:
        values = {key: value for key, value in spec.items() if key != "name"}
        values["skills"] = [str(theme) for theme in spec["skills"]]
        values["regions"] = [str(region) for region in spec["regions"]]
        values["daily_rate"] = money(spec["daily_rate"])
        values.setdefault("is_active", True)
        refs.experts[spec["name"]] = upsert(Expert, {"name": spec["name"]}, values)
    for expert, siren, description, declared_at in d.EXPERT_CONFLICTS:
        upsert(
            ExpertConflict,
            {"expert_id": refs.experts[expert].id, "organisation_id": refs.organisations[siren].id},
            {"description": description, "declared_at": declared_at},
        )
    for expert, starts_on, ends_on, reason in d.UNAVAILABILITIES:
        upsert(
            Unavailability,
            {"expert_id": refs.experts[expert].id, "starts_on": starts_on},
            {"ends_on": ends_on, "reason": reason},
        )


def seed_accounts(refs: Refs) -> None:
    for spec in d.ACCOUNTS:
        organisation = refs.organisations.get(spec.get("organisation"))
        expert = refs.experts.get(spec.get("expert"))
        roles = set(spec["roles"])
        user = find_user(spec["email"])
        if user is None:
            user = create_user(
                spec["email"],
                spec["name"],
                password=d.DEMO_PASSWORD,
                roles=roles,
                organisation=organisation,
                is_signatory=spec.get("signatory", False),
                membership_status=spec.get("membership"),
                expert_id=expert.id if expert else None,
            )
        elif not check_password(user, d.DEMO_PASSWORD):
            set_password(user, d.DEMO_PASSWORD)
        assign(
            user,
            {
                "full_name": spec["name"],
                "job_title": spec["job_title"],
                "organisation_id": organisation.id if organisation else None,
                "membership_status": spec.get("membership"),
                "is_signatory": spec.get("signatory", False),
                "expert_id": expert.id if expert else None,
                "is_enabled": True,
            },
        )
        for role in roles - user.roles:
            user.add_role(role)
        for role in user.roles - roles:
            user.remove_role(role)
        refs.users[spec["email"]] = user
    db.session.flush()


# --- calls -----------------------------------------------------------------------------------


def seed_calls(refs: Refs) -> None:
    for spec in CALLS:
        seed_call(refs, spec)


def seed_call(refs: Refs, spec: dict) -> None:
    code = spec["code"]
    call = upsert(
        Call,
        {"code": code},
        {
            "kind": spec["kind"],
            "edition": spec["edition"],
            "title": spec["title"],
            "summary": spec["summary"],
            "owner_name": spec["owner_name"],
            "is_published": True,
            "opens_at": spec["opens_at"],
            "closes_at": spec["closes_at"],
            "information_session_at": spec["information_session_at"],
            "committee_planned_on": spec["committee_planned_on"],
            "eligible_kinds": spec["eligible_kinds"],
            "members_only": spec["members_only"],
            "min_reviewers": 2,
            "overall_threshold": money(spec["overall_threshold"]),
            "divergence_threshold": Decimal("2"),
            "tie_breaks": spec["tie_breaks"],
            "grid_frozen_at": spec["grid_frozen_at"],
        },
        on_create={
            "created_at": spec["opens_at"] - timedelta(days=21),
            "updated_at": spec["opens_at"] - timedelta(days=21),
        },
    )
    refs.calls[code] = call
    for position, (track_code, name, description, countries, departments) in enumerate(
        spec["tracks"], start=1
    ):
        refs.tracks[code, track_code] = upsert(
            Track,
            {"call_id": call.id, "code": track_code},
            {
                "name": name,
                "description": description,
                "position": position,
                "eligible_countries": countries,
                "eligible_departments": departments,
                "eligible_kinds": [],
            },
        )
    for position, (doc_code, label, description, required, track) in enumerate(
        spec["documents"], start=1
    ):
        upsert(
            DocumentRequirement,
            {"call_id": call.id, "code": doc_code},
            {
                "label": label,
                "description": description,
                "is_required": required,
                "position": position,
                "track_id": refs.tracks[code, track].id if track else None,
            },
        )
    refs.items[code] = [
        upsert(EligibilityItem, {"call_id": call.id, "position": position}, {"label": label})
        for position, label in enumerate(spec["eligibility"], start=1)
    ]
    refs.criteria[code] = [
        upsert(
            Criterion,
            {"call_id": call.id, "position": position},
            {
                "label": label,
                "guidance": guidance,
                "weight": Decimal(weight),
                "scale_max": Decimal("5"),
                "step": Decimal("0.5"),
                "threshold": money(threshold),
            },
        )
        for position, (label, guidance, weight, threshold) in enumerate(spec["criteria"], start=1)
    ]
    rule = spec["rule"]
    refs.rules[code] = upsert(
        CofinancingRule,
        {"call_id": call.id, "version": 1},
        {
            "effective_from": rule["effective_from"],
            "rates": rule["rates"],
            "cost_base": rule["cost_base"],
            "vat_mode": rule["vat_mode"],
            "vat_rate": Decimal(rule["vat_rate"]),
            "ceiling": money(rule["ceiling"]),
            "min_applicant_share": None,
            "funder_split": rule["funder_split"],
            "advance_percent": Decimal(rule["advance_percent"]),
            "created_at": rule["created_at"],
            "created_by_id": refs.user_id(d.MANAGER),
        },
    )
    for funder, amount in spec["envelopes"].items():
        upsert(
            Envelope,
            {"call_id": call.id, "funder_id": refs.funders[funder].id if funder else None},
            {"amount": Decimal(amount)},
        )


def seed_sessions(refs: Refs) -> None:
    for call_code, title, held_at, location, state, members in SESSIONS:
        session = upsert(
            CommitteeSession,
            {"call_id": refs.calls[call_code].id, "title": title},
            {
                "held_at": held_at,
                "location": location,
                "quorum": 2,
                "created_by_id": refs.user_id(d.MANAGER),
            },
            # Opening and closing a session, and attendance, are the demonstration's to change.
            on_create={"state": state},
        )
        for email, present in members:
            upsert(
                CommitteeMember,
                {"session_id": session.id, "user_id": refs.user_id(email)},
                on_create={"is_present": present},
            )
        refs.sessions[title] = session


def sync_numbering(refs: Refs) -> None:
    """Each call's sequence continues after the highest dossier number in the database."""
    for call in refs.calls.values():
        highest = db.session.scalar(
            sa.select(sa.func.max(Application.number)).where(Application.call_id == call.id)
        )
        assign(call, {"last_number": highest or 0})


# --- entry point -----------------------------------------------------------------------------


class DemoRefused(Exception):
    """The database is not a demonstration database (French message)."""


def seed_demo() -> str:
    """Find or create the demonstration data and return a one-line summary, in French.

    Idempotent: a second run changes nothing. Flushes only; the caller commits. Refuses a
    database that holds accounts but not the demo's (a real database: the demo's accounts share a
    published password).
    """
    has_users = db.session.scalar(sa.select(User.id).limit(1)) is not None
    if has_users and find_user(d.ADMIN) is None:
        raise DemoRefused(
            "Cette base contient des comptes mais pas ceux de la démonstration : les données de "
            "démonstration (dont un administrateur au mot de passe publié) n'y sont pas chargées."
        )
    refs = Refs()
    seed_funders(refs)
    seed_organisations(refs)
    seed_experts(refs)
    seed_accounts(refs)
    validate_organisations(refs)
    seed_calls(refs)
    seed_sessions(refs)
    for spec in DOSSIERS:
        seed_dossier(refs, spec)
    sync_numbering(refs)
    db.session.flush()
    check_alerts()  # the follow-up alerts the demo's missions raise today

    def count(model) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))

    return (
        f"Données de démonstration prêtes : {count(Organisation)} organisations, "
        f"{count(User)} comptes (mot de passe « {d.DEMO_PASSWORD} »), {count(Expert)} experts, "
        f"{count(Call)} appels, {count(Application)} dossiers."
    )

"""The data set's plan, in memory: organisations, people, calls and each dossier's history (its
state, the events that led there with their moments and authors, its reviewers and expert).
``bench.seed.rows`` turns it into rows; everything random is drawn here, from one seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import accumulate

from argon2 import PasswordHasher
from stdnum import luhn

from bench.seed import data as sd
from dcol.models import ApplicationState, CallKind, OrganisationKind
from workflows.paths import shortest_path

S = ApplicationState
DECISIONS = frozenset({"select", "waitlist", "reject"})


@dataclass(slots=True)
class Org:
    id: int
    kind: OrganisationKind
    siren: str
    name: str
    department: str
    region: str
    population: int
    is_member: bool
    signatory_id: int | None = None  # set when it files a dossier
    colleague_id: int | None = None


@dataclass(slots=True)
class CallPlan:
    id: int
    kind: CallKind
    code: str
    edition: int
    owner: str
    department: str | None  # a call for projects' department
    opens_at: datetime
    closes_at: datetime
    committee_at: datetime
    age: str  # a key of data.FUNNEL
    track_ids: list[int] = field(default_factory=list)
    criterion_ids: list[int] = field(default_factory=list)
    rule_id: int = 0
    session_id: int = 0
    dossiers: int = 0


@dataclass(slots=True)
class Step:
    event: str
    from_state: str
    to_state: str
    moment: datetime
    actor_id: int | None
    comment: str = ""


@dataclass(slots=True)
class Dossier:
    id: int
    call: CallPlan
    number: int
    org: Org
    track_id: int
    state: ApplicationState
    created: datetime
    steps: list[Step]
    cost: Decimal
    requested: Decimal
    title: str
    themes: list[str]
    countries: list[str]
    reviewers: list[int] = field(default_factory=list)
    expert_id: int | None = None
    expert_user_id: int | None = None

    def moment(self, event: str) -> datetime | None:
        return next((step.moment for step in self.steps if step.event == event), None)

    @property
    def last_moment(self) -> datetime:
        return self.steps[-1].moment if self.steps else self.created


@dataclass
class Plan:
    seed: int
    scale: float
    orgs: list[Org]
    calls: list[CallPlan]
    dossiers: list[Dossier]
    admin_id: int
    manager_ids: list[int]
    reviewer_ids: list[int]
    committee_ids: list[int]
    expert_user_ids: list[int]  # by expert id - 1
    applicant_user_count: int
    password_hash: str
    expected: dict[str, int] = field(default_factory=dict)

    def rng(self, name: str) -> random.Random:
        """A generator of its own per table: a table's rows do not depend on the others'."""
        return random.Random(f"{self.seed}:{name}")

    @property
    def staff_ids(self) -> list[int]:
        return [self.admin_id, *self.manager_ids, *self.reviewer_ids, *self.committee_ids]


def scaled(name: str, scale: float, floor: int) -> int:
    return max(floor, round(sd.SIZES[name] * scale))


def siren(prefix: str, number: int) -> str:
    base = f"{prefix}{number:06d}"
    return base + luhn.calc_check_digit(base)


def _organisations(rng: random.Random, count: int) -> list[Org]:
    kinds = list(sd.KIND_WEIGHTS)
    weights = list(sd.KIND_WEIGHTS.values())
    counters = dict.fromkeys(kinds, 0)
    orgs = []
    # Each department and region exists once; the other kinds are drawn.
    fixed = [(OrganisationKind.DEPARTMENT, dep) for dep in sd.DEPARTMENTS
             if dep[0] not in sd.OVERSEAS_CODES]
    fixed += [(OrganisationKind.OVERSEAS, dep) for dep in sd.DEPARTMENTS
              if dep[0] in sd.OVERSEAS_CODES]
    regions = {}
    for dep in sd.DEPARTMENTS:
        regions.setdefault(dep[2], dep)
    fixed += [(OrganisationKind.REGION, dep) for dep in regions.values()]
    for index in range(count):
        if index < len(fixed) and count >= 1000:
            kind, (code, dep_name, region) = fixed[index]
        else:
            kind = rng.choices(kinds, weights)[0]
            code, dep_name, region = rng.choice(sd.DEPARTMENTS)
        counters[kind] += 1
        root = f"{rng.choice(sd.NAME_ROOTS)}{rng.choice(sd.NAME_SUFFIXES)}"
        name, population = {
            OrganisationKind.COMMUNE: (f"Commune de {root}", int(rng.lognormvariate(6.8, 1.4))),
            OrganisationKind.INTERCOMMUNALITY: (
                f"Communauté de communes de {root}", int(rng.lognormvariate(10.3, 0.9))),
            OrganisationKind.SYNDICATE: (f"Syndicat mixte de {root}", int(rng.lognormvariate(10, 1))),
            OrganisationKind.DEPARTMENT: (f"Département {dep_name}", rng.randint(70_000, 2_600_000)),
            OrganisationKind.REGION: (f"Région {region}", rng.randint(300_000, 12_000_000)),
            OrganisationKind.OVERSEAS: (f"Collectivité de {dep_name}", rng.randint(80_000, 900_000)),
            OrganisationKind.OTHER: (f"Association {root} Solidarité", rng.randint(0, 5_000)),
        }[kind]
        number = counters[kind]
        orgs.append(Org(
            id=index + 1, kind=kind, siren=siren(sd.SIREN_PREFIX[kind], number),
            name=f"{name} ({code})" if kind is OrganisationKind.COMMUNE else name,
            department=code, region=region, population=population,
            is_member=rng.random() < sd.CUF_MEMBER_SHARE * (3 if population > 20_000 else 1),
        ))
    return orgs


def _calls(rng: random.Random) -> list[CallPlan]:
    calls, dcol_edition, aap_index = [], 3, 0
    for index, (kind, year, month) in enumerate(sd.CALL_PLAN, start=1):
        if kind == "dcol":
            dcol_edition += 1
            opens = sd.paris(year, month, 15, 9)
            closes = opens + timedelta(weeks=7)
            code, owner, department, edition = (f"DCOL{dcol_edition}", "Cités Unies France", None,
                                                dcol_edition)
        else:
            slug, owner, department = sd.AAP_OWNERS[aap_index % len(sd.AAP_OWNERS)]
            aap_index += 1
            opens = sd.paris(year, month, 30, 9)
            closes = sd.paris(year, 5, 1, 23, 59)
            code, edition = f"AAP{year % 100}-{slug}", year
        committee = (closes + timedelta(weeks=10)).replace(hour=14, minute=0)
        if committee > sd.NOW:
            age = "instruction"
        elif committee > sd.NOW - timedelta(days=2 * 365):
            age = "follow_up"
        else:
            age = "archived"
        calls.append(CallPlan(index, CallKind(kind), code, edition, owner, department,
                              opens.astimezone(UTC), closes.astimezone(UTC),
                              committee.astimezone(UTC), age))
    return calls


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.random()


def _trail(rng: random.Random, plan_ids: dict, dossier: Dossier, submitted: datetime) -> None:
    """The steps from the draft to the dossier's state, dated and signed."""
    call = dossier.call
    path = shortest_path(call.kind, dossier.state)
    steps, state, moment, anchor = [], S.DRAFT, submitted, 0
    for index, event in enumerate(path):
        if event.name == "submit":
            moment = submitted
        elif event.name in DECISIONS and call.committee_at > moment:
            moment = call.committee_at + timedelta(minutes=rng.randint(0, 180))
            anchor = index
        else:
            low, high = sd.EVENT_DAYS[event.name]
            moment = moment + timedelta(days=rng.uniform(low, high))
        steps.append(Step(event.name, state.value, event.target.value,
                          moment.replace(microsecond=0), _actor(rng, plan_ids, dossier, event.name)))
        state = event.target
    # Nothing happens after tonight: squeeze what follows the last pinned moment before it.
    limit = sd.NOW.astimezone(UTC) - timedelta(hours=1)
    if steps and steps[-1].moment > limit:
        start = steps[anchor].moment
        span = steps[-1].moment - start
        for step in steps[anchor + 1:]:
            step.moment = (start + (step.moment - start) * ((limit - start) / span)).replace(
                microsecond=0)
    for step in steps:
        if step.event in {"reject", "declare_ineligible"}:
            step.comment = "Décision motivée : critères de l'appel non remplis."
        elif step.event == "withdraw":
            step.comment = "Retrait à la demande de la collectivité."
        elif step.event == "request_changes":
            step.comment = "Merci de joindre la délibération signée."
    dossier.steps = steps


def _actor(rng: random.Random, ids: dict, dossier: Dossier, event: str) -> int | None:
    if event in {"submit", "withdraw"}:
        return dossier.org.signatory_id
    if event in {"declare_eligible", "declare_ineligible", "request_changes"}:
        return rng.choice(ids["reviewers"])
    if event in DECISIONS:
        return rng.choice(ids["committee"])
    if event in {"complete_review", "start"}:
        return None  # dcol itself: the last review, the last signature
    if event in {"accept_mission", "submit_final_report"} and dossier.expert_user_id:
        return dossier.expert_user_id
    if event == "submit_final_report":
        return dossier.org.signatory_id
    return rng.choice(ids["managers"])


def build_plan(*, scale: float = 1.0, seed: int = 1) -> Plan:
    rng = random.Random(seed)
    orgs = _organisations(rng, scaled("organisations", scale, 200))
    calls = _calls(rng)
    expert_count = scaled("experts", scale, 30)
    dossier_count = scaled("dossiers", scale, 400)

    # Staff first (ids 1...), then the experts' users, then the applicants.
    next_user = iter(range(1, 10**9))
    admin_id = next(next_user)
    manager_ids = [next(next_user) for _ in range(sd.MANAGERS)]
    reviewer_ids = [next(next_user) for _ in range(sd.REVIEWERS)]
    committee_ids = [next(next_user) for _ in range(sd.COMMITTEE)]
    expert_user_ids = [next(next_user) for _ in range(expert_count)]
    ids = {"reviewers": reviewer_ids, "committee": committee_ids, "managers": manager_ids}

    # Dossiers per call: more each year (the network grows), the open call the most.
    weights = [(1 + index / 10) * (3 if call.age == "instruction" else 1)
               for index, call in enumerate(calls)]
    per_call = [int(dossier_count * w / sum(weights)) for w in weights]
    per_call[-1] += dossier_count - sum(per_call)

    local = [org for org in orgs if org.kind is not OrganisationKind.OTHER]
    # Cumulative weights: one draw is a bisection, not a pass over 36,000 organisations.
    local_weights = list(accumulate((5 if org.is_member else 1) * (2 if org.population > 10_000 else 1)
                                    for org in local))
    by_department: dict[str, list[Org]] = {}
    for org in local:
        if org.kind in {OrganisationKind.COMMUNE, OrganisationKind.INTERCOMMUNALITY,
                        OrganisationKind.SYNDICATE}:
            by_department.setdefault(org.department, []).append(org)

    dossiers: list[Dossier] = []
    track_id = criterion_id = 0
    for call, count in zip(calls, per_call, strict=True):
        tracks = 3 if call.kind is CallKind.DCOL else 2
        call.track_ids = list(range(track_id + 1, track_id + tracks + 1))
        track_id += tracks
        criteria = 5 if call.kind is CallKind.DCOL else 4
        call.criterion_ids = list(range(criterion_id + 1, criterion_id + criteria + 1))
        criterion_id += criteria
        call.rule_id = call.session_id = call.id
        funnel = {state: share for state, share in sd.FUNNEL[call.age].items()
                  if call.kind is CallKind.DCOL or state not in {S.MATCHING, S.EXPERT_PROPOSED}}
        states = list(funnel)
        # Every state of the call's funnel at least once, then drawn by the funnel's shares.
        drawn = states[:count] + rng.choices(states, list(funnel.values()), k=max(0, count - len(states)))
        candidates = by_department.get(call.department) if call.department else None
        for number, state in enumerate(drawn, start=1):
            org = rng.choice(candidates) if candidates else rng.choices(local, cum_weights=local_weights)[0]
            end = min(call.closes_at, sd.NOW.astimezone(UTC) - timedelta(days=1))
            created = _between(rng, call.opens_at, call.opens_at + (end - call.opens_at) * 0.85)
            if call.kind is CallKind.DCOL:
                cost = Decimal(rng.randint(8, 30) * rng.choice((550, 600, 650, 700, 800, 900)))
                requested = (cost * Decimal("0.8")).quantize(Decimal("0.01"))
            else:
                cost = Decimal(rng.randrange(8_000, 60_000, 100))
                requested = min(cost / 2, Decimal(15_000)).quantize(Decimal("0.01"))
            themes = rng.sample(list(sd.THEMES), rng.randint(1, 3))
            dossier = Dossier(
                id=len(dossiers) + 1, call=call, number=number, org=org,
                track_id=rng.choice(call.track_ids), state=state,
                created=created.replace(microsecond=0), steps=[], cost=cost, requested=requested,
                title=f"{rng.choice(sd.TITLE_VERBS)} {rng.choice(sd.TITLE_OBJECTS)}"[:300],
                themes=themes, countries=rng.sample(sd.COUNTRIES, rng.randint(1, 2)),
            )
            dossiers.append(dossier)
        call.dossiers = count

    # Signatories: one per organisation that filed, a colleague for one in five.
    next_applicant = max(expert_user_ids, default=committee_ids[-1]) + 1
    filed = sorted({dossier.org.id for dossier in dossiers})
    for org_id in filed:
        org = orgs[org_id - 1]
        org.signatory_id = next_applicant
        next_applicant += 1
        if rng.random() < 0.2:
            org.colleague_id = next_applicant
            next_applicant += 1

    # The histories, now that everyone has an id.
    for dossier in dossiers:
        if dossier.state is not S.DRAFT:
            path_events = {event.name for event in shortest_path(dossier.call.kind, dossier.state)}
            if "start_review" in path_events:
                dossier.reviewers = rng.sample(reviewer_ids, rng.choice((4, 5, 5, 6)))
            if "propose_expert" in path_events:
                dossier.expert_id = rng.randint(1, expert_count)
                dossier.expert_user_id = expert_user_ids[dossier.expert_id - 1]
            end = min(dossier.call.closes_at, sd.NOW.astimezone(UTC) - timedelta(days=1))
            submitted = _between(rng, dossier.created, end).replace(microsecond=0)
            _trail(rng, ids, dossier, max(submitted, dossier.created + timedelta(minutes=5)))

    plan = Plan(
        seed=seed, scale=scale, orgs=orgs, calls=calls, dossiers=dossiers, admin_id=admin_id,
        manager_ids=manager_ids, reviewer_ids=reviewer_ids, committee_ids=committee_ids,
        expert_user_ids=expert_user_ids, applicant_user_count=next_applicant - expert_user_ids[0]
        - expert_count, password_hash=PasswordHasher().hash(sd.BENCH_PASSWORD),
    )
    plan.expected = {
        "organisations": len(orgs), "applications": len(dossiers), "experts": expert_count,
        "audit_events": sum(len(d.steps) + 1 for d in dossiers),
        "reviews": sum(len(d.reviewers) for d in dossiers),
    }
    return plan

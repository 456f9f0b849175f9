"""Capitalisation: the closed supports, searched to learn from them, and what CUF opens of them.

CUF's staff search every closed support; collectivités' members and experts only those CUF's
manager has made public (``set_public``, kept in the dossier's audit trail). The search reads what
a support teaches — its summary, its title, its deliverables' titles, its expert, its
organisation — and never an amount: reviewers and collectivités see no money here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from dcol import audit
from dcol.capitalisation import text
from dcol.experts.services import json_contains
from dcol.extensions import db
from dcol.i18n import PARIS
from dcol.models import (
    Application,
    ApplicationState,
    Call,
    Deliverable,
    Expert,
    Mission,
    Organisation,
    Track,
    User,
    utcnow,
)
from dcol.permissions import Action, can
from workflows.engine import Forbidden, InputRefused, NotApplicable

if TYPE_CHECKING:
    from flask_sqlalchemy.pagination import Pagination

PER_PAGE = 20
PUBLISHED, UNPUBLISHED = "capitalisation.published", "capitalisation.unpublished"


def visible_supports(user: User | None) -> sa.ColumnElement[bool]:
    """A SQL condition on ``Application`` matching exactly the supports
    ``can(user, Action.CAPITALISATION_VIEW, application)`` allows: closed ones, all of them for
    CUF's staff, the public ones for collectivités' members and experts, none for anyone else."""
    if not can(user, Action.CAPITALISATION_SEARCH):
        return sa.false()
    closed = Application.state == ApplicationState.CLOSED
    return closed if user.is_staff else sa.and_(closed, Application.is_public.is_(True))


@dataclass(frozen=True)
class SearchFilters:
    """What the search is narrowed to (None: no filter)."""

    theme: str | None = None  # a Theme value
    country: str | None = None  # ISO 3166-1 alpha-2
    dimension: str | None = None  # a track's code ("strategy", "project", "climate"...)
    expert_id: int | None = None
    year: int | None = None  # the year the call opened (Paris time)


@dataclass(frozen=True)
class Support:
    """A closed support as the capitalisation shows it: the dossier, its mission (with the
    expert) and the mission's deliverables, in the order they were deposited."""

    application: Application
    mission: Mission | None
    deliverables: list[Deliverable] = field(default_factory=list)

    @property
    def expert(self) -> Expert | None:
        return self.mission.expert if self.mission is not None else None


@dataclass(frozen=True)
class SearchResults:
    page: Pagination  # of Application
    supports: list[Support]


@dataclass(frozen=True)
class Facets:
    """The values the filters offer: those found among the supports the user may see."""

    themes: list[str]
    countries: list[str]
    dimensions: list[tuple[str, str]]  # (track code, its name)
    experts: list[tuple[int, str]]  # (id, name), by name
    years: list[int]  # newest first


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    """The first instants of ``year`` and of the next one, in Paris."""
    return (datetime(year, 1, 1, tzinfo=PARIS), datetime(year + 1, 1, 1, tzinfo=PARIS))


def _matches_text(word: str) -> sa.ColumnElement[bool]:
    """The support's texts contain ``word`` (see ``dcol.capitalisation.text``)."""
    searched = (Application.title + " " + Application.summary + " "
                + sa.func.coalesce(Mission.summary, "") + " " + Organisation.name + " "
                + sa.func.coalesce(Expert.name, ""))
    in_deliverables = (
        sa.select(Mission.application_id)
        .join(Deliverable, Deliverable.mission_id == Mission.id)
        .where(text.contains(Deliverable.title, word))
        .correlate(None)  # its own missions, not the outer query's
    )
    return sa.or_(text.contains(searched, word), Application.id.in_(in_deliverables))


def _filtered(query: sa.Select, filters: SearchFilters) -> sa.Select:
    if filters.theme:
        query = query.where(json_contains(Application.themes, filters.theme))
    if filters.country:
        query = query.where(json_contains(Application.countries, filters.country))
    if filters.dimension:
        query = query.where(Track.code == filters.dimension)
    if filters.expert_id is not None:
        query = query.where(Mission.expert_id == filters.expert_id)
    if filters.year is not None:
        starts, ends = _year_bounds(filters.year)
        query = query.where(Call.opens_at >= starts, Call.opens_at < ends)
    return query


def _base(user: User) -> sa.Select:
    """The supports ``user`` may see, joined to what the search and the filters read."""
    return (
        sa.select(Application)
        .join(Application.organisation)
        .join(Application.call)
        .outerjoin(Application.track)
        .outerjoin(Mission, Mission.application_id == Application.id)
        .outerjoin(Expert, Expert.id == Mission.expert_id)
        .where(visible_supports(user))
    )


def _supports(applications: list[Application]) -> list[Support]:
    """Each dossier with its mission, expert and deliverables (two queries for them all)."""
    if not applications:
        return []
    missions = {
        mission.application_id: mission
        for mission in db.session.scalars(
            sa.select(Mission)
            .options(joinedload(Mission.expert), selectinload(Mission.deliverables))
            .where(Mission.application_id.in_([a.id for a in applications]))
        )
    }
    supports = []
    for application in applications:
        mission = missions.get(application.id)
        supports.append(Support(application, mission,
                                list(mission.deliverables) if mission is not None else []))
    return supports


def search(user: User, query_text: str | None, filters: SearchFilters, page: int = 1,
           per_page: int = PER_PAGE) -> SearchResults:
    """The closed supports ``user`` may see whose texts hold every word of ``query_text``
    (whatever the case and the accents: in the title, the dossier's or the mission's summary,
    the organisation's or the expert's name, a deliverable's title) and that pass ``filters``,
    most recently closed first, a page at a time. Four queries whatever the page holds."""
    query = _filtered(_base(user), filters)
    for word in text.words(query_text):
        query = query.where(_matches_text(word))
    query = query.options(
        contains_eager(Application.organisation), contains_eager(Application.call),
        contains_eager(Application.track),
    ).order_by(Application.closed_at.desc().nulls_last(), Application.id.desc())
    result = db.paginate(query, page=page, per_page=per_page, error_out=False)
    return SearchResults(result, _supports(list(result.items)))


def facets(user: User) -> Facets:
    """The themes, countries, dimensions, experts and call years of the supports ``user`` may
    see (one query)."""
    rows = db.session.execute(
        _base(user).with_only_columns(
            Application.themes, Application.countries, Track.code, Track.name, Call.opens_at,
            Expert.id, Expert.name,
        )
    ).all()
    dimensions: dict[str, str] = {}
    experts: dict[int, str] = {}
    themes, countries, years = set(), set(), set()
    for row_themes, row_countries, code, name, opens_at, expert_id, expert_name in rows:
        themes.update(row_themes or [])
        countries.update(row_countries or [])
        years.add(opens_at.astimezone(PARIS).year)
        if code is not None:
            dimensions.setdefault(code, name)
        if expert_id is not None:
            experts[expert_id] = expert_name
    return Facets(
        themes=sorted(themes),
        countries=sorted(countries),
        dimensions=sorted(dimensions.items(), key=lambda item: text.folded(item[1])),
        experts=sorted(experts.items(), key=lambda item: (text.folded(item[1]), item[0])),
        years=sorted(years, reverse=True),
    )


def support_of(application: Application) -> Support:
    """The support's mission, expert, deliverables and their files (three queries)."""
    mission = db.session.scalar(
        sa.select(Mission)
        .options(joinedload(Mission.expert),
                 selectinload(Mission.deliverables).selectinload(Deliverable.files))
        .where(Mission.application_id == application.id)
    )
    return Support(application, mission, list(mission.deliverables) if mission else [])


def set_public(application: Application, actor: User, is_public: bool, reason: str,
               now: datetime | None = None) -> None:
    """Open the closed support to the collectivités' and experts' search (``is_public``) or
    close it again, with the reason kept in the dossier's audit trail. CUF's managers only
    (``Forbidden``); the reason is required (``InputRefused``); a support already so is left as
    it is (``NotApplicable``). Flushes; the caller commits."""
    if not can(actor, Action.APP_PUBLISH, application):
        raise Forbidden(_("Seul un chargé de mission ouvre un accompagnement clôturé à la "
                          "capitalisation."))
    reason = (reason or "").strip()
    if not reason:
        message = _("Indiquez pourquoi.")
        raise InputRefused(message, {"reason": message})
    if application.is_public is is_public:
        raise NotApplicable(_("Cet accompagnement est déjà public.") if is_public
                            else _("Cet accompagnement n'est déjà pas public."))
    application.is_public = is_public
    db.session.flush()
    audit.record(application_id=application.id, actor=actor, occurred_at=now or utcnow(),
                 event=PUBLISHED if is_public else UNPUBLISHED, comment=reason,
                 payload={"is_public": is_public})


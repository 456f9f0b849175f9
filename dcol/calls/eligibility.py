"""Who may apply to a call, and where: the rules behind the pre-check and the ``submit`` guard."""

from __future__ import annotations

from flask_babel import gettext as _

from dcol.i18n import country_name
from dcol.models import Call, Organisation, Track


def allowed_kinds(call: Call, track: Track | None) -> set[str]:
    kinds = set(call.eligible_kinds or [])
    if track is not None and track.eligible_kinds:
        kinds = kinds & set(track.eligible_kinds) if kinds else set(track.eligible_kinds)
    return kinds


def eligibility_problems(
    call: Call,
    organisation: Organisation,
    track: Track | None,
    countries: list[str],
    departments: list[str],
) -> list[str]:
    """Why the organisation may not apply to this call and track for these places (French);
    empty when it may."""
    problems = []
    if not organisation.is_active:
        problems.append(_("L'organisation n'a pas encore été validée par Cités Unies France."))
    kinds = allowed_kinds(call, track)
    if kinds and organisation.kind.value not in kinds:
        problems.append(
            _("Les organisations de type « %(kind)s » ne sont pas éligibles à cet appel.",
              kind=organisation.kind.label)
        )
    if call.members_only and not organisation.is_cuf_member:
        problems.append(_("Cet appel est réservé aux adhérents de Cités Unies France."))
    if track is None:
        if call.tracks:
            problems.append(_("Choisissez un volet."))
        return problems
    allowed = set(track.eligible_countries or [])
    outside = [code for code in countries if allowed and code not in allowed]
    if outside:
        problems.append(
            _(
                "Le volet « %(track)s » ne couvre pas : %(places)s.",
                track=track.name,
                places=", ".join(country_name(code) for code in outside),
            )
        )
    eligible_departments = set(track.eligible_departments or [])
    if eligible_departments and "FR" in countries:
        wrong = [code for code in departments if code not in eligible_departments]
        if wrong or not departments:
            problems.append(
                _(
                    "En France, le volet « %(track)s » ne concerne que le(s) département(s) "
                    "%(codes)s.",
                    track=track.name,
                    codes=", ".join(sorted(eligible_departments)),
                )
            )
    return problems

"""The staff dossier list's orders and page sizes (``/dossiers/?tri=-depot&par_page=25``), the
same orders in the API (``sort=-submitted_at``) and in the list's export: each key both ways on
real rows, the id breaking ties in the same direction, what happens to unknown values, and the
links that keep the filters, the order and the page size."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from urllib.parse import parse_qs

import pytest

from dcol.accounts.services import create_api_token
from dcol.extensions import db
from dcol.models import ApplicationState, Role
from tests import factories as f

S = ApplicationState
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ATTRIBUTES = {"maj": "updated_at", "reference": "reference", "depot": "submitted_at",
              "montant": "requested_amount"}


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


def shown_ids(body: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td><a href="/dossiers/(\d+)">', body)]


def expected_ids(dossiers, name: str, descending: bool) -> list[int]:
    """The promised order: the id breaks ties in the same direction; never deposited last both
    ways; no amount counts as the smallest."""
    attribute = ATTRIBUTES[name]
    present = [d for d in dossiers if getattr(d, attribute) is not None]
    missing = [d for d in dossiers if getattr(d, attribute) is None]
    present.sort(key=lambda d: (getattr(d, attribute), d.id), reverse=descending)
    missing.sort(key=lambda d: d.id, reverse=descending)
    ordered = missing + present if name == "montant" and not descending else present + missing
    return [d.id for d in ordered]


@pytest.fixture
def world(app):
    """Six dossiers of one call whose dates and amounts cross, with ties (two deposits at the
    same moment, two equal amounts), a draft never deposited and one without an amount; a
    dossier of another call; a manager."""
    call, other_call = f.make_call(title="Appel DCOL 12"), f.make_call(title="Appel AAP 3")
    organisation = f.make_organisation("Ville de Lyon")
    rows = [  # state, updated (hours after T0), deposited (hours), amount
        (S.SUBMITTED, 5, 1, D("8000.00")),
        (S.DRAFT, 9, None, D("500.00")),
        (S.UNDER_REVIEW, 1, 3, D("8000.00")),
        (S.SUBMITTED, 7, 3, None),
        (S.REJECTED, 3, 0, D("120000.00")),
        (S.SUBMITTED, 2, 6, D("45.50")),
    ]
    dossiers = []
    for state, _updated, deposited, amount in rows:
        dossiers.append(f.make_application(
            call, organisation, state, requested_amount=amount,
            submitted_at=None if deposited is None else T0 + timedelta(hours=deposited)))
    # The references follow creation; shuffle them so that no order follows another.
    for dossier, number in zip(dossiers, (4, 2, 6, 1, 5, 3), strict=True):
        dossier.reference = f"{call.code}-R{number:02d}"
    db.session.flush()
    for dossier, (_state, updated, _deposited, _amount) in zip(dossiers, rows, strict=True):
        dossier.updated_at = T0 + timedelta(hours=updated)
    elsewhere = f.make_application(other_call, organisation, S.SUBMITTED,
                                   submitted_at=T0, requested_amount=D("1.00"))
    manager = f.make_user(Role.MANAGER)
    db.session.commit()
    return {"call": call, "dossiers": dossiers, "elsewhere": elsewhere, "manager": manager}


ORDERS = [(name, descending) for name in ATTRIBUTES for descending in (False, True)]


def tri(name: str, descending: bool) -> str:
    return ("-" if descending else "") + name


@pytest.mark.parametrize(("name", "descending"), ORDERS)
def test_the_list_sorts_by_each_key_both_ways(client, world, name, descending):
    login(client, world["manager"])
    body = client.get(f"/dossiers/?appel={world['call'].id}&tri={tri(name, descending)}"
                      ).get_data(as_text=True)
    assert shown_ids(body) == expected_ids(world["dossiers"], name, descending)
    # The sorted column says so to assistive technologies, and only it.
    assert body.count("aria-sort=") == 1
    assert f'aria-sort="{"descending" if descending else "ascending"}"' in body


def test_the_default_order_is_the_last_updated_first(client, world):
    login(client, world["manager"])
    for query in ("", "&tri=-maj", "&tri=nimporte", "&tri=--depot", "&tri="):
        body = client.get(f"/dossiers/?appel={world['call'].id}{query}").get_data(as_text=True)
        assert shown_ids(body) == expected_ids(world["dossiers"], "maj", True), query


@pytest.mark.parametrize(("name", "descending"), ORDERS)
def test_the_api_sorts_the_same_way(app, world, name, descending):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {create_api_token(world['manager'], 'tests')}"}
    db.session.commit()
    column = ("-" if descending else "") + ATTRIBUTES[name]
    response = client.get(f"/api/v1/applications?call_id={world['call'].id}&sort={column}",
                          headers=headers)
    assert response.status_code == 200
    assert [item["id"] for item in response.json["items"]] == expected_ids(
        world["dossiers"], name, descending)


@pytest.mark.parametrize("value", ["depot", "-montant", "title", "submitted_at desc", ""])
def test_the_api_refuses_an_unknown_sort(app, world, value):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {create_api_token(world['manager'], 'tests')}"}
    db.session.commit()
    response = client.get(f"/api/v1/applications?sort={value}", headers=headers)
    assert response.status_code == 422
    assert "sort" in response.get_data(as_text=True)


def test_the_api_sort_is_documented(client):
    spec = client.get("/api/v1/openapi.json").json
    parameters = spec["paths"]["/api/v1/applications"]["get"]["parameters"]
    sort = next(p for p in parameters if p["name"] == "sort")
    assert "-submitted_at" in sort["schema"]["enum"] and sort["schema"]["default"] == "-updated_at"


def test_the_sort_links_keep_the_filters_and_the_page_size(client, world):
    login(client, world["manager"])
    call_id = world["call"].id
    body = client.get(f"/dossiers/?appel={call_id}&etat=submitted&par_page=25&tri=montant"
                      ).get_data(as_text=True)
    filters = f"appel={call_id}&amp;etat=submitted"
    # The sorted column reverses its order; the others start with their natural one.
    assert f'href="/dossiers/?{filters}&amp;tri=-montant&amp;par_page=25"' in body
    assert f'href="/dossiers/?{filters}&amp;tri=reference&amp;par_page=25"' in body
    assert f'href="/dossiers/?{filters}&amp;tri=-depot&amp;par_page=25"' in body
    assert f'href="/dossiers/?{filters}&amp;tri=-maj&amp;par_page=25"' in body
    # The filter form keeps the order; the exports follow it.
    assert '<input type="hidden" name="tri" value="montant">' in body
    assert f"/dossiers/export.csv?{filters}&amp;tri=montant" in body
    assert f"/dossiers/export.xlsx?{filters}&amp;tri=montant" in body


def test_the_export_follows_the_list_s_order(client, world):
    login(client, world["manager"])
    call_id = world["call"].id
    by_id = {d.id: d.reference for d in world["dossiers"]}
    for name, descending in (("depot", False), ("montant", True), ("reference", True)):
        response = client.get(f"/dossiers/export.csv?appel={call_id}&tri={tri(name, descending)}")
        text = response.get_data().decode("utf-8")[1:]  # after Excel's BOM
        references = [row["Référence"] for row in csv.DictReader(io.StringIO(text),
                                                                 delimiter=";")]
        assert references == [by_id[i] for i in expected_ids(world["dossiers"], name, descending)]


@pytest.fixture
def crowded(app, world):
    """70 more dossiers in the call, deposited one a minute."""
    organisation = world["dossiers"][0].organisation
    for minute in range(70):
        f.make_application(world["call"], organisation, S.SUBMITTED,
                           submitted_at=T0 - timedelta(minutes=minute + 1),
                           requested_amount=D(100 + minute))
    db.session.commit()
    return world


@pytest.mark.parametrize(("asked", "shown"), [
    ("", 50), ("25", 25), ("50", 50), ("100", 76), ("10", 50), ("1000", 50), ("abc", 50)])
def test_the_page_size_is_one_of_three(client, crowded, asked, shown):
    login(client, crowded["manager"])
    body = client.get(f"/dossiers/?appel={crowded['call'].id}&par_page={asked}"
                      ).get_data(as_text=True)
    assert len(shown_ids(body)) == shown
    selected = re.search(r'<option value="(\d+)" selected>', body.split('id="par_page"')[1])
    assert selected and int(selected.group(1)) == (shown if shown != 76 else 100)


def test_the_pages_of_a_sorted_list_follow_each_other(client, crowded):
    """The pager keeps the filters, the order and the page size; the pages neither overlap nor
    skip a dossier (the id breaks the ties of equal deposits)."""
    login(client, crowded["manager"])
    call_id = crowded["call"].id
    url = f"/dossiers/?appel={call_id}&etat=submitted&tri=-depot&par_page=25"
    seen = []
    for number in (1, 2, 3):
        body = client.get(f"{url}&page={number}").get_data(as_text=True)
        seen += shown_ids(body)
        if number < 3:
            following = re.search(r'href="/dossiers/\?([^"]+)" rel="next"', body).group(1)
            assert parse_qs(following.replace("&amp;", "&")) == {
                "page": [str(number + 1)], "appel": [str(call_id)], "etat": ["submitted"],
                "tri": ["-depot"], "par_page": ["25"]}
    submitted = [d for d in crowded["dossiers"] if d.state is S.SUBMITTED]
    assert len(seen) == len(set(seen)) == 70 + len(submitted)
    assert seen[:len(submitted)] == expected_ids(submitted, "depot", True)


@pytest.mark.parametrize(("name", "descending"), ORDERS)
def test_a_collectivite_sees_only_its_own_dossiers_in_every_order(client, world, name,
                                                                  descending):
    """Sorting never widens what a user sees: another collectivité's dossiers stay out, on the
    page, through the API and with any page size."""
    neighbour = f.make_organisation("Ville de Grenoble")
    own = f.make_application(world["call"], neighbour, S.SUBMITTED, submitted_at=T0,
                             requested_amount=D("999999.00"))
    member = f.make_user(Role.APPLICANT, organisation=neighbour)
    db.session.commit()
    login(client, member)
    body = client.get(f"/dossiers/?tri={tri(name, descending)}&par_page=100"
                      ).get_data(as_text=True)
    assert shown_ids(body) == [own.id]
    api = client.get(f"/api/v1/applications?sort={'-' if descending else ''}"
                     f"{ATTRIBUTES[name]}&per_page=100",
                     headers={"Authorization": f"Bearer {create_api_token(member, 'tests')}"})
    assert [item["id"] for item in api.json["items"]] == [own.id]

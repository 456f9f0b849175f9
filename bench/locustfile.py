"""Load test of issue 9: collectivités, reviewers and experts browsing dcol together.

Run through ``python -m bench.load`` (which starts gunicorn, picks the accounts in the data and
reports p95 and errors); by hand:

    BENCH_ACCOUNTS=accounts.json .venv/bin/locust -f bench/locustfile.py --headless \\
        -u 50 -r 10 -t 2m --host http://127.0.0.1:8000

``BENCH_ACCOUNTS`` is a JSON file ``{"applicant": [emails], "reviewer": [...], "expert": [...],
"password": "..."}``. Each simulated user signs in once with its own account (CSRF token read
from the form), then follows the paths its role takes, with 1–3 s of thinking between pages:

- a collectivité: home, its dossiers, one of them, its messages;
- a reviewer: its reviews, one review's form, the dossier reviewed (when the form links it);
- an expert: its missions, one mission's follow-up page, the dossier.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re

from locust import HttpUser, between, task

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
DOSSIER = re.compile(r'href="/dossiers/(\d+)"')
REVIEW = re.compile(r'href="/dossiers/(\d+)/evaluation"')
FOLLOW_UP = re.compile(r'href="/dossiers/(\d+)/suivi"')

with open(os.environ["BENCH_ACCOUNTS"]) as handle:
    ACCOUNTS = json.load(handle)
# Each simulated user takes the next account of its role (round robin).
_NEXT = {role: itertools.cycle(ACCOUNTS[role]) for role in ("applicant", "reviewer", "expert")}


class Member(HttpUser):
    abstract = True
    role = ""
    wait_time = between(1, 3)

    def on_start(self):
        self.email = next(_NEXT[self.role])
        page = self.client.get("/connexion", name="/connexion")
        token = CSRF.search(page.text)
        data = {"email": self.email, "password": ACCOUNTS["password"]}
        if token:
            data["csrf_token"] = token[1]
        with self.client.post("/connexion", data=data, name="/connexion [POST]",
                              allow_redirects=False, catch_response=True) as response:
            if response.status_code != 302:
                response.failure(f"sign-in refused for {self.email}: {response.status_code}")

    def pick(self, pattern: re.Pattern, text: str) -> str | None:
        found = pattern.findall(text)
        return random.choice(found) if found else None


class Collectivite(Member):
    role = "applicant"
    weight = 3

    @task(1)
    def home(self):
        self.client.get("/", name="/")

    @task(3)
    def dossiers(self):
        page = self.client.get("/dossiers/", name="/dossiers/")
        dossier = self.pick(DOSSIER, page.text)
        if dossier:
            self.client.get(f"/dossiers/{dossier}", name="/dossiers/[id]")
            self.client.get(f"/dossiers/{dossier}/messages", name="/dossiers/[id]/messages")


class Reviewer(Member):
    role = "reviewer"
    weight = 2

    @task
    def review(self):
        page = self.client.get("/evaluations", name="/evaluations")
        dossier = self.pick(REVIEW, page.text)
        if dossier:
            form = self.client.get(f"/dossiers/{dossier}/evaluation",
                                   name="/dossiers/[id]/evaluation")
            # The dossier itself, when the review form links to it (not after a conflict).
            if f'href="/dossiers/{dossier}"' in form.text:
                self.client.get(f"/dossiers/{dossier}", name="/dossiers/[id]")


class Expert(Member):
    role = "expert"
    weight = 1

    @task
    def missions(self):
        page = self.client.get("/missions", name="/missions")
        dossier = self.pick(FOLLOW_UP, page.text) or self.pick(DOSSIER, page.text)
        if dossier:
            self.client.get(f"/dossiers/{dossier}/suivi", name="/dossiers/[id]/suivi")
            self.client.get(f"/dossiers/{dossier}", name="/dossiers/[id]")

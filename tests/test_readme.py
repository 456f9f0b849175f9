"""The README's run command serves the app on SQLite with the demo data."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_gives_the_two_commands():
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    assert blocks[0].strip() == "make run"
    assert blocks[1].strip() == "make test"
    assert "dcol-demo-2026" in README


def test_readme_lists_the_demo_accounts_of_the_code():
    from dcol.demo import DEMO_ACCOUNTS

    for _, email, full_name in DEMO_ACCOUNTS:
        assert f"`{email}` | {full_name}" in README


def test_readme_api_table_names_real_endpoints(client):
    """Each path of the README's API table is in the OpenAPI document (and the reverse)."""
    section = README.split("## JSON API", 1)[1].split("\n## ", 1)[0]
    written = {
        re.sub(r"\{[^}]+\}", "{}", path)
        for row in re.findall(r"^\| (`.*?) \|", section, re.M)
        for path in re.findall(r"`(?:[A-Z]+ )?(/[^`]*)`", row)
    }
    documented = {re.sub(r"\{[^}]+\}", "{}", p.removeprefix("/api/v1"))
                  for p in client.get("/api/v1/openapi.json").json["paths"]}
    assert written == documented


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(not (ROOT / ".venv" / ".installed").exists(),
                    reason="the project is not installed with `make` here")
def test_make_run_serves_the_demo(tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
           "SECRET_KEY": "readme-test", "MAIL_BACKEND": "console"}
    env.pop("TEST_DATABASE_URL", None)
    server = subprocess.Popen(["make", "--no-print-directory", "run", f"PORT={port}"], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/connexion", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "the app did not start"
                time.sleep(0.5)
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        login_page = opener.open(f"{base}/connexion").read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
        data = urllib.parse.urlencode({"csrf_token": token, "email": "chargee-dcol@demo.dcol.fr",
                                       "password": "dcol-demo-2026"}).encode()
        home = opener.open(f"{base}/connexion", data=data).read().decode()
        assert "Bonjour Sophie Laurent" in home
        dossiers = opener.open(f"{base}/dossiers/").read().decode()
        assert "DCOL13-0001" in dossiers
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)

"""Browser tests: the real app served over HTTP in a background thread, driven by Debian's
Chromium through Playwright, on the same test database as the rest of the suite."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from dcol import create_app
from dcol.extensions import db, limiter
from tests.conftest import empty_database, make_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Short enough that a broken page fails fast, long enough for a loaded CI machine.
TIMEOUT_MS = 10_000


def require_chromium() -> None:
    """Skip without Chromium on a workstation; in CI a missing browser is a failure."""
    if CHROMIUM.exists():
        return
    if "CI" in os.environ:
        pytest.fail(f"{CHROMIUM} is missing: CI must run the browser tests", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium to run browser tests)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Before any fixture: a skipped test must not start a server or seed the database.
    if item.get_closest_marker("browser"):
        require_chromium()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    # Lets the page fixture know whether the test body failed (to keep a screenshot).
    if report.when == "call":
        item.browser_call_failed = report.failed
    return report


@dataclass
class LiveServer:
    app: Flask
    url: str


@pytest.fixture(scope="module")
def live_server(_schema, instance_dir, database_url):
    """The app served on 127.0.0.1 at a free port, as a browser meets it.

    Module-scoped: Flask-Limiter's ``limiter`` is a single object that every ``create_app``
    re-initialises, so the server lives only while its module's tests run.
    """
    config = make_config(
        instance_dir,
        database_url,
        WTF_CSRF_ENABLED=True,  # real browsers post the token
        MAIL_BACKEND="console",
        SERVER_NAME=None,  # URLs follow the Host header (127.0.0.1:<port>)
    )
    app = create_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def demo_data(live_server):
    """The demonstration data, committed so the server's threads see it; emptied afterwards
    because every other test expects an empty database."""
    from dcol.demo import seed_demo

    with live_server.app.app_context():
        seed_demo()
        db.session.commit()
        db.session.remove()
    try:
        yield
    finally:
        with live_server.app.app_context():
            db.session.rollback()
            empty_database()
            db.session.remove()


@pytest.fixture(autouse=True)
def _fresh_login_limits():
    # Every request comes from 127.0.0.1: one test's failed logins must not throttle the next.
    limiter.reset()


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(request, browser, live_server, tmp_path):
    """A page in a fresh context (no cookies), French and in Paris time, at the live server."""
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
        if getattr(request.node, "browser_call_failed", False):
            shot = tmp_path / "failure.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"Screenshot of the failing page: {shot}")
    finally:
        context.close()


@pytest.fixture
def new_page(browser, live_server):
    """Opens more pages, each in a fresh context of its own (another person's browser, with
    its own cookies), set up like ``page``; all are closed after the test."""
    contexts = []

    def open_page():
        context = browser.new_context(
            base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris"
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()

"""dcol: the workflow engine of Cités Unies France's DCOL and call-for-projects schemes."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter

ROOT = Path(__file__).resolve().parent.parent


class DatabaseId(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: dict | None = None) -> Flask:
    """Build the application; ``config`` overrides every other source of settings.

    dcol runs from its source tree (installed with ``pip install -e``): templates, migrations and
    translations are read from there. The instance folder (configuration, secret key, SQLite file,
    uploads) is ``instance/`` beside them, or ``DCOL_INSTANCE_PATH``.
    """
    if not (ROOT / "templates").is_dir():
        raise RuntimeError(
            f"dcol's templates are not in {ROOT}: install dcol from its source tree with "
            "'pip install -e .' (see the README, 'Deploying')."
        )
    instance_path = (
        (config or {}).get("INSTANCE_PATH")
        or os.environ.get("DCOL_INSTANCE_PATH")
        or ROOT / "instance"
    )
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    from dcol.config import load_config

    load_config(app, config)
    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy: real client address (login throttling) and scheme (links).
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    # Identifiers in URLs fit the database's integers: anything larger is simply not found.
    app.url_map.converters["int"] = DatabaseId

    from dcol import i18n, mail, security
    from dcol.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    from dcol.migrations_support import render_item

    migrate.init_app(
        app,
        db,
        directory=str(ROOT / "migrations"),
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    mail.init_app(app)
    login_manager.init_app(app)

    from dcol.accounts.views import bp as accounts_bp
    from dcol.applications.views import bp as applications_bp
    from dcol.calls.views import bp as calls_bp
    from dcol.capitalisation.views import bp as capitalisation_bp
    from dcol.committee.views import bp as committee_bp
    from dcol.dashboards.views import bp as dashboards_bp
    from dcol.documents.views import bp as documents_bp
    from dcol.experts.views import bp as experts_bp
    from dcol.exports.views import bp as exports_bp
    from dcol.finance.views import bp as finance_bp
    from dcol.home.views import bp as home_bp
    from dcol.matching.views import bp as matching_bp
    from dcol.messages.views import bp as messages_bp
    from dcol.missions.views import bp as missions_bp
    from dcol.organisations.views import bp as organisations_bp
    from dcol.reviews.views import bp as reviews_bp

    for blueprint in (accounts_bp, home_bp, applications_bp, calls_bp, documents_bp,
                      messages_bp, organisations_bp, reviews_bp, committee_bp, experts_bp,
                      matching_bp, finance_bp, missions_bp, dashboards_bp, exports_bp,
                      capitalisation_bp):
        app.register_blueprint(blueprint)

    from dcol import api

    api.init_app(app)

    from dcol import cli

    cli.init_app(app)

    from dcol import instrumentation

    instrumentation.init_app(app)
    return app

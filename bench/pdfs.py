"""Benchmark of the PDFs (issue 9, point 3): a deposit receipt, an agreement and a closure report,
each built by its real builder, timed warm (median of ``--repeat`` runs after one warm-up).

The inputs are the demonstration's (``dcol.demo.seed_demo`` on a throwaway SQLite database): the
builders' arguments are recorded while the demo writes its documents, then each builder runs
again on them. The demo writes no deposit (its trails are recorded as they would have been): a
complete draft of it is then deposited through the workflow (``submit``), which records the
``Submission`` and issues its receipt. The receipt's builder reads its dossier from the database
(its queries are counted in); the agreement's and the closure report's take plain content. From the repository
root:

    .venv/bin/python -m bench.pdfs --repeat 20
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

TARGET_MS = 100.0


def deposit_a_draft() -> bool:
    """Deposit a draft of the demo as its collectivité would: its required answers and
    documents completed through the dossier's services (``update_application``,
    ``store_upload``), then the workflow's ``submit`` event, whose effects record the
    ``Submission`` and issue its receipt with the real builder. False when no draft can be."""
    import sqlalchemy as sa

    from dcol.extensions import db
    from dcol.models import Application, ApplicationState, User
    from dcol.permissions import Action, can
    from workflows.engine import WorkflowError, fire

    drafts = db.session.scalars(sa.select(Application).where(
        Application.state == ApplicationState.DRAFT).order_by(Application.id)).all()
    for application in drafts:
        signatories = [user for user in db.session.scalars(sa.select(User).where(
            User.organisation_id == application.organisation_id,
            User.is_enabled.is_(True)).order_by(User.id))
            if can(user, Action.APP_SUBMIT, application)]
        for user in signatories:
            try:
                complete(application, user)
                fire(application, "submit", user)  # committed, or rolled back when refused
            except WorkflowError:
                db.session.rollback()
                continue
            return True
    return False


def complete(application, user) -> None:
    """Answer ``application``'s empty required questions (the first choice, or a sentence) and
    upload a one-page PDF for each missing required document, as ``user`` (flushes only)."""
    import io

    from reportlab.pdfgen import canvas
    from werkzeug.datastructures import FileStorage

    from dcol.applications import sections
    from dcol.applications.services import update_application
    from dcol.documents.services import store_upload
    from dcol.models import DocumentKind

    data: dict[str, dict] = {}
    for section, field in sections.missing_fields(application):
        if field.key not in sections.COLUMN_FIELDS:
            data.setdefault(section.key, {})[field.key] = \
                field.choices[0][0] if field.choices else "Complété pour le banc d'essai."
    if data:
        update_application(application, user, {"data": data})
    for requirement in sections.missing_documents(application):
        buffer = io.BytesIO()
        page = canvas.Canvas(buffer)
        page.drawString(72, 720, requirement.label)
        page.save()
        store_upload(application, user, FileStorage(io.BytesIO(buffer.getvalue()),
                                                    filename="piece.pdf"),
                     kind=DocumentKind.APPLICATION, requirement=requirement)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per PDF (default 20)")
    args = parser.parse_args(argv)

    from dcol import create_app
    from dcol.demo import seed_demo
    from dcol.documents import receipts
    from dcol.extensions import db
    from dcol.finance import agreement_pdf
    from dcol.missions import closure_pdf

    folder = Path(tempfile.mkdtemp(prefix="dcol-bench-pdfs-"))
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
                      "INSTANCE_PATH": str(folder), "SECRET_KEY": "bench-not-a-secret"})
    recorded: dict[str, tuple] = {}

    def recording(name, builder):
        def record(*arguments):
            recorded.setdefault(name, arguments)
            return builder(*arguments)
        return record

    builders = {"receipt": receipts.build_receipt_pdf,
                "agreement": agreement_pdf.build_agreement_pdf,
                "closure report": closure_pdf.build_closure_pdf}
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        with (mock.patch.object(receipts, "build_receipt_pdf",
                                recording("receipt", receipts.build_receipt_pdf)),
              mock.patch("dcol.demo.follow_up.build_agreement_pdf",
                         recording("agreement", agreement_pdf.build_agreement_pdf)),
              mock.patch.object(closure_pdf, "build_closure_pdf",
                                recording("closure report", closure_pdf.build_closure_pdf))):
            seed_demo()
        db.session.commit()
        if "receipt" not in recorded:  # the demo records no deposit: make one, as in real life
            with mock.patch.object(receipts, "build_receipt_pdf",
                                   recording("receipt", receipts.build_receipt_pdf)):
                deposit_a_draft()
        print(f"{'PDF':<16}{'pages':>6}{'KiB':>8}{'median ms':>11}{'min ms':>9}{'max ms':>9}"
              f"  target {TARGET_MS:.0f} ms")
        for name, builder in builders.items():
            if name not in recorded:
                print(f"{name:<16} not written by the demo")
                continue
            arguments = recorded[name]
            content = builder(*arguments)  # warm-up: fonts, styles, imports
            times = []
            for _run in range(args.repeat):
                start = time.perf_counter()
                builder(*arguments)
                times.append((time.perf_counter() - start) * 1000)
            pages = content.count(b"/Type /Page\n") or content.count(b"/Type /Page")
            median = statistics.median(times)
            print(f"{name:<16}{pages:>6}{len(content) / 1024:>8.1f}{median:>11.1f}"
                  f"{min(times):>9.1f}{max(times):>9.1f}  "
                  f"{'met' if median < TARGET_MS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

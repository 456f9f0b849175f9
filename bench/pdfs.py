"""Benchmark of the PDFs (issue 9, point 3): a deposit receipt, an agreement and a closure report,
each built by its real builder, timed warm (median of ``--repeat`` runs after one warm-up).

The inputs are the demonstration's (``dcol.demo.seed_demo`` on a throwaway SQLite database): the
builders' arguments are recorded while the demo writes its documents, then each builder runs
again on them. The receipt's builder reads its dossier from the database (its queries are
counted in); the agreement's and the closure report's take plain content. From the repository
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
        if "receipt" not in recorded:  # the demo's deposits may carry no receipt: take the first
            import sqlalchemy as sa

            from dcol.models import Submission

            submission = db.session.scalars(sa.select(Submission).order_by(Submission.id)).first()
            if submission is not None:
                recorded["receipt"] = (submission.application, submission)
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

"""payment refunds: the collectivité's contribution paid beyond its final remainder

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 22:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD = ("expert_advance", "expert_balance", "applicant_contribution", "grant_advance",
       "grant_balance")
NEW = OLD + ("applicant_refund",)


def _kind(values):
    return sa.Enum(*values, name="paymentkind", native_enum=False, create_constraint=True,
                   length=32)


def _change(old, new):
    # Batch mode recreates the table on SQLite (whose CHECK constraints cannot be altered) and
    # alters it in place elsewhere; the enum's named CHECK constraint follows the new values.
    with op.batch_alter_table("payments", recreate="auto") as batch_op:
        batch_op.alter_column("kind", existing_type=_kind(old), type_=_kind(new),
                              existing_nullable=False)


def upgrade():
    _change(OLD, NEW)


def downgrade():
    op.execute("DELETE FROM payments WHERE kind = 'applicant_refund'")
    _change(NEW, OLD)

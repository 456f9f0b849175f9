"""list indexes: the dossier lists' order (newest first), whole or filtered

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 23:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_applications_updated": ["updated_at", "id"],
    "ix_applications_call_updated": ["call_id", "updated_at", "id"],
    "ix_applications_call_state_updated": ["call_id", "state", "updated_at", "id"],
    "ix_applications_state_updated": ["state", "updated_at", "id"],
    "ix_applications_organisation_updated": ["organisation_id", "updated_at", "id"],
}


def upgrade():
    for name, columns in INDEXES.items():
        op.create_index(name, "applications", columns, unique=False)


def downgrade():
    for name in reversed(list(INDEXES)):
        op.drop_index(name, table_name="applications")

"""instruction at scale: a reviewer's assignments in order, and the planner told that a call's
dossiers and their states go together

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 01:00:00

``ix_reviews_reviewer_assigned`` serves ``/evaluations`` (a reviewer's reviews, latest
assignment first, a page at a time). On PostgreSQL, extended statistics on ``applications
(call_id, state)``: without them the planner multiplies the two filters' selectivities as if
they were independent, and for "the call's dossiers in the ranked states" expected ~11,500
dossiers where there are 1,500, then read the whole reviews table instead of its index.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_reviews_reviewer_assigned", "reviews",
                    ["reviewer_id", "assigned_at", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE STATISTICS IF NOT EXISTS st_applications_call_state "
                   "(dependencies, mcv) ON call_id, state FROM applications")
        op.execute("ANALYZE applications")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_applications_call_state")
    op.drop_index("ix_reviews_reviewer_assigned", table_name="reviews")

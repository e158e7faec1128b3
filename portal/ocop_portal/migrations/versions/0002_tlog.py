"""The transparency log: leaves, stored subtree hashes, signed checkpoints, witnesses' sizes (issue 12).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.LargeBinary(32)
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the log's tables."""
    op.create_table(
        "tlog_leaves",
        sa.Column("leaf_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("batch_id", _ID, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("head_id", _ID, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_tlog_leaves_batch", "tlog_leaves", ["batch_id"])
    op.create_table(
        "tlog_nodes",
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("node_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "tlog_checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("signed_at", _TIME, nullable=False),
    )
    op.create_table(
        "tlog_witnesses",
        sa.Column("url", sa.String(512), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop the log's tables."""
    for table in ("tlog_witnesses", "tlog_checkpoints", "tlog_nodes", "tlog_leaves"):
        op.drop_table(table)

"""The first schema: batches, events as signed, lineage, keys, attachments, forks, trust lists, policies, scans.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.LargeBinary(32)
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "batches",
        sa.Column("batch_id", _ID, primary_key=True),
        sa.Column("batch_ref", sa.LargeBinary(8), nullable=False),
        sa.Column("gtin", sa.String(14), nullable=True),
        sa.Column("lot", sa.String(64), nullable=False),
        sa.Column("product_name", sa.Text, nullable=False),
        sa.Column("producer_name", sa.Text, nullable=False),
        sa.Column("producer_province", sa.Text, nullable=True),
        sa.Column("stars", sa.SmallInteger, nullable=True),
        sa.Column("genesis_key_id", _ID, nullable=False),
        sa.Column("head_seq", sa.BigInteger, nullable=False),
        sa.Column("head_id", _ID, nullable=False),
        sa.Column("is_root", sa.Boolean, nullable=False),
        sa.Column("first_published", _TIME, nullable=False),
        sa.Column("last_published", _TIME, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
    )
    op.create_index("ix_batches_gtin_lot", "batches", ["gtin", "lot"])
    op.create_index("ix_batches_ref_lot", "batches", ["batch_ref", "lot"])
    op.create_index("ix_batches_genesis_key", "batches", ["genesis_key_id"])
    op.create_table(
        "events",
        sa.Column("batch_id", _ID, primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", _ID, nullable=False, unique=True),
        sa.Column("key_id", _ID, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "inputs",
        sa.Column("batch_id", _ID, primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("input_batch_id", _ID, primary_key=True),
        sa.Column("input_seq", sa.BigInteger, nullable=False),
        sa.Column("input_head", _ID, nullable=False),
    )
    op.create_index("ix_inputs_input", "inputs", ["input_batch_id"])
    op.create_table(
        "public_keys",
        sa.Column("key_id", _ID, primary_key=True),
        sa.Column("raw", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "attachment_refs",
        sa.Column("batch_id", _ID, primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sha256", _ID, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_attachment_refs_sha256", "attachment_refs", ["sha256"])
    op.create_table(
        "files",
        sa.Column("sha256", _ID, primary_key=True),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("uploaded_at", _TIME, nullable=False),
    )
    op.create_table(
        "forks",
        sa.Column("proof_id", _ID, primary_key=True),
        sa.Column("batch_id", _ID, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("proof", sa.LargeBinary, nullable=False),
        sa.Column("detected_at", _TIME, nullable=False),
    )
    op.create_index("ix_forks_batch", "forks", ["batch_id"])
    op.create_table(
        "trust_lists",
        sa.Column("version", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("object_id", _ID, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("installed_at", _TIME, nullable=False),
    )
    op.create_table(
        "policies",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("version", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("object_id", _ID, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("installed_at", _TIME, nullable=False),
    )
    op.create_table(
        "participants",
        sa.Column("participant_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("admin_code", sa.String(10), nullable=True),
        sa.Column("search_text", sa.Text, nullable=False),
    )
    op.create_table(
        "participant_keys",
        sa.Column("key_id", _ID, primary_key=True),
        sa.Column("participant_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_participant_keys_participant", "participant_keys", ["participant_id"])
    op.create_table(
        "scans",
        sa.Column("link", sa.String(200), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("first_at", _TIME, nullable=False),
        sa.Column("last_at", _TIME, nullable=False),
    )


def downgrade() -> None:
    """Drop every table."""
    for table in (
        "scans",
        "participant_keys",
        "participants",
        "policies",
        "trust_lists",
        "forks",
        "files",
        "attachment_refs",
        "public_keys",
        "inputs",
        "events",
        "batches",
    ):
        op.drop_table(table)

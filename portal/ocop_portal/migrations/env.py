"""Alembic environment: migrations run on the connection the portal hands over (``Database.migrate``)."""

from __future__ import annotations

from alembic import context

from ocop_portal.db import METADATA

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the portal always passes its connection
    raise RuntimeError("run migrations with `ocop serve --migrate-only` (it passes the database connection)")
context.configure(connection=connection, target_metadata=METADATA, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

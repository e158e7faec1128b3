"""Alembic migrations of the portal database (run by ``ocop serve``; ``--migrate-only`` for operators)."""

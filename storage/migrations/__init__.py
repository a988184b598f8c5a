"""Alembic migrations of the storage schema (run programmatically by `storage.init_db`)."""

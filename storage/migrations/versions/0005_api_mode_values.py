"""A run's api mode is stored as the client's `ApiMode` value: direct, extended or policy.

The column was a plain VARCHAR(32) that took any string; it is now read as the client's enum, so this revision
rewrites the modes' other spellings (``Policy``, `` extended ``) to their values. No DDL: the column keeps its
type and length. A value that names no mode is left as it was (no app wrote one: runs were always created
with the mode they ran in). The downgrade has nothing to do: an older app reads these values too.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MODES = ("direct", "extended", "policy")  # client.models.ApiMode values at this revision
runs = sa.table("runs", sa.column("api_mode", sa.String))


def upgrade() -> None:
    canonical = sa.func.lower(sa.func.trim(runs.c.api_mode))
    op.execute(runs.update().where(canonical.in_(MODES), runs.c.api_mode != canonical).values(api_mode=canonical))


def downgrade() -> None:
    pass

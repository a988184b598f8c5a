"""Breaker states are stored as the client's `BreakerState` values: CLOSED, OPEN, HALF_OPEN.

The columns were plain VARCHAR(32) that took any spelling (``closed``, ``half-open``...); they are now read as
the client's enum, so this revision rewrites every spelling of the three states to its value. No DDL: the
columns keep their type and length. A value that names no state is left as it was. The downgrade has nothing to
do: an older app reads the upper-case values too.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATES = ("CLOSED", "OPEN", "HALF_OPEN")  # client.breaker.BreakerState values at this revision
COLUMNS = {"breaker_transitions": ("old_state", "new_state"), "health_samples": ("breaker_state",)}


def upgrade() -> None:
    for table_name, column_names in COLUMNS.items():
        table = sa.table(table_name, *(sa.column(name, sa.String) for name in column_names))
        for name in column_names:
            column = table.c[name]
            canonical = sa.func.upper(sa.func.replace(sa.func.trim(column), "-", "_"))
            op.execute(
                table.update().where(canonical.in_(STATES), column != canonical).values({name: canonical})
            )


def downgrade() -> None:
    pass

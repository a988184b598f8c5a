"""The load driver's one budget: the family B/C faults driving load at the same time share a total rate.

Each fault's load runs over its window at ``load.rate_rps`` (or the executor's default rate). An apply is
refused when its rate, added to the rates of the faults not yet ended or halted whose windows overlap its
own, would exceed the budget; counting every overlapping window is a bound on the peak, never below it.
Family A (policies) drives no load and has no part in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["LoadBudgetExceededError", "LoadWindow", "check_load_budget"]

LoadWindow = tuple[float, float, float]  # (start, end) in epoch seconds, and the rate in req/s


class LoadBudgetExceededError(Exception):
    """An apply whose load would take the load driver past its budget."""

    def __init__(self, *, budget_rps: float, in_use_rps: float, requested_rps: float) -> None:
        self.budget_rps = budget_rps
        self.in_use_rps = in_use_rps
        self.requested_rps = requested_rps
        super().__init__(
            f"the load driver's budget is {budget_rps:g} req/s: {in_use_rps:g} req/s are in use by faults "
            f"overlapping this one, and it asks for {requested_rps:g} req/s more"
        )

    def body(self) -> dict[str, Any]:
        """Return the JSON error body (``details`` names the budget, what is in use and what was asked)."""
        return {
            "error": "load_budget_exceeded",
            "message": str(self),
            "details": {
                "budget_rps": self.budget_rps,
                "in_use_rps": self.in_use_rps,
                "requested_rps": self.requested_rps,
            },
        }


def check_load_budget(budget_rps: float, requested: LoadWindow, others: Iterable[LoadWindow]) -> None:
    """Raise LoadBudgetExceededError if ``requested`` and the ``others`` overlapping it exceed the budget."""
    start_s, end_s, rate_rps = requested
    in_use = sum(rate for begin, end, rate in others if begin < end_s and start_s < end)
    if in_use + rate_rps > budget_rps:
        raise LoadBudgetExceededError(budget_rps=budget_rps, in_use_rps=in_use, requested_rps=rate_rps)

"""A service target of the fault model: a named upstream behind the proxy and the APIs it offers."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ServiceTarget"]


@dataclass(frozen=True)
class ServiceTarget:
    """A named upstream behind the proxy and the APIs it offers."""

    name: str
    upstream: str
    apis: tuple[tuple[str, str], ...] = field(default_factory=tuple)

"""Errors of the embedded executor.

ExecutorError
└── ExecutorStartError   a listener could not bind, or the executor was started twice
"""

from __future__ import annotations

__all__ = ["ExecutorError", "ExecutorStartError"]


class ExecutorError(Exception):
    """Base of the embedded executor's errors."""


class ExecutorStartError(ExecutorError):
    """The executor could not start."""

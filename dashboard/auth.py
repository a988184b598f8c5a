"""The dashboard's login: one shared password (`BOIFI_DASHBOARD_PASSWORD`) or Streamlit's own OIDC login.

Every page calls `require_login()` first. Without a login configured it does nothing (loopback stays
zero-configuration). With one, the page shows only the login form until the session has logged in, then a
"Log out" button in the sidebar. OIDC (`st.login`) is used when `.streamlit/secrets.toml` has an `[auth]`
section; else the password, compared in constant time. After each wrong password the next attempt is refused
until a delay has passed, 1 s doubling to 30 s, counted per browser session and for the whole process.
"""

from __future__ import annotations

import hmac
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

__all__ = [
    "PASSWORD_ENV",
    "PASSWORD_USER",
    "Backoff",
    "current_user",
    "login_method",
    "password_matches",
    "require_login",
]

PASSWORD_ENV = "BOIFI_DASHBOARD_PASSWORD"
PASSWORD_USER = "password"  # who launched a run, for a session logged in with the shared password
FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0
_USER_KEY = "boifi_login_user"
_BACKOFF_KEY = "boifi_login_backoff"

# The clock of the back-off; tests replace it to move time without sleeping.
clock: Callable[[], float] = time.monotonic


def _now() -> float:
    return clock()


class Backoff:
    """Refuse attempts for a growing delay after each failure (1 s, doubling, at most 30 s); reset on success.

    Example::

        backoff = Backoff(clock=time.monotonic)
        if backoff.wait_s() == 0 and not ok(attempt):
            backoff.failed()  # the next attempt is refused for 1 s, then 2 s, 4 s ... 30 s
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = _now,
        first_s: float = FIRST_DELAY_S,
        max_s: float = MAX_DELAY_S,
    ) -> None:
        self._clock = clock
        self._first_s = first_s
        self._max_s = max_s
        self._lock = threading.Lock()
        self._failures = 0
        self._not_before = -math.inf

    def wait_s(self) -> float:
        """Return how long the next attempt must still wait (0: it may be checked now)."""
        with self._lock:
            return max(0.0, self._not_before - self._clock())

    def failed(self) -> None:
        """Count a failed attempt: refuse the next one for the next delay."""
        with self._lock:
            self._failures += 1
            delay = min(self._max_s, self._first_s * 2 ** (self._failures - 1))
            self._not_before = self._clock() + delay

    def succeeded(self) -> None:
        """Forget the failures."""
        with self._lock:
            self._failures = 0
            self._not_before = -math.inf


_process_backoff = Backoff()


def password_matches(given: str, expected: str) -> bool:
    """Compare a password in constant time (for a given length of the expected one)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _auth_section() -> Mapping[str, Any] | None:
    try:
        section = st.secrets.get("auth")
    except Exception:  # no secrets.toml at all (StreamlitSecretNotFoundError), or one that does not parse
        return None
    return section if isinstance(section, Mapping) and section else None


def _password() -> str | None:
    return os.environ.get(PASSWORD_ENV) or None


def login_method() -> str | None:
    """Return "oidc" (an `[auth]` secrets section), "password" (`BOIFI_DASHBOARD_PASSWORD`) or None."""
    if _auth_section() is not None:
        return "oidc"
    if _password() is not None:
        return "password"
    return None


def _oidc_user() -> str | None:
    if not st.user.get("is_logged_in"):
        return None
    for claim in ("email", "name", "sub"):
        value = st.user.get(claim)
        if value:
            return str(value)
    return "oidc"


def current_user() -> str | None:
    """Return who is logged in to this session (the OIDC user's email or name, or "password"), else None."""
    method = login_method()
    if method == "oidc":
        return _oidc_user()
    if method == "password":
        return st.session_state.get(_USER_KEY)
    return None


def _providers(section: Mapping[str, Any]) -> list[str | None]:
    """Return the named providers of an `[auth]` section (`[auth.google]` ...), or [None] for the default."""
    named: list[str | None] = [name for name, value in section.items() if isinstance(value, Mapping)]
    return [None] if "client_id" in section or not named else named


def _oidc_form(section: Mapping[str, Any]) -> None:
    st.title("BOIFI Console")
    for provider in _providers(section):
        label = "Log in" if provider is None else f"Log in with {provider}"
        if st.button(label, type="primary", key=f"boifi_login_{provider or 'default'}"):
            try:
                st.login(provider)
            except Exception as exc:  # e.g. Authlib is not installed: say so, never a traceback
                st.error(f"Could not start the login: {exc}")


def _session_backoff() -> Backoff:
    backoff = st.session_state.get(_BACKOFF_KEY)
    if not isinstance(backoff, Backoff):
        backoff = st.session_state[_BACKOFF_KEY] = Backoff()
    return backoff


def _password_form(expected: str) -> None:
    st.title("BOIFI Console")
    with st.form("boifi_login_form"):
        given = st.text_input("password", type="password", key="boifi_login_password")
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        return
    session = _session_backoff()
    wait_s = max(session.wait_s(), _process_backoff.wait_s())
    if wait_s > 0:
        st.error(f"Too many wrong passwords: try again in {math.ceil(wait_s)} s.")
    elif password_matches(given, expected):
        session.succeeded()
        _process_backoff.succeeded()
        st.session_state[_USER_KEY] = PASSWORD_USER
        st.rerun()
    else:
        session.failed()
        _process_backoff.failed()
        st.error("Wrong password.")


def _logout_button(method: str) -> None:
    if st.sidebar.button("Log out", key="boifi_logout"):
        if method == "oidc":
            st.logout()
        else:
            st.session_state.pop(_USER_KEY, None)
            st.rerun()


def require_login() -> str | None:
    """Show only the login form and stop the page until this session has logged in; return who did.

    Returns None when no login is configured (anyone who can reach the dashboard may use it).
    """
    method = login_method()
    if method is None:
        return None
    user = current_user()
    if user is None:
        section = _auth_section()
        if method == "oidc" and section is not None:
            _oidc_form(section)
        else:
            _password_form(_password() or "")
        st.stop()
        raise RuntimeError("unreachable: st.stop() raises")
    _logout_button(method)
    return user

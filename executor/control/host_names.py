"""Host names of the control API: loopback binds, Host headers and the names a user allows."""

from __future__ import annotations

import ipaddress
import re

__all__ = ["LOOPBACK_NAMES", "is_loopback_host", "normalise_host_name", "split_host_header"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_NAME = re.compile(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?")
_PORT = re.compile(r"[0-9]{1,5}")


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    """Tell whether binding ``host`` reaches only this machine (127.0.0.0/8, ::1 or localhost)."""
    name = host.strip().strip("[]").lower()
    address = _ip(name)
    return name == "localhost" if address is None else address.is_loopback


def normalise_host_name(value: str) -> str:
    """Return ``value`` as a bare lower-case host name or IP; raise ValueError if it is neither."""
    name = value.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if _ip(name) is not None:
        return str(_ip(name))
    if len(name) > 253 or not _NAME.fullmatch(name):
        raise ValueError(f"allowed host {value!r} must be a host name or IP address, without scheme or port")
    return name


def split_host_header(value: str) -> tuple[str, int | None] | None:
    """Split a ``Host`` header into its lower-case name (IPv6 unbracketed) and port; None if malformed."""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if _ip(name) is None:
            return None
        name = str(_ip(name))
    else:
        name, colon, port_text = value.partition(":")
        rest = colon + port_text
    if rest and not (rest.startswith(":") and _PORT.fullmatch(rest[1:])):
        return None
    if not name:
        return None
    return name.lower(), int(rest[1:]) if rest else None

"""Family A policies: decoding, validation and compilation into data-plane rules."""

from __future__ import annotations

import re
from typing import Any

from executor.model.fault_kinds import AbortFault, DelayFault, Fault, FaultAction, PassThrough
from executor.model.patterns import PatternError, compile_pattern
from executor.model.rules import HeaderMatch, MatchKind, RequestMatch, Rule, Selector, StringMatch
from executor.model.wire_syntax import control_char, describe_char, is_token
from executor.spec.gojson import decode_struct, normalise, parse_json
from executor.spec.policyschema import POLICY

__all__ = [
    "POLICY",
    "PolicyInvalidError",
    "compile_policy",
    "decode_policy",
    "policy_status",
    "validate_create_metadata",
    "validate_policy",
    "version_is_newer",
]

_NAME_CHARS = re.compile(r"[A-Za-z0-9_-]")
_NAME_MIN_LENGTH = 3
_NAME_MAX_LENGTH = 63


class PolicyInvalidError(Exception):
    """A decoded policy that fails validation; ``field`` names the offending part."""

    def __init__(self, message: str, *, field: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details if details is not None else {"field": field}


def decode_policy(raw: bytes) -> dict[str, Any]:
    """Decode a request body into the policy as the Go server stores and echoes it."""
    return normalise(decode_struct(parse_json(raw), POLICY), POLICY)


def _matcher_set(matcher: dict[str, Any] | None) -> bool:
    if not matcher:
        return False
    return any(matcher.get(key) for key in ("exact", "prefix", "regex"))


def _check_matcher(matcher: dict[str, Any] | None, field: str, *, allow_tab: bool = False) -> None:
    """Refuse control characters in a matcher's values, and a regex RE2 cannot run."""
    for kind in MatchKind:
        value = (matcher or {}).get(kind.value)
        if not value:
            continue
        char = control_char(value, allow_tab=allow_tab)
        if char is not None:
            raise PolicyInvalidError(
                f"control character {describe_char(char)}", field=f"{field}.{kind.value}"
            )
        if kind is MatchKind.REGEX:
            try:
                compile_pattern(value)
            except PatternError as exc:
                raise PolicyInvalidError(f"invalid regex: {exc}", field=f"{field}.regex") from exc


def _check_selector(selector: dict[str, Any] | None) -> None:
    for key in ("service", "namespace"):
        char = control_char((selector or {}).get(key, ""))
        if char is not None:
            raise PolicyInvalidError(f"control character {describe_char(char)}", field=f"spec.selector.{key}")


def validate_policy(policy: dict[str, Any]) -> None:
    """Raise PolicyInvalidError unless ``policy`` passes the control plane's validation.

    Beyond the real control plane's checks, and as its data plane would need: no control character (CR, LF,
    ...) in a selector or matcher, header names that are HTTP tokens, and regexes RE2 can run in linear time.
    """
    if not policy["metadata"]["name"]:
        raise PolicyInvalidError("policy name is required", field="metadata.name")
    rules = policy["spec"].get("rules") or []
    if not rules:
        raise PolicyInvalidError("policy must have at least one rule", field="spec.rules")
    _check_selector(policy["spec"].get("selector"))
    for index, rule in enumerate(rules):
        where = f"spec.rules[{index}]"
        match = rule["match"]
        headers = match.get("headers") or []
        if not (_matcher_set(match.get("method")) or _matcher_set(match.get("path")) or headers):
            raise PolicyInvalidError("rule needs at least one matcher", field=f"{where}.match")
        _check_matcher(match.get("method"), f"{where}.match.method")
        _check_matcher(match.get("path"), f"{where}.match.path")
        for position, header in enumerate(headers):
            field = f"{where}.match.headers[{position}]"
            if not header["name"]:
                raise PolicyInvalidError("header matcher needs a name", field=f"{field}.name")
            if not is_token(header["name"]):
                raise PolicyInvalidError("header name must be an HTTP token", field=f"{field}.name")
            _check_matcher(header, field, allow_tab=True)
        fault = rule["fault"]
        if not 0 <= fault["percentage"] <= 100:
            raise PolicyInvalidError("percentage must be 0-100", field=f"{where}.fault.percentage")
        for key in ("start_delay_ms", "duration_seconds"):
            if fault.get(key, 0) < 0:
                raise PolicyInvalidError(f"{key} must be >= 0", field=f"{where}.fault.{key}")
        delay_ms = (fault.get("delay") or {}).get("fixed_delay_ms", 0)
        status = (fault.get("abort") or {}).get("httpStatus", 0)
        if delay_ms <= 0 and status <= 0:
            raise PolicyInvalidError("fault needs a delay or an abort", field=f"{where}.fault")
        if delay_ms < 0 or status < 0:
            raise PolicyInvalidError("fault values must be positive", field=f"{where}.fault")


def validate_create_metadata(policy: dict[str, Any]) -> None:
    """Raise PolicyInvalidError for the stricter metadata checks of ``/v1/policies/create``."""
    name = policy["metadata"]["name"]
    if not name:
        raise PolicyInvalidError("policy name is required", field="metadata.name")
    if len(name) < _NAME_MIN_LENGTH:
        details = {"actual_length": len(name), "field": "metadata.name", "min_length": _NAME_MIN_LENGTH}
        raise PolicyInvalidError("policy name too short", field="metadata.name", details=details)
    if len(name) > _NAME_MAX_LENGTH:
        details = {"actual_length": len(name), "field": "metadata.name", "max_length": _NAME_MAX_LENGTH}
        raise PolicyInvalidError("policy name too long", field="metadata.name", details=details)
    for position, char in enumerate(name):
        if not _NAME_CHARS.fullmatch(char):
            details = {
                "allowed_chars": "a-z, A-Z, 0-9, -, _",
                "field": "metadata.name",
                "invalid_char": char,
                "position": position,
            }
            raise PolicyInvalidError(
                "policy name contains invalid characters", field="metadata.name", details=details
            )
    if not policy["metadata"]["version"]:
        raise PolicyInvalidError("policy version is required", field="metadata.version")


def _version_key(version: str) -> tuple[int, ...] | None:
    parts = version.lstrip("v").split(".")
    if not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


def version_is_newer(new: str, old: str) -> bool:
    """Tell whether version ``new`` is greater than ``old`` (semantic order when both parse)."""
    new_key, old_key = _version_key(new), _version_key(old)
    if new_key is not None and old_key is not None:
        return new_key > old_key
    return new > old


def _string_match(matcher: dict[str, Any] | None) -> StringMatch | None:
    if not matcher:
        return None
    for kind in MatchKind:
        if matcher.get(kind.value):
            return StringMatch.of(kind, matcher[kind.value])
    return None


def compile_policy(policy: dict[str, Any]) -> list[Rule]:
    """Turn a valid stored policy into data-plane rules, in order."""
    selector_doc = policy["spec"].get("selector") or {}
    selector = Selector(service=selector_doc.get("service", ""), namespace=selector_doc.get("namespace", ""))
    rules = []
    for rule in policy["spec"]["rules"]:
        match = rule["match"]
        headers = tuple(
            HeaderMatch(name=header["name"].lower(), match=_string_match(header))
            for header in match.get("headers") or []
        )
        fault_doc = rule["fault"]
        delay_ms = (fault_doc.get("delay") or {}).get("fixed_delay_ms", 0)
        status = (fault_doc.get("abort") or {}).get("httpStatus", 0)
        fault: Fault = PassThrough()
        if delay_ms > 0:  # with both set, the real data plane applies only the delay
            fault = DelayFault(delay_ms=delay_ms)
        elif status > 0:
            fault = AbortFault(http_status=status)
        action = FaultAction(
            percentage=fault_doc["percentage"],
            start_delay_ms=fault_doc.get("start_delay_ms", 0),
            fault=fault,
        )
        request_match = RequestMatch(
            method=_string_match(match.get("method")), path=_string_match(match.get("path")), headers=headers
        )
        rules.append(
            Rule(
                source=f"policy:{policy['metadata']['name']}",
                selector=selector,
                match=request_match,
                action=action,
            )
        )
    return rules


def policy_status(policy: dict[str, Any]) -> dict[str, Any]:
    """Build one entry of ``GET /v1/policies/status`` with the real server's quirks."""
    entry: dict[str, Any] = {"name": policy["metadata"]["name"]}
    selector = policy["spec"].get("selector")
    if selector is None:
        entry["namespace"] = "*"
        entry["target_service"] = "*"
    else:
        if selector.get("namespace"):
            entry["namespace"] = selector["namespace"]
        if selector.get("service"):
            entry["target_service"] = selector["service"]
    rules = policy["spec"].get("rules") or []
    kinds = set()
    for rule in rules:
        if rule["fault"].get("abort") is not None:
            kinds.add("abort")
        if rule["fault"].get("delay") is not None:
            kinds.add("delay")
    entry["rules_count"] = len(rules)
    entry["fault_types"] = sorted(kinds)
    entry["active"] = True
    return entry

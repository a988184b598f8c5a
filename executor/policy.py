"""Family A policies: schema, validation and compilation into data-plane rules."""

from __future__ import annotations

import re
from typing import Any

from executor.faults import AbortFault, DelayFault, Fault, FaultAction, PassThrough
from executor.gojson import GoField, GoKind, GoStruct, decode_struct, normalise, parse_json
from executor.rules import HeaderMatch, MatchKind, RequestMatch, Rule, Selector, StringMatch

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

_STRING_MATCHER = GoStruct(
    "StringMatcher",
    (
        GoField("exact", GoKind.STRING),
        GoField("prefix", GoKind.STRING),
        GoField("regex", GoKind.STRING),
    ),
)
_HEADER_MATCHER = GoStruct(
    "HeaderMatcher",
    (
        GoField("name", GoKind.STRING, omitempty=False),
        GoField("exact", GoKind.STRING),
        GoField("prefix", GoKind.STRING),
        GoField("regex", GoKind.STRING),
    ),
)
_MATCH = GoStruct(
    "MatchCondition",
    (
        GoField("method", GoKind.STRUCT, _STRING_MATCHER, pointer=True),
        GoField("path", GoKind.STRUCT, _STRING_MATCHER, pointer=True),
        GoField("headers", GoKind.STRUCT_LIST, _HEADER_MATCHER),
    ),
)
_FAULT = GoStruct(
    "FaultAction",
    (
        GoField("percentage", GoKind.INT, omitempty=False),
        GoField("start_delay_ms", GoKind.INT),
        GoField("duration_seconds", GoKind.INT),
        GoField(
            "delay",
            GoKind.STRUCT,
            GoStruct("DelayAction", (GoField("fixed_delay_ms", GoKind.INT),)),
            pointer=True,
        ),
        GoField(
            "abort",
            GoKind.STRUCT,
            GoStruct("AbortAction", (GoField("httpStatus", GoKind.INT),)),
            pointer=True,
        ),
    ),
)
_RULE = GoStruct(
    "Rule",
    (GoField("match", GoKind.STRUCT, _MATCH, omitempty=False), GoField("fault", GoKind.STRUCT, _FAULT)),
)
_SELECTOR = GoStruct(
    "ServiceSelector", (GoField("service", GoKind.STRING), GoField("namespace", GoKind.STRING))
)
POLICY = GoStruct(
    "FaultInjectionPolicy",
    (
        GoField(
            "metadata",
            GoKind.STRUCT,
            GoStruct(
                "Metadata",
                (
                    GoField("name", GoKind.STRING, omitempty=False),
                    GoField("version", GoKind.STRING, omitempty=False),
                ),
            ),
        ),
        GoField(
            "spec",
            GoKind.STRUCT,
            GoStruct(
                "PolicySpec",
                (
                    GoField("selector", GoKind.STRUCT, _SELECTOR, pointer=True),
                    GoField("rules", GoKind.STRUCT_LIST, _RULE, omitempty=False),
                ),
            ),
        ),
    ),
)

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


def _check_regexes(matcher: dict[str, Any] | None, field: str) -> None:
    if matcher and matcher.get("regex"):
        try:
            re.compile(matcher["regex"])
        except re.error as exc:
            raise PolicyInvalidError(f"invalid regex: {exc}", field=field) from exc


def validate_policy(policy: dict[str, Any]) -> None:
    """Raise PolicyInvalidError unless ``policy`` passes the control plane's validation."""
    if not policy["metadata"]["name"]:
        raise PolicyInvalidError("policy name is required", field="metadata.name")
    rules = policy["spec"].get("rules") or []
    if not rules:
        raise PolicyInvalidError("policy must have at least one rule", field="spec.rules")
    for index, rule in enumerate(rules):
        where = f"spec.rules[{index}]"
        match = rule["match"]
        headers = match.get("headers") or []
        if not (_matcher_set(match.get("method")) or _matcher_set(match.get("path")) or headers):
            raise PolicyInvalidError("rule needs at least one matcher", field=f"{where}.match")
        _check_regexes(match.get("method"), f"{where}.match.method.regex")
        _check_regexes(match.get("path"), f"{where}.match.path.regex")
        for header in headers:
            if not header["name"]:
                raise PolicyInvalidError("header matcher needs a name", field=f"{where}.match.headers")
            _check_regexes(header, f"{where}.match.headers.regex")
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

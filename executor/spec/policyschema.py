"""The policy document as the real control plane's Go structs declare it (field names, kinds, order)."""

from __future__ import annotations

from executor.spec.gojson import GoField, GoKind, GoStruct

__all__ = ["POLICY"]

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

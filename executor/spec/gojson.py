"""Go-compatible JSON decoding and encoding for the policy API.

The real control plane is written in Go: it drops unknown fields, matches keys case-insensitively,
rejects ``50.0`` where it expects an ``int`` and reports type errors in ``encoding/json``'s words.
This module reproduces exactly that much so that family A stays wire-compatible, and, like Go, answers
every odd body with a decode error, never an exception: ``NaN``, numbers no ``int64`` holds, invalid UTF-8
and lone surrogates (read as U+FFFD, as Go reads them), text after the value.

One deliberate difference: Go refuses nesting deeper than 10,000 levels; Python's parser recurses, so this
one refuses more than :data:`MAX_DEPTH` (with Go's words), before parsing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from executor.spec.jsonbody import depth_exceeded

__all__ = [
    "MAX_DEPTH",
    "GoDecodeError",
    "GoField",
    "GoKind",
    "GoStruct",
    "decode_struct",
    "go_marshal",
    "normalise",
    "parse_json",
]


MAX_DEPTH = 500
_INT64 = range(-(2**63), 2**63)
_SURROGATE = re.compile("[\ud800-\udfff]")


class GoDecodeError(Exception):
    """A body that Go's ``encoding/json`` would refuse, with its message."""


class _Number(str):
    """A JSON number kept as its literal so that ``50.0`` and ``50`` stay apart."""


class GoKind(Enum):
    STRING = "string"
    INT = "int"
    STRUCT = "struct"
    STRUCT_LIST = "struct_list"


@dataclass(frozen=True)
class GoField:
    json_name: str
    kind: GoKind
    struct: GoStruct | None = None
    omitempty: bool = True
    pointer: bool = False


@dataclass(frozen=True)
class GoStruct:
    name: str
    fields: tuple[GoField, ...] = field(default_factory=tuple)


def _quote_char(char: str) -> str:
    """Quote one character as Go's ``encoding/json`` does in its syntax errors."""
    return "'\\''" if char == "'" else "'" + repr(char)[1:-1] + "'"


def _reject_constant(literal: str) -> Any:
    raise GoDecodeError(f"invalid character {_quote_char(literal[0])} looking for beginning of value")


def parse_json(raw: bytes) -> Any:
    """Parse ``raw`` as Go's decoder would, keeping number literals; raise GoDecodeError otherwise."""
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        raise GoDecodeError("EOF")
    bracket = depth_exceeded(raw, MAX_DEPTH)
    if bracket is not None:
        raise GoDecodeError(f"invalid character {_quote_char(bracket)} exceeded max depth")
    try:
        return json.loads(text, parse_int=_Number, parse_float=_Number, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            raise GoDecodeError("unexpected EOF") from exc
        char = _quote_char(text[exc.pos])
        if exc.msg == "Extra data":
            raise GoDecodeError(f"invalid character {char} after top-level value") from exc
        if exc.msg.startswith("Invalid control character"):
            raise GoDecodeError(f"invalid character {char} in string literal") from exc
        if exc.msg.startswith("Expecting property name"):
            raise GoDecodeError(
                f"invalid character {char} looking for beginning of object key string"
            ) from exc
        raise GoDecodeError(f"invalid character {char} looking for beginning of value") from exc
    except RecursionError as exc:  # not expected below MAX_DEPTH; a decode error either way
        raise GoDecodeError("invalid character '[' exceeded max depth") from exc


def _json_kind(value: Any) -> str:
    if isinstance(value, _Number):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null"


def _go_type(gofield: GoField) -> str:
    if gofield.kind is GoKind.STRING:
        return "string"
    if gofield.kind is GoKind.INT:
        return "int"
    assert gofield.struct is not None
    prefix = "[]" if gofield.kind is GoKind.STRUCT_LIST else ("*" if gofield.pointer else "")
    return f"{prefix}models.{gofield.struct.name}"


def _type_error(value: Any, struct: GoStruct, path: str, gofield: GoField) -> GoDecodeError:
    return GoDecodeError(
        f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
        f"{struct.name}.{path} of type {_go_type(gofield)}"
    )


def _find_field(struct: GoStruct, key: str) -> GoField | None:
    for gofield in struct.fields:
        if gofield.json_name == key:
            return gofield
    folded = key.casefold()
    for gofield in struct.fields:
        if gofield.json_name.casefold() == folded:
            return gofield
    return None


def decode_struct(value: Any, struct: GoStruct, path: str = "") -> dict[str, Any]:
    """Decode ``value`` into ``struct``'s fields (unknown keys dropped); raise GoDecodeError."""
    if not isinstance(value, Mapping):
        if value is None:
            return {}
        raise GoDecodeError(
            f"json: cannot unmarshal {_json_kind(value)} into Go value of type models.{struct.name}"
        )
    out: dict[str, Any] = {}
    for key, item in value.items():
        gofield = _find_field(struct, key)
        if gofield is None or item is None:
            continue
        full = f"{path}.{gofield.json_name}" if path else gofield.json_name
        out[gofield.json_name] = _decode_value(item, struct, full, gofield)
    return out


def _decode_value(item: Any, struct: GoStruct, full: str, gofield: GoField) -> Any:
    if gofield.kind is GoKind.STRING:
        if isinstance(item, _Number) or not isinstance(item, str):
            raise _type_error(item, struct, full, gofield)
        return _SURROGATE.sub("\ufffd", str(item))  # Go reads a lone surrogate escape as U+FFFD
    if gofield.kind is GoKind.INT:
        if not isinstance(item, _Number):
            raise _type_error(item, struct, full, gofield)
        literal = str(item)
        # Go's int is 64 bits; int() also refuses literals of more than 4,300 digits, so check the length
        if len(literal.lstrip("-")) <= 19 and literal.lstrip("-").isdigit() and int(literal) in _INT64:
            return int(literal)
        raise GoDecodeError(
            f"json: cannot unmarshal number {literal} into Go struct field {struct.name}.{full} of type int"
        )
    assert gofield.struct is not None
    if gofield.kind is GoKind.STRUCT:
        if not isinstance(item, Mapping):
            raise _type_error(item, struct, full, gofield)
        return decode_struct(item, gofield.struct, full)
    if not isinstance(item, list):
        raise _type_error(item, struct, full, gofield)
    decoded = []
    for element in item:
        if element is not None and not isinstance(element, Mapping):
            raise GoDecodeError(
                f"json: cannot unmarshal {_json_kind(element)} into Go struct field "
                f"{struct.name}.{full} of type models.{gofield.struct.name}"
            )
        decoded.append(decode_struct(element, gofield.struct, full))
    return decoded


def normalise(value: dict[str, Any], struct: GoStruct) -> dict[str, Any]:
    """Return ``value`` in Go field order with zero values filled or omitted as Go marshals them."""
    out: dict[str, Any] = {}
    for gofield in struct.fields:
        present = gofield.json_name in value
        item = value.get(gofield.json_name)
        if gofield.kind is GoKind.STRING:
            item = item or ""
            if item or not gofield.omitempty:
                out[gofield.json_name] = item
        elif gofield.kind is GoKind.INT:
            item = item or 0
            if item or not gofield.omitempty:
                out[gofield.json_name] = item
        elif gofield.kind is GoKind.STRUCT:
            assert gofield.struct is not None
            if gofield.pointer and not present:
                continue
            out[gofield.json_name] = normalise(item or {}, gofield.struct)
        else:
            assert gofield.struct is not None
            items = [normalise(element or {}, gofield.struct) for element in (item or [])]
            if items or not gofield.omitempty:
                # Go marshals a nil slice as null and an empty one as [].
                out[gofield.json_name] = items if present else None
    return out


def go_marshal(value: Any) -> bytes:
    """Encode ``value`` compactly with Go's HTML-safe escaping."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate got in somewhere: write U+FFFD, as Go does, not a 500
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")

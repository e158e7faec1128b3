"""JSON for the EPCIS reader: strict parsing, and a reader that consumes fields and refuses the rest by path."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from ._errors import FormatError

__all__ = ["MAX_EPCIS_SIZE", "Reader", "parse_json"]

#: Largest EPCIS document read (bytes).
MAX_EPCIS_SIZE = 16 << 20


class Reader:
    """Reads one JSON object, consuming its fields; whatever is left unread is refused by name (:meth:`done`)."""

    def __init__(self, obj: object, path: str, index: int) -> None:
        self.path = path
        self.index = index
        if not isinstance(obj, dict):
            raise self.error("expected a JSON object", "E_EPCIS_FIELD", path)
        self.obj: dict[str, Any] = dict(obj)

    def error(self, message: str, code: str, where: str) -> FormatError:
        return FormatError(message, code=code, field=where, position=self.index)

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def take(self, key: str) -> Any:
        return self.obj.pop(key, None)

    def text(self, key: str) -> str | None:
        value = self.take(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error("expected a string", "E_EPCIS_FIELD", self.at(key))
        return value

    def need(self, key: str) -> str:
        value = self.take(key)
        if not isinstance(value, str):
            raise self.error("expected a string", "E_EPCIS_FIELD", self.at(key))
        return value

    def sub(self, key: str, *, required: bool = False) -> Reader | None:
        value = self.take(key)
        if value is None and not required:
            return None
        return Reader(value, self.at(key), self.index)

    def items(self, key: str) -> list[Reader]:
        value = self.take(key)
        if value is None:
            return []
        if not isinstance(value, list) or not value:
            raise self.error("expected a non-empty list", "E_EPCIS_FIELD", self.at(key))
        return [Reader(v, f"{self.at(key)}[{i}]", self.index) for i, v in enumerate(value)]

    def done(self) -> None:
        for key in self.obj:
            raise self.error(f"{key} cannot be represented in an ocop event", "E_EPCIS_UNSUPPORTED", self.at(key))

    def model(self, factory: Any, **kwargs: Any) -> Any:
        try:
            return factory(**kwargs)
        except FormatError as e:
            raise self.error(e.message, "E_EPCIS_FIELD", f"{self.path} ({e.field})") from e


def parse_json(data: bytes | str) -> Any:
    """Parse JSON strictly: at most :data:`MAX_EPCIS_SIZE` bytes, no duplicate keys, no NaN, decimals exact."""
    if len(data) > MAX_EPCIS_SIZE:
        raise FormatError(f"an EPCIS document is at most {MAX_EPCIS_SIZE} bytes", code="E_EPCIS_JSON")

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(items)
        if len(out) != len(items):
            raise FormatError("a JSON object has a duplicate key", code="E_EPCIS_JSON")
        return out

    def constant(name: str) -> Any:
        raise FormatError(f"{name} is not JSON", code="E_EPCIS_JSON")

    try:
        return json.loads(data, parse_float=Decimal, parse_constant=constant, object_pairs_hook=pairs)
    except (ValueError, RecursionError) as e:
        if isinstance(e, FormatError):
            raise
        raise FormatError(f"not JSON: {e}", code="E_EPCIS_JSON") from e

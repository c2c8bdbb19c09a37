"""Index of a pause router's pauses by the equality their expression requires (pure).

Most wait expressions are `async.data.k == event.data.k`, which the run fixes to
`async.data.k == "v-123"` when it registers. Evaluating every pause's CEL for every event makes a
router's work grow with its pauses (1,000 waiting runs took seconds per event); indexing the pauses
by (path, literal) of such a clause lets an event be checked against the few pauses it can match.
Pauses whose expression has no usable clause (or uses `||`) are checked one by one, as before.
"""

from __future__ import annotations

import json
import re
from typing import Any

_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
_LITERAL = rf"{_STRING}|-?\d+(?:\.\d+)?|true|false|null"
_PATH = r"async((?:\.[A-Za-z_][A-Za-z0-9_]*)+)"
_PATH_FIRST = re.compile(rf"\s*{_PATH}\s*==\s*({_LITERAL})\s*")
_LITERAL_FIRST = re.compile(rf"\s*({_LITERAL})\s*==\s*{_PATH}\s*")


def canonical(value: Any) -> str:
    """Equal CEL values, equal keys (1 == 1.0 in Inngest's expressions)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _literal_value(text: str) -> tuple[bool, Any]:
    if text.startswith("'"):
        text = '"' + text[1:-1].replace('\\\'', "'").replace('"', '\\"') + '"'
    try:
        return True, json.loads(text)
    except ValueError:
        return False, None  # an escape JSON does not share with CEL: no index, check one by one


def equality_key(expression: str | None) -> tuple[str, str] | None:
    """(path, canonical literal) of an `async.<path> == <literal>` clause every match must meet."""
    if not expression or "||" in expression:
        return None
    for clause in expression.split("&&"):
        m = _PATH_FIRST.fullmatch(clause)
        if m:
            path, literal = m.group(1), m.group(2)
        else:
            m = _LITERAL_FIRST.fullmatch(clause)
            if not m:
                continue
            literal, path = m.group(1), m.group(2)
        ok, value = _literal_value(literal)
        if ok:
            return path.lstrip("."), canonical(value)
    return None


def value_key(event: dict[str, Any], path: str) -> str:
    """The canonical value at `path` of an incoming event (missing is null, as in expressions)."""
    value: Any = event
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return canonical(None)
        value = value[part]
    return canonical(value)


class PauseIndex:
    """Pause keys by (path, value); the rest in `unindexed`."""

    def __init__(self) -> None:
        self._by_path: dict[str, dict[str, set[str]]] = {}
        self._where: dict[str, tuple[str, str]] = {}
        self.unindexed: set[str] = set()

    def add(self, key: str, expression: str | None) -> None:
        eq = equality_key(expression)
        if eq is None:
            self.unindexed.add(key)
            return
        path, literal = eq
        self._by_path.setdefault(path, {}).setdefault(literal, set()).add(key)
        self._where[key] = eq

    def remove(self, key: str) -> None:
        self.unindexed.discard(key)
        eq = self._where.pop(key, None)
        if eq is not None:
            bucket = self._by_path.get(eq[0], {})
            bucket.get(eq[1], set()).discard(key)
            if not bucket.get(eq[1]):
                bucket.pop(eq[1], None)
            if not bucket:
                self._by_path.pop(eq[0], None)

    def candidates(self, event: dict[str, Any]) -> set[str]:
        found = set(self.unindexed)
        for path, bucket in self._by_path.items():
            found |= bucket.get(value_key(event, path), set())
        return found

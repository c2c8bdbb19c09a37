"""Inngest expressions: CEL with Inngest's leniencies, on top of `common-expression-language`.

Inngest evaluates every `if`/`expression`/`key` option as CEL over `event` (the triggering event)
and, in `wait_for_event` and `cancel_on`, `async` (the incoming event). It is lenient where plain
CEL is strict:

- a field missing anywhere in a path (`event.data.missing`, `event.data.a.b` with `a` absent, also
  `event.data['a-b']`) evaluates to null instead of failing;
- ints and floats compare with each other (`1 == 1.0`, `2 > 1.5`). The `cel` library already does
  this for `==`, `!=`, `<`, `<=`, `>`, `>=` and `in`, so nothing is bridged here. Arithmetic still
  refuses to mix them (`1 + 1.5` is an error), as in CEL.

How the missing-field leniency works: at compile time every `event.x.y` / `async.x['y']` path in
the source is found with a small CEL tokenizer. At evaluation, when one of those paths is absent
from the values, a copy of the values gets null at that path (intermediate maps are created); the
caller's dicts are never mutated. Paths used as the argument of `has(...)` only get their
intermediate maps, so `has(event.data.x)` stays false for a missing `x` (and `has(event.data.a.b)`
is false, not an error, when `a` is missing). A field read below an explicit null
(`event.data.n.x` with `n: null`) is an evaluation error, as in CEL.

Cost (measured on the shared 2-core development machine, Python 3.11, cel 0.10.0, compiled
expression, median of 20,000 runs): `event.data.a == async.data.a` over two small events (name,
id, ts and a 3-key data map each) takes about 22 µs per evaluate() when both fields are present
and about 23.5 µs when one is missing (the values are then copied along the path). A bare
`Program.execute` of the same source takes about 20.5 µs: nearly all the time is the conversion
of the Python dicts into CEL values inside the library, so it grows with the size of the events.

Notes on the `cel` library (0.10.0):
- `Program.variables()` also lists names bound by comprehension macros (`x` in
  `[1, 2].exists(x, x > 1)`) and identifiers from unquoted text (`doc` in `== doc-42`).
- A missing map key raises KeyError; a field read on null or on a scalar raises TypeError
  ("No such overload"); an undefined variable raises RuntimeError.
- `size()` of a string counts UTF-8 bytes, not code points (`size('é') == 2`).
- Two-variable comprehensions (`m.exists(k, v, ...)`) and the optional syntax `.?` are not
  supported.
- Python ints above 2**64 - 1 are silently converted to floats on the way in.
- `||` and `&&` take bools only; an erroring side is absorbed when the other decides (`null || true`
  is true, `null || false` is an error). Inngest's truthy `||` over non-bools is not reproduced.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import cel

__all__ = ["Expression", "ExpressionError", "compile_expression", "interpolate", "literal"]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1

# Macros whose first argument binds a new name (reported by Program.variables() as a variable).
_BINDING_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})


class ExpressionError(ValueError):
    """Raised for an expression that does not parse, references unknown variables, or fails to
    evaluate. `str(err)` shows both the expression and the reason."""

    expression: str
    reason: str

    def __init__(self, expression: str, reason: str) -> None:
        self.expression = expression
        self.reason = reason
        super().__init__(f"expression {expression!r}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.expression, self.reason))


# --------------------------------------------------------------------------------------------------
# Tokenizer (just enough CEL lexing to find variable paths and to skip string literals and comments)

_TOKEN_RE = re.compile(
    r"""
      (?P<ws>\s+|//[^\n]*)
    | (?P<string>(?:[rR][bB]?|[bB][rR]?)?(?:'''|\"\"\"|'|"))
    | (?P<number>0[xX][0-9a-fA-F]+[uU]?|\d*\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+[uU]?)
    | (?P<ident>[_a-zA-Z][_a-zA-Z0-9]*)
    | (?P<op>==|!=|<=|>=|&&|\|\|)
    | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class _Token:
    __slots__ = ("kind", "text", "start", "end")

    def __init__(self, kind: str, text: str, start: int, end: int) -> None:
        self.kind = kind
        self.text = text
        self.start = start
        self.end = end

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"_Token({self.kind}, {self.text!r})"


def _string_end(source: str, pos: int, opener: str) -> int:
    """End offset of the string literal whose opener (prefix + quotes) starts at `pos`."""
    prefix = opener.rstrip("'\"")
    quote = opener[len(prefix):]
    raw = "r" in prefix.lower()
    i = pos + len(opener)
    n = len(source)
    while i < n:
        c = source[i]
        if c == "\\" and not raw:
            i += 2
            continue
        if source.startswith(quote, i):
            return i + len(quote)
        if c == "\n" and len(quote) == 1:
            return i  # unterminated; the parser reports it
        i += 1
    return n


def _tokenize(source: str) -> list[_Token]:
    """Significant tokens of `source` (whitespace and comments dropped)."""
    tokens: list[_Token] = []
    pos = 0
    n = len(source)
    while pos < n:
        m = _TOKEN_RE.match(source, pos)
        assert m is not None  # the last alternative matches any character
        kind = m.lastgroup or "punct"
        if kind == "string":
            end = _string_end(source, pos, m.group())
            tokens.append(_Token("string", source[pos:end], pos, end))
            pos = end
            continue
        if kind != "ws":
            tokens.append(_Token(kind, m.group(), pos, m.end()))
        pos = m.end()
    return tokens


@functools.lru_cache(maxsize=1024)
def _string_value(token_text: str) -> str | None:
    """The value of a CEL string literal token (None for bytes or an invalid literal)."""
    try:
        value = cel.compile(token_text).execute({})
    except Exception:
        return None
    return value if isinstance(value, str) else None


def _is(tokens: Sequence[_Token], i: int, text: str) -> bool:
    return 0 <= i < len(tokens) and tokens[i].kind != "string" and tokens[i].text == text


class _Ref:
    """A variable reference followed by a chain of `.field` / `['key']` / `[index]` selections."""

    __slots__ = ("first", "last", "path", "in_has")

    def __init__(self, first: int, last: int, path: tuple[str | int, ...], in_has: bool) -> None:
        self.first = first  # index of the variable token
        self.last = last  # index of the last token of the chain
        self.path = path  # (variable, key or index, ...)
        self.in_has = in_has


def _references(tokens: Sequence[_Token], names: Collection[str]) -> list[_Ref]:
    refs: list[_Ref] = []
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        if (
            tok.kind != "ident"
            or tok.text not in names
            or _is(tokens, i - 1, ".")
            or _is(tokens, i + 1, "(")
        ):
            i += 1
            continue
        path: list[str | int] = [tok.text]
        j = i  # last token of the chain
        while True:
            if (
                _is(tokens, j + 1, ".")
                and j + 2 < n
                and tokens[j + 2].kind == "ident"
                and not _is(tokens, j + 3, "(")
            ):
                path.append(tokens[j + 2].text)
                j += 2
                continue
            if _is(tokens, j + 1, "[") and j + 3 < n and _is(tokens, j + 3, "]"):
                inner = tokens[j + 2]
                if inner.kind == "string":
                    key = _string_value(inner.text)
                    if key is not None:
                        path.append(key)
                        j += 3
                        continue
                elif inner.kind == "number" and re.fullmatch(r"\d+|0[xX][0-9a-fA-F]+", inner.text):
                    base = 16 if inner.text[:2].lower() == "0x" else 10
                    path.append(int(inner.text, base))
                    j += 3
                    continue
            break
        in_has = (
            _is(tokens, i - 1, "(")
            and i >= 2
            and tokens[i - 2].kind == "ident"
            and tokens[i - 2].text == "has"
            and not _is(tokens, i - 3, ".")
            and _is(tokens, j + 1, ")")
        )
        refs.append(_Ref(i, j, tuple(path), in_has))
        i = j + 1
    return refs


def _bound_names(tokens: Sequence[_Token]) -> set[str]:
    """Names bound by comprehension macros: the `x` of `.exists(x, ...)`."""
    bound: set[str] = set()
    for i in range(len(tokens) - 4):
        if (
            _is(tokens, i, ".")
            and tokens[i + 1].kind == "ident"
            and tokens[i + 1].text in _BINDING_MACROS
            and _is(tokens, i + 2, "(")
            and tokens[i + 3].kind == "ident"
            and _is(tokens, i + 4, ",")
        ):
            bound.add(tokens[i + 3].text)
    return bound


# --------------------------------------------------------------------------------------------------
# Literals


def _string_literal(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            if 0xD800 <= code <= 0xDFFF:
                raise ValueError(
                    f"string {value!r} holds a lone surrogate U+{code:04X}, "
                    "which CEL strings cannot hold"
                )
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _bytes_literal(value: bytes) -> str:
    return 'b"' + "".join(f"\\x{b:02x}" for b in value) + '"'


def literal(value: Any) -> str:
    """The CEL literal for a JSON-like value (str, bool, None, int, float, bytes, list, mapping).

    Strings become double-quoted, escaped CEL strings; ints beyond int64 become uint (`…u`) or float
    literals; non-finite floats become `double("inf")` etc. Raises TypeError for other types and
    ValueError for strings CEL cannot hold (lone surrogates).
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string_literal(value)
    if isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            return str(value)
        if _INT64_MAX < value <= _UINT64_MAX:
            return f"{value}u"
        return literal(float(value))
    if isinstance(value, float):
        if math.isnan(value):
            return 'double("nan")'
        if math.isinf(value):
            return 'double("inf")' if value > 0 else 'double("-inf")'
        return repr(value)
    if isinstance(value, (bytes, bytearray)):
        return _bytes_literal(bytes(value))
    if isinstance(value, Mapping):
        items = []
        for k, v in value.items():
            if not isinstance(k, (str, int)):
                raise TypeError(
                    f"map key {k!r} ({type(k).__name__}) has no CEL literal; use str keys"
                )
            items.append(f"{literal(k)}: {literal(v)}")
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(
        f"value {value!r} ({type(value).__name__}) has no CEL literal; "
        "use JSON-like values (str, int, float, bool, None, list, dict)"
    )


# --------------------------------------------------------------------------------------------------
# Compiled expressions

_MISSING = object()


def _lookup(values: Mapping[str, Any], path: tuple[str | int, ...]) -> Any:
    """Value at `path` (keys and list indexes); _MISSING when any step is absent."""
    cur: Any = values
    for key in path:
        if isinstance(key, int):
            if isinstance(cur, (list, tuple)) and 0 <= key < len(cur):
                cur = cur[key]
                continue
            return _MISSING
        if isinstance(cur, Mapping) and key in cur:
            cur = cur[key]
            continue
        return _MISSING
    return cur


def _is_missing(values: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    """True when a map along `path` lacks the next key (a non-map on the way is not "missing")."""
    cur: Any = values
    for key in path:
        if not isinstance(cur, Mapping):
            return False
        if key not in cur:
            return True
        cur = cur[key]
    return False


def _fill(values: dict[str, Any], path: tuple[str, ...], leaf: bool, copied: set[int]) -> None:
    """Create `path` in `values` (a private top-level copy): maps along it, and at its end null
    when `leaf`, else an empty map. Maps along the way are copied once (ids in `copied`) so the
    caller's dicts stay intact."""
    parent: dict[str, Any] = values
    last = len(path) - 1
    for depth, key in enumerate(path):
        if key not in parent:
            node: Any = None if leaf else {}
            for k in reversed(path[depth + 1 :]):
                node = {k: node}
            parent[key] = node
            return
        if depth == last:
            return
        child = parent[key]
        if not isinstance(child, Mapping):
            return
        if id(child) not in copied:
            child = dict(child)
            parent[key] = child
            copied.add(id(child))
        parent = child


def _string_paths(refs: Sequence[_Ref], in_has: bool) -> tuple[tuple[str, ...], ...]:
    """Distinct key paths of `refs` (cut before the first list index)."""
    out: dict[tuple[str, ...], None] = {}
    for ref in refs:
        if ref.in_has != in_has:
            continue
        keys: list[str] = []
        for key in ref.path:
            if isinstance(key, int):
                break
            keys.append(key)
        out[tuple(keys)] = None
    return tuple(out)


class Expression:
    """A compiled Inngest expression. Build with compile_expression()."""

    __slots__ = ("source", "variables", "_program", "_paths", "_has_paths", "_guarded")

    source: str
    variables: tuple[str, ...]

    def __init__(self, source: str, variables: tuple[str, ...], program: Any, refs: Sequence[_Ref]):
        self.source = source
        self.variables = variables
        self._program = program
        paths = _string_paths(refs, in_has=False)
        has_paths = _string_paths(refs, in_has=True)
        # has() paths only get their parents; a path also read outside has() is filled only when the
        # first attempt fails (so `!has(event.data.x) || event.data.x > 1` keeps working).
        self._has_paths = tuple(p[:-1] for p in has_paths if len(p) > 1)
        self._guarded = tuple(p for p in paths if p in has_paths)
        self._paths = tuple(p for p in paths if p not in has_paths)

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def _execute(self, values: Mapping[str, Any]) -> Any:
        try:
            return self._program.execute(values)
        except KeyError as e:
            key = e.args[0] if e.args else "?"
            raise ExpressionError(self.source, f"evaluation failed: no such key {key!r}") from e
        except Exception as e:
            # The library's overload message ends with generic advice; keep its first sentence.
            detail = str(e).split(". CEL does not coerce", 1)[0]
            raise ExpressionError(
                self.source, f"evaluation failed: {type(e).__name__}: {detail}"
            ) from e

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """Evaluate over `values` ({"event": {...}, "async": {...}}); missing fields are null."""
        missing = [p for p in self._paths if _is_missing(values, p)]
        missing_has = [p for p in self._has_paths if _is_missing(values, p)]
        guarded = [p for p in self._guarded if _is_missing(values, p)]
        if not (missing or missing_has or guarded):
            return self._execute(values if isinstance(values, dict) else dict(values))
        filled = dict(values)
        copied: set[int] = set()
        for p in missing:
            _fill(filled, p, True, copied)
        for p in missing_has:
            _fill(filled, p, False, copied)
        if not guarded:
            return self._execute(filled)
        try:
            return self._execute(filled)
        except ExpressionError as e:
            if not isinstance(e.__cause__, KeyError):
                raise
        for p in guarded:
            _fill(filled, p, True, copied)
        return self._execute(filled)

    def matches(self, values: Mapping[str, Any]) -> bool:
        """evaluate() and require a bool result."""
        result = self.evaluate(values)
        if not isinstance(result, bool):
            raise ExpressionError(
                self.source,
                f"evaluated to {_literal_or_repr(result)} ({_cel_type(result)}), not a bool; "
                "write a condition such as `event.data.x == 'y'`",
            )
        return result


def _literal_or_repr(value: Any) -> str:
    try:
        text = literal(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _cel_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


def _parse_reason(message: str) -> str:
    idx = message.find("ERROR:")
    detail = message[idx + len("ERROR:") :].strip() if idx >= 0 else message
    return f"does not parse: {detail}"


def _unknown_reason(
    source: str, tokens: Sequence[_Token], unknown: Sequence[str], variables: Sequence[str]
) -> str:
    names = ", ".join(repr(u) for u in unknown)
    avail = ", ".join(variables)
    verb = "is" if len(variables) == 1 else "are"
    reason = (
        f"unknown variable{'s' if len(unknown) > 1 else ''} {names} "
        f"(only {avail} {verb} available)"
    )
    # An unknown identifier right after a comparison is most often an unquoted string.
    for i, tok in enumerate(tokens):
        after_comparison = i > 0 and tokens[i - 1].text in _COMPARISONS
        if tok.kind == "ident" and tok.text in unknown and after_comparison:
            m = re.match(r"[^\s()\[\],&|!=<>?:]+", source[tok.start :])
            raw = m.group() if m else tok.text
            quoted = "'" + raw.replace("\\", "\\\\").replace("'", "\\'") + "'"
            return f"{reason}; quote string literals: {tokens[i - 1].text} {quoted}"
    return f"{reason}; if {unknown[0]!r} is meant as text, quote it: '{unknown[0]}'"


@functools.lru_cache(maxsize=2048)
def _compile(source: str, variables: tuple[str, ...]) -> Expression:
    if not source.strip():
        raise ExpressionError(source, "is empty; write a condition such as `event.data.x == 'y'`")
    try:
        program = cel.compile(source)
    except Exception as e:
        raise ExpressionError(source, _parse_reason(str(e))) from e
    tokens = _tokenize(source)
    allowed = set(variables) | _bound_names(tokens)
    unknown = sorted(set(program.variables()) - allowed)
    if unknown:
        raise ExpressionError(source, _unknown_reason(source, tokens, unknown, variables))
    return Expression(source, variables, program, _references(tokens, variables))


def compile_expression(source: str, *, variables: Collection[str] = ("event",)) -> Expression:
    """Compile an Inngest expression over `variables` (cached).

    Raises ExpressionError when it is blank, does not parse, or reads a variable outside
    `variables`.
    """
    if not isinstance(source, str):
        raise TypeError(f"expression must be a str, got {type(source).__name__}: {source!r}")
    return _compile(source, tuple(variables))


def interpolate(source: str, name: str, value: Mapping[str, Any]) -> str:
    """Replace every reference to variable `name` in `source` by the CEL literal of the referenced
    value taken from `value` (missing -> null). String literals and other variables stay untouched.
    `has(name.x.y)` becomes `true` or `false` (whether the field is present in `value`).

    Raises ExpressionError when a referenced value has no CEL literal.
    """
    tokens = _tokenize(source)
    refs = _references(tokens, (name,))
    if not refs:
        return source
    root = {name: value}
    out: list[str] = []
    pos = 0
    for ref in refs:
        if ref.in_has and len(ref.path) > 1:
            # has(event.data.x) cannot take a literal: it becomes the field's presence, true/false.
            start, end = tokens[ref.first - 2].start, tokens[ref.last + 1].end
            out.append(source[pos:start])
            out.append("false" if _lookup(root, ref.path) is _MISSING else "true")
            pos = end
            continue
        resolved = _lookup(root, ref.path)
        if resolved is _MISSING:
            resolved = None
        try:
            text = literal(resolved)
        except (TypeError, ValueError) as e:
            path = source[tokens[ref.first].start : tokens[ref.last].end]
            raise ExpressionError(source, f"cannot interpolate {path}: {e}") from e
        if text.startswith("-"):
            text = f"({text})"
        out.append(source[pos : tokens[ref.first].start])
        out.append(text)
        pos = tokens[ref.last].end
    out.append(source[pos:])
    return "".join(out)

"""The pause index never hides a pause an event matches, and narrows the common case to one."""

from __future__ import annotations

import random

from temporal_worker._expressions import compile_expression, interpolate
from temporal_worker._pause_index import PauseIndex, equality_key


def test_pause_index_equality_key_of_interpolated_wait_expression() -> None:
    fixed = interpolate("async.data.k == event.data.k", "event", {"data": {"k": "v-1"}})
    assert ("data.k", '"v-1"') == equality_key(fixed)
    assert ("data.n", "1") == equality_key("async.data.n == 1.0")
    assert ("data.n", "1") == equality_key("1 == async.data.n")
    assert ("data.k", '"x"') == equality_key("async.data.k == 'x' && async.data.z > 2")
    assert None is equality_key("async.data.k == 'x' || async.data.k == 'y'")
    assert None is equality_key("async.data.k != 'x'")
    assert None is equality_key(None)


def test_pause_index_candidates_narrow_to_the_matching_key() -> None:
    index = PauseIndex()
    for i in range(1000):
        index.add(f"run-{i}/step", f'async.data.k == "k-{i}"')
    index.add("any/step", None)
    assert {"run-7/step", "any/step"} == index.candidates({"data": {"k": "k-7"}})
    index.remove("run-7/step")
    assert {"any/step"} == index.candidates({"data": {"k": "k-7"}})


def test_pause_index_never_drops_a_true_match() -> None:
    """Random expressions and events: every pause CEL matches is among the candidates."""
    rnd = random.Random(7)
    values = ["a", "b", 1, 1.0, 2, True, None]
    forms = [
        "async.data.k == {v}",
        "{v} == async.data.k",
        "async.data.k == {v} && async.data.j == {w}",
        "async.data.k == {v} || async.data.j == {w}",
        "async.data.j != {v}",
        "has(async.data.k)",
    ]

    def lit(v: object) -> str:
        return {True: "true", None: "null"}.get(v, repr(v).replace("'", '"')) if v is True or v is None else (
            f'"{v}"' if isinstance(v, str) else str(v)
        )

    index = PauseIndex()
    pauses = {}
    for i in range(200):
        expr = rnd.choice(forms).format(v=lit(rnd.choice(values)), w=lit(rnd.choice(values)))
        pauses[f"p{i}"] = expr
        index.add(f"p{i}", expr)
    for _ in range(200):
        data = {}
        for field in ("k", "j"):
            if rnd.random() < 0.8:
                data[field] = rnd.choice(values)
        event = {"name": "x", "data": data}
        candidates = index.candidates(event)
        for key, expr in pauses.items():
            if compile_expression(expr, variables=("async",)).matches({"async": event}):
                assert key in candidates, (expr, event)

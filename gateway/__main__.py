"""`python -m gateway [--host HOST] [--port PORT] [--log-level LEVEL] [--log-format FORMAT]`:
serve the gateway."""

from __future__ import annotations

import argparse

from . import _server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gateway",
        description="Serve Inngest's event and REST API on top of Temporal (settings: GATEWAY_*).",
    )
    parser.add_argument("--host", default=_server.DEFAULT_HOST, help="interface to bind")
    parser.add_argument("--port", type=int, default=_server.DEFAULT_PORT, help="port to bind")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument(
        "--log-format", choices=("auto", "json", "text"), default="auto",
        help="auto: JSON lines unless stdout is a terminal (default: auto)",
    )
    args = parser.parse_args(argv)
    _server.run(args.host, args.port, log_level=args.log_level, log_format=args.log_format)


if __name__ == "__main__":
    main()

"""Logging setup for the gateway's entry point (used when temporal_worker provides none).

JSON lines when stdout is not a TTY, readable lines otherwise; fields passed as `extra=` are kept.
"""

from __future__ import annotations

import datetime
import json as jsonlib
import logging
import logging.config
import sys
from typing import Any, Final

_STANDARD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message"}  # color_message: uvicorn's ANSI copy of the message
)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRS}


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the record's extras, exc_info."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.datetime.fromtimestamp(
                record.created, datetime.timezone.utc
            ).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return jsonlib.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value ...` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = _extras(record)
        if extras:
            pairs = " ".join(f"{key}={value!r}" for key, value in extras.items())
            first, newline, rest = text.partition("\n")
            text = f"{first} {pairs}{newline}{rest}"
        return text


def configure_logging(level: str = "INFO", *, json: bool | None = None) -> None:
    """Send every log record to stdout, as JSON lines unless stdout is a TTY (or `json` says)."""
    use_json = not sys.stdout.isatty() if json is None else json
    formatter = JSONFormatter if use_json else TextFormatter
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"default": {"()": formatter}},
            "handlers": {
                "stdout": {
                    "class": "logging.StreamHandler",
                    "formatter": "default",
                    "stream": "ext://sys.stdout",
                }
            },
            "root": {"level": level.upper(), "handlers": ["stdout"]},
            "loggers": {
                # uvicorn's own handlers are replaced by the root one.
                "uvicorn": {"handlers": [], "propagate": True},
                "uvicorn.error": {"handlers": [], "propagate": True},
                "uvicorn.access": {"handlers": [], "propagate": True},
            },
        }
    )

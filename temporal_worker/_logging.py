"""Logging setup for our entry points (the CLI, the worker and gateway processes).

Library modules only do `logging.getLogger(__name__)`; `configure_logging` is called once by an
entry point. Output goes to stdout: one JSON object per line when stdout is not a terminal (or
`json=True`), readable lines otherwise. Fields passed with `extra={...}` are kept as fields.
"""

from __future__ import annotations

import datetime
import json as jsonlib
import logging
import logging.config
import sys
from typing import Any, Final

LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Loggers that are chatty at INFO and say nothing we need in normal operation.
QUIET_LOGGERS: Final = ("httpx", "httpcore", "uvicorn.access", "watchfiles")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
    | {"message", "asctime", "taskName", "color_message"}  # uvicorn's coloured copy of msg
)
_BASE_FIELDS: Final = ("ts", "level", "logger", "msg")


def record_extras(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller attached to `record` with `extra=`."""
    return {
        k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_")
    }


def _timestamp(record: logging.LogRecord) -> str:
    when = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, msg, the `extra` fields, exc/stack."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record_extras(record).items():
            # An extra named like a base field must not replace it; keep it under another name.
            out[f"{key}_" if key in _BASE_FIELDS else key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return jsonlib.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`HH:MM:SS.mmm LEVEL logger: message key=value ...` for people at a terminal."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"
        )

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = record_extras(record)
        if not extras:
            return line
        head, sep, tail = line.partition("\n")  # keep a traceback below the fields
        fields = " ".join(f"{k}={_text_value(v)}" for k, v in extras.items())
        return f"{head} {fields}{sep}{tail}"


def _text_value(value: Any) -> str:
    if isinstance(value, str):
        return value if value and " " not in value and "=" not in value else jsonlib.dumps(value)
    try:
        return jsonlib.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def normalize_level(level: str | int) -> str:
    """'info' -> 'INFO'; raises ValueError naming the bad value and the accepted ones."""
    if isinstance(level, int):
        name = logging.getLevelName(level)
        if isinstance(name, str) and name in LEVELS:
            return name
        raise ValueError(f"log level {level!r} is not one of {', '.join(LEVELS)}")
    name = level.strip().upper()
    if name == "WARN":
        name = "WARNING"
    if name not in LEVELS:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LEVELS)}")
    return name


LOG_FORMATS: Final = {"auto": None, "json": True, "text": False}  # --log-format -> json=


def configure_logging(
    level: str | int = "INFO", *, json: bool | None = None, stream: Any = None, log_format: str = "auto"
) -> None:
    """Send all logging to stdout (or `stream`), as JSON lines or readable text.

    `json=None` takes `log_format` (a --log-format value); "auto" picks JSON when the stream is
    not a terminal (containers, log shippers, pipes). Calling it again replaces the previous
    configuration.
    """
    if json is None:
        json = LOG_FORMATS[log_format]
    level_name = normalize_level(level)
    target = sys.stdout if stream is None else stream
    if json is None:
        isatty = getattr(target, "isatty", None)
        json = not (callable(isatty) and isatty())
    handler: dict[str, Any] = {
        "class": "logging.StreamHandler",
        "formatter": "json" if json else "text",
        "stream": "ext://sys.stdout" if stream is None else stream,
    }
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "json": {"()": JsonFormatter},
                "text": {"()": TextFormatter},
            },
            "handlers": {"default": handler},
            "root": {"level": level_name, "handlers": ["default"]},
            "loggers": {name: {"level": "WARNING"} for name in QUIET_LOGGERS},
        }
    )

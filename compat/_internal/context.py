"""`Context` / `ContextSync`: what a handler receives."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from . import step as step_lib

if TYPE_CHECKING:
    from . import models


@dataclasses.dataclass
class Context:
    """Handler context for async functions."""

    attempt: int
    event: models.Event
    events: list[models.Event]
    group: step_lib.Group
    job_id: str | None
    logger: logging.Logger | logging.LoggerAdapter  # type: ignore[type-arg]
    request_id: str | None
    run_id: str
    step: step_lib.Step


@dataclasses.dataclass
class ContextSync:
    """Handler context for sync functions."""

    attempt: int
    event: models.Event
    events: list[models.Event]
    group: step_lib.GroupSync
    job_id: str | None
    logger: logging.Logger | logging.LoggerAdapter  # type: ignore[type-arg]
    request_id: str | None
    run_id: str
    step: step_lib.StepSync

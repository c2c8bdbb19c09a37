"""Inngest's Python SDK API (0.5.x), running on Temporal: `from compat import inngest`."""

from compat._internal.client import Inngest
from compat._internal.context import Context, ContextSync
from compat._internal.errors import NonRetriableError, RetryAfterError, StepError
from compat._internal.function import Function
from compat._internal.models import (
    Batch,
    Cancel,
    Concurrency,
    Debounce,
    Event,
    Priority,
    RateLimit,
    SendEventsResult,
    Singleton,
    Throttle,
    Timeouts,
    TriggerCron,
    TriggerEvent,
)
from compat._internal.step import Group, GroupSync, ParallelMode, Step, StepSync

JSON = object  # any JSON-serializable value, as in the inngest SDK's type alias

__all__ = [
    # client and functions
    "Inngest",
    "Function",
    "Context",
    "ContextSync",
    "Step",
    "StepSync",
    "Group",
    "GroupSync",
    "ParallelMode",
    # events and triggers
    "Event",
    "SendEventsResult",
    "TriggerCron",
    "TriggerEvent",
    # flow control
    "Batch",
    "Cancel",
    "Concurrency",
    "Debounce",
    "Priority",
    "RateLimit",
    "Singleton",
    "Throttle",
    "Timeouts",
    # errors
    "NonRetriableError",
    "RetryAfterError",
    "StepError",
    "JSON",
]

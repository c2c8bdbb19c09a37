"""Errors users raise or catch, and the interrupts the step engine unwinds handlers with.

    Exception
     +-- Error                      base of errors raised by compat itself
     |    +-- UnsupportedOptionError   a create_function option not supported yet (names the option)
     |    +-- SendEventsError          the gateway refused or failed a send (carries accepted ids)
     |    +-- StepIdError              invalid step id
     +-- UserError                  base of the errors below: Inngest's message/name/stack/is_retriable
     |    +-- NonRetriableError        raised by users: fail without retrying
     |    +-- RetryAfterError          raised by users: retry at a given time
     +-- StepError                  raised into handlers when a step failed for good
    BaseException
     +-- Interrupt                  control flow of the step engine (user `except Exception` can't catch it)
"""

from __future__ import annotations

import datetime
import traceback


class Error(Exception):
    """Base of errors raised by compat itself."""


class UnsupportedOptionError(Error):
    """Raised by `create_function` for an option that is accepted but not supported yet."""

    def __init__(self, option: str, fn_id: str) -> None:
        self.option = option
        self.fn_id = fn_id
        super().__init__(
            f"{'Inngest' if fn_id.startswith('<client') else f'create_function(fn_id={fn_id!r})'}: "
            f"option {option!r} is not supported yet; remove it (it would otherwise be silently "
            "ignored)"
        )


class SendEventsError(Error):
    """Raised by `Inngest.send` when the event API refuses or fails a send."""

    def __init__(self, message: str, ids: list[str]) -> None:
        super().__init__(message)
        self.ids = ids


class StepIdError(Error):
    """Raised for an invalid step id."""


class UserError(Exception):
    """Base of the errors users raise, with the attributes Inngest's SDK gives them."""

    is_retriable: bool = True

    @property
    def message(self) -> str:
        return str(self)

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def stack(self) -> str | None:
        return "".join(traceback.format_exception(self))


class NonRetriableError(UserError):
    """Raise to fail the function (or the step) at once, without further attempts."""

    is_retriable = False

    def __init__(self, message: str | None = None, quiet: bool = False) -> None:
        super().__init__(message)
        self.quiet = quiet


class RetryAfterError(UserError):
    """Raise to retry at a given time: ms (int), a timedelta, or a datetime."""

    def __init__(
        self,
        message: str | None,
        retry_after: int | datetime.timedelta | datetime.datetime,
        quiet: bool = False,
    ) -> None:
        super().__init__(message)
        self.quiet = quiet
        if isinstance(retry_after, int):
            retry_after = datetime.timedelta(milliseconds=retry_after)
        if isinstance(retry_after, datetime.timedelta):
            retry_after = datetime.datetime.now(datetime.timezone.utc) + retry_after
        elif retry_after.tzinfo is None:
            retry_after = retry_after.astimezone(datetime.timezone.utc)
        self.retry_after: datetime.datetime = retry_after

    def delay_seconds(self) -> float:
        """Seconds until the retry, clamped to Inngest's bounds (1 s .. 24 h)."""
        delta = (self.retry_after - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        return min(max(delta, 1.0), 86400.0)


class StepError(Exception):
    """Raised into a handler when a step failed after its retries (the memoized error)."""

    is_retriable = False  # raised after the step's retries are exhausted

    def __init__(self, message: str, name: str, stack: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.stack = stack

    def __str__(self) -> str:
        return self.message


def error_dict(err: BaseException) -> dict[str, str]:
    """Inngest's memoized error shape {name, message, stack} of an exception."""
    if isinstance(err, StepError):
        return {"name": err.name, "message": err.message, "stack": err.stack or ""}
    message = getattr(err, "message", None)
    if not isinstance(message, str):
        message = str(err)
    return {
        "name": type(err).__name__,
        "message": message,
        "stack": "".join(traceback.format_exception(err)),
    }


class Interrupt(BaseException):
    """Unwinds a handler: the engine reached a step it must not run now."""

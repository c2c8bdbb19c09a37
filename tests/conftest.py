"""Session fixtures: one real Temporal dev server, one worker and one gateway process per session.

Every end-to-end test talks to the gateway over HTTP and checks Temporal with a real client.
"""

from __future__ import annotations

import atexit
import os
import sys

import pytest

# temporalio can abort or segfault while the interpreter shuts down after a worker ran
# (sdk-python#300). The results are known by then: leave with pytest's own exit status.
_exit_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


def _exit_with_pytest_status() -> None:
    if _exit_status:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])


atexit.register(_exit_with_pytest_status)

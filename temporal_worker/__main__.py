"""`python -m temporal_worker ...`: the `inngest-temporal` command line."""

from __future__ import annotations

from temporal_worker import _cli

if __name__ == "__main__":
    raise SystemExit(_cli.main())

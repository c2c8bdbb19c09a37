"""Memo bookkeeping shared by the run workflow and the step activities (pure, deterministic).

Sending the whole memo with every step activity makes history grow as steps x state. Instead a
step activity gets only the entries the workflow wrote itself (sleeps, waits, invokes, refused
steps) plus an order-independent digest of the whole memo; the worker keeps each run's memo in a
per-process cache (every step's own output lands there when it runs) and asks the workflow for
the full memo (query `__memo`) only when the digest says its copy is incomplete.
"""

from __future__ import annotations

import collections
import hashlib
import json
from typing import Any


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def entry_hash(key: str, canonical: str) -> int:
    """Hash of one memo entry over its canonical JSON (key order and whitespace do not matter)."""
    return int.from_bytes(hashlib.sha256(f"{key}\x00{canonical}".encode()).digest()[:16], "big")


def digest(memo: dict[str, Any]) -> str:
    d = Digest()
    for key, value in memo.items():
        d.add(key, value)
    return d.value()


class Digest:
    """The digest of a memo, kept up to date entry by entry (each key is written once).

    Also counts the memo's size in JSON bytes (Inngest's run-state limit applies to it).
    """

    def __init__(self) -> None:
        self._acc = 0
        self._count = 0
        self.bytes = 0

    def add(self, key: str, value: Any) -> None:
        canonical = _canonical(value)
        self._acc ^= entry_hash(key, canonical)
        self._count += 1
        self.bytes += len(canonical)

    def value(self) -> str:
        return f"{self._acc:032x}:{self._count}"


class RunMemo:
    """A run's memo as a worker knows it, with its digest kept current."""

    def __init__(self) -> None:
        self.entries: dict[str, Any] = {}
        self.digest = Digest()

    def add(self, key: str, value: Any) -> None:
        if key not in self.entries:
            self.entries[key] = value
            self.digest.add(key, value)

    @classmethod
    def of(cls, memo: dict[str, Any]) -> RunMemo:
        run = cls()
        for key, value in memo.items():
            run.add(key, value)
        return run


class MemoCache:
    """Per-process cache of run memos (least recently used runs are dropped first)."""

    def __init__(self, max_runs: int = 256) -> None:
        self._runs: collections.OrderedDict[str, RunMemo] = collections.OrderedDict()
        self._max = max_runs
        self.hits = 0
        self.misses = 0

    def get(self, run_id: str) -> RunMemo | None:
        run = self._runs.get(run_id)
        if run is not None:
            self._runs.move_to_end(run_id)
        return run

    def put(self, run_id: str, run: RunMemo) -> None:
        self._runs[run_id] = run
        self._runs.move_to_end(run_id)
        while len(self._runs) > self._max:
            self._runs.popitem(last=False)

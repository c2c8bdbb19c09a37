"""Run every benchmark in sequence and print each ratio against its target.

    python benchmarks/run_all.py [--json-dir DIR] [--quick]

Runs core.py, flow.py and scale.py one after the other (each starts and stops its own stack; only
one runs at a time), shows their output, then a summary. Exits non-zero only when a benchmark fails
(a missed target is reported, not an error). Ctrl-C / SIGTERM stop the running benchmark, which
stops everything it started. `--quick` runs each with fewer repetitions (a smoke test, not figures).
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

TARGET_PER_STEP = 1.10
TARGET_EVENT_P50 = 1.2
TARGET_THROUGHPUT = 0.9

BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    # name: (default arguments, --quick arguments)
    "core": ([], ["--runs", "2", "--events", "10"]),
    "flow": ([], ["--runs", "2"]),
    "scale": ([], ["--tput-runs", "50", "--rounds", "1", "--waits", "100", "--sampled", "20"]),
}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(name: str, args: list[str], json_path: Path) -> int:
    command = [sys.executable, str(HERE / f"{name}.py"), *args, "--json", str(json_path)]
    say(f"\n=== {name}: {' '.join(command[1:])}")
    proc = subprocess.Popen(command)

    def forward(signum: int, _frame: Any) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        return proc.wait()
    except KeyboardInterrupt:  # the child got the same SIGINT from the terminal; let it clean up
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _x(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}x"


def _ms(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.0f}"


def _verdict(value: float | None, target: float, *, at_least: bool = False) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    ok = value >= target if at_least else value <= target
    return "ok" if ok else "MISSED"


def summary(results: dict[str, dict[str, Any]]) -> list[str]:
    out = ["", "=== Summary: ratios against targets (ours / hand-written Temporal, same run)"]
    core = results.get("core")
    if core:
        for n, row in core["steps"].items():
            r = row["ratio"]["per_step"]
            if r is not None:
                out.append(
                    f"  per-step n={n:>3}: {_x(r)} ({row['ours']['per_step_ms']:.1f} / "
                    f"{row['base']['per_step_ms']:.1f} ms)  target <= {TARGET_PER_STEP:.2f}x  "
                    f"{_verdict(r, TARGET_PER_STEP)}"
                )
        ev = core["events"]
        for label, side, ratios in (
            ("minimal HTTP client", "ours_plain", "ratio_plain"), ("httpx", "ours", "ratio")
        ):
            r = ev[ratios]["first_step_p50"]
            out.append(
                f"  event -> first step p50 ({label}): {_x(r)} "
                f"({ev[side]['first_step_p50_ms']:.1f} / {ev['base']['first_step_p50_ms']:.1f} ms; "
                f"p99 {ev[side]['first_step_p99_ms']:.1f} / {ev['base']['first_step_p99_ms']:.1f} "
                f"ms)  target <= {TARGET_EVENT_P50:.2f}x  {_verdict(r, TARGET_EVENT_P50)}"
            )
    scale = results.get("scale")
    if scale and scale.get("throughput"):
        t = scale["throughput"]
        out.append(
            f"  throughput: {_x(t['ratio'])} ({t['ours']['runs_per_s']:.1f} / "
            f"{t['base']['runs_per_s']:.1f} runs/s)  target >= {TARGET_THROUGHPUT:.2f}x  "
            f"{_verdict(t['ratio'], TARGET_THROUGHPUT, at_least=True)}"
        )
    flow = results.get("flow")
    if flow:
        f = flow["flow"]
        out.append(
            f"  concurrency-limited step: +{f['added_ms_per_step']:.1f} ms per step, "
            f"{_x(f['ratio']['per_step'])} ({f['concurrency']['per_step_ms']:.1f} / "
            f"{f['plain']['per_step_ms']:.1f} ms)  report only"
        )
    if scale and scale.get("waits"):
        w = scale["waits"]
        out.append(
            f"  wait_for_event, {w['runs']} waiting: event -> resumed p50 {_ms(w['sampled_p50_ms'])} ms, "
            f"p99 {_ms(w['sampled_p99_ms'])} ms (one at a time); bulk p50 {_ms(w['bulk_p50_ms'])} ms, "
            f"p99 {_ms(w['bulk_p99_ms'])} ms; completed {w['completed']}/{w['runs']}"
        )
        if w.get("error"):
            out.append(f"    ERROR: {w['error']}")
    if scale and scale.get("memory"):
        last = list(scale["memory"])[-1]
        peak = {
            name: max((m[name]["hwm_kib"] or 0) for m in scale["memory"].values())
            for name in scale["memory"][last]
        }
        out.append(
            "  peak RSS MiB: " + ", ".join(f"{name} {kib / 1024:.0f}" for name, kib in peak.items())
        )
    if scale and scale.get("large"):
        for name, r in scale["large"].items():
            out.append(
                f"  large run {name}: completed in {r['wall_s']:.1f} s, {r['chain_runs']} run(s) in "
                f"its chain, history {r['history_events']} events / {r['history_bytes']} bytes"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/run_all.py", description=__doc__)
    parser.add_argument("--json-dir", type=Path, help="keep each benchmark's JSON here")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test)")
    parser.add_argument(
        "--only", action="append", choices=list(BENCHMARKS), help="run only these (repeatable)"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    failed: list[str] = []
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        out_dir = args.json_dir or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            for name, (default, quick) in BENCHMARKS.items():
                if args.only and name not in args.only:
                    continue
                path = out_dir / f"{name}.json"
                code = run(name, quick if args.quick else default, path)
                if path.exists():  # written even when a part broke: the other figures count
                    results[name] = json.loads(path.read_text())
                if code != 0:
                    failed.append(f"{name} (exit {code})")
                    if code in (130, 143):  # interrupted / terminated: stop here
                        break
        except KeyboardInterrupt:
            say("interrupted")
            return 130
    print("\n".join(summary(results)))
    say(f"all benchmarks: {time.monotonic() - started:.0f} s")
    if args.json_dir is None:
        say("(the JSON files above were temporary: pass --json-dir DIR to keep them)")
    if failed:
        say("FAILED: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

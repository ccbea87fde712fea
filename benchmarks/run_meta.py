"""When, on what and under what load a benchmark ran: the header every result file carries.

Machines are shared, so every result records the commit it measured, whether the tree had
uncommitted changes, the date and the load average before (and, via ``finish``, after).
"""
from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_meta() -> dict[str, object]:
    """Date (UTC), short commit, dirty flag, machine, CPU count and 1-minute load, at the start."""
    return {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "commit": _git("rev-parse", "--short=10", "HEAD"),
            "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
            "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "load_1min": round(os.getloadavg()[0], 2)}


def finish(meta: dict[str, object]) -> dict[str, object]:
    """``meta`` with the load average at the end of the run added."""
    return meta | {"load_1min_end": round(os.getloadavg()[0], 2)}


def header(meta: dict[str, object]) -> str:
    """One markdown line: date, commit, CPUs, load (start -> end)."""
    dirty = " (uncommitted changes)" if meta.get("dirty") else ""
    end = f" -> {meta['load_1min_end']}" if "load_1min_end" in meta else ""
    return (f"{meta['date']}, commit `{meta['commit']}`{dirty}, {meta['cpus']} CPUs ({meta['machine']}), "
            f"load {meta['load_1min']}{end}")

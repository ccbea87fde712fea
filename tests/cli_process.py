"""Run ``edgedeblur`` as a real child process: for signals, memory limits, concurrent
runs and output that only shows at interpreter exit ("Exception ignored ..."); and a
small real disk to fill."""
from __future__ import annotations

import contextlib
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

CLI = [sys.executable, "-m", "runtime.cli"]


def _limit(memory_bytes: int | None) -> Callable[[], None] | None:
    if memory_bytes is None:
        return None

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    return apply


def start_cli(args: list[str | Path], cwd: Path, *, memory_bytes: int | None = None,
              module: list[str] | None = None) -> subprocess.Popen[str]:
    """Start ``edgedeblur ARGS`` (or ``python -m MODULE ARGS``) in ``cwd``; stdout/stderr piped."""
    cmd = [sys.executable, "-m", *module] if module else CLI
    return subprocess.Popen([*cmd, *map(str, args)], cwd=cwd, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=_limit(memory_bytes), env={**os.environ})


def run_cli(args: list[str | Path], cwd: Path, *, timeout_s: float = 300, memory_bytes: int | None = None,
            module: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run to completion; returns the exit code and the captured output."""
    proc = start_cli(args, cwd, memory_bytes=memory_bytes, module=module)
    out, err = proc.communicate(timeout=timeout_s)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], timeout_s: float = 120) -> None:
    """Poll ``condition`` until it holds; fail if the process ends first or time runs out."""
    end = time.monotonic() + timeout_s
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the process ended (rc {proc.returncode}) before the condition held: "
                                 f"{proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


_PROGRESS_BAR = re.compile(r"\d+%\|.*\|")


def error_lines(stderr: str) -> list[str]:
    """Non-empty stderr lines other than progress-bar redraws (tqdm)."""
    lines = (part.rsplit("\r", 1)[-1].strip() for part in stderr.split("\n"))
    return [line for line in lines if line and not _PROGRESS_BAR.search(line)]


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (e.g. "100k") mounted at the new folder ``where``: a disk that
    fills up for real. Skips the test where mounting is not permitted (not root)."""
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                      capture_output=True).returncode != 0:
        pytest.skip("needs permission to mount a small tmpfs")
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=False)   # even with a file left open

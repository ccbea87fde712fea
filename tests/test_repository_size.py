"""The checkout leaves room for training data on a lent GPU machine.

A device call carries the whole working tree plus the folders it names, 64 MiB in all
(``.library/device/README.md``). Training there needs the photos packed beside the code
(910 photos at long side 384 are ~29 MiB, at 320 fewer), so the tracked files must stay well
under the limit: before/after pictures go in as JPEG (``benchmarks.pictures``), not PNG.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUDGET_MIB = 44
"""41 MiB on 2026-12-05 (19.5 of it shipped models): ~20 MiB left for a training pack."""


def _tracked() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing is tracked")
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / n for n in names.decode().split("\0") if n]


def test_tracked_files_leave_room_for_a_training_pack() -> None:
    files = [p for p in _tracked() if p.is_file()]
    total = sum(p.stat().st_size for p in files) / 2**20
    largest = sorted(files, key=lambda p: p.stat().st_size, reverse=True)[:5]
    assert total < BUDGET_MIB, (f"tracked files take {total:.1f} MiB (budget {BUDGET_MIB}); largest: "
                                + ", ".join(f"{p.relative_to(ROOT)} {p.stat().st_size / 2**20:.1f} MiB" for p in largest))


def test_benchmark_pictures_are_jpeg() -> None:
    strips = [p.relative_to(ROOT) for p in _tracked() if p.suffix == ".png" and "strip" in p.name]
    assert not strips, f"write these with benchmarks.pictures.write_picture (JPEG): {strips}"

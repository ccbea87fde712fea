"""atomic_write / atomic_path: complete files only, normal permissions, nothing left on failure."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from facemask.files import atomic_path, atomic_write


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_new_file_gets_what_open_would_give(tmp_path: Path) -> None:
    atomic_write(tmp_path / "a.json", "{}\n")
    plain = tmp_path / "plain"
    plain.write_text("x")
    assert (tmp_path / "a.json").read_text() == "{}\n"
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_replacing_keeps_the_old_mode(tmp_path: Path) -> None:
    target = tmp_path / "b.bin"
    target.write_bytes(b"old")
    target.chmod(0o640)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new" and target.stat().st_mode & 0o777 == 0o640


def test_failure_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "c.txt"
    target.write_text("kept")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text() == "kept" and sorted(p.name for p in tmp_path.iterdir()) == ["c.txt"]


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "no" / "d.txt", "x")
    atomic_write(tmp_path / "no" / "d.txt", "x", parents=True)
    assert (tmp_path / "no" / "d.txt").read_text() == "x"


def test_suffix_is_kept_for_writers_that_need_it(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "e.mp4", suffix=".mp4") as tmp:
        assert tmp.suffix == ".mp4" and tmp.parent == tmp_path
        tmp.write_bytes(b"x")

"""Issue 14, convert side: signals, dead builds' leftovers, a full disk, library noise on
stderr, code in a checkpoint, builder paths in the shipped manifest. Real child processes."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cli_process import error_lines, run_cli, small_disk, start_cli, wait_for
from model_fixtures import build_onnx

from convert.source import SourceKind, SourceModel
from runtime.catalog import SHIPPED_DIR

TINY = ["--input-size", "32", "--latency-rounds", "0", "--calib-count", "4", "--val-count", "2"]


def _partials(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".partial-" in p.name] if folder.is_dir() else []


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sigterm_during_convert_leaves_no_build_folder(tmp_path: Path) -> None:
    model = build_onnx(tmp_path / "ident.onnx")
    proc = start_cli(["convert", model, *TINY, "--format", "onnx", "--format", "tflite", "--precision", "fp32",
                      "--precision", "int8", "-o", "build"], tmp_path)
    wait_for(lambda: bool(_partials(tmp_path / "build")), proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143
    assert error_lines(err)[-1] == "edgedeblur convert: terminated" and "Traceback" not in err
    assert _partials(tmp_path / "build") == [] and not (tmp_path / "build" / "ident").exists()


def test_next_build_sweeps_a_killed_builds_folder_but_not_a_running_one(tmp_path: Path) -> None:
    model = build_onnx(tmp_path / "ident.onnx")
    build = tmp_path / "build"
    dead = build / f".ident.partial-{_dead_pid()}-abc123"
    alive = build / f".ident.partial-{1}-def456"          # pid 1 always runs
    for folder in (dead, alive):
        (folder / ".work").mkdir(parents=True)
    done = run_cli(["convert", model, *TINY, "--format", "onnx", "--precision", "fp32", "-o", "build"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert _partials(build) == [alive.name]
    assert (build / "ident" / "manifest.json").is_file()


def test_convert_prints_no_library_noise(tmp_path: Path) -> None:
    model = build_onnx(tmp_path / "ident.onnx")
    done = run_cli(["convert", model, *TINY, "--format", "tflite", "--precision", "fp32", "-o", "build"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert error_lines(done.stderr) == [], done.stderr   # the progress bar clears itself


@pytest.mark.slow
def test_convert_on_a_full_disk_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "2500k") as disk:   # room for the work files, not for the LiteRT flatbuffer
        done = run_cli(["convert", "nano", "--format", "tflite", "--precision", "fp32", "--latency-rounds", "0",
                        "--val-count", "2", "-o", disk / "build"], tmp_path)
        assert done.returncode == 1
        [line] = error_lines(done.stderr)
        assert "No space left on device" in line and "LLVM" not in done.stderr
        assert _partials(disk / "build") == []


@pytest.mark.slow
@pytest.mark.parametrize("entry", [["train"], []])          # edgedeblur train / python -m convert.train
def test_training_on_a_full_disk_stops_at_its_first_checkpoint_in_one_line(tmp_path: Path, entry: list[str]) -> None:
    # torch.save reported a full disk as a RuntimeError about zip offsets: a traceback
    with small_disk(tmp_path / "disk", "200k") as disk:     # a nano checkpoint is ~1 MB
        done = run_cli([*entry, "nano", "--steps", "6", "--ckpt-every", "5", "--batch", "2",
                        "--run-dir", disk / "runs"], tmp_path, module=None if entry else ["convert.train"])
        assert done.returncode == 1, done.stderr
        [line] = error_lines(done.stderr)
        assert "last.pt: the disk is full" in line and line.endswith("(--run-dir)") and "Traceback" not in done.stderr
        assert [p.name for p in (disk / "runs" / "nano").iterdir()] == []


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (eval, (f"open({str(self.marker)!r}, 'w').close()",))


def test_ship_refuses_a_checkpoint_that_would_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    (tmp_path / "runs" / "nano").mkdir(parents=True)
    torch.save({"payload": _RunsCode(marker)}, tmp_path / "runs" / "nano" / "last.pt")
    done = run_cli(["nano", "--run-dir", "runs"], tmp_path, module=["convert.ship"])
    assert done.returncode == 1
    assert "could run code" in error_lines(done.stderr)[-1] and "Traceback" not in done.stderr
    assert not marker.exists()


def test_manifest_records_the_source_relative_to_the_project() -> None:
    from convert.build import PROJECT_ROOT, portable_source

    inside = SourceModel(name="nano", kind=SourceKind.ZOO, path=PROJECT_ROOT / "convert" / "weights" / "nano.pt",
                         arch="nano", module=None)
    outside = SourceModel(name="m", kind=SourceKind.ONNX, path=Path("/home/someone/models/m.onnx"), arch=None,
                          module=None)
    assert portable_source(inside) == "convert/weights/nano.pt"
    assert portable_source(outside) == "m.onnx"


def test_shipped_manifest_holds_no_absolute_paths() -> None:
    def strings(node: object) -> list[str]:
        if isinstance(node, dict):
            return [s for v in node.values() for s in strings(v)]
        if isinstance(node, list):
            return [s for v in node for s in strings(v)]
        return [node] if isinstance(node, str) else []

    found = [s for s in strings(json.loads((SHIPPED_DIR / "manifest.json").read_text())) if s.startswith("/")]
    assert found == []

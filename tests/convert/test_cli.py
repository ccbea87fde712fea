"""``edgedeblur convert`` from the command line: bad input gets one clear line and leaves nothing behind."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from runtime.cli import main
from runtime.errors import EdgeDeblurError
from runtime.manifest import Manifest
from tests.convert.conftest import SIZE, classifier_onnx, hostile_onnx, sharpen_onnx

FAST = ["--calib-count", "4", "--val-count", "2", "--latency-rounds", "0"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["convert", *args])
    err = capsys.readouterr().err
    return code, err


def _not_onnx(folder: Path) -> list[str]:
    path = folder / "notes.onnx"
    path.write_text("these are my notes, not a model\n")
    return [str(path)]


def _unwritable(folder: Path) -> list[str]:
    blocker = folder / "a-file"
    blocker.write_text("x")
    return [str(sharpen_onnx(folder / "m.onnx", [1, 3, *SIZE])), "-o", str(blocker / "build")]


def _empty_calib(folder: Path) -> list[str]:
    (folder / "photos").mkdir()
    (folder / "photos" / "readme.txt").write_text("no images here")
    return [str(sharpen_onnx(folder / "m.onnx", [1, 3, *SIZE])), "--calib", str(folder / "photos")]


def _space_to_depth_onnx(folder: Path) -> list[str]:
    from onnx import helper

    from tests.convert.conftest import save_graph

    dims = [1, 3, *SIZE]
    nodes = [helper.make_node("SpaceToDepth", ["x"], ["s"], blocksize=2, name="fold"),
             helper.make_node("DepthToSpace", ["s"], ["y"], blocksize=2, name="unfold")]
    return [str(save_graph(folder / "s2d.onnx", nodes, [], dims, dims)), "--target", "rpi5"]


def _a_file(folder: Path) -> Path:
    (folder / "out.txt").write_text("not a folder")
    return folder / "out.txt"


@pytest.mark.parametrize("make, message", [
    (_not_onnx, "is not an ONNX model"),
    (lambda f: [str(classifier_onnx(f / "classifier.onnx"))], "not an image-to-image model"),
    (lambda f: [str(sharpen_onnx(f / "dyn.onnx"))], "dynamic input dims .* pass --input-size"),
    (_unwritable, "is not writable .* choose a folder"),
    (lambda f: [str(sharpen_onnx(f / "m.onnx", [1, 3, *SIZE])), "-o", str(_a_file(f))], "is a file; give a folder"),
    (_empty_calib, "no images .* leave --calib out"),
    (lambda f: [str(sharpen_onnx(f / "m.onnx", [1, 3, *SIZE])), "--target", "rpi-5"], "did you mean 'rpi5'"),
    (lambda f: [str(sharpen_onnx(f / "m.onnx", [1, 3, *SIZE])), "--target", "coral-edgetpu",
                "--precision", "fp16"], "not allowed for --target coral-edgetpu; allowed: int8"),
    (lambda f: [str(sharpen_onnx(f / "m.onnx", [1, 3, *SIZE])), "--precision", "int4"], "did you mean 'int8'"),
    (_space_to_depth_onnx, r"--target rpi5: onnx2torch has no converter for node\(s\) fold \(SpaceToDepth\); "
                           "use --format onnx"),
])
def test_bad_input_gets_one_line_and_no_artifacts(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  make, message: str) -> None:  # noqa: ANN001
    import re

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    args = make(inputs)
    before = {p: _sha(p) for p in inputs.rglob("*") if p.is_file()}
    out = tmp_path / "build"
    code, err = _run(capsys, *args, *(["-o", str(out)] if "-o" not in args else []), *FAST)
    lines = [line for line in err.splitlines() if line.startswith("edgedeblur")]
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("edgedeblur convert: error: "), err
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in err
    assert {p: _sha(p) for p in inputs.rglob("*") if p.is_file()} == before  # inputs untouched
    assert not out.exists() or not any(out.iterdir())  # nothing half-written


def test_gate_failure_exits_1_and_keeps_the_marked_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = hostile_onnx(tmp_path / "hostile.onnx")
    code, err = _run(capsys, str(model), "-o", str(tmp_path / "b"), "--no-repair", *FAST)
    assert code == 1 and "1 artifact(s) rejected: hostile.int8.onnx (ground-truth PSNR" in err
    manifest = Manifest.load(tmp_path / "b" / "hostile" / "manifest.json")
    assert manifest.find("hostile.int8.onnx").status.value == "rejected"


def test_list_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", "--list-targets"]) == 0
    out = capsys.readouterr().out
    assert "coral-edgetpu" in out and "qualcomm-qnn" in out


def test_ship_refuses_custom_selections(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "nano", "--ship", "--target", "rpi5", "-o", str(tmp_path))
    assert code == 1 and "drop --target" in err


def test_train_is_a_thin_wrapper(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["train", "nano", "--help"])
    assert stop.value.code == 0 and "--steps" in capsys.readouterr().out


def test_train_errors_are_one_line_unless_debug(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "nano", "--data", str(tmp_path / "nowhere"), "--run-dir", str(tmp_path / "run")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("edgedeblur train: error: ") and err.count("\n") == 1 and "nowhere" in err
    with pytest.raises(EdgeDeblurError, match="nowhere"):
        main(["--debug", *argv])

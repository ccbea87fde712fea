"""``edgedeblur profile`` bad input: each case is one clear line on stderr and exit code 1.

Only the profile command is registered (the dispatcher's list is narrowed with monkeypatch)
so these tests do not depend on which other subcommands have landed.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from runtime import cli
from tests.conftest import build_onnx


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    monkeypatch.setattr(cli, "_BUILTIN_COMMANDS", ("runtime.commands.profile",))

    def run(*argv: str) -> tuple[int, str]:
        code = cli.main(["profile", "--no-progress", *argv])
        return code, capsys.readouterr().err.strip()
    return run


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for i in range(3):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    return path


def error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("edgedeblur profile: error: ")]
    assert len(lines) == 1, err
    return lines[0]


def test_missing_source(run_cli, tmp_path: Path) -> None:  # noqa: ANN001
    code, err = run_cli("--source", str(tmp_path / "nope.mp4"), "--config", "full:small.fp32")
    assert code == 1 and "nope.mp4 not found" in error_line(err)


@pytest.mark.parametrize("config, message", [
    ("small.fp32", "must be MODE:MODEL"),
    ("everything:small.fp32", "unknown mode 'everything'; use one of full, faces, faces+light"),
])
def test_malformed_config(run_cli, video: Path, config: str, message: str) -> None:  # noqa: ANN001
    code, err = run_cli("--source", str(video), "--config", config)
    assert code == 1 and message in error_line(err)


def test_config_naming_a_missing_model(run_cli, video: Path, tmp_path: Path) -> None:  # noqa: ANN001
    code, err = run_cli("--source", str(video), "--config", "full:no_such_model.int8", "--meter", "estimate",
                        "--report", str(tmp_path / "r"))
    assert code == 1 and "unknown model 'no_such_model.int8'" in error_line(err)
    assert not (tmp_path / "r").exists()


def test_meter_asked_for_but_absent(run_cli, video: Path, tmp_path: Path) -> None:  # noqa: ANN001
    code, err = run_cli("--source", str(video), "--config", "full:small.fp32", "--meter", "rapl",
                        "--sys-root", str(tmp_path))
    assert code == 1 and "no RAPL energy counters under" in error_line(err)


def test_unreadable_counter(run_cli, video: Path, tmp_path: Path) -> None:  # noqa: ANN001
    zone = tmp_path / "sys/class/powercap/intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "name").write_text("package-0\n")
    (zone / "max_energy_range_uj").write_text("262143328850\n")
    (zone / "energy_uj").mkdir()                        # unreadable as a counter, even for root
    code, err = run_cli("--source", str(video), "--config", "full:small.fp32", "--meter", "rapl",
                        "--sys-root", str(tmp_path))
    assert code == 1 and "energy_uj is a directory, not a counter file; run as root" in error_line(err)


def test_malformed_meter_csv(run_cli, video: Path, tmp_path: Path) -> None:  # noqa: ANN001
    log = tmp_path / "usb.csv"
    log.write_text("time,watts\n1700000000,4.9\n1700000001,4.9,extra\n1700000002,lots\n")
    code, err = run_cli("--source", str(video), "--config", "full:small.fp32", "--meter", "csv",
                        "--meter-log", str(log))
    assert code == 1 and "usb.csv line 4 is malformed" in error_line(err)


def test_profiles_the_real_pipeline_with_a_tiny_model(run_cli, video: Path, tmp_path: Path) -> None:  # noqa: ANN001
    model = build_onnx(tmp_path / "identity.onnx")
    report = tmp_path / "report"
    code, err = run_cli("--source", str(video), "--frames", "3", "--warmup", "1", "--chunk", "2",
                        "--config", f"full:{model}", "--config", f"faces:{model}",
                        "--meter", "estimate", "--power-model", "pi5", "--report", str(report))
    assert code == 0, err
    doc = json.loads((report / "profile.json").read_text())
    assert [c["name"] for c in doc["configs"]] == [f"full:{model}", f"faces:{model}"]
    assert all(c["frames"] == 3 and c["measured"] is False for c in doc["configs"])
    assert doc["meter"]["source"].startswith("CPU-time model pi5")


def test_models_dir_is_where_model_names_are_looked_up(run_cli, video: Path, tmp_path: Path) -> None:  # noqa: ANN001
    """A candidate set is profiled by name, as ``run`` and ``deblur`` take it; a name only the
    candidate folder has is unknown to the shipped set."""
    from model_fixtures import manifest_row, write_manifest

    models = tmp_path / "candidate"
    models.mkdir()
    build_onnx(models / "tiny.fp32.onnx")
    write_manifest(models, [manifest_row(models / "tiny.fp32.onnx", "tiny")])
    common = ["--source", str(video), "--frames", "2", "--warmup", "0", "--chunk", "2", "--config", "full:tiny",
              "--meter", "estimate", "--power-model", "pi5"]
    code, err = run_cli(*common, "--report", str(tmp_path / "shipped"))
    assert code == 1 and "tiny" in error_line(err)
    code, err = run_cli(*common, "--models-dir", str(models), "--report", str(tmp_path / "candidate_report"))
    assert code == 0, err
    assert json.loads((tmp_path / "candidate_report" / "profile.json").read_text())["configs"][0]["frames"] == 2

"""Training on a lent GPU machine: the pack fits the call, and the one-call script runs with
only PyTorch, OpenCV and NumPy (here on the CPU, every other package hidden)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from convert.freeze import freeze_weights
from convert.pack import MIN_SHORT_PX, PackConfig, main as pack_main, pack
from convert.photos import MIN_PAD_FRACTION
from convert.ship import main as ship_main
from convert.zoo import load_torch_file
from runtime.errors import ConfigError, ModelLoadError
from runtime.lab.sample_images import TRAIN_IMAGES, load_sample
from runtime.manifest import Manifest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "device_train.sh"
HIDDEN = ("av", "PIL", "skimage", "scipy", "onnx", "onnxruntime", "mediapipe", "tqdm")
"""What the device machine lacks: importing any of these there fails."""


def _photos(root: Path, sizes: list[tuple[int, int]]) -> list[Path]:
    root.mkdir(parents=True)
    img = load_sample("rocket")[..., ::-1]
    paths = []
    for i, (h, w) in enumerate(sizes):
        paths.append(root / f"p{i}.png")
        cv2.imwrite(str(paths[-1]), cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA))
    return paths


def test_pack_shrinks_photos_but_keeps_a_training_patch(tmp_path: Path) -> None:
    general = _photos(tmp_path / "src" / "general", [(600, 900), (900, 300), (200, 640), (300, 380)])
    faces = _photos(tmp_path / "src" / "faces", [(1024, 1024), (250, 250), (220, 220)])
    res = pack(tmp_path / "pack", {"general": general, "faces": faces}, PackConfig(long_side=384))
    assert res.packed == {"general": 3, "faces": 2} and res.skipped_small == 2
    shapes = sorted(cv2.imread(str(p)).shape[:2] for p in (tmp_path / "pack").rglob("*.jpg"))
    assert shapes == [(250, 250), (256, 384), (300, 380), (384, 384), (768, 256)]   # a tall photo keeps 256 px
    assert all(min(s) >= MIN_PAD_FRACTION * MIN_SHORT_PX for s in shapes)           # the trainer pads 250 to 256
    assert res.bytes == sum(p.stat().st_size for p in (tmp_path / "pack").rglob("*.jpg"))


def test_pack_stops_at_its_budget_and_keeps_the_mix(tmp_path: Path) -> None:
    general = _photos(tmp_path / "g", [(400, 600)] * 12)
    faces = _photos(tmp_path / "f", [(512, 512)] * 4)
    one = pack(tmp_path / "one", {"general": general[:1]}, PackConfig()).bytes
    res = pack(tmp_path / "pack", {"general": general, "faces": faces}, PackConfig(max_mib=8.5 * one / 2**20))
    assert res.bytes <= 8.5 * one and sum(res.packed.values()) < 16
    assert res.packed["faces"] >= 1 and res.packed["general"] >= 3 * res.packed["faces"] - 3


def test_pack_refuses_to_mix_into_an_old_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _photos(tmp_path / "g", [(400, 600)])
    (tmp_path / "pack").mkdir()
    (tmp_path / "pack" / "old.jpg").write_bytes(b"x")
    assert pack_main([str(tmp_path / "pack"), "--data", str(tmp_path / "g")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not empty" in err
    with pytest.raises(ConfigError, match="long-side"):
        PackConfig(long_side=200)


def test_freeze_names_a_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no checkpoint"):
        freeze_weights("nano", tmp_path)


def _device_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(f"import sys\nfor m in {HIDDEN!r}:\n    sys.modules[m] = None\n")
    return {**os.environ, "PYTHONPATH": str(site), "PYTHON": sys.executable, "DEVICE": "cpu", **extra}


def _run_device_script(tmp_path: Path, photos: int, **env: str) -> Path:
    """Pack ``photos`` package photos (the first as a face), run the script on them; its $OUT."""
    src = tmp_path / "src"
    for i, name in enumerate(TRAIN_IMAGES[:photos]):
        folder = src / ("faces" if i == 0 else "general")
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{name}.png"), load_sample(name)[..., ::-1])
    pack(tmp_path / "pack", {"general": sorted((src / "general").iterdir()), "faces": sorted((src / "faces").iterdir())})
    out = tmp_path / "out"
    out.mkdir()
    settings = {"OUT": str(out), "PACK": str(tmp_path / "pack"), "RUN": str(tmp_path / "run"), "BATCH": "1",
                "THREADS": "1"} | env
    done = subprocess.run(["bash", str(SCRIPT)], cwd=ROOT, env=_device_env(tmp_path, **settings),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr + "".join(p.read_text() for p in out.glob("*.log"))
    return out


@pytest.mark.slow
def test_the_device_script_trains_and_brings_back_slim_weights(tmp_path: Path) -> None:
    out = _run_device_script(tmp_path, 4, MINUTES="0.05", MODELS="nano", BATCH="2", BANK="40")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["env.txt", "nano.curve.jsonl", "nano.log", "nano.pt"]    # the tool brings back <= 8 files
    assert "h264_probability 0" in (out / "env.txt").read_text()               # PyAV hidden: H.264 off
    frozen = load_torch_file(out / "nano.pt")
    assert frozen["ema"] is None and frozen["step"] > 0 and frozen["config"]["synthetic_val"] is False
    assert (out / "nano.pt").stat().st_size < 0.5 * (tmp_path / "run" / "nano" / "last.pt").stat().st_size
    shipped = (ROOT / "convert" / "weights" / "nano.pt").read_bytes()
    assert ship_main(["nano", "--weights", str(out), "--models-dir", str(tmp_path / "candidate")]) == 0
    entry = Manifest.load(tmp_path / "candidate" / "manifest.json").find("nano.fp32.onnx")
    assert entry.notes["trained_steps"] == str(frozen["step"]) and (tmp_path / "candidate" / "nano.fp32.onnx").is_file()
    assert (ROOT / "convert" / "weights" / "nano.pt").read_bytes() == shipped          # a candidate ships nothing


@pytest.mark.slow
def test_the_device_script_grows_a_capacity_variant_from_small(tmp_path: Path) -> None:
    out = _run_device_script(tmp_path, 2, MINUTES="0.02", MODELS="small-deep", BANK="20")
    grown = load_torch_file(out / "small-deep.pt")["model"]
    small = load_torch_file(ROOT / "convert" / "weights" / "small.pt")["model"]
    # a few warm-up steps move weights by ~1e-4: the stem still holds small's
    torch.testing.assert_close(grown["stem.0.weight"], small["stem.0.weight"], atol=0.01, rtol=0)


def test_the_device_script_names_a_missing_pack(tmp_path: Path) -> None:
    env = _device_env(tmp_path, OUT=str(tmp_path), PACK=str(tmp_path / "nowhere"))
    done = subprocess.run(["bash", str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "convert.pack" in done.stderr


def test_training_without_pyav_asks_for_h264_off_before_it_starts(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    _photos(photos, [(300, 400)])
    done = subprocess.run([sys.executable, "-m", "convert.train", "nano", "--data", str(photos), "--minutes", "0.01",
                           "--run-dir", str(tmp_path / "run")], cwd=ROOT, env=_device_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "--h264-probability 0" in done.stderr and not (tmp_path / "run").exists()

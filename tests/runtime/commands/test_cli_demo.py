"""``edgedeblur demo`` and the bundled example photo."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model_fixtures import build_onnx
from runtime.catalog import load_shipped_manifest, resolve_model
from runtime.cli import main
from runtime.commands.demo import EXAMPLE_PHOTO, render_example, write_example
from runtime.errors import ModelLoadError


def _shipped_default() -> bool:
    try:
        resolve_model("small")
    except ModelLoadError:
        return False
    return True


def test_example_photo_regenerates(tmp_path: Path) -> None:
    with Image.open(EXAMPLE_PHOTO) as im:
        committed = np.asarray(im.convert("RGB")).astype(int)
    fresh = write_example(tmp_path / "ex.jpg")
    with Image.open(fresh) as im:
        regenerated = np.asarray(im.convert("RGB")).astype(int)
    assert committed.shape == (600, 512, 3)
    assert np.abs(committed - regenerated).max() <= 2          # same pixels up to libjpeg version
    raw = render_example().astype(int)
    assert np.abs(committed - raw).mean() < 2.0                  # JPEG q92 of that render


def test_demo_with_given_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = build_onnx(tmp_path / "identity.onnx")
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "--model", str(model)]) == 0
    printed = capsys.readouterr().out
    for name in ("example_sharp.png", "example_compare.png"):
        assert (out / name).exists() and str(out / name) in printed
    with Image.open(out / "example_compare.png") as im:
        assert im.size[0] > 2 * 512


def test_demo_default_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fails clearly until the shipped default model lands, then must succeed."""
    rc = main(["demo", "-o", str(tmp_path / "d")])
    err = capsys.readouterr().err
    if _shipped_default():
        assert rc == 0 and (tmp_path / "d" / "example_sharp.png").exists()
    else:
        assert rc == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
        assert "no models are shipped" in err or "unknown model 'small'" in err
        assert load_shipped_manifest().find("small.fp32.onnx") is None

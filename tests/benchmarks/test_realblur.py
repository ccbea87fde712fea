"""The camera-blur benchmark splits its gains by source, so a mean cannot hide which data set moved."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from benchmarks.realblur import main
from runtime.lab.sample_images import TRAIN_IMAGES, load_sample


def _pairs(folder: Path) -> None:
    """Two blurry/sharp pairs from different 'sources' (file-name prefixes) and a PAIRS.tsv."""
    folder.mkdir()
    photo = load_sample(TRAIN_IMAGES[0])
    lines = ["blur\tsharp\thas_people"]
    for i, prefix in enumerate(("MTRBlurM", "GoProAvg")):
        sharp = np.ascontiguousarray(photo[i * 100:i * 100 + 96, :128, ::-1])
        blur = cv2.blur(sharp, (1, 5 + 4 * i))
        cv2.imwrite(str(folder / f"{prefix}_{i}_sharp.png"), sharp)
        cv2.imwrite(str(folder / f"{prefix}_{i}_blur.png"), blur)
        lines.append(f"{prefix}_{i}_blur.png\t{prefix}_{i}_sharp.png\tno")
    (folder / "PAIRS.tsv").write_text("\n".join(lines) + "\n")


def test_gains_are_reported_per_source(tmp_path: Path) -> None:
    _pairs(tmp_path / "pairs")
    assert main(["--data", str(tmp_path / "pairs"), "--configs", "model:nano", "--out", str(tmp_path / "out")]) == 0
    result = json.loads((tmp_path / "out" / "realblur.json").read_text())
    summary = result["summary"]["model:nano"]
    by_source = summary["gain_by_source_db"]
    gains = {r["pair"].split("_")[0]: r["gain"] for r in result["rows"]}
    assert by_source == gains and np.isclose(np.mean(list(by_source.values())), summary["gain_db"])
    table = (tmp_path / "out" / "realblur.md").read_text()
    assert "| MTRBlurM (1) dB | GoProAvg (1) dB |" in table
    assert f"| {by_source['MTRBlurM']:+.2f} | {by_source['GoProAvg']:+.2f} |" in table

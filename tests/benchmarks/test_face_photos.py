"""The face-photo benchmark blurs every photo the same way for every config and reports each family."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.face_photos import CROP_PX, DISC_RADII_PX, SHAKE_PX, STRIP_CASES, main, make_cases
from runtime.lab.sample_images import TRAIN_IMAGES, load_sample


def _photos(folder: Path) -> list[Path]:
    """Two package photos of different sizes, one smaller than a strip cell."""
    folder.mkdir()
    paths = []
    for i, (h, w) in enumerate(((224, 200), (150, 170))):
        img = cv2.resize(load_sample(TRAIN_IMAGES[i]), (w, h), interpolation=cv2.INTER_AREA)
        paths.append(folder / f"face{i}.png")
        cv2.imwrite(str(paths[-1]), np.ascontiguousarray(img[..., ::-1]))
    return paths


def test_cases_are_the_same_for_a_seed_and_cover_every_blur(tmp_path: Path) -> None:
    paths = _photos(tmp_path / "faces")
    a, b = make_cases(paths, seed=3), make_cases(paths, seed=3)
    assert [c.blur for c in a[:5]] == [f"shake {n} px" for n in SHAKE_PX] + [f"disc r{r:g}" for r in DISC_RADII_PX]
    assert all(np.array_equal(x.blurry, y.blurry) for x, y in zip(a, b))
    assert not np.array_equal(a[0].blurry, make_cases(paths, seed=4)[0].blurry)


def test_every_family_is_reported_and_the_strip_shows_each_config(tmp_path: Path) -> None:
    _photos(tmp_path / "faces")
    out = tmp_path / "out"
    assert main(["--data", str(tmp_path / "faces"), "--count", "2", "--configs", "model:nano",
                 "--out", str(out)]) == 0
    result = json.loads((out / "face_photos.json").read_text())
    rows, summ = result["rows"], result["summary"]["model:nano"]
    assert len(rows) == 2 * (len(SHAKE_PX) + len(DISC_RADII_PX))
    family = {f: np.mean([r["gain"] for r in rows if r["family"] == f]) for f in ("shake", "defocus")}
    assert summ["gain_by_family_db"] == pytest.approx(family)
    assert summ["families_mean_db"] == pytest.approx(np.mean(list(family.values())))
    assert summ["cases_mean_db"] == pytest.approx(np.mean([r["gain"] for r in rows]))
    assert family["defocus"] > 0.5          # the net does deblur a disc it was trained on
    table = (out / "face_photos.md").read_text()
    assert f"| {family['shake']:+.2f} | {family['defocus']:+.2f} |" in table
    strip = cv2.imread(str(out / "strip.jpg"))
    assert strip.shape[:2] == (2 * len(STRIP_CASES) * CROP_PX, 3 * CROP_PX)   # input | nano | sharp


def test_a_missing_folder_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="not a folder"):
        main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()

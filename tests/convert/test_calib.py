"""Calibration inputs and held-out validation pairs."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from convert.calib import CalibConfig, calibration_images, list_images, validation_pairs
from runtime.errors import ConfigError
from runtime.lab.sample_images import EVAL_IMAGES, load_sample


def _photos(folder: Path, n: int = 2) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        cv2.imwrite(str(folder / f"p{i}.png"), (rng.random((40, 50, 3)) * 255).astype(np.uint8))
    return folder


def test_folder_photos_are_blurred_unless_already_blurry(tmp_path: Path) -> None:
    folder = _photos(tmp_path / "photos")
    blurred = calibration_images(CalibConfig(folder=folder, count=3, size_hw=(16, 24)))
    as_is = calibration_images(CalibConfig(folder=folder, count=3, size_hw=(16, 24), blurred=True))
    assert blurred.shape == as_is.shape == (3, 16, 24, 3) and blurred.dtype == np.float32
    assert 0 <= blurred.min() and blurred.max() <= 1
    grad = lambda a: np.abs(np.diff(a, axis=2)).mean()  # noqa: E731
    assert grad(blurred) < 0.7 * grad(as_is)  # random noise photos lose detail when blurred


def test_small_photos_are_upscaled_to_the_crop(tmp_path: Path) -> None:
    folder = _photos(tmp_path / "photos", 1)
    assert calibration_images(CalibConfig(folder=folder, count=2, size_hw=(64, 64), blurred=True)).shape[1:3] == (64, 64)


def test_synthetic_calibration_and_validation_are_disjoint() -> None:
    calib = calibration_images(CalibConfig(count=4, size_hw=(32, 32)))
    val = validation_pairs(4, (32, 32))
    assert calib.shape == val.inputs.shape == val.targets.shape == (4, 32, 32, 3)
    assert not any(np.allclose(c, v, atol=1e-3) for c in calib for v in val.inputs)
    assert np.abs(val.inputs - val.targets).mean() > 0.005  # blurred, not identical
    eval_photo = load_sample(EVAL_IMAGES[0]).astype(np.float32) / 255  # pair 0 is a crop of a real eval photo
    crop = val.targets[0]
    hits = cv2.matchTemplate(eval_photo, crop, cv2.TM_SQDIFF)
    assert hits.min() < 1e-3
    assert validation_pairs(2, (32, 32)).targets.tobytes() == validation_pairs(2, (32, 32)).targets.tobytes()


@pytest.mark.parametrize("make, match", [
    (lambda p: p, "not a folder"),
    (lambda p: (p.mkdir(), p)[1], "no images"),
])
def test_bad_calibration_folders(tmp_path: Path, make, match: str) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match=match):
        list_images(make(tmp_path / "calib"))


def test_a_fifth_of_the_deblur_inputs_stay_sharp(tmp_path: Path) -> None:
    """int8's noise floor hides under blur: calibration and the gate must see sharp photos too."""
    val = validation_pairs(20, (64, 64))
    sharp = [i for i in range(20) if np.abs(val.inputs[i] - val.targets[i]).mean() < 0.02]
    assert sharp == [4, 14]                            # photos (even indices), one in five of them
    calib = calibration_images(CalibConfig(folder=_photos(tmp_path / "photos"), count=10, size_hw=(16, 24)))
    grad = np.abs(np.diff(calib, axis=2)).mean(axis=(1, 2, 3))
    assert set(np.argsort(grad)[-2:]) == {2, 7}        # the noise photos left unblurred keep their detail

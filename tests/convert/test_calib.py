"""Calibration inputs and held-out validation pairs."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from convert.calib import CalibConfig, calibration_images, list_images, validation_pairs, validation_photos
from runtime.errors import ConfigError
from runtime.lab.sample_images import EVAL_IMAGES, TRAIN_IMAGES, load_sample


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


def test_synthetic_calibration_and_validation_use_different_crops() -> None:
    """Without a folder both draw on the package training photos: other crops, other blur."""
    calib = calibration_images(CalibConfig(count=4, size_hw=(32, 32)))
    val = validation_pairs(4, (32, 32))
    assert calib.shape == val.inputs.shape == val.targets.shape == (4, 32, 32, 3)
    assert not any(np.allclose(c, v, atol=1e-3) for c in calib for v in val.inputs)
    assert np.abs(val.inputs - val.targets).mean() > 0.005  # blurred, not identical
    first = load_sample(TRAIN_IMAGES[0]).astype(np.float32) / 255  # pair 0 is a crop of a package training photo
    assert cv2.matchTemplate(first, val.targets[0], cv2.TM_SQDIFF).min() < 1e-3
    assert "training photos" in val.source
    assert validation_pairs(2, (32, 32)).targets.tobytes() == validation_pairs(2, (32, 32)).targets.tobytes()


def test_the_gate_never_sees_the_evaluation_photos() -> None:
    """The repair loop decides on the gate, so its photos must not be the evaluation photos."""
    val = validation_pairs(16, (32, 32))
    for name in EVAL_IMAGES:
        photo = load_sample(name).astype(np.float32) / 255
        assert all(cv2.matchTemplate(photo, t, cv2.TM_SQDIFF).min() > 1e-2 for t in val.targets[::2])


def test_a_calibration_folder_lends_the_gate_the_photos_calibration_left(tmp_path: Path) -> None:
    folder = _photos(tmp_path / "photos", n=5)
    held = validation_photos(CalibConfig(folder=folder, count=3), 8)
    files = sorted(folder.iterdir())
    assert len(held.images) == 2 and f"2 photos of {folder}" in held.source
    assert np.array_equal(held.images[0], cv2.imread(str(files[3]))[..., ::-1].astype(np.float32) / 255)
    pairs = validation_pairs(4, (16, 16), photos=held)
    assert pairs.source.startswith(held.source)
    everything_used = validation_photos(CalibConfig(folder=folder, count=5), 8)
    already_blurry = validation_photos(CalibConfig(folder=folder, count=1, blurred=True), 8)
    assert "package training photos" in everything_used.source == already_blurry.source


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

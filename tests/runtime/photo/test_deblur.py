"""The photo API: strength blending, mode policy, classical baselines, files in and out."""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from model_fixtures import build_onnx, write_manifest
from runtime.lab.degradations import blur, degrade
from runtime.photo.kernels import defocus_kernel, gaussian_kernel, linear_motion_kernel
from runtime.photo.deblur import (DeblurConfig, Deblurer, Method, Mode, choose_model, deblur_file, deblur_image,
                                  load_kernel)
from runtime.engines import create_engine
from runtime.errors import ConfigError, ImageError
from runtime.lab.sample_images import load_sample, load_sample_scaled
from runtime.manifest import sha256_file
from runtime.photo.kernel_aware import KernelMethod, kernel_aware_deblur
from runtime.photo.policy import AutoPolicy


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


@pytest.fixture
def photo() -> np.ndarray:
    return (load_sample("coffee")[100:196, 200:328].astype(np.float32) / 255.0)


@pytest.fixture
def models(tmp_path: Path) -> Path:
    """A models folder: general identity model plus motion/focus specialists (sharpen)."""
    d = tmp_path / "models"
    d.mkdir()
    rows = []
    for id_, kind, notes, precision in [("small.fp32.onnx", "identity", {}, "fp32"),
                                        ("small_motion.fp32.onnx", "sharpen", {"specialty": "motion"}, "fp32"),
                                        ("small_focus.fp32.onnx", "sharpen", {"specialty": "focus"}, "fp32"),
                                        ("small_focus.int8.onnx", "sharpen", {"specialty": "focus"}, "int8")]:
        p = build_onnx(d / id_, kind=kind)
        rows.append({"id": id_, "model": id_.split(".")[0], "path": id_, "format": "onnx",
                     "precision": precision, "sha256": sha256_file(p), "input": {"name": "x"},
                     "output": {"name": "out"}, "multiple_of": 16, "notes": notes})
    write_manifest(d, rows)
    return d


@pytest.mark.parametrize("kwargs, raises", [
    ({"strength": 1.5}, r"`strength` 1.5 is outside \[0, 1\]"),
    ({"strength": -0.1}, r"`strength` -0.1 is outside"),
    ({"strength": float("nan")}, r"`strength` nan is outside"),
    ({"mode": "motoin"}, "did you mean 'motion'"),
    ({"method": "wiener"}, "`method` wiener needs the blur kernel"),
    ({"method": "rl"}, "`method` rl needs"),
    ({"kernel": np.ones((3, 3))}, "`kernel` applies to `method` wiener or rl only"),
    ({"method": "wiener", "kernel": np.zeros((3, 3))}, "sums to 0"),
    ({"tile": 64, "overlap": 40}, "`overlap` 40"),
    ({"model": " "}, "`model` is empty"),
    ({"strength": 0.0, "mode": "focus", "method": "unsharp"}, None),
])
def test_config_validation(kwargs: dict[str, object], raises: str | None) -> None:
    with pytest.raises(ConfigError, match=raises) if raises else nullcontext():
        cfg = DeblurConfig(**kwargs)  # type: ignore[arg-type]
        assert isinstance(cfg.mode, Mode) and isinstance(cfg.method, Method)


def test_config_normalises_kernel() -> None:
    cfg = DeblurConfig(method="wiener", kernel=np.ones((3, 3)) * 5)  # type: ignore[arg-type]
    assert cfg.kernel is not None and abs(float(cfg.kernel.sum()) - 1) < 1e-6


@pytest.mark.parametrize("strength", [0.0, 0.3, 1.0])
def test_strength_blends_linearly(models: Path, photo: np.ndarray, strength: float) -> None:
    full = deblur_image(photo, DeblurConfig(model="small_motion.fp32.onnx", models_dir=models)).image
    out = deblur_image(photo, DeblurConfig(model="small_motion.fp32.onnx", strength=strength,
                                           models_dir=models))
    np.testing.assert_allclose(out.image, photo + strength * (full - photo), atol=1e-5)
    assert (out.model_id is None) == (strength == 0)
    if strength == 0:
        np.testing.assert_array_equal(out.image, photo)


def test_identity_model_returns_input(models: Path, photo: np.ndarray) -> None:
    r = deblur_image(photo, DeblurConfig(model="small", models_dir=models, mode="auto"))
    np.testing.assert_allclose(r.image, photo, atol=1e-6)
    assert r.model_id == "small.fp32.onnx" and r.method is Method.MODEL
    assert set(r.timings_ms) >= {"run", "total"} and all(v >= 0 for v in r.timings_ms.values())


@pytest.mark.parametrize("model, mode, expected", [
    ("small", Mode.MOTION, "small_motion.fp32.onnx"),
    ("small", Mode.FOCUS, "small_focus.fp32.onnx"),
    ("small_focus.int8", Mode.FOCUS, "small_focus.int8.onnx"),
    ("small_focus.int8", Mode.MOTION, "small_focus.int8.onnx"),   # no int8 motion model: keep the given one
])
def test_mode_picks_specialist(models: Path, photo: np.ndarray, model: str, mode: Mode, expected: str) -> None:
    cfg = DeblurConfig(model=model, mode=mode, models_dir=models)
    choice = choose_model(mode, photo, cfg)
    assert choice.model == expected and choice.mode_used is mode
    assert deblur_image(photo, cfg).model_id == expected


@pytest.mark.parametrize("kernel, mode, expected", [
    (defocus_kernel(3.0), Mode.FOCUS, "small_focus.fp32.onnx"),
    (linear_motion_kernel(12.0, 30.0), Mode.MOTION, "small_motion.fp32.onnx"),
])
def test_model_auto_mode_follows_blur_estimate(models: Path, kernel: np.ndarray, mode: Mode, expected: str) -> None:
    blurry = blur(load_sample("chelsea").astype(np.float32) / 255.0, kernel)
    r = deblur_image(blurry, DeblurConfig(model="small", models_dir=models, mode="auto", method="model"))
    assert (r.mode_used, r.model_id) == (mode, expected)
    assert r.blur_estimate is not None and r.blur_estimate.confidence >= 0.5


def test_auto_on_tiny_image_keeps_general_model(models: Path, photo: np.ndarray) -> None:
    choice = choose_model(Mode.AUTO, photo[:64, :64], DeblurConfig(model="small", models_dir=models))
    assert (choice.model, choice.mode_used, choice.estimate) == ("small.fp32.onnx", Mode.AUTO, None)


@pytest.mark.parametrize("shape", [(1, 500, 3), (500, 2, 3), (2, 2, 3), (8, 8, 3)])
def test_slivers_go_through_the_default_path_without_warnings(identity_onnx: Path, shape: tuple[int, ...]) -> None:
    import warnings

    from runtime.photo.gate import noise_sigma

    image = np.random.default_rng(0).random(shape, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # numpy's "mean of empty slice" leaked to the user
        assert noise_sigma(image) >= 0
        out = deblur_image(image, DeblurConfig(model=identity_onnx)).image
    assert out.shape == shape and np.isfinite(out).all()


def test_auto_without_specialists_skips_estimate(tmp_path: Path, photo: np.ndarray) -> None:
    d = tmp_path / "m"
    d.mkdir()
    p = build_onnx(d / "small.fp32.onnx")
    write_manifest(d, [{"id": p.name, "model": "small", "path": p.name, "format": "onnx", "precision": "fp32",
                        "sha256": sha256_file(p), "input": {"name": "x"}, "output": {"name": "out"}}])
    choice = choose_model(Mode.AUTO, photo, DeblurConfig(model="small", models_dir=d))
    assert (choice.model, choice.mode_used, choice.estimate) == ("small.fp32.onnx", Mode.AUTO, None)


def test_model_path_is_used_as_given(identity_onnx: Path, photo: np.ndarray) -> None:
    r = deblur_image(photo, DeblurConfig(model=str(identity_onnx), mode="motion"))
    assert r.model_id == "identity.onnx" and r.mode_used is Mode.MOTION


def test_given_engine_is_used_and_left_open(identity_onnx: Path, photo: np.ndarray) -> None:
    with create_engine(identity_onnx) as engine:
        r = deblur_image(photo, DeblurConfig(model="ignored-name"), engine=engine)
        assert r.model_id == "identity.onnx"
        engine.run(np.zeros((1, 16, 16, 3), np.float32))       # still open


@pytest.mark.parametrize("method", ["wiener", "rl"])
def test_classical_methods_restore_known_blur(photo: np.ndarray, method: str) -> None:
    k = defocus_kernel(2.5)
    blurry = blur(photo, k)
    r = deblur_image(blurry, DeblurConfig(method=method, kernel=k))  # type: ignore[arg-type]
    assert r.model_id is None and r.method is Method(method)
    assert _psnr(r.image, photo) > _psnr(blurry, photo) + 1.0


def test_unsharp_adds_detail(photo: np.ndarray) -> None:
    blurry = blur(photo, gaussian_kernel(1.5))
    out = deblur_image(blurry, DeblurConfig(method="unsharp")).image
    lap = lambda im: float(np.abs(cv2.Laplacian(im, cv2.CV_32F)).mean())  # noqa: E731
    assert lap(out) > 1.3 * lap(blurry)


def test_load_kernel(tmp_path: Path) -> None:
    k = np.zeros((9, 9), np.uint8)
    k[4, 2:7] = 255
    Image.fromarray(k).save(tmp_path / "k.png")
    kernel = load_kernel(tmp_path / "k.png")
    assert kernel.shape == (9, 9) and abs(float(kernel.sum()) - 1) < 1e-6
    np.testing.assert_allclose(kernel[4, 2:7], 0.2, atol=1e-6)
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "black.png")
    with pytest.raises(ConfigError, match="black.png is empty"):
        load_kernel(tmp_path / "black.png")


def test_deblur_file_keeps_16bit_and_alpha(identity_onnx: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    px = (rng.random((40, 50, 4)) * 65535).astype(np.uint16)
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), px)                      # BGRA, 16-bit
    before = src.read_bytes()
    r = deblur_file(src, tmp_path / "out.png", DeblurConfig(model=str(identity_onnx)))
    out = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == px.shape and r.image.shape == (40, 50, 3)
    np.testing.assert_array_equal(out[..., 3], px[..., 3])
    assert np.abs(out.astype(int) - px.astype(int)).max() <= 1
    assert src.read_bytes() == before


def test_deblur_file_refuses_to_overwrite_input(identity_onnx: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    Image.fromarray((np.random.default_rng(1).random((20, 20, 3)) * 255).astype(np.uint8)).save(src)
    before = src.read_bytes()
    cfg = DeblurConfig(model=str(identity_onnx), strength=0.5)
    with pytest.raises(ConfigError, match="refusing to overwrite the input"):
        deblur_file(src, src, cfg)
    assert src.read_bytes() == before
    deblur_file(src, src, cfg, overwrite=True)
    assert read_back(src).shape == (20, 20, 3)


def read_back(p: Path) -> np.ndarray:
    with Image.open(p) as im:
        return np.asarray(im)


def test_deblur_file_rejects_alpha_to_jpeg_before_work(identity_onnx: Path, tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 4), np.uint8)).save(src)
    with pytest.raises(ImageError, match="transparency that JPEG cannot store"):
        deblur_file(src, tmp_path / "a.jpg", DeblurConfig(model=str(identity_onnx)))
    assert not (tmp_path / "a.jpg").exists()


@pytest.mark.parametrize("image, match", [
    (np.zeros((8, 8), np.float32), "needs an"),
    (np.zeros((8, 8, 3), np.uint8), "divide uint8 images by 255"),
    (np.full((8, 8, 3), np.nan, np.float32), "NaN"),
])
def test_bad_arrays(image: np.ndarray, match: str) -> None:
    with pytest.raises(ImageError, match=match):
        deblur_image(image, DeblurConfig(method="unsharp"))


def test_deblurer_reuses_engines(models: Path, photo: np.ndarray) -> None:
    with Deblurer(DeblurConfig(model="small", models_dir=models, mode="focus")) as d:
        a = d.deblur_image(photo)
        b = d.deblur_image(photo[:50])
    assert a.model_id == b.model_id == "small_focus.fp32.onnx"
    assert b.timings_ms["load"] < a.timings_ms["load"] or b.timings_ms["load"] < 1.0


def _coins(long_side: int = 256) -> np.ndarray:
    return load_sample_scaled("coins", long_side)  # TRAIN_IMAGES


@pytest.fixture(scope="module")
def defocused() -> np.ndarray:
    return degrade(_coins(), defocus_kernel(3.5), np.random.default_rng(0), srgb_noise_sigma=0.01)


def test_default_method_is_auto() -> None:
    assert DeblurConfig().method is Method.AUTO


def test_auto_deconvolves_a_confident_blur_and_lets_the_model_clean_up(identity_onnx: Path,
                                                                      defocused: np.ndarray) -> None:
    r = deblur_image(defocused, DeblurConfig(model=str(identity_onnx)))
    assert r.kernel_aware is not None
    assert (r.method, r.kernel_aware.method, r.mode_used) == (Method.KERNEL, KernelMethod.DEFOCUS, Mode.FOCUS)
    assert r.model_id == "identity.onnx" and r.kernel_aware.kernel is not None
    assert {"estimate", "deconvolve", "run", "total"} <= set(r.timings_ms)
    # an identity clean-up model leaves the deconvolution as it is
    np.testing.assert_allclose(r.image, r.kernel_aware.image, atol=1e-5)
    np.testing.assert_array_equal(r.kernel_aware.image, kernel_aware_deblur(defocused).image)
    sharp = _coins()
    assert _psnr(r.image, sharp) > _psnr(defocused, sharp) + 3.0


def test_auto_uses_the_model_where_the_kernel_path_is_unsure(models: Path, photo: np.ndarray) -> None:
    r = deblur_image(photo[:60, :90], DeblurConfig(model="small", models_dir=models))   # too small to estimate
    assert (r.method, r.kernel_aware and r.kernel_aware.method, r.model_id) == (Method.MODEL, KernelMethod.UNSURE, "small.fp32.onnx")


def test_auto_can_leave_a_sharp_photo_alone(identity_onnx: Path) -> None:
    sharp = _coins()
    noisy = np.clip(sharp + np.random.default_rng(0).normal(0, 0.01, sharp.shape), 0, 1).astype(np.float32)
    r = deblur_image(noisy, DeblurConfig(model=str(identity_onnx), policy=AutoPolicy(keep_sharp=True)))
    assert (r.method, r.kernel_aware and r.kernel_aware.method, r.model_id) == (Method.KERNEL, KernelMethod.SHARP, None)
    np.testing.assert_array_equal(r.image, noisy)


def test_auto_gate_keeps_a_sharp_photo_close_to_itself(tmp_path: Path) -> None:
    """A model that sharpens everything: under auto the gate keeps a sharp photo's pixels."""
    sharpen = build_onnx(tmp_path / "sharpen.onnx", kind="sharpen")
    sharp = _coins()
    raw = deblur_image(sharp, DeblurConfig(model=str(sharpen), method="model")).image
    auto = deblur_image(sharp, DeblurConfig(model=str(sharpen)))
    assert auto.kernel_aware is not None and auto.kernel_aware.method is KernelMethod.SHARP
    assert "gate" in auto.timings_ms and auto.model_id == "sharpen.onnx"
    assert _psnr(auto.image, sharp) > _psnr(raw, sharp) + 6


def test_kernel_method_never_runs_a_model(photo: np.ndarray) -> None:
    r = deblur_image(photo[:60, :90], DeblurConfig(model="no-such-model", method="kernel"))
    assert (r.method, r.kernel_aware and r.kernel_aware.method, r.model_id) == (Method.KERNEL, KernelMethod.UNSURE, None)
    np.testing.assert_array_equal(r.image, photo[:60, :90])


def test_kernel_method_with_focus_mode_blends_strength(defocused: np.ndarray) -> None:
    full = deblur_image(defocused, DeblurConfig(method="kernel", mode="focus"))
    half = deblur_image(defocused, DeblurConfig(method="kernel", mode="focus", strength=0.5))
    assert full.kernel_aware is not None and full.kernel_aware.method is KernelMethod.DEFOCUS
    assert "blind" not in full.timings_ms
    np.testing.assert_allclose(half.image, defocused + 0.5 * (full.image - defocused), atol=1e-5)

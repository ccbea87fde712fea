"""The restore chain: link shapes in any order, auto denoise, x4 = x2 twice, strengths, files, memory."""
from __future__ import annotations

import itertools
from contextlib import nullcontext
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from runtime.engines import create_engine
from runtime.engines.tiling import TileConfig
from runtime.errors import ConfigError
from runtime.lab.sample_images import load_sample_scaled
from runtime.photo.chain import Restorer, RestoreConfig, restore
from runtime.photo.links import AutoDenoise, deblur_link, denoise_link, upscale_link
from runtime.photo.deblur import DeblurConfig
from runtime.photo.gate import noise_sigma


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A clean training photo (never an evaluation one), 96 x 128."""
    return np.ascontiguousarray(load_sample_scaled("rocket", 160)[:96, 16:144])


def _noisy(img: np.ndarray, sigma_255: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma_255 / 255, img.shape).astype(np.float32)
    return np.clip(img + noise, 0, 1)


def _config(models: Path, **chain: object) -> RestoreConfig:
    return RestoreConfig(deblur=DeblurConfig(models_dir=models, tile=64, overlap=16), **chain)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs, raises", [
    ({"denoise": "autoo"}, "`denoise` 'autoo' must be off, auto or a strength in \\[0, 1\\]; did you mean 'auto'"),
    ({"denoise": 1.5}, "`denoise` 1.5 must be"),
    ({"denoise": "0.4"}, None),
    ({"denoise": " Auto "}, None),
    ({"upscale": 3}, "`upscale` 3 must be 1, 2 or 4"),
    ({"upscale": True}, "`upscale` True must be"),
    ({"upscale_strength": 2.0}, "`upscale_strength` 2.0 is outside \\[0, 1\\]"),
    ({"denoise_strength": 0.5}, "`denoise_strength` applies to `denoise` auto"),
    ({"denoise": 0.3, "denoise_strength": 0.5}, "`denoise_strength` applies to `denoise` auto"),
    ({"denoise": "auto", "denoise_strength": 0.5}, None),
    ({"upscale_model": " "}, "`upscale_model` is empty"),
])
def test_config_validation(kwargs: dict[str, object], raises: str | None) -> None:
    with pytest.raises(ConfigError, match=raises) if raises else nullcontext():
        cfg = RestoreConfig(**kwargs)  # type: ignore[arg-type]
        assert cfg.denoise in ("off", "auto") or isinstance(cfg.denoise, float)


def test_auto_thresholds() -> None:
    auto = AutoDenoise()
    assert auto.strength(0.0) == 0 and auto.strength(auto.skip_at) == 0
    assert auto.strength(auto.full_at) == 1 and auto.strength(1.0) == 1
    assert 0 < auto.strength((auto.skip_at + auto.full_at) / 2) < 1
    with pytest.raises(ConfigError, match="skip_at"):
        AutoDenoise(skip_at=0.1, full_at=0.05)


def test_links_compose_in_any_order(photo: np.ndarray, restore_models: Path) -> None:
    """Every order of the three links runs (rgb in, rgb out); only the upscale changes the size."""
    d = restore_models
    links = {"deblur": lambda x: deblur_link(x, DeblurConfig(models_dir=d, method="model")),
             "denoise": lambda x: denoise_link(x, 1.0, "denoise", models_dir=d),
             "upscale": lambda x: upscale_link(x, 2, 1.0, "x2", models_dir=d)}
    for order in itertools.permutations(links):
        out = photo
        for name in order:
            out = links[name](out)
            assert out.dtype == np.float32 and out.ndim == 3 and 0 <= out.min() and out.max() <= 1
        assert out.shape == (192, 256, 3), order


@pytest.mark.parametrize("upscale", [1, 2, 4])
def test_restore_shapes_and_report(photo: np.ndarray, restore_models: Path, upscale: int) -> None:
    r = restore(photo, _config(restore_models, denoise=0.5, upscale=upscale))
    assert r.image.shape == (96 * upscale, 128 * upscale, 3) and r.image.dtype == np.float32
    assert [link.link for link in r.links] == ["deblur", "denoise"] + (["upscale"] if upscale > 1 else [])
    assert r.links[1].strength == 0.5 and "denoise" in r.links[1].label
    assert set(r.timings_ms) == {link.link for link in r.links} and r.noise_sigma is None


def test_auto_denoise_skips_clean_and_acts_on_noisy(photo: np.ndarray, restore_models: Path) -> None:
    """The link alone: a clean photo is returned unchanged; a noisy one is denoised."""
    clean = denoise_link(photo, "auto", "denoise", models_dir=restore_models)
    np.testing.assert_array_equal(clean, photo)
    noisy = _noisy(photo, 24)
    assert noise_sigma(noisy) > AutoDenoise().full_at
    out = denoise_link(noisy, "auto", "denoise", models_dir=restore_models)
    assert noise_sigma(out) < 0.5 * noise_sigma(noisy)
    assert np.abs(out - photo).mean() < np.abs(noisy - photo).mean()


def test_chain_auto_denoise_measures_after_deblurring(photo: np.ndarray, restore_models: Path) -> None:
    """In the chain, 'auto' reads the noise of the deblurred photo: skipped (strength 0) on the
    clean photo, run on the noisy one, and scaled by `denoise_strength`."""
    cfg = _config(restore_models, denoise="auto")
    clean = restore(photo, cfg)
    assert clean.links[1].strength == 0 and "skipped" in clean.links[1].label
    assert clean.noise_sigma is not None and clean.noise_sigma <= AutoDenoise().skip_at
    noisy = _noisy(photo, 24)
    with Restorer(cfg) as r:
        deblurred = r.deblur(noisy)
        full = r.restore_image(noisy)
    assert full.noise_sigma == pytest.approx(noise_sigma(deblurred))
    assert full.links[1].strength > 0 and noise_sigma(full.image) < noise_sigma(deblurred)
    half = restore(noisy, _config(restore_models, denoise="auto", denoise_strength=0.5))
    assert half.links[1].strength == pytest.approx(0.5 * full.links[1].strength)


def test_x4_is_x2_twice(photo: np.ndarray, restore_models: Path) -> None:
    with create_engine("x2", models_dir=restore_models) as x2:
        four = upscale_link(photo, 4, 1.0, x2)
        twice = upscale_link(upscale_link(photo, 2, 1.0, x2), 2, 1.0, x2)
    assert four.shape == (384, 512, 3)
    np.testing.assert_array_equal(four, twice)


def test_strengths_blend(photo: np.ndarray, restore_models: Path) -> None:
    """Upscale strength 0 is Lanczos exactly (computed in bands), 0.5 the midpoint with the model;
    denoise 0.5 the midpoint between the photo and the denoiser's output."""
    d = restore_models
    lanczos = np.clip(cv2.resize(photo, (256, 192), interpolation=cv2.INTER_LANCZOS4), 0, 1)
    np.testing.assert_allclose(upscale_link(photo, 2, 0.0, "x2", models_dir=d), lanczos, atol=1e-6)
    full = upscale_link(photo, 2, 1.0, "x2", models_dir=d)
    half = upscale_link(photo, 2, 0.5, "x2", models_dir=d)
    np.testing.assert_allclose(half, np.clip(0.5 * (full + lanczos), 0, 1), atol=1e-5)
    noisy = _noisy(photo, 8)
    den = denoise_link(noisy, 1.0, "denoise", models_dir=d)
    np.testing.assert_allclose(denoise_link(noisy, 0.5, "denoise", models_dir=d), 0.5 * (den + noisy), atol=1e-5)


def test_models_must_fit_their_link(photo: np.ndarray, restore_models: Path) -> None:
    with pytest.raises(ConfigError, match="`denoise_model` x2.fp32.onnx has scale 2; the denoise link needs"):
        denoise_link(photo, 1.0, "x2", models_dir=restore_models)
    with pytest.raises(ConfigError, match="`upscale_model` denoise.fp32.onnx has scale 1; the upscale link needs"):
        upscale_link(photo, 2, 1.0, "denoise", models_dir=restore_models)
    with Restorer(_config(restore_models, upscale=2, upscale_model="denoise")) as r, \
            pytest.raises(ConfigError, match="has scale 1"):
        r.load()


def test_restore_file_keeps_alpha_and_depth(tmp_path: Path, photo: np.ndarray, restore_models: Path) -> None:
    rgba = np.concatenate([photo, np.linspace(0, 1, 128, dtype=np.float32)[None, :, None].repeat(96, 0)], axis=2)
    src = tmp_path / "in.png"
    Image.fromarray((rgba * 255).round().astype(np.uint8), "RGBA").save(src)
    before = src.read_bytes()
    with Restorer(_config(restore_models, upscale=2)) as r:
        result = r.restore_file(src, tmp_path / "out.png")
    assert result.written == tmp_path / "out.png" and src.read_bytes() == before
    with Image.open(tmp_path / "out.png") as im:
        assert im.mode == "RGBA" and im.size == (256, 192)
        alpha = np.asarray(im)[..., 3].astype(np.float32) / 255
    np.testing.assert_allclose(alpha[:, 2:-2].mean(axis=0), np.linspace(0, 1, 256)[2:-2], atol=0.02)
    deep = tmp_path / "deep.png"
    cv2.imwrite(str(deep), (photo[..., ::-1] * 65535).astype(np.uint16))
    restore_out = tmp_path / "deep.out.png"
    with Restorer(_config(restore_models, upscale=2)) as r:
        r.restore_file(deep, restore_out)
    back = cv2.imread(str(restore_out), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.shape == (192, 256, 3)


def test_upscale_memory_stays_near_one_output(restore_models: Path) -> None:
    """An x2 link blended with Lanczos (in bands) peaks near one float output, not 4x it."""
    import tracemalloc

    img = np.random.default_rng(0).random((600, 800, 3), dtype=np.float32)
    with create_engine("x2", models_dir=restore_models) as x2:
        tracemalloc.start()
        try:
            out = upscale_link(img, 2, 0.7, x2, tiles=TileConfig(tile=128, overlap=16, batch=2))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert out.shape == (1200, 1600, 3)
    assert peak < 1.5 * out.nbytes


def test_shipped_denoiser_resolves_by_name(photo: np.ndarray) -> None:
    """The defaults resolve the shipped 'denoise' from runtime/models: clean photo left alone,
    noisy one cleaned (noise reading and error against the clean photo both drop)."""
    np.testing.assert_array_equal(denoise_link(photo, "auto"), photo)
    noisy = _noisy(photo, 24)
    out = denoise_link(noisy, "auto")
    assert noise_sigma(out) < 0.3 * noise_sigma(noisy)
    assert np.abs(out - photo).mean() < 0.5 * np.abs(noisy - photo).mean()


def test_shipped_upscaler_resolves_by_name() -> None:
    """The default upscale link resolves the shipped 'x2' and beats Lanczos on a detailed
    training photo downscaled by pixel averaging (as a sensor integrates)."""
    from runtime.lab.metrics import psnr

    photo = np.ascontiguousarray(load_sample_scaled("motorcycle", 256)[:172, :256])
    small = cv2.resize(photo, (128, 86), interpolation=cv2.INTER_AREA)
    up = upscale_link(small, 2)
    lanczos = np.clip(cv2.resize(small, (256, 172), interpolation=cv2.INTER_LANCZOS4), 0, 1)
    assert up.shape == photo.shape
    assert psnr(up, photo, 4) > psnr(lanczos, photo, 4) + 0.2

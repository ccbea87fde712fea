"""Tiling: exact on identity models at odd sizes, seamless on position-dependent ones."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from runtime.engines import create_engine
from runtime.engines.base import ModelInfo
from runtime.engines.tiling import TileConfig, plan_tiles, run_tiled
from runtime.errors import ConfigError, ImageError
from runtime.manifest import ArtifactFormat, Precision


def _info(static: tuple[int, int] | None = None, multiple: int = 16) -> ModelInfo:
    return ModelInfo(id="m", path=Path("m.onnx"), format=ArtifactFormat.ONNX, precision=Precision.FP32,
                     input_size_hw=static, multiple_of=multiple, max_batch=None)


def _image(h: int, w: int) -> np.ndarray:
    return np.random.default_rng(h * 1000 + w).random((h, w, 3), dtype=np.float32)


@pytest.mark.parametrize("h, w, config", [
    (301, 457, TileConfig()),
    (301, 457, TileConfig(tile=64, overlap=16)),
    (1, 1, TileConfig()),
    (2, 700, TileConfig(tile=128, overlap=8)),
    (257, 31, TileConfig(tile=64, overlap=0)),
])
def test_identity_dynamic_is_exact(identity_onnx: Path, h: int, w: int, config: TileConfig) -> None:
    img = _image(h, w)
    with create_engine(identity_onnx) as engine:
        out = run_tiled(engine, img, config)
    assert out.shape == img.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, img, atol=1e-6)


@pytest.mark.parametrize("h, w", [(301, 457), (20, 20), (33, 95)])
def test_identity_static_tflite_is_exact(tflite_factory: Callable[..., Path], h: int, w: int) -> None:
    img = _image(h, w)
    with create_engine(tflite_factory("s.tflite", static_hw=(32, 32))) as engine:
        out = run_tiled(engine, img, TileConfig(overlap=8))
    np.testing.assert_allclose(out, img, atol=1e-6)


def _max_jump(img: np.ndarray) -> float:
    return float(max(np.abs(np.diff(img, axis=0)).max(), np.abs(np.diff(img, axis=1)).max()))


def test_position_dependent_model_has_no_seams(onnx_factory: Callable[..., Path]) -> None:
    """A static 64x64 model that multiplies by a position ramp: hard tiles show seams."""
    flat = np.full((150, 230, 3), 0.6, np.float32)
    with create_engine(onnx_factory("ramp.onnx", kind="ramp", static_hw=(64, 64), batch=1)) as engine:
        blended = run_tiled(engine, flat, TileConfig(overlap=16))
        naive = run_tiled(engine, flat, TileConfig(overlap=0))
    # the ramp's own steepest step is 0.6 * 0.25 * 2*pi/64 ~ 0.015 before tanh
    assert _max_jump(blended) < 0.02
    assert _max_jump(naive) > 0.05          # the same model tiled without blending: visible seams


def test_local_model_matches_full_image_run(onnx_factory: Callable[..., Path]) -> None:
    """A 3x3 sharpen: tiled output equals one full-image call away from the image border."""
    img = _image(200, 330) * 0.5 + 0.25
    with create_engine(onnx_factory("sharp.onnx", kind="sharpen")) as engine:
        tiled = run_tiled(engine, img, TileConfig(tile=64, overlap=16))
        full = engine.run(np.pad(img, ((0, 8), (0, 6), (0, 0)), mode="reflect")[None])[0][:200, :330]
    err = np.abs(tiled[2:-2, 2:-2] - full[2:-2, 2:-2])
    assert err.max() < 3e-3 and err.mean() < 1e-4      # only tile-edge pixels, at ramp weight ~0.002


@pytest.mark.parametrize("overlap", [8, 20, 24])
def test_strided_model_tiles_agree_with_whole_image(onnx_factory: Callable[..., Path], overlap: int) -> None:
    """Tiles start on the model's stride grid, so a stride-2 model gives the whole-image answer."""
    img = _image(160, 272)
    with create_engine(onnx_factory("pool.onnx", kind="pool")) as engine:
        tiled = run_tiled(engine, img, TileConfig(tile=64, overlap=overlap))
        whole = engine.run(img[None])[0]
    np.testing.assert_allclose(tiled, whole, atol=1e-6)


def test_progress_reports_every_tile(identity_onnx: Path) -> None:
    calls: list[tuple[int, int]] = []
    with create_engine(identity_onnx) as engine:
        run_tiled(engine, _image(100, 200), TileConfig(tile=64, overlap=16, batch=3),
                  progress=lambda d, t: calls.append((d, t)))
    total = calls[-1][1]
    assert calls[-1] == (total, total) and total == plan_tiles(100, 200, engine.info,
                                                             TileConfig(tile=64, overlap=16)).count


@pytest.mark.parametrize("h, w, info, config, tile_hw, min_overlap", [
    (301, 457, _info(), TileConfig(), (192, 192), 32),           # 2 x 3 tiles, shrunk to fit
    (720, 1280, _info(multiple=8), TileConfig(tile=512), (392, 464), 32),
    (100, 100, _info(), TileConfig(), (144, 144), 32),          # one tile: 100 + 2x16 margin, to x16
    (1000, 50, _info(multiple=8), TileConfig(tile=100, overlap=10), (96, 72), 10),
    (301, 457, _info(static=(64, 96)), TileConfig(), (64, 96), 16),
])
def test_plan_geometry(h: int, w: int, info: ModelInfo, config: TileConfig, tile_hw: tuple[int, int],
                       min_overlap: int) -> None:
    plan = plan_tiles(h, w, info, config)
    assert (plan.rows.tile, plan.cols.tile) == tile_hw
    for axis, length in ((plan.rows, h), (plan.cols, w)):
        assert axis.padded >= length + 2 * plan.margin
        assert axis.starts[0] == 0 and axis.starts[-1] + axis.tile == axis.padded
        assert all(axis.tile - (b - a) >= min(min_overlap, axis.overlap) for a, b in
                   zip(axis.starts, axis.starts[1:]))
        assert all(s % info.multiple_of == 0 for s in axis.starts) and plan.margin % info.multiple_of == 0
        if info.input_size_hw is None:
            assert axis.tile % info.multiple_of == 0


def test_fitted_tiles_compute_few_extra_pixels() -> None:
    """The photo default: a 720p frame in at most 512 px tiles computes < 1.2x its pixels
    (square 256 px tiles: 1.71x)."""
    plan = plan_tiles(720, 1280, _info(multiple=8), TileConfig(tile=512))
    assert plan.count == 6 and plan.count * plan.rows.tile * plan.cols.tile < 1.2 * 720 * 1280


@pytest.mark.parametrize("kwargs, match", [
    ({"tile": 8}, "`tile` 8 is too small"),
    ({"tile": 64, "overlap": 32}, "`overlap` 32 must be in"),
    ({"overlap": -1}, "`overlap` -1"),
    ({"batch": 0}, "batch 0"),
])
def test_config_validation(kwargs: dict[str, int], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TileConfig(**kwargs)


def test_rejects_non_rgb(identity_onnx: Path) -> None:
    with create_engine(identity_onnx) as engine, pytest.raises(ImageError, match="shape"):
        run_tiled(engine, np.zeros((10, 10), np.float32))


def test_x2_nearest_is_exact(onnx_factory: Callable[..., Path], tmp_path: Path) -> None:
    """An x2 model with no detail is nearest-neighbour upscaling: tiled, still exact."""
    from model_fixtures import build_onnx_x2

    img = _image(123, 201)
    with create_engine(build_onnx_x2(tmp_path / "near.onnx", detail=0.0)) as engine:
        assert engine.info.scale == 2
        out = run_tiled(engine, img, TileConfig(tile=64, overlap=16, batch=3))
    np.testing.assert_allclose(out, img.repeat(2, axis=0).repeat(2, axis=1), atol=1e-6)


def test_x2_matches_untiled_run_away_from_borders(tmp_path: Path) -> None:
    """A local x2 net (receptive field 5 px): tiles blended at 2x give the whole-image answer
    except where a tile's own zero-padded edge leaks in at ramp weight ~0."""
    from model_fixtures import build_onnx_x2

    img = _image(150, 230) * 0.5 + 0.25
    with create_engine(build_onnx_x2(tmp_path / "x2.onnx")) as engine:
        tiled = run_tiled(engine, img, TileConfig(tile=96, overlap=32))
        whole = engine.run(img[None])[0]
    assert tiled.shape == (300, 460, 3) and plan_tiles(150, 230, engine.info, TileConfig(96, 32)).count > 4
    err = np.abs(tiled[8:-8, 8:-8] - whole[8:-8, 8:-8])
    assert err.max() < 3e-3 and err.mean() < 1e-4
    assert np.abs(tiled - whole).max() > 1e-4          # the border differs: reflected context, not zeros


def test_x2_static_model_has_no_seams(tmp_path: Path) -> None:
    """A static 64x64 x2 net zero-pads each tile: cut into hard tiles, a flat photo shows the
    tile grid; blended at 2x it stays flat (what is left: the tile edge at ramp weight ~0.05)."""
    from model_fixtures import build_onnx_x2

    flat = np.full((100, 150, 3), 0.5, np.float32)
    with create_engine(build_onnx_x2(tmp_path / "s.onnx", static_hw=(64, 64))) as engine:
        assert engine.info.input_size_hw == (64, 64) and engine.info.scale == 2
        blended = run_tiled(engine, flat, TileConfig(overlap=16))
        naive = run_tiled(engine, flat, TileConfig(overlap=0))
    assert blended.shape == naive.shape == (200, 300, 3)
    assert _max_jump(naive) > 0.2
    assert _max_jump(blended) < 0.015


def test_x2_memory_is_one_output(tmp_path: Path) -> None:
    """Tiles add straight into the output: the peak of the allocations an x2 run makes is one
    float output plus one batch of tiles, whatever the image size (the old padded copy +
    accumulator + weights + result was ~2.6 outputs)."""
    import tracemalloc

    from model_fixtures import build_onnx_x2

    overheads = []
    with create_engine(build_onnx_x2(tmp_path / "x2.onnx")) as engine:
        for h, w in ((300, 400), (900, 1200)):
            img = _image(h, w)
            tracemalloc.start()
            try:
                out = run_tiled(engine, img, TileConfig(tile=128, overlap=16, batch=2))
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert out.shape == (2 * h, 2 * w, 3)
            overheads.append(peak - out.nbytes)
    assert 0 < overheads[1] < 1.3 * overheads[0] + 1e6      # 9x the pixels, about the same overhead
    assert peak < 1.25 * out.nbytes

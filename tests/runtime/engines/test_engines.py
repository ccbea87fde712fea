"""Engines: real ONNX Runtime and LiteRT sessions on tiny generated models."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from model_fixtures import build_onnx, build_onnx_non_image, build_tflite, write_manifest
from runtime.engines import Backend, Engine, EngineConfig, create_engine
from runtime.errors import ConfigError, EngineError, ModelLoadError
from runtime.manifest import ArtifactFormat, Precision, sha256_file


def _batch(n: int, h: int, w: int) -> np.ndarray:
    return np.random.default_rng(7).random((n, h, w, 3), dtype=np.float32)


@pytest.mark.parametrize("kwargs, precision, atol", [
    ({}, Precision.FP32, 0.0),
    ({"layout": "NHWC"}, Precision.FP32, 0.0),
    ({"dtype": "float16"}, Precision.FP16, 5e-4),
    ({"dtype": "uint8"}, Precision.INT8, 0.5 / 255 + 1e-6),
    ({"static_hw": (32, 48), "batch": 1}, Precision.FP32, 0.0),
])
def test_ort_identity_roundtrip(onnx_factory: Callable[..., Path], kwargs: dict[str, object],
                                precision: Precision, atol: float) -> None:
    x = _batch(3, 32, 48)
    with create_engine(onnx_factory("m.onnx", **kwargs)) as engine:
        assert isinstance(engine, Engine)
        assert engine.info.format is ArtifactFormat.ONNX and engine.info.precision is precision
        y = engine.run(x)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y, x, atol=atol)


def test_ort_reports_shapes(onnx_factory: Callable[..., Path]) -> None:
    with create_engine(onnx_factory("s.onnx", static_hw=(32, 48), batch=1)) as e:
        assert e.info.input_size_hw == (32, 48) and e.info.max_batch == 1
    with create_engine(onnx_factory("d.onnx")) as e:
        assert e.info.input_size_hw is None and e.info.max_batch is None and e.info.multiple_of == 16


@pytest.mark.parametrize("spin", [False, True])
def test_ort_spinning_follows_the_config(identity_onnx: Path, spin: bool) -> None:
    """Worker threads only busy-wait when asked: spinning burns the CPU between video frames."""
    from runtime.engines.ort import _session
    from runtime.catalog import resolve_model

    opts = _session(resolve_model(str(identity_onnx)), EngineConfig(spin=spin)).get_session_options()
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == ("1" if spin else "0")


def test_ort_sharpen_matches_numpy(onnx_factory: Callable[..., Path]) -> None:
    x = _batch(1, 16, 16) * 0.5 + 0.25
    with create_engine(onnx_factory("sharp.onnx", kind="sharpen")) as e:
        y = e.run(x)
    k = -np.full((3, 3), 1 / 8, np.float32)
    k[1, 1] = 2.0
    pad = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
    ref = sum(k[i, j] * pad[i:i + 16, j:j + 16] for i in range(3) for j in range(3))
    np.testing.assert_allclose(y[0], np.clip(ref, 0, 1), atol=1e-5)


def test_output_is_clipped_and_a_new_array(onnx_factory: Callable[..., Path]) -> None:
    x = np.zeros((1, 16, 16, 3), np.float32)
    x[0, 8, 8] = 1.0
    with create_engine(onnx_factory("sharp.onnx", kind="sharpen")) as e:
        a = e.run(x)
        b = e.run(x)
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert a is not b and not np.shares_memory(a, b)


def test_litert_load_prints_nothing_natively(tflite_factory: Callable[..., Path],
                                              capfd: pytest.CaptureFixture[str]) -> None:
    """The C++ runtime's per-load INFO line stays out of the CLI's output (kept with --debug)."""
    path = tflite_factory("quiet.tflite")
    capfd.readouterr()
    with create_engine(path) as engine:
        engine.run(_batch(1, 32, 32))
    assert "XNNPACK" not in capfd.readouterr().err


@pytest.mark.parametrize("kwargs, static", [
    ({}, (32, 32)),
    ({"static_hw": None}, None),
    ({"layout": "NCHW"}, (32, 32)),
    ({"layout": "NCHW", "static_hw": None}, None),
])
def test_litert_identity(tflite_factory: Callable[..., Path], kwargs: dict[str, object],
                         static: tuple[int, int] | None) -> None:
    with create_engine(tflite_factory("m.tflite", **kwargs), EngineConfig(threads=1)) as e:
        assert e.info.format is ArtifactFormat.TFLITE and e.info.input_size_hw == static
        assert e.info.max_batch == 1
        for h, w in ([static] if static else [(32, 48), (16, 16), (32, 48)]):
            x = _batch(3, h, w)                        # batch 3 is split over the batch-1 model
            np.testing.assert_array_equal(e.run(x), x)


def test_litert_int8_io_uses_tensor_quantisation(tflite_factory: Callable[..., Path]) -> None:
    x = _batch(1, 32, 32)
    with create_engine(tflite_factory("q.tflite", int8_io=True)) as e:
        assert e.info.precision is Precision.INT8
        y = e.run(x)
    np.testing.assert_allclose(y, np.round(x * 255) / 255, atol=1e-6)


def test_ort_int8_io_uses_manifest_quantisation(tmp_path: Path) -> None:
    """An ONNX uint8 model whose manifest says scale 1/255, zero-point 0."""
    d = tmp_path / "models"
    d.mkdir()
    p = build_onnx(d / "q.uint8.onnx", dtype="uint8")
    spec = {"name": "x", "dtype": "uint8", "scale": 1 / 255, "zero_point": 0}
    write_manifest(d, [{"id": "q.uint8.onnx", "model": "q", "path": p.name, "format": "onnx",
                        "precision": "int8", "sha256": sha256_file(p), "input": spec,
                        "output": spec | {"name": "out"}, "multiple_of": 8}])
    x = _batch(1, 16, 24)
    with create_engine("q.int8", models_dir=d) as e:
        assert e.info.id == "q.uint8.onnx" and e.info.multiple_of == 8
        np.testing.assert_allclose(e.run(x), np.round(x * 255) / 255, atol=1e-6)


@pytest.mark.parametrize("builder, match", [
    (lambda p: build_onnx_non_image(p / "vec.onnx"), "not an image-to-image model"),
    (lambda p: build_onnx(p / "shrink.onnx", kind="shrink", static_hw=(16, 16)), "input is 16x16 but output is 14x14"),
    (lambda p: build_onnx(p / "shrink2.onnx", kind="shrink"), "test run failed"),
    (lambda p: build_onnx(p / "nan.onnx", kind="nan"), "NaN/Inf"),
])
def test_bad_models_fail_to_load(tmp_path: Path, builder: Callable[[Path], Path], match: str) -> None:
    with pytest.raises(ModelLoadError, match=match):
        create_engine(builder(tmp_path))


@pytest.mark.parametrize("name, content, match", [
    ("text.onnx", b"hello, not a model", "cannot load .* as an ONNX model"),
    ("empty.onnx", b"", "as an ONNX model"),
    ("text.tflite", b"hello, not a model at all", "as a TFLite model"),
])
def test_non_model_files(tmp_path: Path, name: str, content: bytes, match: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ModelLoadError, match=match):
        create_engine(tmp_path / name)


def test_inf_at_run_time_names_the_model(onnx_factory: Callable[..., Path]) -> None:
    with create_engine(onnx_factory("log.onnx", kind="log")) as e:      # warm-up (0.5) is finite
        with pytest.raises(EngineError, match="log.onnx produced NaN/Inf output"):
            e.run(np.zeros((1, 16, 16, 3), np.float32))


def test_nan_input_is_blamed_on_the_input(identity_onnx: Path) -> None:
    with create_engine(identity_onnx) as e:
        with pytest.raises(EngineError, match="input to identity.onnx contains NaN/Inf"):
            e.run(np.full((1, 16, 16, 3), np.nan, np.float32))


@pytest.mark.parametrize("shape, match", [
    ((16, 16, 3), r"needs an \(N, H, W, 3\)"),
    ((1, 16, 16, 4), r"needs an \(N, H, W, 3\)"),
    ((1, 20, 16, 3), "multiples of 16"),
])
def test_wrong_input_shapes(identity_onnx: Path, shape: tuple[int, ...], match: str) -> None:
    with create_engine(identity_onnx) as e:
        with pytest.raises(EngineError, match=match):
            e.run(np.zeros(shape, np.float32))


def test_static_model_rejects_other_sizes(tflite_factory: Callable[..., Path]) -> None:
    with create_engine(tflite_factory("s.tflite")) as e:
        with pytest.raises(EngineError, match="exactly 32x32.*run_tiled"):
            e.run(np.zeros((1, 48, 48, 3), np.float32))


def test_closed_engine_refuses(identity_onnx: Path) -> None:
    e = create_engine(identity_onnx)
    e.close()
    e.close()
    with pytest.raises(EngineError, match="closed"):
        e.run(np.zeros((1, 16, 16, 3), np.float32))


@pytest.mark.parametrize("config, model, match", [
    (EngineConfig(backend="litert"), "onnx", "cannot run identity.onnx"),
    (EngineConfig(backend="ort"), "tflite", "cannot run m.tflite"),
    (EngineConfig(delegate="libfoo.so"), "onnx", "`delegate` applies to LiteRT"),
    (EngineConfig(providers=("CUDAExecutionProvider",)), "onnx", "not available here"),
])
def test_backend_mismatch(tmp_path: Path, identity_onnx: Path, config: EngineConfig, model: str,
                          match: str) -> None:
    path = identity_onnx if model == "onnx" else build_tflite(tmp_path / "m.tflite")
    with pytest.raises(ConfigError, match=match):
        create_engine(path, config)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # LiteRT's Delegate.__del__
def test_missing_delegate_library(tflite_factory: Callable[..., Path]) -> None:
    with pytest.raises(ModelLoadError, match="cannot load LiteRT delegate 'libedgetpu_absent.so'"):
        create_engine(tflite_factory("m.tflite"), EngineConfig(delegate="libedgetpu_absent.so"))


@pytest.mark.parametrize("kwargs, match", [
    ({"backend": "tensorrt"}, "`backend` 'tensorrt' is not one of"),
    ({"backend": "litrt"}, "did you mean 'litert'"),
    ({"threads": 0}, "`threads` 0"),
    ({"threads": 1.5}, "`threads` 1.5"),
    ({"providers": ()}, "non-empty"),
    ({"delegate": " "}, "`delegate` is empty"),
])
def test_engine_config_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        EngineConfig(**kwargs)  # type: ignore[arg-type]


def test_engine_config_normalises() -> None:
    c = EngineConfig(backend="ort", providers=["CPUExecutionProvider"])  # type: ignore[arg-type]
    assert c.backend is Backend.ORT and c.providers == ("CPUExecutionProvider",)


def test_runtime_imports_without_heavy_libraries() -> None:
    import subprocess
    import sys

    code = ("import sys, runtime, runtime.engines, runtime.photo.deblur, runtime.engines.tiling, runtime.photo.imageio; "
            "bad = [m for m in ('torch', 'onnxruntime', 'ai_edge_litert') if m in sys.modules]; "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0

"""Ensembles: shipped nets joined by '+' run as one engine that returns the mean of their outputs."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from runtime import DeblurConfig, Deblurer
from runtime.catalog import resolve_members
from runtime.engines import EnsembleEngine, create_engine
from runtime.engines.ensemble import combined_info
from runtime.errors import EngineError, ModelLoadError
from runtime.photo.chain import RestoreConfig
from runtime.photo.presets import model_record
from runtime.photo.resume import config_fingerprint

PAIR = "small.int8+nano.int8"


def _batch() -> np.ndarray:
    return np.random.default_rng(3).random((2, 48, 64, 3), dtype=np.float32)


def test_an_ensemble_returns_the_mean_of_its_members_and_closes_them() -> None:
    x = _batch()
    with create_engine("small.int8") as a, create_engine("nano.int8") as b:
        expected = (a.run(x) + b.run(x)) / 2
    engine = create_engine(PAIR)
    assert isinstance(engine, EnsembleEngine)
    assert engine.info.id == "small.int8.onnx+nano.int8.onnx"
    assert [m.id for m in engine.members] == ["small.int8.onnx", "nano.int8.onnx"]
    np.testing.assert_allclose(engine.run(x), expected, atol=1e-6)
    engine.close()
    with pytest.raises(EngineError, match="closed"):
        engine.run(x)


@pytest.mark.parametrize("name, match", [
    ("small+small", "names a member twice"),
    ("small+", "has an empty member"),
    ("small+x2", "mixes tasks"),
    ("small.int8+nano.int8.tflite", "take different input sizes"),
    ("small+nanoo", "did you mean 'nano'"),
])
def test_members_that_cannot_run_together_are_refused_in_one_line(name: str, match: str) -> None:
    with pytest.raises(ModelLoadError, match=match) as info:
        create_engine(name)
    assert "\n" not in str(info.value)


def test_files_of_different_scales_are_refused() -> None:
    """Shipped names are refused by task first; user files carry only their shapes."""
    with create_engine("small") as small, create_engine("x2") as x2:
        with pytest.raises(ModelLoadError, match=r"scale differently \(small.fp32.onnx x1, x2.fp32.onnx x2\)"):
            combined_info([small.info, x2.info])


def test_a_file_whose_name_holds_a_plus_is_one_model(onnx_factory: Callable[..., Path]) -> None:
    path = onnx_factory("before+after.onnx")
    assert [r.path for r in resolve_members(str(path))] == [path]
    with create_engine(str(path)) as engine:
        assert not isinstance(engine, EnsembleEngine)


def test_photos_run_through_an_ensemble_and_record_every_member() -> None:
    config = DeblurConfig(model=PAIR)
    with Deblurer(config) as d:
        result = d.deblur_image(_batch()[0])
    assert result.label.endswith("small.int8.onnx+nano.int8.onnx")
    record = model_record(RestoreConfig(deblur=config))["deblur_model"]
    assert record.startswith("small.int8.onnx sha256:") and " + nano.int8.onnx sha256:" in record
    # a folder run resumes only with the same members
    assert config_fingerprint(config) != config_fingerprint(DeblurConfig(model="small.int8"))
    assert config_fingerprint(config) == config_fingerprint(DeblurConfig(model=PAIR))

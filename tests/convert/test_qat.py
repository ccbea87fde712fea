"""Quantisation-aware fine-tuning: trains under simulated int8 and hands back a plain float model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from convert.calib import ImagePairs
from convert.qat import QatConfig, finetune, qat_quantize
from convert.quantize import CalibMethod
from convert.repair import scratch_entry
from convert.source import SourceModel
from convert.targets import TARGETS
from convert.validate import run_artifact
from tests.convert.conftest import nano_module, torch_nhwc


def test_finetune_changes_weights_but_not_the_function_much() -> None:
    model = nano_module()
    tuned = finetune(model, QatConfig(steps=3, batch=2, crop=32, lr=1e-4))
    assert not any(torch.nn.utils.parametrize.is_parametrized(m) for m in tuned.modules())
    assert not any(hasattr(m, "out_fq") for m in tuned.modules())
    assert any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), tuned.state_dict().values()))
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), tuned(x), atol=0.05)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), nano_module().state_dict().values()))


def test_qat_quantize_makes_a_valid_int8_onnx(nano_src: SourceModel, calib: np.ndarray, pairs: ImagePairs,
                                             tmp_path: Path) -> None:
    (spec,) = TARGETS["x86-cpu"].plan((), ())
    art = qat_quantize(nano_src, spec, (32, 32), calib, QatConfig(steps=2, batch=2, crop=32), CalibMethod.MINMAX,
                       tmp_path / "qat.int8.onnx", tmp_path / "work")
    assert art.provenance["qat_steps"] == "2" and art.path.is_file()
    out, errors = run_artifact(scratch_entry(art), art.path, pairs.inputs)
    assert not errors
    assert np.percentile(np.abs(out - torch_nhwc(nano_src.module, pairs.inputs)), 99) < 0.06

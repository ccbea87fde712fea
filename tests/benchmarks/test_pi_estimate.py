"""The Pi estimate charges the layers an int8 file keeps in float at float speed."""
from __future__ import annotations

from dataclasses import replace

from torch import nn

from benchmarks.pi_estimate import float_macs
from convert.zoo import create_model
from runtime.catalog import load_shipped_manifest


def test_float_layers_are_counted_by_their_module_names() -> None:
    entry = load_shipped_manifest().find("nano.int8.tflite")
    convs = [name for name, m in create_model("nano").named_modules() if isinstance(m, nn.Conv2d)]
    every = replace(entry, notes=entry.notes | {"kept_in_float": ",".join(["ADD#1", *convs])})
    none = replace(entry, notes={k: v for k, v in entry.notes.items() if k != "kept_in_float"})
    assert float_macs(every) == entry.macs_256 and float_macs(none) == 0
    assert 0 < float_macs(entry) < 0.5 * entry.macs_256          # the shipped file keeps a few layers

"""The resume log: an output is complete only if its record still matches source, output and settings."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model_fixtures import build_onnx
from runtime.engines.base import EngineConfig
from runtime.photo.deblur import DeblurConfig
from runtime.photo.resume import LOG_NAME, DoneLog, config_fingerprint


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    src, out = tmp_path / "a.jpg", tmp_path / "out"
    out.mkdir()
    src.write_bytes(b"source bytes")
    (out / "a.png").write_bytes(b"output bytes")
    return src, out / "a.png"


def _recorded(pair: tuple[Path, Path], fingerprint: str = "f1") -> None:
    with DoneLog(fingerprint) as log:
        log.record(*pair)


def test_recorded_output_is_complete_in_a_new_run(pair: tuple[Path, Path]) -> None:
    assert not DoneLog("f1").complete(*pair)          # present, but never recorded
    _recorded(pair)
    assert DoneLog("f1").complete(*pair)


@pytest.mark.parametrize("change", ["truncate_output", "rewrite_output", "delete_output", "touch_source",
                                    "other_settings"])
def test_any_change_since_makes_it_incomplete(pair: tuple[Path, Path], change: str) -> None:
    src, dst = pair
    _recorded(pair)
    fingerprint = "f1"
    if change == "truncate_output":
        dst.write_bytes(dst.read_bytes()[:5])
    elif change == "rewrite_output":                  # same size, later mtime
        st = dst.stat()
        dst.write_bytes(b"OUTPUT BYTES")
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    elif change == "delete_output":
        dst.unlink()
    elif change == "touch_source":
        st = src.stat()
        os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    else:
        fingerprint = "f2"
    assert not DoneLog(fingerprint).complete(src, dst)


def test_torn_last_line_and_garbage_are_ignored(pair: tuple[Path, Path], tmp_path: Path) -> None:
    src, dst = pair
    _recorded(pair)
    log_file = dst.parent / LOG_NAME
    with open(log_file, "a", encoding="utf-8") as f:
        f.write('not json\n{"src": "/x", "dst": "b.png", "src_si')       # a killed driver's last write
    assert DoneLog("f1").complete(src, dst)
    assert len(log_file.read_text().splitlines()) == 3


def test_latest_record_wins(pair: tuple[Path, Path]) -> None:
    src, dst = pair
    _recorded(pair, "f1")
    _recorded(pair, "f2")
    assert DoneLog("f2").complete(src, dst)
    assert not DoneLog("f1").complete(src, dst)


def test_fingerprint_follows_the_settings_that_shape_pixels(tmp_path: Path) -> None:
    model = build_onnx(tmp_path / "m.onnx")
    base = config_fingerprint(DeblurConfig(model=model, method="model"))
    assert base == config_fingerprint(DeblurConfig(model=model, method="model"))
    assert base != config_fingerprint(DeblurConfig(model=model, method="model", strength=0.5))
    assert base != config_fingerprint(DeblurConfig(model=model, method="model", tile=128))
    assert base == config_fingerprint(DeblurConfig(model=model, method="model", engine=EngineConfig(threads=3)))
    kernel = np.ones((3, 3), np.float32)
    assert (config_fingerprint(DeblurConfig(method="wiener", kernel=kernel))
            != config_fingerprint(DeblurConfig(method="wiener", kernel=np.eye(3, dtype=np.float32))))
    st = model.stat()
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))        # a retrained model file
    assert base != config_fingerprint(DeblurConfig(model=model, method="model"))


def test_fingerprint_is_the_same_in_every_process(tmp_path: Path) -> None:
    """Sets in the policy iterate in a per-process hash order; the fingerprint must not."""
    code = ("from runtime.photo.deblur import DeblurConfig; from runtime.photo.resume import config_fingerprint; "
            "print(config_fingerprint(DeblurConfig(model='nano')))")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in range(6)}
    assert len(seen) == 1

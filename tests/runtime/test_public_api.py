"""``import runtime`` gives the photo and the video API, lazily."""
from __future__ import annotations

import subprocess
import sys

import pytest

import runtime


@pytest.mark.parametrize("name", runtime.__all__)
def test_every_export_resolves(name: str) -> None:
    assert getattr(runtime, name).__name__ == name


def test_video_api_is_there() -> None:
    assert {"open_source", "FacePriorityPipeline", "PipelineConfig", "run_stream", "VideoFileSink",
            "StatsRecorder", "Frame"} <= set(runtime.__all__)


def test_import_loads_no_inference_library() -> None:
    code = ("import sys, runtime; heavy = {'cv2', 'onnxruntime', 'ai_edge_litert', 'mediapipe', 'av'} & set(sys.modules);"
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        runtime.nope  # noqa: B018

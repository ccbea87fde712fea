"""The face-priority pipeline with real components: facemask's LiteRT face models, ONNX
Runtime on tiny generated graphs, generated face videos; a fake camera only for the
lost-camera case."""
from __future__ import annotations

import time
from contextlib import nullcontext as does_not_raise
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from model_fixtures import build_onnx

from benchmarks.videos import FaceVideo, make_face_video
from facemask.options import RunningMode
from runtime.engines import create_engine
from runtime.engines.tiling import run_tiled
from runtime.errors import ConfigError, ImageError
from runtime.lab.metrics import psnr
from runtime.video.frames import Frame, SourceConfig, SourceEnd, SourceKind
from runtime.video.live import LiveSource
from runtime.video.pipeline import DEFAULT_DETECTOR, FacePriorityPipeline, PipelineConfig, Treatment
from runtime.video.sinks import ImageFolderSink, VideoFileSink
from runtime.video.sources import open_source
from runtime.video.stats import Stage
from runtime.video.stream import run_stream

SIZE_WH = (640, 360)
N_FRAMES = 24


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> FaceVideo:
    return make_face_video(tmp_path_factory.mktemp("pipe") / "one.mp4", size_wh=SIZE_WH,
                           n_frames=N_FRAMES, n_faces=1, seed=3)


@pytest.fixture(scope="module")
def frames(video: FaceVideo) -> list[Frame]:
    with open_source(str(video.path)) as source:
        return list(source)


@pytest.fixture(scope="module")
def sharpen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_onnx(tmp_path_factory.mktemp("m") / "sharpen.onnx", kind="sharpen")


def _outside(regions_xyxy: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    keep = np.ones(shape[:2], bool)
    for x0, y0, x1, y1 in regions_xyxy.tolist():
        keep[y0:y1, x0:x1] = False
    return keep


def _face_psnr(video: FaceVideo, frame_index: int, image: np.ndarray) -> float:
    x0, y0, x1, y1 = video.face_boxes(frame_index)[0].round().astype(int)
    gt = video.sharp_frame(frame_index)[y0:y1, x0:x1]
    return psnr(gt / 255.0, image[y0:y1, x0:x1] / 255.0, border_px=0)


def test_faces_full_background_none_changes_faces_only(frames: list[Frame], sharpen: Path,
                                                       video: FaceVideo) -> None:
    gains, found = [], 0
    with FacePriorityPipeline(PipelineConfig(model=sharpen)) as pipe:
        for frame in frames:
            result = pipe.process(frame)
            out = result.image_rgb
            assert out.shape == frame.image_rgb.shape and out.dtype == np.uint8
            keep = _outside(result.regions.boxes_xyxy, out.shape)
            assert np.array_equal(out[keep], frame.image_rgb[keep])
            assert result.model_pixels == sum(int(s) ** 2 for s in result.regions.sides_px)
            if len(result.regions):
                found += 1
                assert result.times.faces_ms > 0 and result.times.inference_ms > 0
                gains.append(_face_psnr(video, frame.index, out) - _face_psnr(video, frame.index, frame.image_rgb))
    assert found >= N_FRAMES - 3
    assert np.mean(gains) > 0.1


def test_full_frame_mode_is_the_tiled_model_without_face_detection(frames: list[Frame], sharpen: Path) -> None:
    config = PipelineConfig(faces="full", background="full", model=sharpen)
    assert not config.needs_faces
    with FacePriorityPipeline(config) as pipe:
        result = pipe.process(frames[0])
        assert pipe.engine is not None
        expected = run_tiled(pipe.engine, frames[0].image_rgb.astype(np.float32) / 255, config.tiles)
    assert len(result.faces) == 0 and result.times.faces_ms < 1.0
    assert result.model_pixels >= SIZE_WH[0] * SIZE_WH[1]
    assert np.abs(result.image_rgb.astype(int) - np.round(expected * 255)).max() <= 1


def test_light_background_keeps_faces_original(frames: list[Frame]) -> None:
    config = PipelineConfig(faces="none", background="light")
    assert not config.needs_model
    with FacePriorityPipeline(config) as pipe:
        results = [pipe.process(f) for f in frames[:6]]
        assert pipe.engine is None
    result, frame = results[-1], frames[5]
    assert len(result.faces) == 1 and result.model_pixels == 0
    keep = _outside(result.regions.boxes_xyxy, frame.image_rgb.shape)
    assert not np.array_equal(result.image_rgb[keep], frame.image_rgb[keep])
    x0, y0, x1, y1 = result.faces.boxes_xyxy[0].round().astype(int)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    centre = (slice(cy - 10, cy + 10), slice(cx - 10, cx + 10))
    assert np.abs(result.image_rgb[centre].astype(int) - frame.image_rgb[centre]).max() <= 1


def test_zero_face_strength_leaves_the_frame_as_is(frames: list[Frame], sharpen: Path) -> None:
    with FacePriorityPipeline(PipelineConfig(model=sharpen, faces_strength=0.0)) as pipe:
        for frame in frames[:4]:
            result = pipe.process(frame)
            assert np.abs(result.image_rgb.astype(int) - frame.image_rgb).max() <= 1


def test_half_strength_lies_between(frames: list[Frame], sharpen: Path) -> None:
    outs = []
    for s in (0.5, 1.0):
        with FacePriorityPipeline(PipelineConfig(model=sharpen, faces_strength=s)) as pipe:
            outs.append([pipe.process(f).image_rgb for f in frames[:4]][-1])
    original = frames[3].image_rgb.astype(int)
    half, full = (np.abs(o.astype(int) - original).sum() for o in outs)
    assert 0.3 * full < half < 0.7 * full


def test_static_size_model_gets_tile_sized_crops(frames: list[Frame], tmp_path: Path) -> None:
    model = build_onnx(tmp_path / "static.onnx", kind="sharpen", static_hw=(256, 256))
    with FacePriorityPipeline(PipelineConfig(model=model)) as pipe:
        result = [pipe.process(f) for f in frames[:3]][-1]
    assert len(result.regions) == 1 and result.regions.sides_px.tolist() == [256]
    assert result.model_pixels == 256 * 256


def test_a_shared_engine_is_not_closed_by_the_pipeline(frames: list[Frame], sharpen: Path) -> None:
    with create_engine(sharpen) as engine:
        with FacePriorityPipeline(PipelineConfig(model="unused"), engine=engine) as pipe:
            pipe.process(frames[0])
        engine.run(np.zeros((1, 64, 64, 3), np.float32))


def test_frames_smaller_than_a_crop_get_the_background_treatment(sharpen: Path) -> None:
    tiny = Frame(np.full((100, 120, 3), 77, np.uint8), 0, 0.0)
    with FacePriorityPipeline(PipelineConfig(model=sharpen)) as pipe:
        result = pipe.process(tiny)
    assert np.array_equal(result.image_rgb, tiny.image_rgb) and len(result.regions) == 0


@pytest.mark.parametrize("kwargs, raises", [
    ({"faces": "ful"}, pytest.raises(ConfigError, match="did you mean 'full'")),
    ({"background": "heavy"}, pytest.raises(ConfigError, match="none, light, full")),
    ({"faces_strength": 1.5}, pytest.raises(ConfigError, match="faces-strength")),
    ({"background_strength": -0.1}, pytest.raises(ConfigError, match="background-strength")),
    ({"faces": Treatment.LIGHT, "background": "full", "background_strength": 0.3}, does_not_raise()),
])
def test_config_validation(kwargs: dict[str, object], raises: object) -> None:
    with raises:  # type: ignore[attr-defined]
        PipelineConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("faces, background, fs, bs, needs_faces, needs_model", [
    ("full", "none", 1.0, 1.0, True, True),
    ("full", "full", 1.0, 1.0, False, True),
    ("full", "full", 1.0, 0.5, True, True),
    ("light", "light", 1.0, 1.0, False, False),
    ("none", "light", 1.0, 1.0, True, False),
    ("none", "none", 1.0, 1.0, False, False),
])
def test_which_stages_run(faces: str, background: str, fs: float, bs: float,
                          needs_faces: bool, needs_model: bool) -> None:
    config = PipelineConfig(faces=faces, background=background, faces_strength=fs, background_strength=bs)
    assert (config.needs_faces, config.needs_model) == (needs_faces, needs_model)


def test_run_stream_writes_every_frame(video: FaceVideo, sharpen: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    seen: list[int] = []
    with open_source(str(video.path)) as source, FacePriorityPipeline(PipelineConfig(model=sharpen)) as pipe:
        report = run_stream(source, pipe, [VideoFileSink(out)],
                            on_frame=lambda r, rec: seen.append(rec.frames), max_frames=10)
    assert report.stats.frames == 10 and seen == list(range(1, 11))
    assert report.outputs[0].path == out and report.outputs[0].frames == 10
    assert report.end is SourceEnd.RUNNING
    assert report.stats.stages  # every stage is reported
    assert report.stats.stages[next(iter(report.stats.stages))].p50_ms > 0
    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == 10


def test_overlapped_io_gives_the_same_frames_in_order(video: FaceVideo, sharpen: Path, tmp_path: Path) -> None:
    outputs = {}
    for overlap in (False, True):
        order: list[int] = []
        folder = tmp_path / f"overlap{overlap}"
        with open_source(str(video.path)) as source, FacePriorityPipeline(PipelineConfig(model=sharpen)) as pipe:
            report = run_stream(source, pipe, [ImageFolderSink(folder)], max_frames=8, overlap_io=overlap,
                                on_frame=lambda r, rec: order.append(rec.frames))
        assert report.stats.frames == 8 and order == list(range(1, 9))
        assert report.stats.stages[Stage.DECODE].p50_ms > 0 and report.stats.stages[Stage.ENCODE].p50_ms > 0
        outputs[overlap] = [cv2.imread(str(p)) for p in sorted(folder.iterdir())]
    assert len(outputs[True]) == 8
    assert all(np.array_equal(a, b) for a, b in zip(outputs[False], outputs[True]))


@pytest.mark.parametrize("overlap", [False, True])
def test_run_stream_finalises_the_sink_when_a_frame_fails(tmp_path: Path, overlap: bool) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i, size in enumerate([(64, 48), (64, 48), (80, 48)]):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((size[1], size[0], 3), 50, np.uint8))
    out = tmp_path / "out.mp4"
    config = PipelineConfig(faces="none", background="light",
                            detector=replace(DEFAULT_DETECTOR, running_mode=RunningMode.IMAGE))
    with open_source(str(folder)) as source, FacePriorityPipeline(config) as pipe:
        with pytest.raises(ImageError, match="a video needs one size"):
            run_stream(source, pipe, [VideoFileSink(out)], overlap_io=overlap)
    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == 2


class DyingCamera:
    """A camera device that delivers 15 frames and then fails; reopening it fails too."""

    def __init__(self, alive: bool = True) -> None:
        self.alive, self.n = alive, 0

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.alive

    def read(self) -> tuple[bool, np.ndarray | None]:
        time.sleep(0.005)
        self.n += 1
        return self.n <= 15, np.full((48, 64, 3), self.n, np.uint8)

    def get(self, prop_id: int) -> float:
        return 0.0

    def release(self) -> None:
        pass


def test_lost_camera_stops_cleanly_with_a_playable_recording(tmp_path: Path) -> None:
    opened: list[DyingCamera] = []

    def factory() -> DyingCamera:
        opened.append(DyingCamera(alive=not opened))
        return opened[-1]

    out = tmp_path / "cam.mp4"
    config = PipelineConfig(faces="none", background="light")
    with LiveSource(factory, SourceKind.CAMERA, "fake", SourceConfig(max_retries=2, backoff_s=0.01)) as source, \
            FacePriorityPipeline(config) as pipe:
        report = run_stream(source, pipe, [VideoFileSink(out)])
    assert report.end is SourceEnd.LOST and len(opened) == 3
    written = report.outputs[0].frames
    assert 1 <= written <= 15
    cap = cv2.VideoCapture(str(out))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == written


def test_folder_in_image_mode_to_folder_out(tmp_path: Path, sharpen: Path, video: FaceVideo) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in (0, 12):
        cv2.imwrite(str(folder / f"p{i}.png"), cv2.cvtColor(video.sharp_frame(i), cv2.COLOR_RGB2BGR))
    config = PipelineConfig(model=sharpen, detector=replace(DEFAULT_DETECTOR, running_mode=RunningMode.IMAGE))
    with open_source(str(folder)) as source, FacePriorityPipeline(config) as pipe:
        report = run_stream(source, pipe, [ImageFolderSink(tmp_path / "out")])
    assert report.stats.frames == 2 and report.stats.faces_per_frame == 1.0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0.png", "p12.png"]

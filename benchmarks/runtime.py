"""Face-priority vs full-frame deblurring on generated 720p face videos, in one run.

    .venv/bin/python -m benchmarks.runtime                       # shipped models
    .venv/bin/python -m benchmarks.runtime --model int8-ort=/path/nano.int8.onnx --soak-frames 0
    .venv/bin/python -m benchmarks.runtime --only-real    # real-face clips, camera vs file default

For each video (one face, three faces) and model (fp32/int8, ONNX Runtime/LiteRT) it runs
the real ``edgedeblur run`` path (decode -> faces -> model -> blend -> H.264 encode) in
full-frame mode and in face-priority mode, and records FPS, per-stage p50/p95, model pixels
per frame, PSNR inside the true face boxes against the sharp source, and a temporal
flicker measure. A before/after strip of consecutive frames shows the blend, and a long
run on a generated video tracks the process RSS. Real-clip rows: a 720p "video call" clip
built at run time from a real face photo outside the repository (``benchmarks.real_clip``;
``--real-photos``), sharp and blurred three ways (shake, defocus, soft focus), through full
frame, faces at strength 1 and the
default ``run`` (``--faces-strength auto``, with and without its temporal rules): model
pixels, FPS, face PSNR gain, the sharp clip's PSNR against itself and its detail ratio,
flicker. Writes JSON, Markdown and PNGs into ``benchmarks/results/runtime/``. CI never runs this.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from numpy.typing import NDArray

from benchmarks.pictures import write_picture
from benchmarks.real_clip import BLURS, DEFAULT_PHOTOS, RealClip, make_real_clip
from benchmarks.videos import FaceVideo, make_face_video
from runtime.catalog import FILE_VIDEO_MODEL, LIVE_VIDEO_MODEL
from runtime.engines import EngineConfig
from runtime.video.face_strength import StrengthConfig
from runtime.video.pipeline import AUTO, FacePriorityPipeline, FrameResult, PipelineConfig
from runtime.video.sinks import VideoFileSink, VideoSinkConfig
from runtime.video.sources import open_source
from runtime.video.stats import Stage, StatsRecorder
from runtime.video.stream import run_stream

OUT_DIR = Path(__file__).resolve().parent / "results" / "runtime"
DEFAULT_MODELS = ("fp32-ort=small", "fp16-litert=small.fp16.tflite", "int8-ort=small.int8",
                  "int8-litert=small.int8.tflite", "int8-litert-nano=nano.int8.tflite")
"""The last one is the headline: nano is the face-crop model (README: Shipped models)."""
REAL_DEFAULT_MODELS = (f"camera-default={LIVE_VIDEO_MODEL}", f"file-default={FILE_VIDEO_MODEL}")
"""``--only-real`` compares what ``edgedeblur run`` picks for a camera and for a file."""


@dataclass(frozen=True, slots=True)
class RunMode:
    """How one benchmark row runs the pipeline.

    Attributes:
        faces, background: treatments (``PipelineConfig``).
        threads: model threads, or None for ``--threads``.
        strength: faces strength (a number or ``AUTO``).
        temporal: strengths follow each face track (False: every frame judged on its own).
        reuse: a crop that barely changed reuses its last output (what ``run`` does on a camera).
    """

    faces: str
    background: str
    threads: int | None = None
    strength: float | str = 1.0
    temporal: bool = True
    reuse: bool = True


MODES: dict[str, RunMode] = {
    "full-frame": RunMode("full", "full"), "faces": RunMode("full", "none"),
    "faces+light": RunMode("full", "light"), "faces 1-thread": RunMode("full", "none", threads=1),
    "faces auto": RunMode("full", "none", strength=AUTO),
    "faces auto, every crop": RunMode("full", "none", strength=AUTO, reuse=False),
    "faces auto, no temporal": RunMode("full", "none", strength=AUTO, temporal=False, reuse=False)}
"""The rows a model can get. The last
--model (the headline) also runs faces+light, faces 1-thread and the auto-strength modes: with
one model thread ORT does not spin-wait, so CPU ms per frame is the real work, a
load-independent bound on FPS. ``faces auto`` is the default ``edgedeblur run`` on a camera
(a crop that barely changed reuses its last output), ``faces auto, every crop`` on a file;
``no temporal`` also judges every frame on its own (the flicker baseline)."""
HEADLINE_MODES = ("faces+light", "faces 1-thread", "faces auto", "faces auto, no temporal")
REAL_MODES = ("full-frame", "faces", "faces auto", "faces auto, every crop")
SYNTHETIC_MODES = tuple(m for m in MODES if m != "faces auto, every crop")
NO_TEMPORAL = StrengthConfig(window_frames=1, rate=1.0, coded_video=True)
STRIP_FRAMES = 6
VIDEO_CRF = 18
"""Input quality of the generated videos: a typical phone/webcam bitrate (near-lossless crf 10
costs 4x the decode time of real footage)."""


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One (video, model, mode) run."""

    video: str
    model: str
    mode: str
    frames: int
    fps: float
    cpu_ms_per_frame: float
    stage_p50_ms: dict[str, float]
    stage_p95_ms: dict[str, float]
    total_p50_ms: float
    model_pixels_per_frame: float
    faces_per_frame: float
    face_psnr_db: float
    input_face_psnr_db: float
    flicker: float
    vs_input_psnr_db: float = 0.0
    detail_ratio: float = 1.0
    file_face_psnr_db: float | None = None
    """Real clips: the face PSNR in the written H.264 file, decoded (what the user gets);
    None for the generated clips and in results from before 2026-12-06."""
    file_vs_input_psnr_db: float | None = None
    box_gain_db: float | None = None
    """The face PSNR gain over the whole face box (the oval plus hair, ears and jaw line) in the
    frames; None in results from before 2026-12-06 06:16."""


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """Per frame: integer face boxes, sharp face crops, decoded inputs; per face: the oval
    (ellipse inscribed in the landmark box) where PSNR is measured: the face itself."""

    boxes: list[NDArray[np.int64]]
    sharp: list[list[NDArray[np.uint8]]]
    inputs: list[NDArray[np.uint8]]
    ovals: list[NDArray[np.bool_]]


def _ground_truth(video: FaceVideo | RealClip, n: int) -> GroundTruth:
    with open_source(str(video.path)) as source:
        inputs = [f.image_rgb for _, f in zip(range(n), source)]
    first = video.face_boxes(0)
    size = np.round(first[:, 2:] - first[:, :2]).astype(np.int64)  # fixed per face: aligned residuals
    boxes = []
    for i in range(n):
        top_left = np.round(video.face_boxes(i)[:, :2]).astype(np.int64)
        boxes.append(np.concatenate([top_left, top_left + size], axis=1))
    sharp = [[video.sharp_frame(i)[y0:y1, x0:x1] for x0, y0, x1, y1 in b] for i, b in enumerate(boxes)]
    ovals = []
    for w, h in size.tolist():
        yy, xx = np.mgrid[:h, :w]
        ovals.append(((yy + 0.5 - h / 2) / (h / 2)) ** 2 + ((xx + 0.5 - w / 2) / (w / 2)) ** 2 <= 1.0)
    return GroundTruth(boxes, sharp, inputs, ovals)


def _faces(image: NDArray[np.uint8], gt: GroundTruth, i: int
           ) -> Iterator[tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.uint8], NDArray[np.bool_]]]:
    """Per face of frame ``i``: ``image``'s crop and the input's (float), the sharp crop, the oval."""
    for (x0, y0, x1, y1), sharp, oval in zip(gt.boxes[i], gt.sharp[i], gt.ovals):
        yield (image[y0:y1, x0:x1].astype(np.float32), gt.inputs[i][y0:y1, x0:x1].astype(np.float32),
               sharp, oval)


def _file_scores(path: Path, gt: GroundTruth) -> tuple[float, float]:
    """Face PSNR of the written file against the sharp frames and against the input, in the
    same ovals as :class:`_Probe`: the probe sees frames before encoding, this what plays."""
    sq_out = sq_vs_input = 0.0
    count = 0
    with open_source(str(path)) as source:
        for i, frame in zip(range(len(gt.boxes)), source):
            for o, src, sharp, oval in _faces(frame.image_rgb, gt, i):
                sq_out += float(np.sum((o - sharp)[oval] ** 2))
                sq_vs_input += float(np.sum((o - src)[oval] ** 2))
                count += int(oval.sum()) * 3
    return _psnr(sq_out, count), _psnr(sq_vs_input, count)


def _psnr(sq_err: float, count: int) -> float:
    return float(10 * np.log10(255.0 ** 2 / max(sq_err / max(count, 1), 1e-12)))


class _Probe:
    """Per-frame callback: face-box error vs the sharp source, residual flicker, strip crops."""

    def __init__(self, gt: GroundTruth, strip_at: int, strip_box: tuple[int, int, int, int]) -> None:
        self.gt, self.strip_at, self.strip_box = gt, strip_at, strip_box
        self.i = 0
        self.sq_out = self.sq_in = self.sq_vs_input = 0.0
        self.detail_out = self.detail_in = 0.0
        self.count = 0
        self.sq_box_out = self.sq_box_in = 0.0
        self.box_count = 0
        self.flicker: list[float] = []
        self.prev_residual: list[NDArray[np.float32]] | None = None
        self.strip: list[NDArray[np.uint8]] = []

    def __call__(self, result: FrameResult, _rec: StatsRecorder) -> None:
        out, i = result.image_rgb, self.i
        residual = []
        for o, src, sharp, oval in _faces(out, self.gt, i):
            self.sq_out += float(np.sum((o - sharp)[oval] ** 2))
            self.sq_in += float(np.sum((src - sharp)[oval] ** 2))
            self.sq_vs_input += float(np.sum((o - src)[oval] ** 2))
            self.detail_out += _detail(o, oval)
            self.detail_in += _detail(src, oval)
            self.count += int(oval.sum()) * 3
            self.sq_box_out += float(np.sum((o - sharp) ** 2))
            self.sq_box_in += float(np.sum((src - sharp) ** 2))
            self.box_count += o.size
            residual.append((o - src)[oval])
        if self.prev_residual is not None:
            self.flicker.append(float(np.mean([np.mean(np.abs(a - b))
                                               for a, b in zip(residual, self.prev_residual)])))
        self.prev_residual = residual
        if self.strip_at <= i < self.strip_at + STRIP_FRAMES:
            x0, y0, x1, y1 = self.strip_box
            self.strip.append(out[y0:y1, x0:x1].copy())
        self.i += 1


def _detail(crop: NDArray[np.float32], oval: NDArray[np.bool_]) -> float:
    """Laplacian variance of the crop's luma inside the oval: how much fine detail it has."""
    import cv2

    lap = cv2.Laplacian(crop.mean(axis=2).astype(np.float32), cv2.CV_32F)
    return float(lap[oval].var())


def run_case(video: FaceVideo | RealClip, gt: GroundTruth, label: str, model: str, mode: str, frames: int,
             threads: int, workdir: Path, strip_box: tuple[int, int, int, int],
             preset: str = "ultrafast") -> tuple[CaseResult, _Probe]:
    """Run one configuration end to end (file in, H.264 file out) and measure it."""
    m = MODES[mode]
    config = PipelineConfig(faces=m.faces, background=m.background, model=model, faces_strength=m.strength,
                            engine=EngineConfig(threads=m.threads or threads),
                            strength=StrengthConfig(coded_video=True) if m.temporal else NO_TEMPORAL,
                            reuse_crops=m.reuse)     # H.264 files: face blur judged as `run` judges them
    probe = _Probe(gt, strip_at=_strip_start(frames), strip_box=strip_box)
    out = workdir / f"{video.path.stem}.{label}.{mode}.mp4"
    with open_source(str(video.path)) as source, FacePriorityPipeline(config) as pipe:
        sink = VideoFileSink(out, VideoSinkConfig(fps=video.fps, crf=18, preset=preset))
        cpu0 = time.process_time()
        report = run_stream(source, pipe, [sink], on_frame=probe, max_frames=frames)
        cpu_ms = (time.process_time() - cpu0) * 1e3 / max(report.stats.frames, 1)
    file_psnr, file_vs_input = _file_scores(out, gt) if isinstance(video, RealClip) else (None, None)
    out.unlink(missing_ok=True)
    s = report.stats
    return CaseResult(
        video=video.path.stem, model=label, mode=mode, frames=s.frames, fps=s.fps, cpu_ms_per_frame=cpu_ms,
        stage_p50_ms={st.value: s.stages[st].p50_ms for st in Stage},
        stage_p95_ms={st.value: s.stages[st].p95_ms for st in Stage},
        total_p50_ms=s.total.p50_ms, model_pixels_per_frame=s.model_pixels_per_frame,
        faces_per_frame=s.faces_per_frame, face_psnr_db=_psnr(probe.sq_out, probe.count),
        input_face_psnr_db=_psnr(probe.sq_in, probe.count),
        flicker=float(np.mean(probe.flicker)) if probe.flicker else 0.0,
        vs_input_psnr_db=_psnr(probe.sq_vs_input, probe.count),
        detail_ratio=probe.detail_out / max(probe.detail_in, 1e-9), file_face_psnr_db=file_psnr,
        box_gain_db=_psnr(probe.sq_box_out, probe.box_count) - _psnr(probe.sq_box_in, probe.box_count),
        file_vs_input_psnr_db=file_vs_input), probe


def _strip_start(frames: int) -> int:
    """First frame of the before/after strip: mid-run, once faces are tracked."""
    return max(0, min(frames // 2, frames - STRIP_FRAMES))


def _strip_box(video: FaceVideo | RealClip, at: int, side: int = 320) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = video.face_boxes(at)[0]
    cx, cy = int((x0 + x1) / 2), int((y0 + y1) / 2)
    w, h = video.size_wh
    left, top = min(max(cx - side // 2, 0), w - side), min(max(cy - side // 2, 0), h - side)
    return left, top, left + side, top + side


def _strip_rows(gt: GroundTruth, box: tuple[int, int, int, int], at: int,
                outputs: dict[str, list[NDArray[np.uint8]]], model: str) -> dict[str, list[NDArray[np.uint8]]]:
    """Input, full-frame and face-priority crops of the same frames, and the amplified change."""
    x0, y0, x1, y1 = box
    inputs = [gt.inputs[i][y0:y1, x0:x1] for i in range(at, min(at + STRIP_FRAMES, len(gt.inputs)))]
    change = [np.clip(np.abs(a.astype(np.int16) - b) * 4, 0, 255).astype(np.uint8)
              for a, b in zip(outputs["faces"], inputs)]
    return {"input": inputs, f"full-frame ({model})": outputs["full-frame"],
            f"faces ({model})": outputs["faces"], "|faces - input| x4": change}


def save_strip(rows: dict[str, list[NDArray[np.uint8]]], path: Path) -> None:
    """Rows of consecutive crops (input, outputs, amplified differences) as one picture."""
    from PIL import Image, ImageDraw

    tiles = [np.concatenate(r, axis=1) for r in rows.values()]
    label_w = 150
    canvas = np.full((sum(t.shape[0] for t in tiles), label_w + tiles[0].shape[1], 3), 255, np.uint8)
    y = 0
    for t in tiles:
        canvas[y:y + t.shape[0], label_w:] = t
        y += t.shape[0]
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    for k, name in enumerate(rows):
        draw.text((6, k * tiles[0].shape[0] + tiles[0].shape[0] // 2), name, fill=(0, 0, 0))
    write_picture(path, np.asarray(img))


def soak(frames: int, model: str, threads: int, workdir: Path, preset: str) -> dict[str, object]:
    """Process a long generated 720p video and sample the process RSS every 100 frames."""
    import psutil

    video = make_face_video(workdir / "soak.mp4", n_frames=frames, n_faces=1, blur=False, seed=11,
                            crf=VIDEO_CRF)
    proc = psutil.Process()
    samples: list[tuple[int, float]] = []

    def sample(_r: FrameResult, rec: StatsRecorder) -> None:
        if rec.frames % 100 == 0:
            samples.append((rec.frames, proc.memory_info().rss / 2 ** 20))

    config = PipelineConfig(model=model, engine=EngineConfig(threads=threads))
    with open_source(str(video.path)) as source, FacePriorityPipeline(config) as pipe:
        sink = VideoFileSink(workdir / "soak.out.mp4", VideoSinkConfig(preset=preset))
        report = run_stream(source, pipe, [sink], on_frame=sample)
    warm = next(mb for n, mb in samples if n >= 500) if frames >= 600 else samples[0][1]
    return {"frames": report.stats.frames, "fps": report.stats.fps, "rss_mb_after_500": warm,
            "rss_mb_end": samples[-1][1], "rss_growth_mb": samples[-1][1] - warm,
            "rss_max_mb": max(mb for _, mb in samples), "samples": samples, "model": model}


def _markdown(results: list[CaseResult], soak_doc: dict[str, object] | None, meta: dict[str, object]) -> str:
    lines = ["# Runtime benchmark: face-priority vs full-frame", "",
             f"Generated by `python -m benchmarks.runtime` on {meta['date']}: {meta['cpu']}, "
             f"{meta['cores']} cores, load average {meta['load_before']} before / {meta['load_after']} after "
             "(other jobs share the machine, so absolute FPS is pessimistic; ratios come from the same run). "
             f"Output: H.264, x264 preset {meta.get('x264_preset', 'veryfast')}.",
             "", "Models: " + ", ".join(f"`{k}` = `{v}`" for k, v in dict(meta["models"]).items()) + ".",  # type: ignore[call-overload]
             *([str(meta["note"])] if meta.get("note") else []),
             "", "| video | model | mode | FPS | CPU ms/frame | decode | faces | inference | background | blend | "
             "encode | model px/frame | face PSNR dB (input) | flicker |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        st = " | ".join(f"{r.stage_p50_ms[s]:.1f}/{r.stage_p95_ms[s]:.1f}"
                        for s in ("decode", "faces", "inference", "background", "blend", "encode"))
        lines.append(f"| {r.video} | {r.model} | {r.mode} | {r.fps:.1f} | {r.cpu_ms_per_frame:.1f} | {st} | "
                     f"{r.model_pixels_per_frame / 1e3:.0f}k | {r.face_psnr_db:.2f} ({r.input_face_psnr_db:.2f}) | "
                     f"{r.flicker:.2f} |")
    lines += ["", "Stage columns are p50/p95 in ms. Flicker: mean absolute frame-to-frame change of the "
              "deblur residual (output - input) inside the face box, in 8-bit levels.", ""]
    by = {(r.video, r.model, r.mode): r for r in results}
    lines += _headline(by, str(meta.get("headline") or list(meta["models"])[-1]))  # type: ignore[call-overload]
    lines += ["## Face-priority against full frame", "",
              "| video | model | model-pixel ratio | face PSNR difference dB | FPS ratio |", "|---|---|---:|---:|---:|"]
    for (video, model, mode), r in by.items():
        full = by.get((video, model, "full-frame"))
        if mode == "faces" and full is not None:
            lines.append(f"| {video} | {model} | {full.model_pixels_per_frame / max(r.model_pixels_per_frame, 1):.1f}x | "
                         f"{r.face_psnr_db - full.face_psnr_db:+.3f} | {r.fps / max(full.fps, 1e-9):.1f}x |")
    if soak_doc is not None:
        lines += ["", "## Memory over a long run", "",
                  f"{soak_doc['frames']} frames of a generated 720p video ({soak_doc['model']}, face-priority): "
                  f"RSS {soak_doc['rss_mb_after_500']:.0f} MB after 500 frames, {soak_doc['rss_mb_end']:.0f} MB "
                  f"at the end (growth {soak_doc['rss_growth_mb']:+.1f} MB, max {soak_doc['rss_max_mb']:.0f} MB), "
                  f"{soak_doc['fps']:.1f} FPS. See `rss.png`."]
    lines += _real_section(results, meta)
    lines += ["", "`strip.jpg`: consecutive frames around the face: input, face-priority output, full-frame "
              "output, and |face-priority - input| x4 (the blend footprint: it should fade smoothly, no edge)."]
    return "\n".join(lines) + "\n"


def _real_section(results: list[CaseResult], meta: dict[str, object]) -> list[str]:
    """Real-clip rows side by side: what the default run costs and does to a real face."""
    rows = [r for r in results if r.video.startswith("real")]
    if not rows:
        return []
    full = {r.video: r for r in rows if r.mode == "full-frame"}
    lines = ["", f"## Real clip: a webcam-size face at 720p ({meta.get('real_source', '?')})", "",
             "Built at run time from a real face photo outside the repository (`benchmarks/real_clip.py`): "
             "face box ~7 % of the frame, gentle sway and zoom, H.264 crf 18; the blurred clips add a 9-px "
             "camera shake, a radius-3 defocus disc or a sigma-2 Gaussian (soft focus), each with noise. "
             "`faces auto` is what `edgedeblur run` does on a camera (a crop that barely changed reuses "
             "its last output), `faces auto, every crop` what it does on a file. Gain: face PSNR against the "
             "sharp frames minus the input's, in the oval inscribed in the face box; box gain: over the whole box "
             "(hair, ears, jaw line too). vs input / detail: the output against the input itself "
             "(what a sharp face must keep: >= 45 dB, >= 0.97 of its Laplacian variance). These are the "
             "frames the pipeline hands the encoder; 'in the file' is the written H.264 (crf 18, the preset "
             "`run` picks for the model: ultrafast for the camera's, veryfast for a file's), decoded: what "
             "plays, the encoder's loss included (pixels the run left alone are encoded from the source's own "
             "YUV samples, `runtime/video/yuv.py`; what changed goes through RGB and 4:2:0 chroma, which even "
             "crf 10 does not give back).", "",
             "| clip | model | mode | FPS | CPU ms/frame | model px/frame | x fewer than full frame | "
             "face PSNR gain dB | box gain dB | vs input dB | detail ratio | flicker | in the file: gain dB | vs input dB |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ref = full.get(r.video)
        fewer = (f"{ref.model_pixels_per_frame / r.model_pixels_per_frame:.1f}x"
                 if ref is not None and r.model_pixels_per_frame > 0 else "no model")
        lines.append(f"| {r.video} | {r.model} | {r.mode} | {r.fps:.1f} | {r.cpu_ms_per_frame:.1f} | "
                     f"{r.model_pixels_per_frame / 1e3:.0f}k | {fewer} | {r.face_psnr_db - r.input_face_psnr_db:+.2f} | "
                     + (f"{r.box_gain_db:+.2f} | " if r.box_gain_db is not None else "– | ")
                     + f"{r.vs_input_psnr_db:.1f} | {r.detail_ratio:.3f} | {r.flicker:.2f} | "
                     + (f"{r.file_face_psnr_db - r.input_face_psnr_db:+.2f} | {r.file_vs_input_psnr_db:.1f} |"
                        if r.file_face_psnr_db is not None and r.file_vs_input_psnr_db is not None else "– | – |"))
    return lines + [""]


def _headline(by: dict[tuple[str, str, str], CaseResult], model: str) -> list[str]:
    """The claims for one face at 720p with the headline (int8) model, in numbers."""
    faces, full, one = (by.get(("1face", model, m)) for m in ("faces", "full-frame", "faces 1-thread"))
    if faces is None or full is None:
        return []
    lines = ["## Headline: one face at 720p, " + model, "",
             f"- model pixels per frame: {faces.model_pixels_per_frame / 1e3:.0f}k vs "
             f"{full.model_pixels_per_frame / 1e3:.0f}k full frame "
             f"({full.model_pixels_per_frame / faces.model_pixels_per_frame:.1f}x fewer)",
             f"- face PSNR: {faces.face_psnr_db:.2f} dB face-priority vs {full.face_psnr_db:.2f} dB full frame "
             f"({faces.face_psnr_db - full.face_psnr_db:+.3f} dB; input {faces.input_face_psnr_db:.2f} dB)",
             f"- end to end: {faces.fps:.1f} FPS measured on the shared machine"]
    if one is not None:
        lines.append(f"- CPU time with one model thread: {one.cpu_ms_per_frame:.1f} ms per frame, all stages "
                     f"included: {1000 / one.cpu_ms_per_frame:.0f} FPS on one idle core of this CPU")
    return lines + [""]


def _plots(results: list[CaseResult], soak_doc: dict[str, object] | None, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.28 * len(results) + 1.2))
    y = np.arange(len(results))[::-1]
    ax.barh(y + 0.2, [r.fps for r in results], height=0.4, color="#2a7", label="measured (shared machine)")
    ax.barh(y - 0.2, [1000 / r.cpu_ms_per_frame for r in results], height=0.4, color="#9cd",
            label="1000 / CPU ms per frame (idle-core bound)")
    ax.axvline(25, color="r", ls="--", lw=1, label="25 FPS")
    ax.set_yticks(y, [f"{r.video} {r.model} {r.mode}" for r in results], fontsize=7)
    ax.set_xlabel("frames per second, end to end (decode to encode)")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(out / "fps.png", dpi=120)
    plt.close(fig)
    if soak_doc is not None:
        n, mb = zip(*soak_doc["samples"])  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot(n, mb)
        ax.set_xlabel("frame")
        ax.set_ylabel("RSS MB")
        ax.set_ylim(0, max(mb) * 1.2)
        fig.tight_layout()
        fig.savefig(out / "rss.png", dpi=120)
        plt.close(fig)


def _run_real(clips: list[RealClip], model: tuple[str, str], args: argparse.Namespace,
              work: Path) -> list[CaseResult]:
    """The real-clip rows of one model, and one strip per clip: input, full frame, default run
    (the camera's for the camera's model, a file's for any other)."""
    label, name = model
    default = "faces auto" if name == LIVE_VIDEO_MODEL else "faces auto, every crop"
    preset = args.preset or ("ultrafast" if name == LIVE_VIDEO_MODEL else "veryfast")   # as `run` picks
    results = []
    for clip in clips:
        gt = _ground_truth(clip, args.frames)
        at = _strip_start(args.frames)
        box = _strip_box(clip, at)
        outputs: dict[str, list[NDArray[np.uint8]]] = {}
        for mode in REAL_MODES:
            print(f"{clip.path.stem} {label} {mode} ...", file=sys.stderr, flush=True)
            res, probe = run_case(clip, gt, label, name, mode, args.frames, args.threads, work, box, preset)
            results.append(res)
            outputs[mode] = probe.strip
        x0, y0, x1, y1 = box
        inputs = [gt.inputs[i][y0:y1, x0:x1] for i in range(at, min(at + STRIP_FRAMES, len(gt.inputs)))]
        change = [np.clip(np.abs(a.astype(np.int16) - b) * 4, 0, 255).astype(np.uint8)
                  for a, b in zip(outputs[default], inputs)]
        save_strip({"input": inputs, f"full-frame ({label})": outputs["full-frame"],
                    f"faces, strength 1": outputs["faces"], f"{default} (default run)": outputs[default],
                    "|auto - input| x4": change}, args.out / f"strip-{clip.path.stem}-{label}.jpg")
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.runtime", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", metavar="LABEL=MODEL",
                   help=f"model to compare; repeat (default: {', '.join(DEFAULT_MODELS)})")
    p.add_argument("--frames", type=int, default=60, help="frames per run (default 60)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--preset", default=None,
                   help="x264 preset of the output (default ultrafast: what a live recording uses; the "
                        "real-clip rows use what `run` picks for their model: veryfast for a file's)")
    p.add_argument("--soak-frames", type=int, default=5000, help="long-run length; 0 skips it")
    p.add_argument("--soak-model", default=None, help="model of the long run (default: the last --model)")
    p.add_argument("--out", type=Path, default=OUT_DIR)
    p.add_argument("--from-json", type=Path, help="only re-render README.md and plots from a results.json")
    p.add_argument("--note", default=None, help="a line for the report (e.g. where the models came from)")
    p.add_argument("--real-photos", type=Path, default=DEFAULT_PHOTOS,
                   help=f"folder of real face photos for the real-clip rows, read at run time and never "
                        f"copied (default {DEFAULT_PHOTOS}; the package photo of Grace Hopper when absent)")
    p.add_argument("--only-real", action="store_true",
                   help="only the real-clip rows, for every --model (default: the camera and the file "
                        "defaults of `run`), into OUT/real/; no soak")
    args = p.parse_args(argv)
    defaults = REAL_DEFAULT_MODELS if args.only_real else DEFAULT_MODELS
    models = [tuple(m.split("=", 1)) for m in (args.model or defaults)]
    if args.only_real:
        args.out, args.soak_frames = args.out / "real", 0
    args.out.mkdir(parents=True, exist_ok=True)
    if args.from_json is not None:
        doc = json.loads(args.from_json.read_text())
        if args.note:
            doc["meta"]["note"] = args.note
            args.from_json.write_text(json.dumps(doc, indent=2) + "\n")
        results = [CaseResult(**r) for r in doc["results"]]
        (args.out / "README.md").write_text(_markdown(results, doc["soak"], doc["meta"]))
        _plots(results, doc["soak"], args.out)
        return 0
    meta: dict[str, object] = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": platform.processor() or platform.machine(),
                               "headline": models[-1][0], "note": args.note,
                               "x264_preset": args.preset or "ultrafast",
                               "cores": os.cpu_count(), "load_before": round(os.getloadavg()[0], 1),
                               "frames_per_run": args.frames, "models": dict(models)}
    results: list[CaseResult] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        videos = [] if args.only_real else [
            make_face_video(work / f"{n}face.mp4", n_frames=args.frames + 1, n_faces=n, seed=n, crf=VIDEO_CRF)
            for n in (1, 3)]
        headline = models[-1][0]
        print("real clips ...", file=sys.stderr, flush=True)
        real = [make_real_clip(work / f"real-{blur or 'sharp'}.mp4", photos=args.real_photos, blur=blur,
                               n_frames=args.frames + 1, crf=VIDEO_CRF) for blur in (None, *BLURS)]
        meta["real_source"] = real[0].source
        for model in models if args.only_real else models[-1:]:
            results += _run_real(real, model, args, work)
        for video in videos:
            gt = _ground_truth(video, args.frames)
            box = _strip_box(video, _strip_start(args.frames))
            outputs: dict[str, list[NDArray[np.uint8]]] = {}
            for label, model in models:
                for mode in SYNTHETIC_MODES:
                    if mode in HEADLINE_MODES and label != headline:
                        continue
                    print(f"{video.path.stem} {label} {mode} ...", file=sys.stderr, flush=True)
                    res, probe = run_case(video, gt, label, model, mode, args.frames, args.threads, work, box,
                                          args.preset or "ultrafast")
                    results.append(res)
                    if label == headline and mode in ("full-frame", "faces"):
                        outputs[mode] = probe.strip
            if video is videos[0]:
                save_strip(_strip_rows(gt, box, _strip_start(args.frames), outputs, headline),
                           args.out / "strip.jpg")
        soak_doc = None
        if args.soak_frames > 0:
            soak_model = args.soak_model or models[-1][1]
            print(f"soak: {args.soak_frames} frames ...", file=sys.stderr, flush=True)
            soak_doc = soak(args.soak_frames, soak_model, args.threads, work, args.preset or "ultrafast")
    meta["load_after"] = round(os.getloadavg()[0], 1)
    doc = {"meta": meta, "results": [asdict(r) for r in results], "soak": soak_doc}
    (args.out / "results.json").write_text(json.dumps(doc, indent=2) + "\n")
    (args.out / "README.md").write_text(_markdown(results, soak_doc, meta))
    _plots(results, soak_doc, args.out)
    print((args.out / "README.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())

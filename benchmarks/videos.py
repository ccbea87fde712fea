"""Synthetic test videos: real package-shipped faces moving over a background, then blurred.

Every frame is a pure function of (seed, frame index), so the sharp ground truth never has
to be stored: ``FaceVideo.sharp_frame(i)`` re-renders it and ``face_boxes(i)`` gives the
true face rectangles. Faces are the two public-domain portraits that ship with
scikit-image (astronaut) and matplotlib (Grace Hopper); each moves on its own smooth
Lissajous path in its own lane. Blur is ``runtime.lab.degradations.degrade`` with one camera-shake
kernel per video plus per-frame sensor noise. Frames are encoded as near-lossless H.264.

Example:
    >>> video = make_face_video(tmp / "one.mp4", size_wh=(640, 360), n_frames=30)
    >>> gt = video.sharp_frame(0); boxes = video.face_boxes(0)
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError
from runtime.lab.degradations import degrade
from runtime.lab.face_clips import paste_rgba
from runtime.lab.sample_images import load_sample
from runtime.photo.kernels import camera_shake_kernel
from runtime.video.audio import mux_audio
from runtime.video.colour import ColourTags
from runtime.video.frames import Frame
from runtime.video.sinks import VideoFileSink, VideoSinkConfig
from runtime.video.sources import open_source


@dataclass(frozen=True, slots=True)
class _Sprite:
    """A head cut from a sample photo: crop rectangle and face box, in photo pixels.

    The face box is where the face-mesh landmarks lie (brows to chin, cheek to cheek),
    measured with facemask on the sharp photos.
    """

    image: str
    crop_xyxy: tuple[int, int, int, int]
    face_xyxy: tuple[int, int, int, int]
    mirror: bool = False


_SPRITES: tuple[_Sprite, ...] = (
    _Sprite("astronaut", (115, 0, 335, 250), (180, 69, 271, 175)),
    _Sprite("grace_hopper", (120, 10, 400, 380), (168, 120, 360, 332)),
    _Sprite("astronaut", (115, 0, 335, 250), (180, 69, 271, 175), mirror=True),
)

FACE_WIDTH_FRAC = 0.09
"""Face (landmark box) width as a fraction of the frame width: 115 px at 720p, a person a
metre or two from a webcam."""


@lru_cache(maxsize=8)
def _sprite_rgba(sprite: _Sprite) -> tuple[NDArray[np.float32], tuple[float, float, float, float]]:
    """The sprite as float32 RGBA (soft elliptical alpha) and its face box inside it.

    Not shared with ``runtime.lab.face_clips``'s heads: this alpha has a narrower edge and
    rounds differently (square root of squares, not ``np.hypot``), and benchmark videos
    must stay pixel-identical across commits.
    """
    x0, y0, x1, y1 = sprite.crop_xyxy
    rgb = load_sample(sprite.image)[y0:y1, x0:x1].astype(np.float32) / 255.0
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r = np.sqrt(((xx + 0.5 - w / 2) / (w / 2)) ** 2 + ((yy + 0.5 - h / 2) / (h / 2)) ** 2)
    alpha = np.clip((1.0 - r) / 0.15, 0.0, 1.0)
    fx0, fy0, fx1, fy1 = (v - o for v, o in zip(sprite.face_xyxy, (x0, y0, x0, y0)))
    if sprite.mirror:
        rgb, alpha = rgb[:, ::-1], alpha[:, ::-1]
        fx0, fx1 = w - fx1, w - fx0
    rgba = np.dstack([rgb, alpha]).astype(np.float32)
    return np.ascontiguousarray(rgba), (float(fx0), float(fy0), float(fx1), float(fy1))


@lru_cache(maxsize=4)
def _background(size_wh: tuple[int, int]) -> NDArray[np.float32]:
    """A textured, slightly larger-than-frame background (coffee photo), float32 RGB."""
    w, h = size_wh
    img = load_sample("coffee")
    big = cv2.resize(img, (int(w * 1.1) + 2, int(h * 1.1) + 2), interpolation=cv2.INTER_CUBIC)
    return big.astype(np.float32) / 255.0


@dataclass(frozen=True, slots=True)
class FaceVideo:
    """A generated video and the means to regenerate its ground truth.

    Attributes:
        path: the H.264 file (frames as blurred, or sharp when ``blur`` is False).
        size_wh: frame size (width, height) in pixels.
        n_frames: frames in the file.
        fps: frame rate.
        n_faces: faces per frame (1 to 3).
        blur: whether frames were degraded.
        seed: the scene and degradation seed.
    """

    path: Path
    size_wh: tuple[int, int]
    n_frames: int
    fps: float
    n_faces: int
    blur: bool
    seed: int

    def _placements(self, i: int) -> list[tuple[_Sprite, float, float, float]]:
        """(sprite, scale, left x, top y) of each face in frame ``i``."""
        w, h = self.size_wh
        rng = np.random.default_rng(self.seed)
        out = []
        for k in range(self.n_faces):
            sprite = _SPRITES[k]
            rgba, (fx0, _, fx1, _) = _sprite_rgba(sprite)
            scale = FACE_WIDTH_FRAC * w / (fx1 - fx0)
            sh, sw = rgba.shape[0] * scale, rgba.shape[1] * scale
            lane_w = w / self.n_faces
            fx, fy, phase = rng.uniform(0.15, 0.35), rng.uniform(0.1, 0.25), rng.uniform(0, 2 * np.pi)
            t = i / self.fps
            span_x = max(lane_w - sw, 0.0)
            span_y = max(h - sh, 0.0)
            cx = k * lane_w + span_x * (0.5 + 0.45 * np.sin(2 * np.pi * fx * t + phase))
            cy = span_y * (0.5 + 0.4 * np.sin(2 * np.pi * fy * t + 2 * phase))
            out.append((sprite, scale, float(cx), float(cy)))
        return out

    def sharp_frame(self, i: int) -> NDArray[np.uint8]:
        """Frame ``i`` before degradation: HxWx3 uint8 RGB."""
        return _to_u8(self._render(i))

    def _render(self, i: int) -> NDArray[np.float32]:
        if not 0 <= i < self.n_frames:
            raise ConfigError(f"frame {i} outside 0..{self.n_frames - 1}")
        w, h = self.size_wh
        bg = _background(self.size_wh)
        ox = (bg.shape[1] - w) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.05 * i / self.fps))
        pan = np.float32([[1, 0, -ox], [0, 1, -(bg.shape[0] - h) / 2]])
        frame = cv2.warpAffine(bg, pan, (w, h), flags=cv2.INTER_LINEAR)
        for sprite, scale, x, y in self._placements(i):
            paste_rgba(frame, _sprite_rgba(sprite)[0], scale, (x, y))
        return frame.astype(np.float32)

    def face_boxes(self, i: int) -> NDArray[np.float32]:
        """True face rectangles of frame ``i``: (n_faces, 4) float32 x0, y0, x1, y1 in pixels."""
        boxes = []
        for sprite, scale, x, y in self._placements(i):
            _, (fx0, fy0, fx1, fy1) = _sprite_rgba(sprite)
            boxes.append([x + fx0 * scale, y + fy0 * scale, x + fx1 * scale, y + fy1 * scale])
        return np.asarray(boxes, np.float32).reshape(-1, 4)

    def blurred_frame(self, i: int) -> NDArray[np.uint8]:
        """Frame ``i`` as degraded before encoding (no compression loss): HxWx3 uint8 RGB."""
        sharp = self._render(i)
        if not self.blur:
            return _to_u8(sharp)
        kernel = camera_shake_kernel(np.random.default_rng([self.seed, 1]), _blur_extent(self.size_wh))
        rng = np.random.default_rng([self.seed, 2, i])
        return _to_u8(degrade(sharp, kernel, rng, srgb_noise_sigma=0.01))


def _blur_extent(size_wh: tuple[int, int]) -> float:
    """Camera-shake extent: ~9 px at 720p, scaled with the frame."""
    return max(3.0, 9.0 * size_wh[1] / 720)


def _to_u8(img: NDArray[np.float32]) -> NDArray[np.uint8]:
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def make_face_video(path: Path, size_wh: tuple[int, int] = (1280, 720), n_frames: int = 40,
                    n_faces: int = 1, blur: bool = True, seed: int = 0, *, fps: float = 30.0,
                    crf: int = 10, audio: bool = False) -> FaceVideo:
    """Render, degrade and encode a face video; returns it with its ground-truth accessors.

    Args:
        path: output ``.mp4``.
        size_wh: frame size (width, height) in pixels, both even.
        n_frames: number of frames.
        n_faces: faces per frame, 1 to 3.
        blur: degrade frames (camera shake + noise); False writes the sharp frames.
        seed: scene and noise seed (same seed, same video).
        fps: frame rate.
        crf: H.264 quality (10: near-lossless, so compression barely touches PSNR).
        audio: add an AAC 440 Hz tone track (for audio pass-through tests).

    Raises:
        ConfigError: an argument is out of range.
    """
    if not 1 <= n_faces <= len(_SPRITES):
        raise ConfigError(f"n_faces={n_faces} must be 1..{len(_SPRITES)}")
    if n_frames < 1 or size_wh[0] % 2 or size_wh[1] % 2 or min(size_wh) < 64:
        raise ConfigError(f"need n_frames >= 1 and an even size_wh of at least 64 px, got "
                          f"{n_frames}, {size_wh}")
    video = FaceVideo(path, size_wh, n_frames, fps, n_faces, blur, seed)
    target = path.with_name(f".{path.stem}.noaudio{path.suffix}") if audio else path
    with VideoFileSink(target, VideoSinkConfig(fps=fps, crf=crf, preset="veryfast")) as sink:
        for i in range(n_frames):
            sink.write(Frame(video.blurred_frame(i), i, i * 1000.0 / fps))
    if audio:
        tone = path.with_name(f".{path.stem}.tone.m4a")
        _write_tone(tone, n_frames / fps)
        mux_audio(target, tone, path)
        target.unlink()
        tone.unlink()
    return video


def _write_tone(path: Path, seconds: float, rate: int = 16000) -> None:
    """A mono AAC sine tone of ``seconds``."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=rate)
        total = int(seconds * rate)
        for pos in range(0, total, 1024):
            n = min(1024, total - pos)
            wave = 0.3 * np.sin(2 * np.pi * 440 * np.arange(pos, pos + n) / rate)
            frame = av.AudioFrame.from_ndarray(wave.astype(np.float32)[None], format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, pos, Fraction(1, rate)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def write_raw_h264(out: Path | BinaryIO, frames_rgb: Sequence[NDArray[np.uint8]], fps: int = 30) -> None:
    """Encode RGB frames as a raw H.264 (Annex B) stream, what ``rpicam-vid -o -`` pipes."""
    import av

    with av.open(out if not isinstance(out, Path) else str(out), "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames_rgb[0].shape[1], frames_rgb[0].shape[0], "yuv420p"
        for rgb in frames_rgb:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))


def portrait_phone_clip(path: Path, out: Path) -> Path:
    """``path``'s frames stored turned a quarter counter-clockwise, with the MP4 display
    matrix that turns them back (what a phone held upright records), written to ``out``.

    Raises:
        ConfigError: ``path`` has no MP4 track header to rotate.
    """
    import struct

    with open_source(str(path)) as src:
        frames = [Frame(np.ascontiguousarray(np.rot90(f.image_rgb)), f.index, f.timestamp_ms) for f in src]
    tmp = out.with_suffix(".stored.mp4")
    with VideoFileSink(tmp, VideoSinkConfig(crf=10)) as sink:
        for f in frames:
            sink.write(f)
    data = bytearray(tmp.read_bytes())
    tmp.unlink()
    at = data.find(b"tkhd")
    if at < 0:
        raise ConfigError(f"{path}: no MP4 track header")
    version = data[at + 4]
    # tkhd: version+flags, times and track id, reserved, duration, reserved, layer, group, volume, reserved
    matrix = at + 8 + (8 if version == 0 else 16) + 8 + (4 if version == 0 else 8) + 16
    height = frames[0].image_rgb.shape[0]
    data[matrix:matrix + 36] = struct.pack(">9i", 0, 1 << 16, 0, -(1 << 16), 0, 0, height << 16, 0, 1 << 30)
    out.write_bytes(bytes(data))
    return out


def hdr_phone_clip(path: Path, out: Path) -> Path:
    """``path``'s frames as an iPhone's HDR video: 10-bit HEVC tagged HLG / BT.2020, with
    ``path``'s audio, written to ``out`` (a ``.mov``).

    The samples are ``path``'s own, not graded for HDR: what matters is that the tags
    say how to show them and that an output must keep them.
    """
    import av

    tmp = out.with_name(f".{out.stem}.noaudio{out.suffix}")
    with av.open(str(path)) as src, av.open(str(tmp), "w") as dst:
        v_in = src.streams.video[0]
        stream = dst.add_stream("libx265", rate=v_in.average_rate, options={"crf": "12", "x265-params": "log-level=error"})
        stream.width, stream.height, stream.pix_fmt = v_in.width, v_in.height, "yuv420p10le"
        ColourTags(primaries=9, transfer=18, matrix=9).apply(stream.codec_context)
        for frame in src.decode(v_in):
            dst.mux(stream.encode(frame.reformat(format="yuv420p10le")))
        dst.mux(stream.encode(None))
    mux_audio(tmp, path, out)
    tmp.unlink()
    return out


def variable_rate_clip(path: Path, out: Path, slow: range, slow_ms: int = 100) -> list[float]:
    """``path``'s frames at a variable rate, with a tone track as long as the video, written
    to ``out``: frames in ``slow`` last ``slow_ms`` (a phone drops to 10 fps in low light),
    the others one nominal frame. Returns each frame's time in milliseconds.
    """
    import av

    tmp = out.with_name(f".{out.stem}.noaudio{out.suffix}")
    times, t_ms = [], 0
    with av.open(str(path)) as src, av.open(str(tmp), "w") as dst:
        v_in = src.streams.video[0]
        frame_ms = round(1000 / float(v_in.average_rate))
        stream = dst.add_stream("libx264", rate=v_in.average_rate, options={"crf": "10"})
        stream.width, stream.height, stream.pix_fmt = v_in.width, v_in.height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for i, frame in enumerate(src.decode(v_in)):
            frame.pts, frame.time_base = t_ms, Fraction(1, 1000)
            dst.mux(stream.encode(frame))
            times.append(float(t_ms))
            t_ms += slow_ms if i in slow else frame_ms
        dst.mux(stream.encode(None))
    tone = out.with_name(f".{out.stem}.tone.m4a")
    _write_tone(tone, t_ms / 1000)
    mux_audio(tmp, tone, out)
    tmp.unlink()
    tone.unlink()
    return times


def truncate_file(path: Path, out: Path, keep_fraction: float) -> Path:
    """Copy the first ``keep_fraction`` of ``path``'s bytes to ``out`` (a cut-off download)."""
    data = path.read_bytes()
    out.write_bytes(data[: int(len(data) * keep_fraction)])
    return out

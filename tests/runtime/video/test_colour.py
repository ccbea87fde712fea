"""Colour tags: an HDR phone clip through ``edgedeblur run`` keeps its tags, samples and audio."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from benchmarks.videos import hdr_phone_clip, make_face_video
from runtime.cli import main
from runtime.video.audio import has_audio
from runtime.video.colour import ColourTags, read_colour_tags

HLG_BT2020 = ColourTags(primaries=9, transfer=18, matrix=9)


@pytest.fixture(scope="module")
def hdr_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hdr")
    clip = make_face_video(folder / "talk.mp4", size_wh=(320, 192), n_frames=12, seed=3, audio=True)
    return hdr_phone_clip(clip.path, folder / "IMG_0001.MOV")


def _yuv8(path: Path) -> list[np.ndarray]:
    """Every frame's Y, U and V planes at full resolution, on an 8-bit scale whatever the depth."""
    planes = []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            deep = frame.format.name.endswith("10le")
            full = frame.reformat(format="yuv444p16le" if deep else "yuv444p")
            dtype, scale = (np.uint16, 256.0) if deep else (np.uint8, 1.0)
            planes.append(np.stack([np.frombuffer(p, dtype).reshape(full.height, -1)[:, :full.width]
                                    for p in full.planes]) / scale)
    return planes


def test_an_hdr_clip_keeps_its_tags_samples_and_audio(hdr_clip: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert read_colour_tags(hdr_clip) == HLG_BT2020 and HLG_BT2020.hdr == "HLG"
    out = tmp_path / "out.mp4"
    rc = main(["run", "--no-progress", "--source", str(hdr_clip), "-o", str(out), "--faces", "none",
               "--background", "none", "--crf", "8"])
    assert rc == 0
    assert "is HDR (HLG)" in capsys.readouterr().err
    assert read_colour_tags(out) == HLG_BT2020    # without them a player shows it washed out
    assert has_audio(out)
    before, after = _yuv8(hdr_clip), _yuv8(out)
    assert len(after) == len(before)
    # Decode and encode use one matrix, so each sample means what it meant: no colour shift.
    for a, b in zip(before, after):
        assert np.abs((a - b).mean(axis=(1, 2))).max() < 1.0
        assert np.abs(a - b).mean() < 2.0


def test_untagged_and_unreadable_files_read_as_unspecified(tmp_path: Path) -> None:
    clip = make_face_video(tmp_path / "plain.mp4", size_wh=(96, 64), n_frames=3, blur=False)
    assert read_colour_tags(clip.path) == ColourTags() and ColourTags().hdr is None
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    assert read_colour_tags(junk) == ColourTags()
    assert read_colour_tags(tmp_path / "missing.mp4") == ColourTags()


def test_an_rgb_coded_source_gives_a_yuv_output_its_real_matrix(tmp_path: Path) -> None:
    """An RGB codec (here PNG in MOV) tags the identity matrix; copied onto the H.264 output
    (4:2:0) it would make a stream the standard forbids and some players show in false colour."""
    src = tmp_path / "screen.mov"
    with av.open(str(src), "w") as c:
        stream = c.add_stream("png", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "rgb24"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
    out = tmp_path / "out.mp4"
    assert main(["run", "--no-progress", "--source", str(src), "-o", str(out), "--faces", "none",
                 "--background", "none"]) == 0
    matrices = []
    for path in (src, out):
        with av.open(str(path)) as c:
            matrices.append(int(c.streams.video[0].codec_context.colorspace))
    assert matrices == [0, 6]      # the output: BT.601, what the sink encoded with

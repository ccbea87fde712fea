"""Library messages name config fields; each subcommand shows them as its own flags, one line."""
from __future__ import annotations

from pathlib import Path

import pytest

from runtime.cli import main
from runtime.commands import flags
from runtime.errors import with_flags

PHOTO = Path(__file__).resolve().parents[3] / "runtime" / "assets" / "example_blurry.jpg"


def test_with_flags_maps_only_known_fields() -> None:
    fl = flags("tile", "idle_s", warmup_frames="--warmup")
    assert fl == {"tile": "--tile", "idle_s": "--idle-s", "warmup_frames": "--warmup"}
    assert with_flags("`tile` 8 (see `edgedeblur models`, `video` group, `idle_s`)", fl) == \
        "--tile 8 (see `edgedeblur models`, `video` group, --idle-s)"


@pytest.mark.parametrize("argv, line", [
    (["deblur", str(PHOTO), "--tile", "8"], "edgedeblur deblur: error: --tile 8 is too small; use at least 16 (256 is typical)"),
    (["deblur", str(PHOTO), "--overlap", "300"],
     "edgedeblur deblur: error: --overlap 300 must be in [0, 255] (under half of --tile 512)"),
    (["deblur", str(PHOTO), "--strength", "2"], "edgedeblur deblur: error: --strength 2.0 is outside [0, 1]; "
     "use 0 (unchanged) to 1 (full deblur), e.g. --strength 0.7"),
    (["deblur", str(PHOTO), "--mode", "focs"],
     "edgedeblur deblur: error: --mode 'focs' is not one of auto, motion, focus; did you mean 'focus'?"),
    (["deblur", str(PHOTO), "--method", "wiener"], "edgedeblur deblur: error: --method wiener needs the blur kernel: "
     "pass --kernel K.png (a grayscale image of the point-spread function)"),
    (["deblur", str(PHOTO), "--threads", "0"], "edgedeblur deblur: error: --threads 0 must be a whole number >= 1"),
    (["deblur", str(PHOTO), "--model", ""], "edgedeblur deblur: error: --model is empty; give a shipped name "
     "(see `edgedeblur models`) or a file"),
    (["run", "--source", "ftp://x/y"], "edgedeblur run: error: --source ftp://x/y: unsupported scheme 'ftp'; "
     "use one of rtsp, rtsps, rtmp, http, https, udp, tcp"),
    (["run", "--source", str(PHOTO), "--backend", "ortt"],
     "edgedeblur run: error: --backend 'ortt' is not one of auto, ort, litert; did you mean 'ort'?"),
    (["profile", "--source", "x.mp4", "--config", "full:nano.int8", "--frames", "0"],
     "edgedeblur profile: error: --frames (0), --chunk (30) and --repeats (1) must each be >= 1"),
])
def test_config_errors_show_the_flag(argv: list[str], line: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    assert capsys.readouterr().err.splitlines() == [line]

"""``edgedeblur demo``: deblur the bundled example photo with the shipped default model.

The example (``runtime/assets/example_blurry.jpg``) is Grace Hopper's portrait from
matplotlib's sample data, blurred in linear light by a seeded camera-shake kernel with
mild sensor noise; ``python -m runtime.commands.demo`` regenerates it byte-for-byte on
the same libraries.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from runtime.catalog import DEFAULT_MODEL
from runtime.commands import flags

EXAMPLE_PHOTO = Path(__file__).resolve().parents[1] / "assets" / "example_blurry.jpg"
EXAMPLE_SEED = 2024
EXAMPLE_SHAKE_PX = 13.0
EXAMPLE_NOISE_SIGMA = 0.005
EXAMPLE_JPEG_QUALITY = 92


FLAGS = flags("model", "threads")
"""Library field -> this command's flag, for error messages."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand."""
    p = subparsers.add_parser("demo", help="deblur the bundled example photo",
                              description="Deblur the bundled example photo and write a before/after image.")
    p.add_argument("-o", "--output", type=Path, default=Path("edgedeblur_demo"), metavar="DIR",
                   help="output folder (default ./edgedeblur_demo)")
    p.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME|PATH", help=f"model to run (default {DEFAULT_MODEL})")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for the model (default 2)")
    p.set_defaults(handler=run, flags=FLAGS)


def render_example() -> NDArray[np.uint8]:
    """The example photo before JPEG encoding: (600, 512, 3) uint8 RGB, deterministic."""
    from runtime.lab.sample_images import load_sample
    from runtime.photo.kernels import camera_shake_kernel
    from runtime.lab.degradations import degrade

    rng = np.random.default_rng(EXAMPLE_SEED)
    sharp = load_sample("grace_hopper").astype(np.float32) / 255.0
    kernel = camera_shake_kernel(rng, EXAMPLE_SHAKE_PX)
    blurry = degrade(sharp, kernel, rng, srgb_noise_sigma=EXAMPLE_NOISE_SIGMA)
    return (np.clip(blurry, 0, 1) * 255 + 0.5).astype(np.uint8)


def write_example(path: Path = EXAMPLE_PHOTO) -> Path:
    """Regenerate the example JPEG atomically at ``path``."""
    import io

    from PIL import Image

    from runtime.photo.imageio import atomic_write_bytes

    buf = io.BytesIO()
    Image.fromarray(render_example()).save(buf, format="JPEG", quality=EXAMPLE_JPEG_QUALITY)
    atomic_write_bytes(path, buf.getvalue())
    return path


def run(args: argparse.Namespace) -> int:
    """Handler: deblur the example and write ``example_sharp.png`` and ``example_compare.png``."""
    from runtime.photo.deblur import DeblurConfig, deblur_image
    from runtime.engines.base import EngineConfig
    from runtime.errors import ImageError
    from runtime.photo.imageio import read_image, side_by_side, write_image

    config = DeblurConfig(model=args.model, engine=EngineConfig(threads=args.threads))
    photo = read_image(EXAMPLE_PHOTO).rgb
    result = deblur_image(photo, config)
    try:
        args.output.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ImageError(f"cannot create output folder {args.output}: {e.strerror or e}; choose "
                         "another folder with -o") from e
    sharp, compare = args.output / "example_sharp.png", args.output / "example_compare.png"
    write_image(sharp, result.image)
    write_image(compare, side_by_side([photo, result.image], ["before", f"after ({result.label})"]))
    print(f"deblurred {EXAMPLE_PHOTO.name} with {result.label} in {result.timings_ms['total']:.0f} ms")
    print(f"wrote {sharp}")
    print(f"wrote {compare}")
    return 0


if __name__ == "__main__":
    print(write_example())

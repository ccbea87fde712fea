"""Pack training photos for a lent GPU machine: smaller JPEGs that fit one device call.

A device call carries the working tree plus the folders it names, 64 MiB in all, and the
tracked files already take about 41 of it (``tests/test_repository_size.py``). This writes
``DEST/general`` and ``DEST/faces`` (the trainer's ``--data`` and ``--face-data``) as JPEGs
shrunk to ``--long-side`` but never below the trainer's 256 px patch on the short side
(photos too small even to pad up to a patch give the trainer nothing and are skipped), in a
seeded order that keeps the mix of faces and general photos, until ``--max-mib`` is spent;
it says how many fit.

    python -m convert.pack device_pack --data ../shared/train_photos/general \\
        --face-data ../shared/train_photos/faces --max-mib 21

The photos keep their licences (``../shared/train_photos/README``): DEST must stay out of
the repository (``/device_pack/`` is git-ignored).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from convert.errors import report_errors
from convert.photos import MIN_PAD_FRACTION, PoolConfig, list_photos
from facemask.files import atomic_path
from runtime.errors import ConfigError

MIN_SHORT_PX = PoolConfig().patch
"""The trainer's patch side (256 px): no photo is packed smaller."""


@dataclass(frozen=True, slots=True)
class PackConfig:
    """What to pack and how small."""

    long_side: int = 384
    quality: int = 90
    max_mib: float = 21.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.long_side < MIN_SHORT_PX:
            raise ConfigError(f"--long-side {self.long_side} must be >= {MIN_SHORT_PX} (the trainer's patch)")
        if not 50 <= self.quality <= 100:
            raise ConfigError(f"--quality {self.quality} must be in [50, 100]")
        if self.max_mib <= 0:
            raise ConfigError(f"--max-mib {self.max_mib} must be positive")


@dataclass(frozen=True, slots=True)
class PackResult:
    """How many photos of each set fit, out of how many, and the bytes written."""

    packed: dict[str, int]
    offered: dict[str, int]
    skipped_small: int
    bytes: int


def _shrunk(bgr: np.ndarray, cfg: PackConfig) -> np.ndarray | None:
    """The photo at ``long_side`` (short side kept >= the patch), or None if it is too small."""
    h, w = bgr.shape[:2]
    if min(h, w) < MIN_PAD_FRACTION * MIN_SHORT_PX:
        return None
    scale = min(1.0, max(cfg.long_side / max(h, w), MIN_SHORT_PX / min(h, w)))
    if scale >= 1.0:
        return bgr
    size = (max(MIN_SHORT_PX, round(w * scale)), max(MIN_SHORT_PX, round(h * scale)))
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)


def _order(sets: dict[str, list[Path]], seed: int) -> list[tuple[str, Path]]:
    """Each set shuffled, then interleaved by rank so that any prefix keeps their proportions."""
    rng = np.random.default_rng(seed)
    keyed = []
    for name, files in sets.items():
        for rank, i in enumerate(rng.permutation(len(files))):
            keyed.append(((rank + 0.5) / len(files), name, files[i]))
    return [(name, path) for _, name, path in sorted(keyed, key=lambda k: (k[0], k[1]))]


def pack(dest: Path, sets: dict[str, list[Path]], cfg: PackConfig = PackConfig()) -> PackResult:
    """Write ``dest/<set>/NNNN.jpg`` for as many photos as ``cfg.max_mib`` holds.

    Raises:
        ConfigError: ``dest`` already holds a pack, or a photo cannot be decoded.
    """
    if dest.exists() and any(dest.iterdir()):
        raise ConfigError(f"{dest} is not empty; remove it or pack into a new folder")
    budget = int(cfg.max_mib * 2**20)
    used, small = 0, 0
    packed = {name: 0 for name in sets}
    for name, path in _order(sets, cfg.seed):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ConfigError(f"{path}: cannot be decoded; remove it or re-save it as JPEG/PNG")
        img = _shrunk(bgr, cfg)
        if img is None:
            small += 1
            continue
        ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, cfg.quality])
        if not ok or used + len(data) > budget:
            break
        with atomic_path(dest / name / f"{packed[name]:04d}.jpg", parents=True) as tmp:
            tmp.write_bytes(data.tobytes())
        used += len(data)
        packed[name] += 1
    return PackResult(packed, {n: len(f) for n, f in sets.items()}, small, used)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m convert.pack", description=__doc__.splitlines()[0])
    ap.add_argument("dest", type=Path, help="new folder for the pack (git-ignored: device_pack)")
    ap.add_argument("--data", action="append", type=Path, default=[], help="folder tree of photos (repeatable)")
    ap.add_argument("--face-data", action="append", type=Path, default=[], help="folder of face photos (repeatable)")
    d = PackConfig()
    ap.add_argument("--long-side", type=int, default=d.long_side)
    ap.add_argument("--quality", type=int, default=d.quality)
    ap.add_argument("--max-mib", type=float, default=d.max_mib, help=f"size budget (default {d.max_mib})")
    ap.add_argument("--seed", type=int, default=d.seed)
    args = ap.parse_args(argv)

    def pack_all() -> None:
        if not args.data:
            raise ConfigError("--data DIR is required (a folder tree of training photos)")
        cfg = PackConfig(args.long_side, args.quality, args.max_mib, args.seed)
        sets = {"general": list_photos(args.data), **({"faces": list_photos(args.face_data)} if args.face_data else {})}
        res = pack(args.dest, sets, cfg)
        fit = ", ".join(f"{name} {res.packed[name]}/{res.offered[name]}" for name in sets)
        print(f"{args.dest}: {fit} photos, {res.bytes / 2**20:.1f} MiB ({res.skipped_small} too small to train on)")

    return report_errors("convert.pack", pack_all)


if __name__ == "__main__":
    raise SystemExit(main())

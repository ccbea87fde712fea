"""Folder-run throughput: a local run against ``--ray`` with 1 and 2 workers, side by side.

Makes an album of crops of the shipped blurry example photo, then runs the real CLI on it,
interleaved per round: ``local`` (``--threads 2``), ``ray1`` (1 worker x 2 threads) and
``ray2`` (2 workers x 1 thread), each into a fresh folder, all with the default photo path
(``--method auto``). Reported per run: wall seconds of the whole command, Ray start-up
(runtime, workers, model loads; for the local run, a 1-photo run's wall time), steady
photos/s after start-up, seconds a photo per worker,
the driver's CPU seconds; and whether every output equals the local run's byte for byte.
Writes ``results/ray/throughput.json`` and ``.md`` (date, commit, load average).

    .venv/bin/python -m benchmarks.ray_throughput [--photos 16] [--size 320x240] [--rounds 1]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.run_meta import finish, run_meta

OUT = Path(__file__).parent / "results" / "ray"
EXAMPLE = Path(__file__).parent.parent / "runtime" / "assets" / "example_blurry.jpg"
EDGEDEBLUR = Path(sys.executable).parent / "edgedeblur"
RUNS: dict[str, list[str]] = {
    "local": ["--threads", "2"],
    "ray1": ["--threads", "2", "--ray", "--workers", "1"],
    "ray2": ["--threads", "1", "--ray", "--workers", "2"],
}


def make_album(folder: Path, photos: int, size_wh: tuple[int, int]) -> None:
    """``photos`` different crops (shifted windows, mirrored every other) of the example photo."""
    folder.mkdir(parents=True)
    src = np.asarray(Image.open(EXAMPLE).convert("RGB"))
    h, w = src.shape[:2]
    cw, ch = min(size_wh[0], w), min(size_wh[1], h)
    rng = np.random.default_rng(0)
    for i in range(photos):
        top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        crop = src[top:top + ch, left:left + cw]
        Image.fromarray(crop[:, ::-1] if i % 2 else crop).save(folder / f"photo{i:03d}.jpg", quality=92)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def run_once(name: str, album: Path, out: Path) -> dict[str, object]:
    """One CLI run; its wall time and, for --ray, the JSON summary's numbers."""
    start = time.perf_counter()
    proc = subprocess.run([str(EDGEDEBLUR), "deblur", str(album), "-o", str(out), *RUNS[name]],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed: {proc.stderr.strip()}")
    row: dict[str, object] = {"run": name, "wall_s": round(wall, 2)}
    if "--ray" in RUNS[name]:
        s = json.loads(proc.stdout)
        steady = s["seconds"] - s["startup_s"]
        row.update(startup_s=s["startup_s"], steady_photos_per_s=round(s["done"] / steady, 3),
                   driver_cpu_s=s["driver_cpu_s"],
                   s_per_photo_per_worker=[w["s_per_photo"] for w in s["workers"].values()])
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=16)
    ap.add_argument("--size", default="320x240", help="photo size WxH (default 320x240)")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    meta = run_meta()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        album = Path(tmp) / "album"
        make_album(album, args.photos, (size[0], size[1]))
        one = Path(tmp) / "one"                      # the local run's fixed cost: imports, model load
        one.mkdir()
        (one / "photo000.jpg").write_bytes((album / "photo000.jpg").read_bytes())
        reference: dict[str, str] | None = None
        for r in range(args.rounds):
            for name in RUNS:
                out = Path(tmp) / f"{name}_{r}"
                row = run_once(name, album, out)
                digests = _digests(out)
                reference = reference if reference is not None else digests
                row["same_bytes_as_local"] = digests == reference
                row["photos_per_s_wall"] = round(args.photos / float(row["wall_s"]), 3)  # type: ignore[arg-type]
                if name == "local":
                    fixed = float(run_once("local", one, Path(tmp) / f"one_{r}")["wall_s"])  # type: ignore[arg-type]
                    row.update(startup_s=fixed, steady_photos_per_s=round(
                        (args.photos - 1) / (float(row["wall_s"]) - fixed), 3))  # type: ignore[arg-type]
                rows.append(row)
                print(json.dumps(row), flush=True)
    result = {**finish(meta), "photos": args.photos, "size_wh": size, "method": "auto (default)", "rows": rows}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "throughput.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {OUT / 'throughput.json'}")


if __name__ == "__main__":
    main()

"""ESTIMATED model speed and energy on a Raspberry Pi 4 / Pi 5 (LiteRT int8, XNNPACK, 4 threads).

Nothing here was measured on a Pi (none was available; the arm64 check runs emulated, whose
timings mean nothing). The estimate is: the shipped file's MACs over a throughput per board,
int8 for the int8 layers and float for the layers the conversion kept in float (the
manifest's ``kept_in_float``; their MACs counted on the PyTorch net), then watts from the
energy profile's power models (all 4 cores busy).

Throughput basis:
- Pi 4 int8: XNNPACK's README (benchmarked Feb 2022, 64-bit Raspbian, all cores): INT8
  MobileNet v1 1.0 (569 M MACs at 224x224) in 24 ms -> about 24 GMAC/s. Our nets (dense
  3x3 convs) are assumed to run at the same MACs per second.
- Pi 4 float: XNNPACK's README (benchmarked December 2019, Raspbian Buster, all cores): FP32
  MobileNet v1 1.0 in 79 ms -> about 7.2 GMAC/s (a 32-bit build: a 64-bit one is likely faster).
- Pi 5: Raspberry Pi's launch figure of 2-3x the Pi 4's CPU speed, taken at 2.5x; its
  Cortex-A76 also has the dot-product instructions XNNPACK's int8 kernels use (the A72 has not).

    .venv/bin/python -m benchmarks.pi_estimate   # -> benchmarks/results/arm64/pi_estimate.md
"""
from __future__ import annotations

from pathlib import Path

from convert.zoo import count_macs, create_model
from facemask.files import atomic_write
from runtime.energy.power_models import BUILTIN_MODELS
from runtime.manifest import ArtifactEntry, Manifest

OUT = Path(__file__).parent / "results" / "arm64" / "pi_estimate.md"
PI5_OVER_PI4 = 2.5
GMAC_PER_S = {"pi4": 569e6 / 0.024 / 1e9, "pi5": PI5_OVER_PI4 * 569e6 / 0.024 / 1e9}
FLOAT_GMAC_PER_S = {"pi4": 569e6 / 0.079 / 1e9, "pi5": PI5_OVER_PI4 * 569e6 / 0.079 / 1e9}
WORKLOADS = (  # (label, artifact, 256x256-tile equivalents per call)
    ("one face crop, 256x256 (`run` camera default)", "nano.int8.tflite", 1.0),
    ("one photo tile, 256x256", "small.int8.tflite", 1.0),
    ("full 640x480 frame (`run --faces none --background full`)", "small.int8.tflite", 640 * 480 / 256**2),
    ("12 MP photo, model only (`deblur --method model`)", "small.int8.tflite", 4056 * 3040 / 256**2),
)


def float_macs(entry: ArtifactEntry) -> float:
    """MACs per 256x256 input of the conv layers ``entry`` keeps in float (its ``kept_in_float``
    note names them as the PyTorch modules, e.g. ``dec1.0.c1``; other listed ops are not convs)."""
    kept = set(entry.notes.get("kept_in_float", "").split(","))
    return float(count_macs(create_model(entry.model).eval(), only=kept))


def main() -> None:
    manifest = Manifest.load(Path(__file__).parents[1] / "runtime" / "models" / "manifest.json")
    entries = {a.id: a for a in manifest.artifacts}
    lines = ["# Raspberry Pi speed and energy: ESTIMATES, not measurements", "",
             (__doc__ or "").split("\n\n    ")[0].strip(), "",
             "| workload | model | MACs in float | Pi 4 ms | Pi 4 FPS | Pi 4 mJ | Pi 5 ms | Pi 5 FPS | Pi 5 mJ |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, artifact, tiles in WORKLOADS:
        entry = entries[artifact]
        kept = float_macs(entry)
        row = [label, f"`{artifact}`", f"{kept / entry.macs_256:.0%}"]
        for board in ("pi4", "pi5"):
            model = BUILTIN_MODELS[board]
            seconds = tiles * ((entry.macs_256 - kept) / (GMAC_PER_S[board] * 1e9)
                               + kept / (FLOAT_GMAC_PER_S[board] * 1e9))
            watts = model.idle_w + sum(c.busy_w * c.count for c in model.cores)
            row += [f"{seconds * 1000:.0f}", f"{1 / seconds:.2g}", f"{watts * seconds * 1000:.0f}"]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Model time only: camera decode, face detection (~1-2 ms of LiteRT per frame on x86 here), "
              "blending and H.264 encoding come on top. Power: the `pi4` / `pi5` models of "
              "`runtime/energy/power_models.py` with all four cores busy. Measure a real Pi with "
              "`edgedeblur profile --meter auto` (Pi 5: the PMIC meter)."]
    atomic_write(OUT, "\n".join(lines) + "\n", parents=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Third-party architectures x targets x precision: what ``edgedeblur convert`` ships for each.

Each tiny net of ``tests/thirdparty_nets.py`` (NAFNet-, Restormer- and MIMO-UNet-like,
random weights scaled towards identity: no trained third-party weights are available
here) is exported as users export (``torch.onnx.export``, opset 17, dynamic size) and
converted exactly as ``edgedeblur convert X.onnx --input-size N --target ...`` would:
synthetic calibration, the default gate (0.3 dB), the repair loop, the float fallback.
Latency is measured side by side (round-robin) on this machine, batch 1, 2 threads.
Writes ``benchmarks/results/convert_thirdparty/{results.json, results.md}``.

    .venv/bin/python -m benchmarks.convert_thirdparty [--size 256] [--targets android-npu,rpi5,x86-cpu,coral-edgetpu]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.run_meta import finish, header, run_meta
from convert.build import BuildConfig, BuiltArtifact, build
from convert.source import load_source
from runtime.manifest import Status
from tests.thirdparty_nets import ARCHS, export

OUT = Path(__file__).parent / "results" / "convert_thirdparty"


def _verdict(b: BuiltArtifact) -> str:
    if b.status is not Status.OK:
        return f"rejected ({b.report.reason})"
    if b.fallback:
        return f"float fallback ({b.fallback})"
    kept = b.repair.chosen.kept_in_float if b.repair else ()
    return f"converted, float islands: {', '.join(kept)}" if kept else "converted"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--targets", default="android-npu,rpi5,x86-cpu,coral-edgetpu")
    p.add_argument("--archs", default=",".join(ARCHS))
    p.add_argument("--rounds", type=int, default=10)
    args = p.parse_args()
    targets = tuple(args.targets.split(","))
    rows = []
    meta = run_meta() | {"size": args.size}
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.archs.split(","):
            t0 = time.perf_counter()
            path = export(arch, Path(tmp) / f"{arch}.onnx")
            src = load_source(str(path), input_size=(args.size, args.size))
            result = build(src, Path(tmp) / "out", BuildConfig(targets=targets, input_size=(args.size, args.size),
                                                               latency_rounds=args.rounds))
            for b in result.artifacts:
                for t in b.targets:
                    rows.append({"arch": arch, "target": t, "artifact": b.id, "format": b.spec.format.value,
                                 "precision": b.spec.precision.value, "verdict": _verdict(b),
                                 "psnr_vs_float_db": round(b.report.metrics.psnr_vs_float_db, 2),
                                 "drop_db": round(b.report.drop_db, 3),
                                 "latency_ms": round(b.latency.median_ms, 2) if b.latency else None,
                                 "size_kib": round(b.artifact.size_bytes / 1024)})
            print(f"{arch}: {time.perf_counter() - t0:.0f} s, ok={result.ok}", flush=True)
            _write(rows, args.size, meta)


def _write(rows: list[dict[str, object]], size: int, meta: dict[str, object]) -> None:
    """Results so far (written after every architecture: a long run stays useful if cut short)."""
    meta = finish(meta)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    lines = [f"# Third-party architectures x targets ({size}x{size})", "",
             f"{header(meta)} (2 cores shared with other jobs: latency ratios within one architecture are side by side, absolute "
             "values are noisy).", "",
             "| architecture | target | file | precision | verdict | PSNR vs fp32 dB | GT drop dB | latency ms | KiB |",
             "|---|---|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['arch']} | {r['target']} | `{r['artifact']}` | {r['precision']} | {r['verdict']} | "
                     f"{r['psnr_vs_float_db']} | {r['drop_db']} | {r['latency_ms']} | {r['size_kib']} |")
    (OUT / "results.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

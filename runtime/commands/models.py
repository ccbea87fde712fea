"""``edgedeblur models``: what is shipped, what each restores, how big, how costly, from the manifest."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from runtime.catalog import (DEFAULT_MODEL, ENSEMBLE_SEPARATOR, FILE_VIDEO_MODEL, LIVE_VIDEO_MODEL, MANIFEST_NAME,
                             SHIPPED_DIR)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``models`` subcommand."""
    p = subparsers.add_parser("models", help="list shipped models (task, size, params, MACs)",
                              description="List the model artifacts shipped with edgedeblur.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--all", action="store_true", help="include artifacts that failed their quality gate")
    p.add_argument("--models-dir", type=Path, default=SHIPPED_DIR,
                   help="folder holding manifest.json (default: the shipped models)")
    p.set_defaults(handler=run)


def _count(n: float | None, unit: str = "") -> str:
    if n is None:
        return "-"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.2f}{suffix}{unit}"
    return f"{n:.0f}{unit}"


def task_label(task: str, scale: int) -> str:
    """``deblur``, ``denoise``, ``upscale x2``: the task, with the scale where it is not 1."""
    return task if scale == 1 else f"{task} x{scale}"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def run(args: argparse.Namespace) -> int:
    """Handler: print the table (or JSON) of artifacts in the manifest."""
    from runtime.catalog import load_shipped_manifest
    from runtime.manifest import Status

    manifest = load_shipped_manifest(args.models_dir)
    entries = sorted((e for e in manifest.artifacts if args.all or e.status is Status.OK), key=lambda e: e.id)
    sizes = {}
    for e in entries:
        path = manifest.path_of(e)
        sizes[e.id] = path.stat().st_size if path.is_file() else None
    if args.json:
        doc = [e.to_json() | {"size_bytes": sizes[e.id], "file": str(manifest.path_of(e))} for e in entries]
        print(json.dumps(doc, indent=2, sort_keys=True))
        return 0
    if not entries:
        print(f"no models shipped yet: {args.models_dir / MANIFEST_NAME} is missing or lists none",
              file=sys.stderr)
        return 0
    rows = [["id", "task", "format", "precision", "size MB", "params", "MACs/256²", "status", "description"]]
    for e in entries:
        size = sizes[e.id]
        rows.append([e.id, task_label(e.task, e.scale), e.format.value, e.precision.value,
                     f"{size / 1e6:.2f}" if size is not None else "missing",
                     _count(e.params), _count(e.macs_256), e.status.value,
                     e.notes.get("description", "")])
    print(_table(rows))
    print(f"\ndefaults: photos {DEFAULT_MODEL}, video files {FILE_VIDEO_MODEL}, cameras {LIVE_VIDEO_MODEL}. "
          f"Names joined by {ENSEMBLE_SEPARATOR!r} run as one model, the mean of their outputs.")
    sources: dict[str, dict[str, list[str]]] = {}  # licence -> data -> models trained on it
    for e in entries:
        data, licence = e.notes.get("data", ""), e.notes.get("licence", "")
        if data or licence:
            models = sources.setdefault(licence, {}).setdefault(data, [])
            models += [] if e.model in models else [e.model]
    for licence, datas in sources.items():
        if len(datas) == 1:
            print(f"\nweights trained on: {next(iter(datas)) or 'unrecorded'}")
        else:
            print("\nweights trained on:")
            for data, models in datas.items():
                print(f"  {', '.join(models)}: {data or 'unrecorded'}")
        print(f"licence of that data: {licence or 'unrecorded'}")
    return 0

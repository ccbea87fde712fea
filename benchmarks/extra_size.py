"""Install size of an extra: the packages it adds on top of the runtime install, from pip's RECORD files.

    .venv/bin/python -m benchmarks.extra_size [--extra convert] [--plus onnx2torch]

``--plus`` adds packages the Makefile installs with ``--no-deps`` for that extra. Walks
the installed distributions' requirements (markers evaluated for this machine) from
the extra's requirements, drops everything the base install already needs, and sums the
sizes RECORD lists for what is left. Prints a Markdown table, biggest first.
"""
from __future__ import annotations

import argparse
from importlib import metadata

from packaging.requirements import Requirement

PROJECT = "edgedeblur"


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _closure(roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = _norm(todo.pop())
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def _requirements(extra: str | None) -> list[str]:
    out = []
    for text in metadata.distribution(PROJECT).requires or []:
        req = Requirement(text)
        in_extra = req.marker is not None and req.marker.evaluate({"extra": extra or ""}) and extra is not None
        base = req.marker is None
        if (extra is None and base) or (extra is not None and in_extra and not base):
            out.append(req.name)
    return out


def _size(name: str) -> int:
    dist = metadata.distribution(name)
    return sum(f.size or 0 for f in dist.files or [])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--extra", default="convert")
    p.add_argument("--plus", action="append", default=[], help="a package installed separately for the extra")
    args = p.parse_args()
    base = _closure(_requirements(None))
    added = sorted(_closure(_requirements(args.extra) + args.plus) - base, key=_size, reverse=True)
    total = sum(_size(n) for n in added)
    print(f"| `[{args.extra}]` adds | MiB |\n|---|---:|")
    for name in added:
        print(f"| {name} {metadata.version(name)} | {_size(name) / 2**20:.1f} |")
    print(f"| **total ({len(added)} packages)** | **{total / 2**20:.1f}** |")


if __name__ == "__main__":
    main()

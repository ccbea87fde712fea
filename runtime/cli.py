"""The ``edgedeblur`` console command.

Subcommands live in their own modules, each exposing ``register(subparsers)`` that adds
one parser whose ``handler(args) -> int`` does the work. runtime and facemask commands are
listed here; packages above runtime (convert) register through the ``edgedeblur.commands``
entry-point group so that runtime never imports them. Handlers import heavy libraries
lazily so ``edgedeblur --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from importlib.metadata import entry_points
from types import FrameType
from typing import Callable, Sequence

from facemask.errors import FaceMaskError
from runtime.errors import EdgeDeblurError, with_flags

_BUILTIN_COMMANDS: tuple[str, ...] = (
    "runtime.commands.deblur",
    "runtime.commands.models",
    "runtime.commands.presets",
    "runtime.commands.demo",
    "runtime.commands.profile",
    "runtime.commands.run",
    "runtime.commands.faces",
    "runtime.commands.serve",
)

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every clean-up written for Ctrl-C (temp files,
    partial build folders, open recordings) also runs when a service manager stops us."""


def _raise_terminated(_signum: int, _frame: FrameType | None) -> None:
    raise Terminated


def _registrars() -> list[Register]:
    found: list[Register] = [importlib.import_module(m).register for m in _BUILTIN_COMMANDS]
    for ep in sorted(entry_points(group="edgedeblur.commands"), key=lambda e: e.name):
        found.append(ep.load())
    return found


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="edgedeblur",
        description="Deblur photos and video on edge devices.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in _registrars():
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 failure, 2 usage, 130 Ctrl-C,
    143 SIGTERM)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return int(args.handler(args) or 0)
    except (EdgeDeblurError, FaceMaskError) as e:
        if args.debug:
            raise
        print(f"edgedeblur {args.command}: error: {with_flags(str(e), getattr(args, 'flags', {}))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        stopped = "terminated" if isinstance(e, Terminated) else "interrupted"
        print(f"edgedeblur {args.command}: {stopped}", file=sys.stderr)
        return 143 if isinstance(e, Terminated) else 130
    except MemoryError:
        if args.debug:
            raise
        print(f"edgedeblur {args.command}: error: out of memory; use smaller inputs (downscale photos, "
              "fewer threads) or close other programs", file=sys.stderr)
        return 1
    except OSError as e:
        if args.debug:
            raise
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"edgedeblur {args.command}: error: {e.strerror or e}{where}; "
              "check the path, permissions and free disk space", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

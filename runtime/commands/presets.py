"""``edgedeblur presets``: the built-in and user presets of the restore chain, with their settings.

``edgedeblur presets NAME`` prints one preset as the TOML file that defines it, to start a
preset of your own: ``edgedeblur presets portrait > ~/.config/edgedeblur/presets/mine.toml``.
"""
from __future__ import annotations

import argparse
import json
import sys

EXAMPLES = """examples:
  edgedeblur presets
  edgedeblur presets portrait                 # as TOML, to copy and edit
  edgedeblur deblur album/ --preset portrait -o printed/
  edgedeblur deblur album/ --preset my.toml --upscale 1      # flags override the preset
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``presets`` subcommand."""
    p = subparsers.add_parser(
        "presets", help="list the restore presets (built-in and yours) and their settings", epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="List the presets `edgedeblur deblur --preset` takes, or print one as TOML.")
    p.add_argument("name", nargs="?", metavar="NAME|FILE.toml", help="print this preset as TOML")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run, flags={})


def _settings_line(settings: dict[str, object]) -> str:
    return ", ".join(f"{k} = {json.dumps(v)}" for k, v in settings.items()) or "(the defaults)"


def run(args: argparse.Namespace) -> int:
    """Handler: list the presets (exit 1 if a user preset file is broken), or print one."""
    from runtime.photo.presets import BUILTIN, available_presets, load_preset, preset_toml, presets_dir

    if args.name:
        preset = load_preset(args.name)
        if args.json:
            print(json.dumps({"name": preset.name, "source": preset.source, "description": preset.description,
                              "settings": dict(preset.settings)}, indent=2))
        else:
            sys.stdout.write(f"# {preset.name} ({preset.source})\n" + preset_toml(preset))
        return 0
    folder = presets_dir()
    shown, broken = available_presets(folder)
    if args.json:
        print(json.dumps([{"name": p.name, "source": p.source, "description": p.description,
                           "settings": dict(p.settings)} for p in shown], indent=2))
    else:
        width = max(len(p.name) for p in shown)
        print("presets (edgedeblur deblur PHOTOS --preset NAME; flags given there override them):")
        for p in shown:
            where = "built-in" if p.source == "built-in" else p.source + \
                (" (replaces the built-in)" if p.name in BUILTIN else "")
            print(f"  {p.name.ljust(width)}  {p.description or '(no description)'}")
            print(f"  {' ' * width}  {_settings_line(dict(p.settings))}  [{where}]")
        if all(p.source == "built-in" for p in shown):
            print(f"your presets: none yet; save NAME.toml files in {folder} "
                  "(start from `edgedeblur presets portrait`)")
    for path, message in broken:
        print(f"edgedeblur presets: error: {message}", file=sys.stderr)
    return 1 if broken else 0

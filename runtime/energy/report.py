"""Writing a profile's report folder: ``profile.json``, ``profile.md``, ``profile.html`` and PNGs.

Plots use matplotlib's object API (``Figure``, Agg), never pyplot, so nothing global
changes and no display is needed. Every file is written to a temporary name in the folder
and moved into place, so an interrupted run never leaves a half-written report.
"""
from __future__ import annotations

import html
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from facemask.files import atomic_write
from runtime.errors import write_error
from runtime.energy.profile import ProfileResult

_COLOURS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """Paths written by :func:`write_report` (``power_png`` is None without samples)."""

    json: Path
    markdown: Path
    html: Path
    energy_png: Path
    latency_png: Path
    power_png: Path | None


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def _kind(result: ProfileResult) -> str:
    return "measured" if result.meter.measured else "estimated"


def plot_energy(result: ProfileResult) -> bytes:
    """Horizontal bars of mJ per frame per configuration, split into idle and active."""
    fig = Figure(figsize=(7.5, 0.6 * len(result.configs) + 1.6), dpi=110)
    ax = fig.subplots()
    names = [c.config.name for c in result.configs][::-1]
    totals = [c.energy_mj_per_frame for c in result.configs][::-1]
    actives = [c.active_energy_mj_per_frame for c in result.configs][::-1]
    if all(a is not None for a in actives):
        act = [float(a) for a in actives if a is not None]
        ax.barh(names, [t - a for t, a in zip(totals, act)], color="#BBBBBB", label="idle share")
        ax.barh(names, act, left=[t - a for t, a in zip(totals, act)], color=_COLOURS[0], label="above idle")
        ax.legend(loc="lower right", fontsize=8)
    else:
        ax.barh(names, totals, color=_COLOURS[0])
    for i, c in enumerate(result.configs):
        saving = result.saving(i)
        note = "baseline" if i == 0 or saving is None else (
            f"{100 * saving:.0f}% less" if saving >= 0 else f"{-100 * saving:.0f}% more")
        ax.text(c.energy_mj_per_frame, len(totals) - 1 - i, f" {c.energy_mj_per_frame:.1f} mJ ({note})",
                va="center", fontsize=8)
    ax.set_xlabel(f"energy per frame, mJ ({_kind(result)} by the {result.meter.kind.value} meter)")
    ax.set_xlim(0, max(totals) * 1.45)
    ax.set_title("Energy per frame", fontsize=10)
    return _png(fig)


def plot_latency(result: ProfileResult) -> bytes:
    """Cumulative distribution of per-frame latency per configuration (p50 and p95 marked)."""
    fig = Figure(figsize=(7.5, 3.6), dpi=110)
    ax = fig.subplots()
    for i, c in enumerate(result.configs):
        ms = np.sort(c.latencies_ms)
        ax.step(ms, 100 * np.arange(1, ms.size + 1) / ms.size, where="post",
                color=_COLOURS[i % len(_COLOURS)], label=c.config.name)
    for q in (50, 95):
        ax.axhline(q, color="#999999", lw=0.6, ls=":")
    lo = min(float(c.latencies_ms.min()) for c in result.configs)
    hi = max(float(c.latencies_ms.max()) for c in result.configs)
    if hi > 20 * max(lo, 1e-3):
        ax.set_xscale("log")
    ax.set_xlabel("latency per frame, ms")
    ax.set_ylabel("frames at or below, %")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Latency distribution (dotted: p50, p95)", fontsize=10)
    return _png(fig)


def plot_power(result: ProfileResult) -> bytes | None:
    """Power over time, coloured by configuration, with each segment shaded; None without samples."""
    if not any(c.samples for c in result.configs):
        return None
    fig = Figure(figsize=(9, 3.4), dpi=110)
    ax = fig.subplots()
    for seg in result.segments:
        ax.axvspan(seg.t_start_s, seg.t_end_s, color=_COLOURS[seg.config % len(_COLOURS)], alpha=0.08, lw=0)
    for i, c in enumerate(result.configs):
        if c.samples:
            ax.plot([s.t_s for s in c.samples], [s.power_w for s in c.samples], ".", ms=3,
                    color=_COLOURS[i % len(_COLOURS)], label=c.config.name)
    if result.idle is not None:
        ax.axhline(result.idle.power_w, color="#555555", lw=0.8, ls="--", label="idle")
    ax.set_xlabel("time since the first segment, s")
    ax.set_ylabel(f"power, W ({_kind(result)})")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(f"Power over time: {result.meter.kind.value}", fontsize=10)
    return _png(fig)


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


def _saving_text(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.1f}% less" if x >= 0 else f"{-100 * x:.1f}% more"


def _rows(result: ProfileResult) -> tuple[list[str], list[list[str]]]:
    head = ["configuration", "mJ/frame", "mJ/frame above idle", "saving vs baseline", "saving above idle",
            "avg W", "FPS", "p50 ms", "p95 ms", "CPU ms/frame"]
    rows = [[c.config.name, _fmt(c.energy_mj_per_frame, ".1f"), _fmt(c.active_energy_mj_per_frame, ".1f"),
             "baseline" if i == 0 else _saving_text(result.saving(i)),
             "baseline" if i == 0 else _saving_text(result.active_saving(i)),
             _fmt(c.average_power_w), _fmt(c.fps), _fmt(c.latency_ms(50), ".1f"), _fmt(c.latency_ms(95), ".1f"),
             _fmt(1e3 * c.cpu_s / c.frames, ".1f")] for i, c in enumerate(result.configs)]
    return head, rows


def _notes(result: ProfileResult) -> list[str]:
    m = result.meter
    notes = [f"Meter: {m.kind.value}, {'MEASURED' if m.measured else 'ESTIMATED (not measured)'}; "
             f"source: {m.source}; scope: {m.scope}.",
             "Idle baseline: " + (f"{result.idle.power_w:.2f} W, {result.idle.source}." if result.idle
                                  else "none (pass `idle_s` to measure one), so no above-idle figures."),
             f"Run: {result.options.frames} frames x {result.options.repeats} pass(es), chunks of "
             f"{result.options.chunk_frames} frames with the configuration order rotating per chunk, "
             f"{result.options.warmup_frames} warm-up frames each; started {result.started_at}."]
    notes += [f"Skipped meter {s}" for s in result.skipped_meters]
    return notes


def render_markdown(result: ProfileResult, pngs: list[str]) -> str:
    """The Markdown report referring to ``pngs`` (file names in the same folder)."""
    head, rows = _rows(result)
    lines = ["# Energy and latency profile", "", *[f"- {n}" for n in _notes(result)], "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head),
             *["| " + " | ".join(r) + " |" for r in rows], ""]
    lines += [f"![{p}]({p})" for p in pngs]
    return "\n".join(lines) + "\n"


def render_html(result: ProfileResult, pngs: list[str]) -> str:
    """A standalone HTML page with the same content as the Markdown report."""
    head, rows = _rows(result)
    esc = html.escape
    table = ("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>"
             + "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in rows) + "</table>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>edgedeblur profile</title><style>"
            "body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:.2em .6em;"
            "border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}"
            "</style></head><body><h1>Energy and latency profile</h1><ul>"
            + "".join(f"<li>{esc(n)}</li>" for n in _notes(result)) + "</ul>" + table
            + "".join(f"<p><img src='{esc(p)}' alt='{esc(p)}'></p>" for p in pngs) + "</body></html>\n")


def write_report(result: ProfileResult, folder: Path) -> ReportFiles:
    """Write the report into ``folder`` (created if needed), each file atomically.

    Raises:
        ImageError: the folder cannot be created or written (DiskFullError when full).
    """
    power = plot_power(result)
    files = ReportFiles(folder / "profile.json", folder / "profile.md", folder / "profile.html",
                        folder / "energy_per_frame.png", folder / "latency.png",
                        None if power is None else folder / "power.png")
    pngs = [p.name for p in (files.energy_png, files.latency_png, files.power_png) if p is not None]
    contents: dict[Path, bytes | str] = {files.energy_png: plot_energy(result), files.latency_png: plot_latency(result)}
    if power is not None and files.power_png is not None:
        contents[files.power_png] = power
    contents |= {files.json: json.dumps(result.to_json_dict(), indent=2) + "\n",  # the pages after their pictures
                 files.markdown: render_markdown(result, pngs), files.html: render_html(result, pngs)}
    for path, data in contents.items():
        try:
            atomic_write(path, data, parents=True)
        except OSError as e:
            raise write_error(path, e, field="report") from e
    return files

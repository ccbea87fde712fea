"""``edgedeblur deblur --ray``: a real local Ray runtime, a worker killed mid-job, resume.

Ray is an optional extra; ``make test`` installs it. Without it these tests skip and say so.
"""
from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image
from cli_process import small_disk

from runtime.cli import main

pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'edgedeblur[ray]'; make test installs it)")

EDGEDEBLUR = Path(sys.executable).parent / "edgedeblur"
OPTIONS = ["--model", "nano", "--method", "model", "--threads", "1", "--tile", "128", "--overlap", "16"]
"""The model path alone keeps the test short (~0.1 s a photo); the default 'auto' path goes
through the same call and is compared byte for byte in ``benchmarks/ray_throughput.py``."""
N_PHOTOS = 32


def _album(folder: Path) -> Path:
    """Smooth random photos (JPEG, PNG, 16-bit PNG, grey, alpha) and one truncated file."""
    folder.mkdir()
    rng = np.random.default_rng(7)
    for i in range(N_PHOTOS):
        coarse = rng.random((12, 16, 3))
        px = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize((256, 192), Image.BICUBIC))
        if i % 4 == 1:
            Image.fromarray(px[..., 0], "L").save(folder / f"p{i:02d}.png")
        elif i % 4 == 2:
            alpha = np.full(px.shape[:2] + (1,), 200, np.uint8)
            Image.fromarray(np.concatenate([px, alpha], axis=2), "RGBA").save(folder / f"p{i:02d}.png")
        else:
            Image.fromarray(px).save(folder / f"p{i:02d}.jpg", quality=92)
    (folder / "cut.jpg").write_bytes((folder / "p00.jpg").read_bytes()[:600])
    return folder


def _digests(folder: Path) -> dict[str, str]:
    """The photos written (not the resume log or the settings record)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.png"))}


def _ray_run(album: Path, out: Path, *extra: str) -> tuple[int, dict, str]:
    proc = subprocess.run([str(EDGEDEBLUR), "deblur", str(album), "-o", str(out), *OPTIONS, "--ray", *extra],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def _workers(pid: int) -> list[psutil.Process]:
    """The Ray actor processes this run started (Ray titles them ray::PhotoWorker...)."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "PhotoWorker" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_worker_killed_mid_job_then_resume_equals_a_local_run(tmp_path: Path) -> None:
    album = _album(tmp_path / "album")
    local, remote = tmp_path / "local", tmp_path / "ray"
    ran = subprocess.run([str(EDGEDEBLUR), "deblur", str(album), "-o", str(local), *OPTIONS, "-q"],
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 1 and "cut.jpg" in ran.stderr          # the bad file, listed
    expected = _digests(local)
    assert len(expected) == N_PHOTOS

    proc = subprocess.Popen([str(EDGEDEBLUR), "deblur", str(album), "-o", str(remote), *OPTIONS,
                             "--ray", "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not (remote.is_dir() and _digests(remote)) and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = _workers(proc.pid)
        assert len(workers) == 2, "expected two Ray worker processes"
        written_at_kill = len(_digests(remote))
        workers[0].send_signal(signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert written_at_kill < N_PHOTOS, "the job ended before the kill: make it longer"
    summary = json.loads(stdout)
    assert proc.returncode == 1, stderr
    assert summary["done"] == N_PHOTOS and summary["failed"] == 1 and summary["retried"] >= 1
    assert summary["workers_replaced"] == 1
    assert [Path(f["src"]).name for f in summary["failures"]] == ["cut.jpg"]
    assert "cut.jpg" in stderr and "Traceback" not in stderr
    assert len(summary["workers"]) >= 2                              # a restarted worker is a new one
    assert sum(w["photos"] for w in summary["workers"].values()) == N_PHOTOS
    assert _digests(remote) == expected                              # byte for byte
    settings = "edgedeblur-settings.toml"
    assert (remote / settings).read_text() == (local / settings).read_text()
    assert not [p for p in remote.iterdir() if p.name.endswith(".tmp")]

    code, again, _ = _ray_run(album, remote)                         # nothing left: Ray not even started
    assert code == 1 and again["skipped"] == N_PHOTOS and again["done"] == 0

    (remote / "p03.png").write_bytes((remote / "p03.png").read_bytes()[:300])   # damaged since
    (remote / "p05.png").unlink()
    code, again, _ = _ray_run(album, remote, "--workers", "1")
    assert again["skipped"] == N_PHOTOS - 2 and again["done"] == 2
    assert _digests(remote) == expected


def test_without_ray_installed_one_line_says_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    album = tmp_path / "album"
    album.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(album / "a.png")
    monkeypatch.setitem(sys.modules, "ray", None)                     # as if not installed
    assert main(["deblur", str(album), "-o", str(tmp_path / "out"), "--ray"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "edgedeblur deblur: error: --ray needs Ray: pip install 'edgedeblur[ray]' (or drop --ray)"


@pytest.mark.parametrize("extra, message", [
    (["--ray", "--workers", "0"], "--workers 0 must be a whole number >= 1"),
    (["--ray", "--faces", "full"], "--faces cannot be combined with it"),
    (["--workers", "2"], "--workers applies to --ray runs"),
    (["--ray", "127.0.0.1:1"], "--ray 127.0.0.1:1: no Ray head answers there"),
])
def test_bad_ray_options_fail_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              extra: list[str], message: str) -> None:
    album = tmp_path / "album"
    album.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(album / "a.png")
    assert main(["deblur", str(album), "-o", str(tmp_path / "out"), *extra]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_chain_on_ray_equals_a_local_run(tmp_path: Path, restore_models: Path) -> None:
    """The restore chain (denoise + x2) through Ray workers writes the local run's bytes and
    its settings record; a rerun skips every photo."""
    album = tmp_path / "album"
    album.mkdir()
    rng = np.random.default_rng(3)
    for i in range(4):
        coarse = (rng.random((8, 10, 3)) * 255).astype(np.uint8)
        Image.fromarray(coarse).resize((80, 64), Image.BICUBIC).save(album / f"p{i}.png")
    chain = ["--models-dir", str(restore_models), "--method", "model", "--denoise", "0.5", "--upscale", "2",
             "--threads", "1"]
    local = subprocess.run([str(EDGEDEBLUR), "deblur", str(album), "-o", str(tmp_path / "local"), *chain, "-q"],
                           capture_output=True, text=True, timeout=300)
    assert local.returncode == 0, local.stderr
    proc = subprocess.run([str(EDGEDEBLUR), "deblur", str(album), "-o", str(tmp_path / "ray"), *chain, "--ray",
                           "--workers", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["done"] == 4
    expected = _digests(tmp_path / "local")
    assert len(expected) == 4 and _digests(tmp_path / "ray") == expected
    with Image.open(tmp_path / "ray" / "p0.png") as im:
        assert im.size == (160, 128)
    settings = "edgedeblur-settings.toml"
    assert (tmp_path / "ray" / settings).read_text() == (tmp_path / "local" / settings).read_text()
    again = subprocess.run([str(EDGEDEBLUR), "deblur", str(album), "-o", str(tmp_path / "ray"), *chain, "--ray"],
                           capture_output=True, text=True, timeout=300)
    assert json.loads(again.stdout)["skipped"] == 4


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_full_disk_stops_feeding_the_workers(tmp_path: Path) -> None:
    album = _album(tmp_path / "album")
    with small_disk(tmp_path / "disk", "300k") as disk:         # room for a few of the 32 photos
        code, summary, err = _ray_run(album, disk / "out", "--workers", "1")
        assert code == 1
        assert summary["not_started"] > 0 and summary["done"] < N_PHOTOS
        assert summary["done"] + summary["failed"] + summary["not_started"] == summary["total"]
        assert "the disk is full" in err and "Traceback" not in err

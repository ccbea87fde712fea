"""Real-photo training data: photo pool, kernel bank, batched degradations, budgeted resumable runs."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from convert.degrade_torch import DegradeConfig, degrade_batch, fft_blur_valid
from convert.kernel_bank import BankConfig, aperture_kernel, make_bank
from convert.pairs import PairsConfig, TrainPairs
from convert.photos import PoolConfig, crop_batch, list_photos, load_folder_pool, pool_from_images
from convert.realval import gain_db, load_crops
from convert.train import Trainer, TrainConfig, parse_args
from convert.zoo import create_model
from runtime.errors import ConfigError
from runtime.lab.sample_images import load_sample

CLEAN = DegradeConfig(max_read_noise=0, max_shot_gain=0, max_srgb_noise=0, jpeg_probability=0, h264_probability=0)


def _photo_folder(root: Path, n: int = 3, size_hw: tuple[int, int] = (300, 400)) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    img = load_sample("rocket")
    for i in range(n):
        crop = cv2.resize(img, size_hw[::-1])[..., ::-1]
        cv2.imwrite(str(root / f"p{i}.{'png' if i % 2 else 'jpg'}"), np.roll(crop, 17 * i, axis=1))
    return root


def test_photo_folders_are_listed_and_pooled(tmp_path: Path) -> None:
    folder = _photo_folder(tmp_path / "photos" / "nested")
    (tmp_path / "photos" / "notes.txt").write_text("not a photo")
    assert len(list_photos([tmp_path / "photos"])) == 3
    pool = load_folder_pool([tmp_path / "photos"], PoolConfig(patch=128, long_side=256))
    assert pool.dtype == torch.uint8 and pool.shape[1:] == (3, 128, 128) and len(pool) > 3
    with pytest.raises(ConfigError, match="not a folder"):
        list_photos([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no .jpg"):
        list_photos([tmp_path / "empty"])
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(ConfigError, match="broken.jpg"):
        load_folder_pool([folder], PoolConfig(patch=128, long_side=256))


def test_photos_a_little_under_the_patch_are_padded_not_dropped() -> None:
    """LFW's 250 px faces and 256 px patches: mirrored borders, the photo itself untouched."""
    face = cv2.resize(load_sample("astronaut"), (250, 250), interpolation=cv2.INTER_AREA)
    pool = pool_from_images([face], PoolConfig(patch=256, long_side=512))
    assert pool.shape == (1, 3, 256, 256)                       # one scale only: no duplicate patch
    assert torch.equal(pool[0, :, 3:253, 3:253], torch.from_numpy(face).permute(2, 0, 1))
    with pytest.raises(ConfigError, match="short side >= 230"):
        pool_from_images([face[:220, :220]], PoolConfig(patch=256, long_side=512))


def test_crop_batch_is_deterministic_and_in_range() -> None:
    pool = pool_from_images([load_sample("rocket")], PoolConfig(patch=96, long_side=192))
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    a, b = crop_batch(pool, 6, 64, g1), crop_batch(pool, 6, 64, g2)
    assert a.shape == (6, 3, 64, 64) and torch.equal(a, b)
    assert 0 <= float(a.min()) and float(a.max()) <= 1
    with pytest.raises(ConfigError, match="larger than the pooled patches"):
        crop_batch(pool, 1, 128, g1)


def test_bank_kernels_sum_to_one_and_reach_long_shake() -> None:
    cfg = BankConfig(size=40, max_extent_px=45)
    bank = make_bank(cfg, seed=1)
    assert bank.shape == (40, cfg.side, cfg.side) and cfg.side >= 45
    torch.testing.assert_close(bank.sum(dim=(1, 2)), torch.ones(40), atol=1e-4, rtol=0)
    hexagon = aperture_kernel(6.0, 6, 0.0, 0.0)
    disc_area = np.pi * 36
    support = float((hexagon > 0.5 * hexagon.max()).sum())
    assert 0.75 * disc_area < support < disc_area  # a hexagon fills ~83 % of its circumcircle


def test_fft_blur_is_true_convolution_on_valid_pixels() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((40, 40)).astype(np.float32)
    k = rng.random((7, 7)).astype(np.float32)
    k /= k.sum()
    ours = fft_blur_valid(torch.from_numpy(img)[None, None], torch.from_numpy(k)[None])[0, 0].numpy()
    ref = cv2.filter2D(img, -1, k[::-1, ::-1].copy(), borderType=cv2.BORDER_REFLECT)[3:-3, 3:-3]
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_degradations_blur_and_keep_sharp_pairs_sharp() -> None:
    bank = make_bank(BankConfig(size=16, max_extent_px=15), seed=0)
    src = pool_from_images([load_sample("rocket")], PoolConfig(patch=96, long_side=192))[:8].float() / 255
    gen = torch.Generator().manual_seed(0)
    blurry, sharp = degrade_batch(src, bank, CLEAN, gen, np.random.default_rng(0))
    side = bank.shape[-1]
    assert blurry.shape == sharp.shape == (len(src), 3, 96 - side + 1, 96 - side + 1)
    grad = lambda t: float((t[..., 1:] - t[..., :-1]).abs().mean())  # noqa: E731
    assert grad(blurry) < grad(sharp)
    none = DegradeConfig(**{**{f: getattr(CLEAN, f) for f in CLEAN.__slots__}, "sharp_fraction": 1.0,
                            "mild_fraction": 0.0, "highlight_fraction": 0.0})
    blurry, sharp = degrade_batch(src, bank, none, gen, np.random.default_rng(0))
    assert float((blurry - sharp).abs().max()) < 3 / 255  # 8-bit rounding and float error only
    with pytest.raises(ConfigError, match="sharp \\+ mild"):
        DegradeConfig(sharp_fraction=0.7, mild_fraction=0.5)


def test_codec_round_trips_change_pixels() -> None:
    bank = make_bank(BankConfig(size=4, max_extent_px=5), seed=0)
    src = pool_from_images([load_sample("rocket")], PoolConfig(patch=96, long_side=192))[:4].float() / 255
    args = {f: getattr(CLEAN, f) for f in CLEAN.__slots__} | {"sharp_fraction": 1.0, "mild_fraction": 0.0,
                                                               "highlight_fraction": 0.0}
    for codec in ("jpeg_probability", "h264_probability"):
        cfg = DegradeConfig(**(args | {codec: 1.0}))
        blurry, sharp = degrade_batch(src, bank, cfg, torch.Generator().manual_seed(0), np.random.default_rng(0))
        err = float((blurry - sharp).abs().mean())
        assert 0.002 < err < 0.05, codec


def test_pairs_state_round_trips() -> None:
    cfg = PairsConfig(pool=PoolConfig(patch=128, long_side=256), bank=BankConfig(size=8, max_extent_px=9))
    pairs = TrainPairs(cfg, seed=2, device=torch.device("cpu"))
    state = pairs.state()
    first = pairs.batch(3, 48)
    pairs.load_state(state)
    again = pairs.batch(3, 48)
    torch.testing.assert_close(first[0], again[0])
    torch.testing.assert_close(first[1], again[1])


def _val_folder(root: Path) -> Path:
    (root / "m").mkdir(parents=True)
    sharp = cv2.resize(load_sample("rocket"), (320, 288))[..., ::-1]
    blurry = cv2.GaussianBlur(sharp, (0, 0), 2.0)
    cv2.imwrite(str(root / "m" / "a_sharp.png"), sharp)
    cv2.imwrite(str(root / "m" / "a_blur.png"), blurry)
    with (root / "PAIRS.tsv").open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["blur", "sharp"])
        w.writerow(["m/a_blur.png", "m/a_sharp.png"])
    return root


def test_real_validation_crops_and_gain(tmp_path: Path) -> None:
    blurry, sharp = load_crops(_val_folder(tmp_path / "val"), size=128, per_pair=2)
    assert blurry.shape == sharp.shape == (2, 3, 128, 128)
    assert gain_db(create_model("nano").eval(), blurry, sharp) == pytest.approx(0.0, abs=1e-4)  # identity at init
    with pytest.raises(ConfigError, match="PAIRS.tsv"):
        load_crops(tmp_path)


@pytest.mark.slow
def test_budgeted_run_keeps_best_and_resumes_without_pickle(tmp_path: Path) -> None:
    photos = _photo_folder(tmp_path / "photos")
    val = _val_folder(tmp_path / "val")
    cfg, run_dir, _ = parse_args(["nano", "--steps", "3", "--batch", "2", "--crop", "32", "--bank-size", "8",
                                  "--threads", "1", "--val-every", "1", "--ckpt-every", "1", "--data", str(photos),
                                  "--face-data", str(photos), "--val-real", str(val),
                                  "--run-dir", str(tmp_path / "runs")])
    assert cfg.data == (str(photos),) and cfg.face_data == (str(photos),)
    trainer = Trainer(cfg, run_dir)
    trainer.run()
    rows = [json.loads(s) for s in (run_dir / "nano" / "curve.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3] and all("gain_real" in r for r in rows)
    assert (run_dir / "nano" / "best.pt").is_file()
    ck = torch.load(run_dir / "nano" / "last.pt", weights_only=True)  # no pickled objects inside
    assert ck["step"] == 3 and ck["config"]["data"] == [str(photos)]
    resumed = Trainer(cfg, run_dir)
    assert resumed.resume() and resumed.step == 3 and resumed.best_real == pytest.approx(max(r["gain_real"] for r in rows))
    timed = Trainer(TrainConfig(model="nano", minutes=0.02, batch=2, crop=32, bank_size=8, threads=1,
                                val_every=10**6, ckpt_every=10**6), tmp_path / "timed")
    timed.run()
    assert timed.elapsed_s >= 1.2 and timed.lr_now() < 2e-3 * 0.05  # budget spent, schedule annealed

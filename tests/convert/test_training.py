"""Zoo, procedural training data and the resumable training loop, on tiny settings."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from convert.data import DataConfig, PairSampler, dead_leaves
from convert.train import Trainer, TrainConfig
from convert.zoo import MODELS, count_macs, create_model, get_spec, load_checkpoint
from runtime.errors import ConfigError, ModelLoadError


@pytest.mark.parametrize("name", list(MODELS))
def test_zoo_model_starts_as_identity_and_keeps_shape(name: str) -> None:
    model = create_model(name).eval()
    s = get_spec(name).scale
    x = torch.rand(2, 3, 40, 56)
    with torch.no_grad():
        y = model(x)
    # zero-initialised head: output = input (nearest-upscaled for the upscaler) before training
    torch.testing.assert_close(y, torch.nn.functional.interpolate(x, scale_factor=s, mode="nearest"))


def test_registry_records_params_and_macs() -> None:
    nano, small = get_spec("nano"), get_spec("small")
    assert 0 < nano.params < small.params
    assert 0 < nano.macs_256 < small.macs_256
    assert count_macs(create_model("nano"), (128, 128)) * 4 == pytest.approx(nano.macs_256, rel=1e-6)


def test_unknown_architecture_suggests_a_name() -> None:
    with pytest.raises(ConfigError, match="Did you mean 'nano'"):
        get_spec("nan")


def test_dead_leaves_is_a_valid_image() -> None:
    img = dead_leaves(np.random.default_rng(0), size=64, n_discs=200)
    assert img.shape == (64, 64, 3) and img.dtype == np.float32
    assert 0 <= img.min() and img.max() <= 1 and img.std() > 0.05


def test_pairs_are_deterministic_aligned_and_blurred() -> None:
    cfg = DataConfig(crop=32, pool_dead_leaves=2, max_read_noise=0.0, max_shot_gain=0.0, jpeg_probability=0.0)
    b1, s1 = PairSampler(cfg, seed=3).batch(4)
    b2, s2 = PairSampler(cfg, seed=3).batch(4)
    np.testing.assert_array_equal(b1, b2)
    assert b1.shape == s1.shape == (4, 32, 32, 3)
    # blur removes high frequencies: gradients of the blurry crops are weaker
    grad = lambda a: np.abs(np.diff(a, axis=2)).mean()  # noqa: E731
    assert grad(b1) < grad(s1)


def test_sharp_fraction_gives_unblurred_pairs() -> None:
    cfg = DataConfig(crop=32, pool_dead_leaves=2, sharp_fraction=1.0, max_read_noise=0.0,
                     max_shot_gain=0.0, jpeg_probability=0.0)
    blurry, sharp = PairSampler(cfg, seed=0).batch(3)
    np.testing.assert_allclose(blurry, sharp, atol=2e-3)  # only the sRGB round trip


def test_soft_fraction_and_upscaling_give_softer_targets() -> None:
    """soft_fraction / max_scale > 1 make sharp targets without crisp edges (video frames, zoom)."""
    base = dict(crop=48, pool_dead_leaves=2, dead_leaves_fraction=1.0, max_read_noise=0.0,
                max_shot_gain=0.0, jpeg_probability=0.0)
    grad = lambda a: np.abs(np.diff(a, axis=2)).mean()  # noqa: E731
    _, crisp = PairSampler(DataConfig(**base), seed=1).batch(16)
    _, soft = PairSampler(DataConfig(**base, soft_fraction=1.0, max_scale=2.0), seed=1).batch(16)
    assert grad(soft) < 0.7 * grad(crisp)
    with pytest.raises(ConfigError, match="max_scale"):
        DataConfig(max_scale=5.0)
    with pytest.raises(ConfigError, match="soft_fraction"):
        DataConfig(soft_fraction=1.5)


@pytest.mark.slow
def test_training_checkpoints_resume_and_ship_weights(tmp_path: Path) -> None:
    cfg = TrainConfig(model="nano", steps=4, batch=2, crop=32, bank_size=16, ckpt_every=2, val_every=2,
                      threads=1)
    trainer = Trainer(cfg, tmp_path)
    trainer.run()
    curve = (tmp_path / "nano" / "curve.jsonl").read_text().splitlines()
    assert len(curve) == 2
    resumed = Trainer(cfg, tmp_path)
    assert resumed.resume() and resumed.step == 4
    for a, b in zip(resumed.ema.state_dict().values(), trainer.ema.state_dict().values()):
        torch.testing.assert_close(a, b)
    loaded = load_checkpoint("nano", tmp_path / "nano" / "last.pt")  # EMA weights by default
    for a, b in zip(loaded.state_dict().values(), trainer.ema.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_checkpoint_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        load_checkpoint("nano", tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    with pytest.raises(ModelLoadError, match="bad.pt is not a PyTorch checkpoint"):
        load_checkpoint("nano", bad)
    torch.save(create_model("small").state_dict(), tmp_path / "small.pt")
    with pytest.raises(ModelLoadError, match="does not hold weights for architecture 'nano'"):
        load_checkpoint("nano", tmp_path / "small.pt")

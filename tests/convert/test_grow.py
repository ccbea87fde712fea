"""Capacity variants start from small's trained weights and compute exactly what small does."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from convert.grow import grow_state
from convert.train import Trainer, TrainConfig, train
from convert.freeze import WEIGHTS_DIR
from convert.zoo import create_model, get_spec, load_checkpoint
from runtime.errors import ConfigError, ModelLoadError


@pytest.mark.parametrize("name", ["small-wide", "small-deep"])
def test_a_grown_net_computes_what_its_source_did_and_can_still_learn(name: str) -> None:
    small = load_checkpoint("small", WEIGHTS_DIR / "small.pt")
    big = create_model(name)
    big.load_state_dict(grow_state(small, big))
    x = torch.rand(2, 3, 48, 64)
    with torch.no_grad():
        torch.testing.assert_close(big.eval()(x), small(x), atol=1e-5, rtol=0)
    assert get_spec(name).macs_256 > get_spec("small").macs_256
    big.train()
    big(x).square().mean().backward()
    zero_grad = [k for k, p in big.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    # new blocks' first convs get gradients once their (zeroed) second convs have moved;
    # everything else learns from step 1
    assert all(k.split(".")[-2] == "c1" for k in zero_grad), zero_grad


def test_growing_refuses_a_smaller_or_other_shaped_target() -> None:
    with pytest.raises(ConfigError, match="at least as wide"):
        grow_state(create_model("small-wide"), create_model("small"))
    with pytest.raises(ConfigError, match="enc1.1.c1.weight"):
        grow_state(create_model("small-deep"), create_model("small-wide"))


def test_a_variant_trains_from_the_weights_of_the_net_it_grows_from(tmp_path: Path) -> None:
    cfg = TrainConfig(model="small-deep", steps=1, batch=1, crop=32, bank_size=8, threads=1, synthetic_val=False)
    trainer = Trainer(cfg, tmp_path)
    trainer.init_from(WEIGHTS_DIR / "small.pt")
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(trainer.ema(x), load_checkpoint("small", WEIGHTS_DIR / "small.pt")(x))
    with pytest.raises(ModelLoadError, match="nano.pt holds weights of neither 'small-deep' nor 'small'"):
        trainer.init_from(WEIGHTS_DIR / "nano.pt")
    with pytest.raises(ModelLoadError, match="missing.pt: not found"):
        trainer.init_from(tmp_path / "missing.pt")
    with pytest.raises(ModelLoadError, match="architecture 'nano'"):
        Trainer(TrainConfig(model="nano", steps=1, batch=1, crop=32, bank_size=8, threads=1,
                            synthetic_val=False), tmp_path).init_from(WEIGHTS_DIR / "small.pt")


def test_a_refused_init_leaves_no_run_folder(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with pytest.raises(ModelLoadError, match="architecture 'nano'"):
        train(["nano", "--init", str(WEIGHTS_DIR / "small.pt"), "--run-dir", str(runs), "--steps", "1",
               "--batch", "1", "--crop", "32", "--bank-size", "8", "--threads", "1", "--no-synthetic-val"])
    assert not runs.exists()

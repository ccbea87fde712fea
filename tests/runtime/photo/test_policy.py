"""The auto policy: noise gate, re-blur check, which kernel families auto may use."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runtime.errors import ConfigError
from runtime.lab import degradations as synth
from runtime.lab.metrics import psnr
from runtime.lab.sample_images import load_sample_scaled
from runtime.photo.deblur import DeblurConfig, Method, deblur_image
from runtime.photo.kernel_aware import BlurTarget, KernelAwareConfig, KernelMethod, kernel_aware_deblur
from runtime.photo.kernels import BlurSpace
from runtime.photo.policy import AutoPolicy, noise_sigma, reblur_ratio


@pytest.fixture(scope="module")
def coins() -> np.ndarray:
    return load_sample_scaled("coins", 256)  # TRAIN_IMAGES


def _defocused(sharp: np.ndarray, sigma: float) -> np.ndarray:
    return synth.degrade(sharp, synth.defocus_kernel(3.5), np.random.default_rng(0), srgb_noise_sigma=sigma)


@pytest.mark.parametrize("sigma", [0.005, 0.01, 0.03])
def test_noise_sigma_tracks_added_noise(sigma: float) -> None:
    flat = np.full((128, 128, 3), 0.5, np.float32)
    noisy = flat + np.random.default_rng(1).normal(0, sigma, flat.shape).astype(np.float32)
    assert noise_sigma(noisy) == pytest.approx(sigma / np.sqrt(3), rel=0.15)  # grey = mean of 3 channels


def test_reblur_ratio_flags_a_wrong_kernel(coins: np.ndarray) -> None:
    blurry = _defocused(coins, 0.01)
    ka = kernel_aware_deblur(blurry, KernelAwareConfig(target=BlurTarget.DEFOCUS))
    assert ka.method is KernelMethod.DEFOCUS and ka.kernel is not None
    right = reblur_ratio(ka.image, ka.kernel, blurry)
    wrong = reblur_ratio(ka.image, synth.linear_motion_kernel(15, 30), blurry)
    assert right <= AutoPolicy().max_reblur_ratio < wrong


def test_auto_inverts_blur_made_on_srgb_values_in_srgb(identity_onnx: Path, coins: np.ndarray) -> None:
    """Public blur sets often blur encoded values; inverting those in linear light lost
    ~4 dB on 'coins' against inverting them where they were made."""
    blurred = synth.convolve(coins, synth.defocus_kernel(3.5))
    blurry = np.clip(blurred + np.random.default_rng(0).normal(0, 0.005, coins.shape), 0, 1).astype(np.float32)
    res = deblur_image(blurry, DeblurConfig(model=str(identity_onnx)))
    assert res.method is Method.KERNEL and res.kernel_aware.space is BlurSpace.SRGB
    assert psnr(coins, res.image) > psnr(coins, blurry) + 3.0


def test_auto_uses_the_kernel_on_clean_defocus_and_the_model_on_noisy(identity_onnx: Path, coins: np.ndarray) -> None:
    clean = deblur_image(_defocused(coins, 0.01), DeblurConfig(model=str(identity_onnx)))
    assert clean.method is Method.KERNEL and clean.kernel_aware.method is KernelMethod.DEFOCUS
    assert "check" in clean.timings_ms
    noisy_in = _defocused(coins, 0.03)
    noisy = deblur_image(noisy_in, DeblurConfig(model=str(identity_onnx)))
    assert noise_sigma(noisy_in) > AutoPolicy().max_noise_sigma
    assert (noisy.method, noisy.model_id) == (Method.MODEL, "identity.onnx")
    np.testing.assert_allclose(noisy.image, noisy_in, atol=1e-5)  # the identity model ran on the input


def test_auto_skips_the_blind_shake_search_unless_shake_is_allowed(identity_onnx: Path, coins: np.ndarray) -> None:
    shaken = synth.degrade(coins, synth.camera_shake_kernel(np.random.default_rng(3), 15), np.random.default_rng(0),
                           srgb_noise_sigma=0.005)
    auto = deblur_image(shaken, DeblurConfig(model=str(identity_onnx)))
    assert "blind" not in auto.timings_ms
    with_shake = AutoPolicy(kernel_families=frozenset({KernelMethod.SHAKE, KernelMethod.DEFOCUS}))
    assert with_shake.kernel_config(BlurTarget.ANY).blind is not None


@pytest.mark.parametrize(("kernel", "method", "field"), [
    (synth.linear_motion_kernel(13, 30), KernelMethod.LINEAR_MOTION, "min_motion_confidence"),
    (synth.defocus_kernel(3.5), KernelMethod.DEFOCUS, "min_defocus_confidence"),
])
def test_kernel_estimates_must_be_sure_of_themselves(coins: np.ndarray, kernel: np.ndarray, method: KernelMethod,
                                                     field: str) -> None:
    """A true streak or disc comes with high confidence; shake read as one, with less: a policy
    asking for more than an estimate's confidence refuses it, whatever its re-blur check says."""
    blurry = synth.degrade(coins, kernel, np.random.default_rng(0), srgb_noise_sigma=0.005)
    ka = kernel_aware_deblur(blurry, KernelAwareConfig(target=BlurTarget.ANY, blind=None))
    assert ka.method is method and ka.estimate is not None
    assert ka.estimate.confidence >= getattr(AutoPolicy(), field) and AutoPolicy().accepts(ka, blurry)
    assert not AutoPolicy(**{field: ka.estimate.confidence + 0.01}).accepts(ka, blurry)
    with pytest.raises(ConfigError, match=field):
        AutoPolicy(**{field: 1.5})


def test_policy_rejects_unknown_families() -> None:
    with pytest.raises(ConfigError, match="sharp"):
        AutoPolicy(kernel_families=frozenset({KernelMethod.SHARP}))
    with pytest.raises(ConfigError, match="cleanup_strength"):
        AutoPolicy(cleanup_strength=1.5)

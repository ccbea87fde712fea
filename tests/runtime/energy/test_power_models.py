from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.energy.power_models import (BUILTIN_MODELS, CoreClass, PowerModel, detect_model_name,
                                         load_power_models)
from runtime.errors import ConfigError
from tests.runtime.energy.trees import write_tree


def test_builtin_pi_models_follow_the_published_board_figures() -> None:
    for name, idle, stress in (("pi4", 1.6, 5.0), ("pi5", 2.8, 9.7)):
        model = BUILTIN_MODELS[name]
        all_cores_busy_1s = model.energy_j(1.0, [1.0] * 4)
        assert (model.idle_w, all_cores_busy_1s) == pytest.approx((idle, stress))


def test_big_little_puts_the_busiest_threads_on_big_cores() -> None:
    model = PowerModel("t", 1.0, (CoreClass("big", 2, 2.0), CoreClass("little", 2, 0.5)), "test")
    # threads 0.9, 0.8 -> big; 0.3, 0.2, 0.1 -> little (overflow stays at the last class)
    assert model.active_energy_j([0.1, 0.9, 0.3, 0.8, 0.2]) == pytest.approx(2.0 * 1.7 + 0.5 * 0.6)
    assert model.energy_j(2.0, []) == pytest.approx(2.0)
    assert "1 W idle + 2 W per busy core (2 x big) + 0.5 W per busy core (2 x little)" in model.summary


@pytest.mark.parametrize("suffix, text", [
    (".toml", '[models.pi5]\nidle_w = 2.5\nsource = "my meter"\n'
              '[models.board]\nidle_w = 1.0\ncores = [{name = "a53", count = 4, busy_w = 0.4}]\n'),
    (".json", json.dumps({"models": {"pi5": {"idle_w": 2.5, "source": "my meter"},
                                     "board": {"idle_w": 1.0, "cores": [{"name": "a53", "count": 4, "busy_w": 0.4}]}}})),
])
def test_overrides_from_toml_or_json(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"models{suffix}"
    path.write_text(text)
    models = load_power_models(path)
    assert models["pi5"].idle_w == 2.5 and models["pi5"].cores == BUILTIN_MODELS["pi5"].cores
    assert models["pi5"].source == "my meter"
    assert models["board"].cores == (CoreClass("a53", 4, 0.4),)
    assert models["pi4"] == BUILTIN_MODELS["pi4"]


@pytest.mark.parametrize("text, message", [
    ('{"models": {"new": {"idle_w": 1}}}', r"new model models.new needs idle_w and cores"),
    ('{"models": {"pi5": {"idle": 1}}}', r"models.pi5 has unknown key\(s\) \['idle'\]"),
    ('{"models": {"pi5": {"cores": [{"name": "x", "count": 0, "busy_w": 1}]}}}', r"count must be >= 1"),
    ('{"models": {"pi5": {"cores": [{"name": "x"}]}}}', r"models.pi5 is malformed"),
    ('{"models": {"pi5": {"idle_w": "lots"}}}', r"models.pi5 is malformed"),
    ('{"model": {}}', r"has no 'models' table"),
    ('{not json', r"is not valid JSON"),
])
def test_bad_override_files_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_power_models(path)
    assert "\n" not in str(err.value)


def test_missing_override_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not found; fix `power_models_file`"):
        load_power_models(tmp_path / "nope.toml")


@pytest.mark.parametrize("files, expected", [
    ({"proc/device-tree/model": "Raspberry Pi 5 Model B Rev 1.0\0"}, "pi5"),
    ({"sys/firmware/devicetree/base/model": "Raspberry Pi 4 Model B Rev 1.4\0"}, "pi4"),
    ({"system/build.prop": "ro.product.model=Pixel 8"}, "phone-big-little"),
])
def test_detect_model_from_the_board(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    assert detect_model_name(write_tree(tmp_path, files)) == expected

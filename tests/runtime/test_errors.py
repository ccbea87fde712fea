"""The shared error helpers: one did-you-mean, one enum parser."""
from __future__ import annotations

import enum

import pytest

from runtime.errors import ConfigError, EdgeDeblurError, closest, parse_choice


class Colour(str, enum.Enum):
    RED = "red"
    GREEN = "green"


@pytest.mark.parametrize("value, expected", [("red", Colour.RED), (Colour.GREEN, Colour.GREEN)])
def test_parse_choice_accepts_values_and_members(value: object, expected: Colour) -> None:
    assert parse_choice(Colour, value, "colour") is expected


@pytest.mark.parametrize("value, message", [
    ("gren", "colour 'gren' is not one of red, green; did you mean 'green'?"),
    ("blue", "colour 'blue' is not one of red, green"),
])
def test_parse_choice_names_field_choices_and_closest(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_choice(Colour, value, "colour")
    assert str(err.value) == message
    assert isinstance(err.value, (ValueError, EdgeDeblurError)) and isinstance(err.value.__cause__, ValueError)


def test_closest_respects_cutoff() -> None:
    assert closest("rpi55", ["rpi4", "rpi5", "jetson"]) == "rpi5"
    assert closest("zzz", ["rpi4", "rpi5"]) is None

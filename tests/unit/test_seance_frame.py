"""What a frame of the shadow realm shows: checked when it is made, frozen afterwards."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError

import numpy as np
import pytest

from phantom_seance.frame import PERSONALITIES, Apparition, SceneFrame


def test_a_frame_keeps_its_own_read_only_copy_of_the_spectrum() -> None:
    spectrum = np.array([-60.0, -30.0, -12.0])
    frame = SceneFrame(level_dbfs=-20.0, spectrum=spectrum, atmosphere=0.4, voiced=True)
    spectrum[0] = 0.0
    assert frame.spectrum.tolist() == [-60.0, -30.0, -12.0]
    assert frame.spectrum.dtype == np.float32
    with pytest.raises(ValueError):
        frame.spectrum[0] = 0.0
    with pytest.raises(FrozenInstanceError):
        frame.level_dbfs = 0.0  # type: ignore[misc]


def test_silence_is_a_calm_empty_frame() -> None:
    frame = SceneFrame.silence()
    assert frame.level_dbfs == -math.inf
    assert frame.spectrum.size == 0
    assert (frame.atmosphere, frame.voiced, frame.apparitions) == (0.0, False, ())


def test_a_silent_band_may_be_minus_infinity_and_a_nan_band_is_read_as_silent() -> None:
    frame = SceneFrame(level_dbfs=-40.0, spectrum=np.array([-np.inf, np.nan, -20.0]))
    assert frame.spectrum[0] == -np.inf
    assert frame.spectrum[1] == -np.inf


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"level_dbfs": math.nan}, "level is NaN"),
        ({"level_dbfs": -20.0, "atmosphere": 1.5}, r"atmosphere 1\.5 is outside"),
        ({"level_dbfs": -20.0, "spectrum": np.zeros((2, 3))}, "not one row"),
    ],
)
def test_a_frame_that_makes_no_sense_is_refused_saying_why(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SceneFrame(**fields)  # type: ignore[arg-type]


def test_an_apparition_has_one_of_the_three_personalities_and_an_age() -> None:
    assert PERSONALITIES == ("mischievous", "melancholy", "malevolent")
    assert Apparition("Grimwald", "malevolent", 0.0).age_s == 0.0
    with pytest.raises(ValueError, match="'jolly' is not one of mischievous, melancholy"):
        Apparition("Jester", "jolly", 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"age -1\.0 s is not a time"):
        Apparition("Grimwald", "malevolent", -1.0)

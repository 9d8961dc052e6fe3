"""What one frame of the shadow realm shows: the room's sound and the haunts on show."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

Personality = Literal["mischievous", "melancholy", "malevolent"]
PERSONALITIES: tuple[Personality, ...] = get_args(Personality)


@dataclass(frozen=True)
class Apparition:
    """A haunt manifesting now: its name, its personality and how long it has been showing."""

    haunt: str
    personality: Personality
    age_s: float

    def __post_init__(self) -> None:
        if self.personality not in PERSONALITIES:
            raise ValueError(
                f"apparition {self.haunt!r}: personality {self.personality!r} is not one of "
                f"{', '.join(PERSONALITIES)}"
            )
        if not math.isfinite(self.age_s) or self.age_s < 0:
            raise ValueError(f"apparition {self.haunt!r}: age {self.age_s!r} s is not a time")


@dataclass(frozen=True, eq=False)
class SceneFrame:
    """The sound of the room and the state of the séance at one tick of the frame clock.

    `level_dbfs` is the input's RMS level (-inf for silence), `spectrum` its dB per
    log-frequency band (any number of bands, lowest first), `atmosphere` the séance's
    tension in [0, 1], `voiced` whether someone is speaking.
    """

    level_dbfs: float
    spectrum: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    atmosphere: float = 0.0
    voiced: bool = False
    apparitions: tuple[Apparition, ...] = ()

    def __post_init__(self) -> None:
        if math.isnan(self.level_dbfs):
            raise ValueError("scene frame: level is NaN")
        if not 0.0 <= self.atmosphere <= 1.0:
            raise ValueError(f"scene frame: atmosphere {self.atmosphere!r} is outside [0, 1]")
        spectrum = np.asarray(self.spectrum, dtype=np.float32)
        if spectrum.ndim != 1:
            raise ValueError(f"scene frame: spectrum has shape {spectrum.shape}, not one row")
        spectrum = np.where(np.isnan(spectrum), np.float32(-np.inf), spectrum)
        spectrum.flags.writeable = False
        object.__setattr__(self, "spectrum", spectrum)

    @classmethod
    def silence(cls) -> SceneFrame:
        """A frame of a silent, calm room with no haunts."""
        return cls(level_dbfs=-math.inf)

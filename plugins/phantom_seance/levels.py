"""What the audit log keeps of the room's sound and of the audio engine.

The room's level is sampled (`SAMPLE_INTERVAL_S`), not kept per block: a `LevelSample`
holds the level, voice activity, the spectrum rounded to whole dB and the xrun counts,
enough for a replay to make the shadow realm breathe again. Engine notices (a device
lost, a stand-in source started) are `EngineNotice`s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from phantom_seance.spectrum import FLOOR_DB

LEVEL_TOPIC = "seance/level"
ENGINE_TOPIC = "seance/engine"
SAMPLE_INTERVAL_S = 0.25


@dataclass(frozen=True, slots=True)
class LevelSample:
    """The room's sound at `at` (the séance's clock, seconds)."""

    level_dbfs: float
    voiced: bool
    spectrum: tuple[int, ...]
    """dBFS per log-frequency band, lowest first, rounded to whole dB."""
    overflows: int
    underflows: int
    at: float

    @classmethod
    def of(
        cls,
        level_dbfs: float,
        voiced: bool,
        spectrum: np.ndarray,
        xruns: tuple[int, int],
        at: float,
    ) -> LevelSample:
        """A sample of an analysis (the spectrum rounded, silence at the floor)."""
        floor = np.maximum(np.nan_to_num(spectrum, nan=FLOOR_DB, neginf=FLOOR_DB), FLOOR_DB)
        return cls(
            round(max(level_dbfs, FLOOR_DB), 1),
            voiced,
            tuple(int(band) for band in np.rint(floor)),
            xruns[0],
            xruns[1],
            round(at, 3),
        )

    @classmethod
    def from_plain(cls, data: object) -> LevelSample:
        """A sample from the JSON object the audit log keeps; ValueError says what is wrong."""
        if isinstance(data, LevelSample):
            return data
        if not isinstance(data, Mapping):
            raise ValueError(f"a level sample is an object, not {type(data).__name__}")
        try:
            level = float(data["level_dbfs"])
            spectrum = tuple(int(band) for band in data["spectrum"])
            sample = cls(
                level,
                bool(data["voiced"]),
                spectrum,
                int(data["overflows"]),
                int(data["underflows"]),
                float(data["at"]),
            )
        except KeyError as missing:
            raise ValueError(f"a level sample needs {missing}") from None
        except (TypeError, ValueError) as error:
            raise ValueError(f"a level sample has a field of the wrong kind ({error})") from None
        if not math.isfinite(level):
            raise ValueError(f"a level sample's level {level!r} is not a number")
        return sample

    def spectrum_array(self) -> np.ndarray:
        return np.asarray(self.spectrum, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class EngineNotice:
    """The audio engine started (on a device or a stand-in) or lost its device."""

    kind: str
    message: str
    at: float

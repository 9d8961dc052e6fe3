"""The shadow realm's palette: a misty teal-to-violet night, and a colour per personality."""

from __future__ import annotations

import numpy as np

BACKGROUND = np.array([0.018, 0.014, 0.035], dtype=np.float32)
"""The void behind everything: almost black, a breath of violet."""
THICK_AIR = np.array([0.075, 0.022, 0.070], dtype=np.float32)
"""The void when the atmosphere is at its thickest: a bruised wine-violet."""

TEAL = np.array([0.20, 0.95, 0.85], dtype=np.float32)
VIOLET = np.array([0.62, 0.32, 1.00], dtype=np.float32)
MIST = np.array([0.32, 0.30, 0.60], dtype=np.float32)
ORB_CORE = np.array([0.85, 1.00, 0.97], dtype=np.float32)
DREAD = np.array([0.85, 0.20, 0.55], dtype=np.float32)
"""What the mist turns towards as the atmosphere thickens."""

TEXT = (0.55, 0.75, 0.78, 0.8)

APPARITION_COLOURS: dict[str, np.ndarray] = {
    "mischievous": np.array([0.40, 1.00, 0.30], dtype=np.float32),
    "melancholy": np.array([0.55, 0.70, 1.00], dtype=np.float32),
    "malevolent": np.array([1.00, 0.22, 0.28], dtype=np.float32),
}


def band_colours(bands: int) -> np.ndarray:
    """One RGB per spectrum band, teal for the lowest and violet for the highest."""
    mix = np.linspace(0.0, 1.0, bands, dtype=np.float32)[:, None]
    return (1.0 - mix) * TEAL + mix * VIOLET


def backdrop(atmosphere: float) -> tuple[float, float, float, float]:
    """The void's colour at an atmosphere in [0, 1]: darker calm, a wine-dark dread."""
    colour = (1.0 - atmosphere) * BACKGROUND + atmosphere * THICK_AIR
    return (float(colour[0]), float(colour[1]), float(colour[2]), 1.0)

"""NAB detector classes for the cauldron's detectors; runs inside NAB's own venv.

`bench/nab.py` starts this script with NAB's interpreter, in the NAB checkout, with the
cauldron's plugins on `PYTHONPATH`; it runs NAB's unmodified `run.py` as `__main__` with
the arguments it was given, and these classes in its globals, where `run.py` looks up a
detector's class by name (`-d cauldron` finds `CauldronDetector`).

Each class feeds every row to a fresh detector, as the app does with one sensor's
readings: the timestamp in seconds and the value, nothing else (not the file's minimum
and maximum, which NAB offers its detectors), and returns its score unchanged.
"""

from __future__ import annotations

import runpy
import sys
from typing import Any

from nab.detectors.base import AnomalyDetector as NabDetector

from phantom_cauldron.anomaly import AnomalyDetector, Detector, RollingZScore


class _Online(NabDetector):  # type: ignore[misc]
    make: type[Detector]

    def initialize(self) -> None:
        self.detector = self.make()

    def handleRecord(self, inputData: dict[str, Any]) -> tuple[float]:
        stamp = inputData["timestamp"].timestamp()
        return (self.detector.update(stamp, float(inputData["value"])),)


class CauldronDetector(_Online):
    """The cauldron's `AnomalyDetector`."""

    make = AnomalyDetector


class RollingZScoreDetector(_Online):
    """The `RollingZScore` baseline."""

    make = RollingZScore


def main() -> None:
    """Run NAB's `run.py` (the current directory's) with this script's arguments."""
    sys.argv = ["run.py", *sys.argv[1:]]
    detectors = {
        "CauldronDetector": CauldronDetector,
        "RollingZScoreDetector": RollingZScoreDetector,
    }
    runpy.run_path("run.py", init_globals=detectors, run_name="__main__")


if __name__ == "__main__":
    main()

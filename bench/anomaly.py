"""The cauldron's anomaly detector against a rolling z-score, on simulated and real sensors.

Run from the repository root::

    .venv/bin/python bench/anomaly.py            # 3 seeds x 24 h of the simulator (~2 min)
    .venv/bin/python bench/anomaly.py --quick    # 2 seeds x 6 h (~30 s)

Both detectors score every series with the same event-level rule
(`phantom_cauldron.scoring`: a labelled window is found if an alarm falls inside it, or
within the tolerance after it; each run of alarmed readings outside every window is one
false alarm; an alarm lasts from a score at the threshold until one below 0.6 of it, as
in the app). Each is shown twice, with the same rule for both: at the app's default
threshold, and at its own best threshold on a grid (an optimistic, oracle figure).

Data sets:

- the simulator: every sensor of several seeded runs sampled each second, with random
  labelled faults (spikes, shifts, drifts, stuck sensors, dropouts); tolerance 120 s;
- NAB (`bench/data/nab/`): an office's ambient temperature, hourly, two labelled
  system failures; and a road's traffic speed, irregular 5-minute readings, three
  labelled incidents; NAB's windows are already wide, so no tolerance.

Speed is microseconds per `update`, the median of interleaved repeats over the same
series, with the ratio to the baseline measured in the same run. The script always
exits 0: the figures are for humans, not a test.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter

import numpy as np
from report import format_table

from phantom_cauldron.alarms import DEFAULT_THRESHOLD, AlarmPolicy
from phantom_cauldron.anomaly import AnomalyDetector, Detector, RollingZScore
from phantom_cauldron.scoring import EventCounts, Floats, detector_scores, evaluate
from phantom_cauldron.simulator.faults import KINDS, Fault, random_faults
from phantom_cauldron.simulator.model import CauldronSimulator, record
from phantom_cauldron.simulator.sensors import SENSORS

DATA = Path(__file__).parent / "data" / "nab"
NAB_SERIES = {
    "ambient temperature": "realKnownCause/ambient_temperature_system_failure.csv",
    "traffic speed": "realTraffic/speed_7578.csv",
}
SIMULATOR_TOLERANCE_S = 120.0
PERIOD_S = 1.0
START = 1_795_000_000.0
GRID = tuple(round(0.05 * step, 2) for step in range(4, 20))
DETECTOR = "AnomalyDetector"
BASELINE = "RollingZScore"
DETECTORS: dict[str, Callable[[], Detector]] = {
    DETECTOR: AnomalyDetector,
    BASELINE: RollingZScore,
}


@dataclass(frozen=True)
class Series:
    """One sensor's readings (NaN: none) and its labelled windows."""

    name: str
    times: Floats
    values: Floats
    windows: list[tuple[float, float]]
    faults: tuple[Fault, ...] = ()


def simulated(seeds: int, hours: float) -> list[Series]:
    """Every sensor of `seeds` runs of `hours` each, with their faults."""
    series = []
    for seed in range(seeds):
        duration = hours * 3600.0
        faults = random_faults(seed, SENSORS, START, duration)
        run = record(CauldronSimulator(seed, START, faults), duration, PERIOD_S)
        for key, values in run.readings.items():
            mine = tuple(fault for fault in run.faults if fault.sensor_id == key)
            windows = [(fault.start, fault.end) for fault in mine]
            series.append(Series(f"{key} #{seed}", run.times, values, windows, mine))
    return series


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()


def nab() -> list[Series]:
    """The NAB series kept in `bench/data/nab/`, with their windows."""
    windows = json.loads((DATA / "windows.json").read_text())
    series = []
    for name, path in NAB_SERIES.items():
        rows = (DATA / Path(path).name).read_text().splitlines()[1:]
        stamps, values = zip(*(row.split(",") for row in rows), strict=True)
        times = np.array([_epoch(stamp) for stamp in stamps])
        labelled = [(_epoch(start), _epoch(end)) for start, end in windows[path]]
        series.append(Series(name, times, np.array(values, dtype=float), labelled))
    return series


def scored(factory: Callable[[], Detector], series: list[Series]) -> list[Floats]:
    """Each series' scores from a fresh detector."""
    return [detector_scores(factory, item.times, item.values) for item in series]


def counts(
    series: list[Series], scores: list[Floats], threshold: float, tolerance: float
) -> EventCounts:
    """The events of all series together."""
    total = EventCounts()
    for item, item_scores in zip(series, scores, strict=True):
        total += evaluate(
            item_scores, item.times, item.windows, AlarmPolicy.at(threshold), tolerance
        )
    return total


Results = dict[tuple[str, str], tuple[float, EventCounts]]
"""(detector, threshold rule) → (threshold, events)."""


def quality(series: list[Series], tolerance: float) -> tuple[Results, dict[str, list[Floats]]]:
    """Every detector's events at the default threshold and at its best on the grid."""
    results: Results = {}
    all_scores = {}
    for name, factory in DETECTORS.items():
        scores = all_scores[name] = scored(factory, series)
        results[name, "default"] = (
            DEFAULT_THRESHOLD,
            counts(series, scores, DEFAULT_THRESHOLD, tolerance),
        )
        results[name, "best on grid"] = max(
            ((grid, counts(series, scores, grid, tolerance)) for grid in GRID),
            key=lambda pair: pair[1].f1,
        )
    return results, all_scores


def quality_rows(label: str, results: Results) -> list[tuple[str, ...]]:
    """Table rows of `results`."""
    return [
        (
            label,
            name,
            f"{rule} {threshold:.2f}",
            f"{events.precision:.2f}",
            f"{events.recall:.2f}",
            f"{events.f1:.2f}",
            str(events.found),
            str(events.missed),
            str(events.false_alarms),
        )
        for (name, rule), (threshold, events) in results.items()
    ]


def f1_ratios(label: str, results: Results) -> list[str]:
    """The detector's F1 over the baseline's, by threshold rule."""
    lines = []
    for rule in ("default", "best on grid"):
        ours = results[DETECTOR, rule][1].f1
        baseline = results[BASELINE, rule][1].f1
        ratio = f"{ours / baseline:.2f}" if baseline else "inf"
        lines.append(f"F1 {DETECTOR} / {BASELINE}, {label}, {rule}: {ratio}")
    return lines


def recall_by_kind(series: list[Series], scores: dict[str, list[Floats]]) -> str:
    """Each fault kind's share of windows found at the default threshold."""
    lines: list[tuple[str, ...]] = [("kind", *DETECTORS)]
    for kind in KINDS:
        cells = [kind]
        for name in DETECTORS:
            found = total = 0
            for item, item_scores in zip(series, scores[name], strict=True):
                for fault in item.faults:
                    if fault.kind == kind:
                        window = [(fault.start, fault.end)]
                        result = evaluate(
                            item_scores, item.times, window, AlarmPolicy(), SIMULATOR_TOLERANCE_S
                        )
                        found += result.found
                        total += 1
            cells.append(f"{found}/{total}")
        lines.append(tuple(cells))
    return format_table(lines, right=set(range(1, len(DETECTORS) + 1)))


def microseconds_per_update(item: Series, repeats: int) -> dict[str, float]:
    """Median µs per update of the detector and the baseline over `item`, repeats
    interleaved."""
    present = ~np.isnan(item.values)
    times = item.times[present].tolist()
    values = item.values[present].tolist()
    results: dict[str, list[float]] = {DETECTOR: [], BASELINE: []}
    for _ in range(repeats):
        for name in results:
            update = DETECTORS[name]().update
            gc.collect()
            begin = perf_counter()
            for time, value in zip(times, values, strict=True):
                update(time, value)
            results[name].append((perf_counter() - begin) / len(times) * 1e6)
    return {name: statistics.median(samples) for name, samples in results.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds x 6 h of the simulator")
    args = parser.parse_args(argv)
    seeds, hours = (2, 6.0) if args.quick else (3, 24.0)

    began = perf_counter()
    simulation = simulated(seeds, hours)
    print(
        f"simulated {seeds} seeds x {hours:g} h x {len(SENSORS)} sensors "
        f"in {perf_counter() - began:.0f} s"
    )
    real = nab()
    header = ("data", "detector", "threshold", "P", "R", "F1", "found", "missed", "false")
    sim_results, sim_scores = quality(simulation, SIMULATOR_TOLERANCE_S)
    nab_results, _ = quality(real, 0.0)
    rows = quality_rows("simulator", sim_results) + quality_rows("NAB", nab_results)
    print()
    print(format_table([header, *rows], right={3, 4, 5, 6, 7, 8}))
    print("\n".join(f1_ratios("simulator", sim_results) + f1_ratios("NAB", nab_results)))
    print()
    print("simulator, windows found by kind at the default threshold:")
    print(recall_by_kind(simulation, sim_scores))
    speed = microseconds_per_update(simulation[0], repeats=3 if args.quick else 5)
    print()
    lines: list[tuple[str, ...]] = [("detector", "µs/update", "ratio")]
    for name, value in speed.items():
        lines.append((name, f"{value:.2f}", f"{value / speed[BASELINE]:.2f}"))
    print(format_table(lines, right={1, 2}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The cauldron's anomaly detector through the Numenta Anomaly Benchmark's own pipeline.

Run from the repository root, with a checkout of NAB (github.com/numenta/NAB)::

    .venv/bin/python bench/nab.py --nab ~/NAB                     # the whole corpus (~10 min)
    .venv/bin/python bench/nab.py --nab ~/NAB --only realTraffic  # some categories

NAB's `run.py` runs unmodified, as NAB's README says to run it (`--detect --optimize
--score --normalize --numCPUs 1 --skipConfirmation`), for four detectors: the cauldron's
`AnomalyDetector`, the `RollingZScore` baseline (both through `bench/nab_detectors.py`)
and NAB's own `null` and `random`. NAB pins pandas 0.23, which Python 3.11 cannot
install; its pipeline runs as it is with pandas 1.5.3 and numpy 1.x, so this script keeps
a venv of its own with those (built on first use, in the cache folder) and runs NAB
there. NAB's scoring is untouched; its results and thresholds go to the cache folder,
not into the checkout, whose `config/thresholds.json` is copied there first.

Printed: NAB's normalised scores (standard, reward low FP, reward low FN); the standard
profile by data category (NAB's normalisation applied to each category's files); and
alarms per sensor-day on normal data: the alarms the app would raise
(`phantom_cauldron.alarms.AlarmPolicy`, at its default threshold) on the files without
labelled anomalies, and outside the labelled windows of the others, over the days those
stretches span. The script always exits 0 unless NAB itself fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter

import numpy as np
from report import format_table

from phantom_cauldron.alarms import AlarmPolicy
from phantom_cauldron.scoring import alarmed

BENCH = Path(__file__).resolve().parent
PLUGINS = BENCH.parent / "plugins"
NAB_REQUIREMENTS = ("pandas==1.5.3", "numpy<2", "simplejson")
"""What NAB's pipeline needs to run on Python 3.11 (its own pins are for Python 3.6)."""
OURS = {"cauldron": "AnomalyDetector", "rollingZScore": "RollingZScore"}
"""NAB detector name → the cauldron's class it runs."""
REFERENCES = ("null", "random")
PROFILES = {
    "standard": "standard",
    "reward_low_FP_rate": "low FP",
    "reward_low_FN_rate": "low FN",
}
DAY_S = 86_400.0


def nab_python(cache: Path) -> Path:
    """NAB's interpreter: a venv in `cache` with `NAB_REQUIREMENTS`, made if missing."""
    venv = cache / "nab-venv"
    python = venv / "bin" / "python"
    stamp = venv / ".requirements"
    wanted = "\n".join(NAB_REQUIREMENTS)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"building NAB's venv in {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *NAB_REQUIREMENTS], check=True)
    stamp.write_text(wanted)
    return python


def corpus(nab: Path, work: Path, only: list[str]) -> tuple[Path, Path]:
    """The data folder and windows file NAB runs on: NAB's own, or (with `only`) a copy of
    the chosen categories' files and windows in `work`."""
    windows_file = nab / "labels" / "combined_windows.json"
    if not only:
        return nab / "data", windows_file
    data = work / "data"
    shutil.rmtree(data, ignore_errors=True)
    windows = json.loads(windows_file.read_text())
    chosen = {path: spans for path, spans in windows.items() if path.split("/")[0] in only}
    if not chosen:
        raise SystemExit(f"no NAB file in the categories {only}")
    for path in chosen:
        target = data / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(nab / "data" / path, target)
    chosen_file = work / "windows.json"
    chosen_file.write_text(json.dumps(chosen, indent=2))
    return data, chosen_file


def run_nab(nab: Path, cache: Path, only: list[str]) -> Path:
    """Run NAB's pipeline for our detectors and its references; the results folder."""
    python = nab_python(cache)
    work = cache / "run"
    results = work / "results"
    shutil.rmtree(results, ignore_errors=True)
    results.mkdir(parents=True)
    data, windows = corpus(nab, work, only)
    thresholds = work / "thresholds.json"
    shutil.copyfile(nab / "config" / "thresholds.json", thresholds)
    detectors = ",".join((*OURS, *REFERENCES))
    command = [
        str(python),
        "-P",  # not bench/ on sys.path: this very script would shadow NAB's `nab` package
        str(BENCH / "nab_detectors.py"),
        *("-d", detectors, "--detect", "--optimize", "--score", "--normalize"),
        *("--numCPUs", "1", "--skipConfirmation"),
        *("--dataDir", str(data), "--windowsFile", str(windows)),
        *("--resultsDir", str(results), "--thresholdsFile", str(thresholds)),
    ]
    environment = {**os.environ, "PYTHONPATH": f"{PLUGINS}{os.pathsep}{nab}"}
    log = work / "nab.log"
    print(f"running NAB's pipeline ({detectors}); its output goes to {log}", flush=True)
    began = perf_counter()
    with log.open("w") as output:
        done = subprocess.run(command, cwd=nab, env=environment, stdout=output, stderr=output)
    if done.returncode:
        print(log.read_text()[-3000:])
        raise SystemExit(f"NAB failed (exit {done.returncode}); see {log}")
    print(f"NAB's pipeline took {perf_counter() - began:.0f} s")
    return results


def scores_table(results: Path) -> str:
    """NAB's normalised score of each detector and profile (its `final_results.json`)."""
    final = json.loads((results / "final_results.json").read_text())
    lines: list[tuple[str, ...]] = [("detector", "class", *PROFILES.values())]
    for name in (*OURS, *REFERENCES):
        label = OURS.get(name, "NAB's own")
        lines.append((name, label, *(f"{final[name][p]:.1f}" for p in PROFILES)))
    return format_table(lines, right={2, 3, 4})


@dataclass
class CategoryScore:
    """One data category's raw NAB score and its null and perfect scores."""

    score: float = 0.0
    null: float = 0.0
    windows: int = 0
    false_positives: int = 0

    @property
    def normalised(self) -> float:
        """NAB's normalisation: 0 for the null detector, 100 for a perfect one."""
        span = self.windows - self.null
        return 100 * (self.score - self.null) / span if span else float("nan")


def _file_scores(results: Path, detector: str) -> dict[str, dict[str, str]]:
    path = results / detector / f"{detector}_standard_scores.csv"
    with path.open() as rows:
        return {row["File"]: row for row in csv.DictReader(rows) if row["File"]}


def categories_table(results: Path, windows_file: Path) -> str:
    """The standard profile's score by data category, normalised as NAB does the total."""
    windows = json.loads(windows_file.read_text())
    null = _file_scores(results, "null")
    lines: list[tuple[str, ...]] = [("category", "files", "windows")]
    per_detector = {}
    for name in OURS:
        lines[0] += (f"{name}", "FP rows")
        per_detector[name] = _file_scores(results, name)
    by_category: dict[str, dict[str, CategoryScore]] = defaultdict(
        lambda: defaultdict(CategoryScore)
    )
    files: dict[str, int] = defaultdict(int)
    for path, spans in windows.items():
        category = path.split("/")[0]
        files[category] += 1
        for name, rows in per_detector.items():
            entry = by_category[category][name]
            entry.score += float(rows[path]["Score"])
            entry.null += float(null[path]["Score"])
            entry.windows += len(spans)
            entry.false_positives += int(rows[path]["FP"])
    for category in sorted(by_category):
        entries = by_category[category]
        first = next(iter(entries.values()))
        cells: tuple[str, ...] = (category, str(files[category]), str(first.windows))
        for name in OURS:
            entry = entries[name]
            shown = f"{entry.normalised:.1f}" if entry.windows else f"{entry.score:+.2f} raw"
            cells += (shown, str(entry.false_positives))
        lines.append(cells)
    return format_table(lines, right=set(range(1, len(lines[0]))))


@dataclass
class NormalAlarms:
    """Alarms raised outside labelled windows, and the days those stretches span."""

    alarms: int = 0
    days: float = 0.0
    series: int = 0

    @property
    def per_sensor_day(self) -> float:
        return self.alarms / self.days if self.days else float("nan")


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()


def normal_alarms(results: Path, detector: str, policy: AlarmPolicy) -> dict[str, NormalAlarms]:
    """Alarms the app would raise on each file's scores (as NAB recorded them) outside the
    labelled windows (NAB's `label` column), and the days spent there; for the files
    without windows and for the others apart."""
    totals = {"files without anomalies": NormalAlarms(), "others, outside windows": NormalAlarms()}
    for path in sorted((results / detector).glob("*/*.csv")):
        with path.open() as rows:
            table = list(csv.DictReader(rows))
        times = np.array([_epoch(row["timestamp"]) for row in table])
        scores = np.array([float(row["anomaly_score"]) for row in table])
        inside = np.array([row["label"] == "1" for row in table])
        alarms = alarmed(scores, policy)
        raised = alarms & ~np.concatenate(([False], alarms[:-1]))
        gaps = np.diff(times)
        normal_s = float(np.sum(gaps[~inside[1:] & ~inside[:-1]]))
        entry = totals["others, outside windows" if inside.any() else "files without anomalies"]
        entry.alarms += int(np.count_nonzero(raised & ~inside))
        entry.days += normal_s / DAY_S
        entry.series += 1
    return totals


def alarms_table(results: Path, policy: AlarmPolicy) -> str:
    """Alarms per sensor-day on normal data, for each of our detectors."""
    lines: list[tuple[str, ...]] = [("detector", "data", "series", "days", "alarms", "per day")]
    for name in OURS:
        for label, entry in normal_alarms(results, name, policy).items():
            lines.append(
                (
                    name,
                    label,
                    str(entry.series),
                    f"{entry.days:.0f}",
                    str(entry.alarms),
                    f"{entry.per_sensor_day:.3f}",
                )
            )
    return format_table(lines, right={2, 3, 4, 5})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nab", type=Path, required=True, help="a checkout of numenta/NAB")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path.home() / ".cache" / "phantom-bench" / "nab",
        help="where NAB's venv and results go (default: %(default)s)",
    )
    parser.add_argument("--only", default="", help="comma-separated data categories (default: all)")
    args = parser.parse_args(argv)
    nab = args.nab.resolve()
    if not (nab / "run.py").exists():
        raise SystemExit(f"{nab} is not a NAB checkout (no run.py)")
    only = [name for name in args.only.split(",") if name]
    cache = args.cache.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    results = run_nab(nab, cache, only)
    windows = (cache / "run" / "windows.json") if only else nab / "labels/combined_windows.json"
    policy = AlarmPolicy()
    print()
    print("NAB scores (normalised: null 0, perfect 100), thresholds optimised by NAB:")
    print(scores_table(results))
    print()
    print("standard profile by category (NAB's normalisation per category; FP rows: rows")
    print("above NAB's threshold outside every window):")
    print(categories_table(results, windows))
    print()
    print(
        f"alarms per sensor-day on normal data, at the app's policy (raised at "
        f"{policy.threshold:g}, cleared below {policy.clear:g}):"
    )
    print(alarms_table(results, policy))
    return 0


if __name__ == "__main__":
    sys.exit(main())

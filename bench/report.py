"""The text table the benchmarks print."""

from __future__ import annotations

import gc
import statistics
from collections.abc import Callable
from dataclasses import dataclass


def format_table(lines: list[tuple[str, ...]], right: set[int]) -> str:
    """Align `lines` (the first is the header) in columns; columns in `right` align right."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = []
    for index, line in enumerate(lines):
        text.append(
            "  ".join(
                cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                for i, cell in enumerate(line)
            ).rstrip()
        )
        if index == 0:
            text.append("  ".join("-" * width for width in widths))
    return "\n".join(text)


@dataclass(frozen=True)
class Row:
    """One line of a goal table: a figure, its baseline, and its goal."""

    label: str
    key: str
    unit: str
    baseline: str | None = None
    baseline_label: str = ""
    min_ratio: float | None = None
    max_ratio: float | None = None
    min_value: float | None = None
    max_value: float | None = None


def number(value: float) -> str:
    """A figure, short: 1.23 M, 45.6 k, 789, 1.5."""
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    if value >= 1e4:
        return f"{value / 1e3:.1f} k"
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def goal_table(rows: list[Row], figures: dict[str, float]) -> tuple[str, int, int]:
    """The report of `figures` by `rows`, and how many goals passed and missed."""
    header = ("name", "figure", "unit", "baseline", "figure", "ratio", "goal", "result")
    lines: list[tuple[str, ...]] = [header]
    passed = missed = 0
    for row in rows:
        if row.key not in figures:
            lines.append((row.label, "n/a", row.unit, "", "", "", "", ""))
            continue
        value = figures[row.key]
        cells = [row.label, number(value), row.unit, "", "", "", "", ""]
        ok = None
        if row.baseline is not None and row.baseline in figures:
            base = figures[row.baseline]
            ratio = f"{value / base:.2f}" if base else "n/a"
            cells[3:6] = [row.baseline_label, number(base), ratio]
            if base and row.min_ratio is not None:
                cells[6], ok = f"ratio >= {row.min_ratio}", value / base >= row.min_ratio
            if base and row.max_ratio is not None:
                cells[6], ok = f"ratio <= {row.max_ratio}", value / base <= row.max_ratio
        if row.max_value is not None:
            cells[6], ok = f"< {row.max_value:g} {row.unit}", value < row.max_value
        if row.min_value is not None:
            cells[6], ok = f">= {number(row.min_value)}/s", value >= row.min_value
        if ok is not None:
            cells[7] = "PASS" if ok else "MISS"
            passed += ok
            missed += not ok
        lines.append(tuple(cells))
    return format_table(lines, right={1, 4, 5}), passed, missed


def interleaved(runners: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    """Median of each runner's results, the repeats of all runners interleaved (so a burst
    of noise on the machine hits a figure and its baseline alike)."""
    results: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            gc.collect()
            results[name].append(run())
    return {name: statistics.median(values) for name, values in results.items()}

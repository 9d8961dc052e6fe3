"""The device payload corpus: payloads copied from each family's documentation and issue
trackers (tests/fixtures/device_payloads/, one file per family), each citing where it
came from and saying what the parser must make of it — its readings with quantity, value
and unit, or the reason it is refused, or the online state it sets. The whole corpus
runs through `PayloadParser` and must pass in full."""

from __future__ import annotations

import math
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from phantom_cauldron.parsing import PayloadParser, Reason

CORPUS = Path(__file__).parents[1] / "fixtures" / "device_payloads"
NOW = 1_700_000_000.0
FAMILIES = ("tasmota", "zigbee2mqtt", "esphome", "shelly", "homeassistant")
Reading = tuple[str, str, float, str]


@dataclass(frozen=True)
class Case:
    """One payload of the corpus and what it must give."""

    family: str
    number: int
    source: str
    topic: str
    payload: str
    retained: bool = False
    given: tuple[tuple[str, str], ...] = ()
    """Messages published before it (discovery configs, an earlier state)."""
    readings: tuple[Reading, ...] | None = None
    refused: str | None = None
    online: tuple[str, bool] | None = None
    sensors: tuple[tuple[str, ...], ...] = field(default=())
    """Directory entries it must leave: (sensor id, quantity, name[, device[, unit]]), ""
    for none."""

    @property
    def label(self) -> str:
        return f"{self.family} #{self.number} {self.topic}"


def load() -> list[Case]:
    cases = []
    for family in FAMILIES:
        document = tomllib.loads((CORPUS / f"{family}.toml").read_text(encoding="utf-8"))
        assert document["family"] == family
        for number, entry in enumerate(document["payload"], start=1):
            readings = entry.get("readings")
            cases.append(
                Case(
                    family,
                    number,
                    entry["source"],
                    entry["topic"],
                    entry["payload"],
                    entry.get("retained", False),
                    tuple((given["topic"], given["payload"]) for given in entry.get("given", [])),
                    tuple(tuple(reading) for reading in readings) if readings is not None else None,
                    entry.get("refused"),
                    tuple(entry["online"]) if "online" in entry else None,
                    tuple(tuple(sensor) for sensor in entry.get("sensors", [])),
                )
            )
    return cases


CASES = load()


def mismatches(case: Case) -> list[str]:
    """What the parser made of `case` that its source says otherwise; empty when it agrees."""
    parser = PayloadParser(clock=lambda: NOW)
    for topic, payload in case.given:
        parser.parse(topic, payload.encode(), retained=True)
    refused_before = parser.problems.total
    readings = parser.parse(case.topic, case.payload.encode(), case.retained)
    found: list[str] = []
    got = sorted((r.sensor_id, r.type, r.value, r.unit or "") for r in readings)
    if not all(math.isfinite(value) for _, _, value, _ in got):
        found.append(f"non-finite reading in {got}")
    if case.readings is not None:
        expected = sorted(case.readings)
        same = len(got) == len(expected) and all(
            mine[:2] == theirs[:2]
            and mine[3] == theirs[3]
            and math.isclose(mine[2], theirs[2], rel_tol=1e-9, abs_tol=1e-9)
            for mine, theirs in zip(got, expected, strict=True)
        )
        if not same:
            found.append(f"readings {got} != {expected}")
    refusals = parser.problems.for_topic(case.topic)
    if case.refused is not None:
        if refusals != {Reason(case.refused): 1}:
            found.append(f"refusals {refusals} != {case.refused}")
    elif parser.problems.total != refused_before:
        found.append(f"unexpected refusal {refusals}")
    if case.online is not None:
        device, online = case.online
        state = parser.sensors.device(device)
        if state is None or state.online != online:
            found.append(f"device {device}: {state} is not online={online}")
    for sensor_id, quantity, name, *rest in case.sensors:
        info = parser.sensors.get(sensor_id, quantity)
        said = (name, *rest)
        known = None if info is None else (info.name, info.device or "", info.unit or "")
        known = known[: len(said)] if known is not None else None
        if known != said:
            found.append(f"directory {sensor_id}/{quantity}: {known} != {said}")
    return found


def test_every_payload_of_the_corpus_is_read_as_its_source_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    failures = {case.label: mismatches(case) for case in CASES}
    failures = {label: found for label, found in failures.items() if found}
    per_family = Counter(case.family for case in CASES)
    passed = len(CASES) - len(failures)
    lines = [f"device payload corpus: {passed}/{len(CASES)} pass ({passed / len(CASES):.0%})"]
    for family in FAMILIES:
        sources = sorted({case.source for case in CASES if case.family == family})
        lines.append(f"  {family}: {per_family[family]} payloads from {len(sources)} sources")
        lines.extend(f"    {source}" for source in sources)
    lines.extend(f"  FAILED {label}: {'; '.join(found)}" for label, found in failures.items())
    report = "\n".join(lines)
    with capsys.disabled():
        print("\n" + report)
    assert not failures, report


def test_the_corpus_is_large_cites_its_sources_and_covers_every_family() -> None:
    assert len(CASES) >= 100
    assert all(case.source.startswith("https://") for case in CASES)
    assert all(case.readings is not None or case.refused or case.online for case in CASES)
    per_family = Counter(case.family for case in CASES)
    assert all(per_family[family] >= 10 for family in FAMILIES), per_family

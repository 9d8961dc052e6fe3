"""The names a user reads for sensors: friendly where the sensor directory knows them.

A legend names each curve by the directory's friendly name (the device's name and the
sensor's, as Home Assistant composes them); a sensor the directory does not know yet
keeps the shortest distinct end of its id (`display_names`). The topic
tree says what a topic carries (`topic_label`). The raw ids go in tooltips
(`sensor_tooltip`). Qt-free.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from phantom_cauldron.directory import SensorDirectory, SensorInfo
from phantom_cauldron.series import display_names


def sensor_names(
    sensor_ids: Sequence[str], quantity: str, directory: SensorDirectory | None
) -> dict[str, str]:
    """A name for each of `sensor_ids` (sensors of `quantity` shown together), by id: the
    friendly name where the directory has one, else the shortest distinct end of the id;
    two sensors of one friendly name are told apart by the ends of their ids."""
    known = {
        sensor_id: info.label
        for sensor_id in sensor_ids
        if directory is not None
        and (info := directory.get(sensor_id, quantity)) is not None
        and info.name
    }
    names = display_names([sensor_id for sensor_id in sensor_ids if sensor_id not in known])
    shared = Counter(known.values())
    ids = display_names([sensor_id for sensor_id, name in known.items() if shared[name] > 1])
    for sensor_id, name in known.items():
        names[sensor_id] = f"{name} ({ids[sensor_id]})" if sensor_id in ids else name
    return names


def sensor_tooltip(sensor_id: str, info: SensorInfo | None, topic: str | None) -> str:
    """What a tooltip says of a sensor: its friendly names, its raw id and its topic."""
    lines = []
    if info is not None and info.name:
        lines.append(f"{info.name} ({info.device})" if info.device else info.name)
    lines.append(f"id: {sensor_id}")
    if topic:
        lines.append(f"topic: {topic}")
    return "\n".join(lines)


def sensor_line(info: SensorInfo) -> str:
    """One line on a sensor: ``Rim temperature (Cauldron): cauldron_rim, temperature in °C``."""
    device = f" ({info.device})" if info.device else ""
    unit = f" in {info.unit}" if info.unit else ""
    return f"{info.name}{device}: {info.sensor_id}, {info.quantity}{unit}"


TOPIC_LABEL_NAMES = 3
"""A topic carrying sensors of several devices lists this many names, then a count."""


def topic_label(sensors: Sequence[SensorInfo]) -> str:
    """What a topic carries, in friendly words: its one device's name, or its sensors'
    friendly names (the first few), "" when none is named."""
    named = [info for info in sensors if info.name]
    if not named:
        return ""
    devices = {info.device for info in named}
    if len(named) > 1 and len(devices) == 1 and None not in devices:
        return str(next(iter(devices)))
    names = list(dict.fromkeys(info.label for info in named))
    more = len(names) - TOPIC_LABEL_NAMES
    return ", ".join(names[:TOPIC_LABEL_NAMES]) + (f" +{more}" if more > 0 else "")

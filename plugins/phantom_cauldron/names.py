"""The names a user reads for sensors: friendly where the sensor directory knows them.

A legend names each curve by the directory's friendly name ("Rim temperature"); two
sensors that share one are told apart by their devices' names; a sensor the directory
does not know yet keeps the shortest distinct end of its id (`display_names`). The raw
ids go in tooltips (`sensor_tooltip`). Qt-free.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from phantom_cauldron.directory import SensorDirectory, SensorInfo
from phantom_cauldron.series import display_names


def sensor_names(
    sensor_ids: Sequence[str], quantity: str, directory: SensorDirectory | None
) -> dict[str, str]:
    """A name for each of `sensor_ids` (sensors of `quantity` shown together), by id."""
    known = {
        sensor_id: info
        for sensor_id in sensor_ids
        if directory is not None
        and (info := directory.get(sensor_id, quantity)) is not None
        and info.name
    }
    names = display_names([sensor_id for sensor_id in sensor_ids if sensor_id not in known])
    shared = Counter(info.name for info in known.values())
    for sensor_id, info in known.items():
        if shared[info.name] > 1 and info.device and info.device != info.name:
            names[sensor_id] = f"{info.device} · {info.name}"
        else:
            names[sensor_id] = info.name
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

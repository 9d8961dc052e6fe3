"""ESPHome state topics: `<node>/sensor/<object_id>/state` with a plain number.

ESPHome announces its sensors with Home Assistant discovery configs (see
`homeassistant`), which give their names and units: its state topics carry none. Without
one, a sensor's reading is `<node>/<object_id>` at `<node>`, its quantity guessed from
the object id; a climate's current temperature and humidity
(`<node>/climate/<id>/current_temperature/state`) are readings of `<node>/<id>`. Before
a sensor has a state ESPHome publishes `nan` (`None` since 2024.12): refused, never 0.
`<node>/status` (its birth and last-will messages, `online`/`offline`) is read as any
availability topic is; `<node>/debug` carries its log, `esphome/discover/<node>` its
address. States of switches, lights and other non-measuring components are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from phantom_cauldron.parsing.handling import Context, Handler, ignore
from phantom_cauldron.parsing.plain import PlainNumber
from phantom_cauldron.parsing.quantities import guess

NON_MEASURING = frozenset(
    {"binary_sensor", "text_sensor", "switch", "light", "fan", "cover", "lock", "button", "select"}
)
CLIMATE_STATES = {
    "current_temperature": "temperature",
    "target_temperature": "target_temperature",
    "current_humidity": "humidity",
}
"""A climate's measured and set values, on `<node>/climate/<id>/<state>/state`."""
LOG_LEVEL = "debug"
DISCOVER = "esphome/discover"
"""Where nodes answer ESPHome's own device discovery (their address, not a measurement)."""


def route(levels: Sequence[str], context: Context) -> Handler | None:
    """The handler for an ESPHome topic, None for other topics."""
    if len(levels) == 2:
        return ignore if levels[1] == LOG_LEVEL else None
    if "/".join(levels[:2]) == DISCOVER:
        return ignore
    if len(levels) == 5 and levels[1] == "climate" and levels[4] == "state":
        quantity = CLIMATE_STATES.get(levels[3])
        if quantity is None:
            return ignore
        return PlainNumber(f"{levels[0]}/{levels[2]}", quantity, None, levels[0], listed=True)
    if len(levels) != 4 or levels[3] != "state":
        return None
    node, component, object_id = levels[0], levels[1], levels[2]
    if component == "sensor":
        return PlainNumber(f"{node}/{object_id}", guess(object_id) or "value", None, node)
    return ignore if component in NON_MEASURING else None

"""Quantity names: one spelling per quantity, whichever family reported it.

`canonical` turns a field name (`DewPoint`, `carbon_dioxide`, `temp`) into the
quantity's name; `guess` finds a quantity inside a topic level or object id
(`outside_temp_2` is a temperature) and gives None when there is none.
"""

from __future__ import annotations

import re
from functools import lru_cache

KNOWN = frozenset(
    {
        "temperature",
        "humidity",
        "pressure",
        "ph",
        "mystical_energy",
        "battery",
        "illuminance",
        "co2",
        "voc",
        "pm25",
        "pm10",
        "voltage",
        "current",
        "power",
        "energy",
        "frequency",
        "power_factor",
        "dew_point",
        "moisture",
        "distance",
        "weight",
        "speed",
        "signal_strength",
    }
)
ALIASES = {
    "temp": "temperature",
    "tmp": "temperature",
    "hum": "humidity",
    "rh": "humidity",
    "press": "pressure",
    "baro": "pressure",
    "atmospheric_pressure": "pressure",
    "bat": "battery",
    "batt": "battery",
    "lux": "illuminance",
    "illuminance_lux": "illuminance",
    "carbon_dioxide": "co2",
    "e_co2": "co2",
    "eco2": "co2",
    "volatile_organic_compounds": "voc",
    "pm2_5": "pm25",
    "volt": "voltage",
    "volts": "voltage",
    "watt": "power",
    "watts": "power",
    "factor": "power_factor",
    "pf": "power_factor",
    "dewpoint": "dew_point",
    "soil_moisture": "moisture",
    "rssi": "signal_strength",
    "signal": "signal_strength",
}

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_NAME = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=4096)
def canonical(name: str) -> str:
    """The quantity a field called `name` measures, in snake_case."""
    lowered = name.lower()
    if lowered in KNOWN or lowered in ALIASES:
        return ALIASES.get(lowered, lowered)
    snake = _NOT_NAME.sub("_", _CAMEL_BOUNDARY.sub("_", name).lower()).strip("_")
    return ALIASES.get(snake, snake) or "value"


@lru_cache(maxsize=4096)
def guess(name: str) -> str | None:
    """The known quantity named somewhere in `name`, the last one when there are several."""
    whole = canonical(name)
    if whole in KNOWN:
        return whole
    words = [word for word in whole.split("_") if word]
    for end in range(len(words), 0, -1):
        for start in (end - 2, end - 1):
            candidate = "_".join(words[max(start, 0) : end])
            for spelling in (candidate, candidate.rstrip("0123456789")):
                quantity = ALIASES.get(spelling, spelling)
                if quantity in KNOWN:
                    return quantity
    return None

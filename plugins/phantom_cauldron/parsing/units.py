"""Unit spellings every family shares, and the one conversion the parser makes.

A Fahrenheit twin (Shelly's `ext_temperature_f/<n>`, `temperature_f`, a gen2 `tF` next to
its `tC`) is the same measurement as its Celsius original: it is read as that same sensor,
converted to °C, and only while the original is not heard (then it is a copy). A device
that reports in °F alone (Tasmota's `TempUnit: F`) keeps its °F, and its unit says so.
"""

from __future__ import annotations

CELSIUS = "°C"
FAHRENHEIT = "°F"
KELVIN = "K"
PERCENT = "%"
LUX = "lx"
PPM = "ppm"
PPB = "ppb"
MICROGRAMS_PER_M3 = "µg/m³"
MILLIGRAMS_PER_M3 = "mg/m³"
HECTOPASCAL = "hPa"
DBM = "dBm"
LQI = "lqi"
WATT = "W"
VOLT_AMPERE = "VA"
VAR = "var"
VOLT = "V"
MILLIVOLT = "mV"
AMPERE = "A"
HERTZ = "Hz"
WATT_HOUR = "Wh"
KILOWATT_HOUR = "kWh"
WATT_MINUTE = "Wmin"


def celsius_from_fahrenheit(fahrenheit: float) -> float:
    """`fahrenheit` in °C, rounded to a hundredth (twins carry two decimals at most)."""
    return round((fahrenheit - 32.0) * 5.0 / 9.0, 2)

"""Turning MQTT payloads from real devices into sensor readings.

`PayloadParser.parse(topic, payload)` gives the readings in a message; what it refuses
is counted in its `problems`, what discovery configs announced is in its `discovery`,
and what is known of each sensor and device is in its `sensors` directory.
"""

from phantom_cauldron.parsing.fieldpaths import FieldPath
from phantom_cauldron.parsing.handling import Reason
from phantom_cauldron.parsing.homeassistant import DiscoveredSensor, Discovery
from phantom_cauldron.parsing.parser import PayloadParser
from phantom_cauldron.parsing.problems import Problem, Problems

__all__ = [
    "DiscoveredSensor",
    "Discovery",
    "FieldPath",
    "PayloadParser",
    "Problem",
    "Problems",
    "Reason",
]

"""The Cauldron's settings, kept in its section of the app's settings file."""

from __future__ import annotations

from pydantic import Field

from phantom_cauldron.alarms import DEFAULT_THRESHOLD, AlarmPolicy
from phantom_cauldron.anomaly import AnomalyDetector, DetectorSettings
from phantom_cauldron.brewing.commands import BREW_TOPIC
from phantom_gui.core.settings import SettingsModel, same_fields


class CauldronSettings(SettingsModel):
    """What the Cauldron remembers, and the knobs a user may set in the settings file."""

    MIGRATIONS = (same_fields,)  # 0 → 1: the flat keys plugin/phantom_cauldron/...

    anomaly_threshold: float = Field(DEFAULT_THRESHOLD, gt=0.0, le=1.0)
    """A reading scoring this or more raises an alarm."""
    learning_s: float = Field(DetectorSettings().warmup_s, ge=0.0)
    """A new sensor is learnt, never alarmed, for this many seconds (and its first
    readings) after the Cauldron first hears it."""
    record_interval_s: float = Field(10.0, gt=0.0)
    """At most one reading per series goes to the audit log in this many seconds."""
    charted: dict[str, bool] = Field(default_factory=dict)
    """The topic tree's charting choices: subtree pattern to charted or not."""
    simulator_seed: int | None = None
    """Seeds the simulated cauldron, for a run that repeats itself."""
    brew_topic: str = Field(BREW_TOPIC, min_length=1, pattern=r"^[^#+]+$")
    """The MQTT topic that brewing commands go to (statuses come back on `<it>/status`)."""
    brew_connection: str | None = None
    """The id of the MQTT connection that brews are sent on; None: the simulated cauldron's
    when it runs, else the first connection that is connected."""
    brew_sensors: dict[str, str] = Field(default_factory=dict)
    """Quantity (``temperature``, ``ph``, ``humidity``, ``mystical_energy``) → the id of the
    sensor that measures the brew; unset ones go to a sensor named for the brew."""

    def alarm_policy(self) -> AlarmPolicy:
        """When a series is in alarm: from `anomaly_threshold` on, with the usual hysteresis."""
        return AlarmPolicy.at(self.anomaly_threshold)

    def new_detector(self) -> AnomalyDetector:
        """A detector for a sensor heard for the first time, learning for `learning_s`."""
        return AnomalyDetector(DetectorSettings(warmup_s=self.learning_s))

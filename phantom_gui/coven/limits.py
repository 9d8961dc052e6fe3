"""The ``limits`` settings section: how fast each plugin may publish on the hub, each MQTT
topic may deliver messages and each coven member may send events, as token buckets (see
`RateLimiter`)."""

from __future__ import annotations

from pydantic import Field

from phantom_gui.core.settings import SettingsModel
from phantom_gui.coven.ratelimit import RateLimiter


class LimitSettings(SettingsModel):
    """Rate (events a second, sustained) and burst (at once) per plugin, per MQTT topic of a
    connection and per coven member."""

    SECTION = "limits"

    plugin_rate_per_s: float = Field(default=2_000, gt=0, allow_inf_nan=False)
    plugin_burst: float = Field(default=10_000, ge=1, allow_inf_nan=False)
    topic_rate_per_s: float = Field(default=1_000, gt=0, allow_inf_nan=False)
    topic_burst: float = Field(default=10_000, ge=1, allow_inf_nan=False)
    member_rate_per_s: float = Field(default=1_000, gt=0, allow_inf_nan=False)
    member_burst: float = Field(default=10_000, ge=1, allow_inf_nan=False)

    def plugin_limiter(self) -> RateLimiter:
        """The limiter of the plugins' publishing, one bucket per plugin id."""
        return RateLimiter(self.plugin_rate_per_s, self.plugin_burst)

    def topic_limiter(self) -> RateLimiter:
        """A limiter of one connection's messages, one bucket per topic."""
        return RateLimiter(self.topic_rate_per_s, self.topic_burst)

    def member_limiter(self) -> RateLimiter:
        """The limiter of the events remote coven members send, one bucket per member."""
        return RateLimiter(self.member_rate_per_s, self.member_burst)

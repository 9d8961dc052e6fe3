"""The ``limits`` settings section: generous defaults, bad values reported, limiters made."""

from __future__ import annotations

from pathlib import Path

from phantom_gui.core.settings import Settings
from phantom_gui.coven.limits import LimitSettings


def test_the_defaults_let_a_plugin_burst_ten_thousand_events(tmp_path: Path) -> None:
    limits = Settings(tmp_path / "settings.json").load(LimitSettings)
    limiter = limits.plugin_limiter()
    assert (limiter.rate_per_s, limiter.burst) == (2_000, 10_000)
    topics = limits.topic_limiter()
    assert (topics.rate_per_s, topics.burst) == (1_000, 10_000)
    assert topics is not limits.topic_limiter(), "each connection gets its own"
    members = limits.member_limiter()
    assert (members.rate_per_s, members.burst) == (1_000, 10_000)


def test_a_bad_limit_is_reported_and_the_defaults_used(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    Settings(path).write_section("limits", {"topic_burst": 0.5, "plugin_rate_per_s": 50})
    settings = Settings(path)
    assert settings.load(LimitSettings) == LimitSettings()
    [problem] = settings.problems
    assert "'limits'" in problem and "topic_burst" in problem


def test_chosen_limits_are_read(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    Settings(path).write_section(
        "limits", {"topic_rate_per_s": 5, "topic_burst": 20, "member_rate_per_s": 7}
    )
    limits = Settings(path).load(LimitSettings)
    limiter = limits.topic_limiter()
    assert (limiter.rate_per_s, limiter.burst) == (5, 20)
    assert limits.member_limiter().rate_per_s == 7

"""The plugin host's settings: which plugins load at start, and which may not load."""

from __future__ import annotations

from phantom_gui.core.settings import SettingsModel, same_fields


class PluginHostSettings(SettingsModel):
    """Remembered between runs: the plugins active at the last exit, and the disabled ones."""

    SECTION = "plugins"
    MIGRATIONS = (same_fields,)  # 0 → 1: the flat keys plugins/active and plugins/disabled

    active: tuple[str, ...] = ()
    """Loaded at the next start, in this order."""
    disabled: tuple[str, ...] = ()
    """Never loaded until enabled again (sorted)."""

    def remembering(self, plugin_id: str, *, active: bool) -> PluginHostSettings:
        """A copy with `plugin_id` added to (at the end) or dropped from `active`."""
        kept = tuple(pid for pid in self.active if pid != plugin_id)
        return self.model_copy(update={"active": (*kept, plugin_id) if active else kept})

    def disabling(self, plugin_id: str, *, disabled: bool) -> PluginHostSettings:
        """A copy with `plugin_id` added to or dropped from `disabled`."""
        others = set(self.disabled) - {plugin_id}
        return self.model_copy(
            update={"disabled": tuple(sorted(others | {plugin_id} if disabled else others))}
        )

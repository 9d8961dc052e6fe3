"""The audit log's settings, in `config.json` beside it: what is recorded, and how."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from phantom_gui.core.atomic import write_atomically

CONFIG_NAME = "config.json"

DEFAULT_CONFIG: dict[str, Any] = {
    "record_topics": [
        "app/#",
        "plugin/#",
        "security/#",
        "coven/refused",
        "hub/disturbance",
        "audit/#",
    ],
    "checkpoint_every": 10_000,
    "seal_every_s": 300.0,
    "batch_size": 2_000,
    "flush_interval_s": 0.05,
}
"""`checkpoint_every` records, or `seal_every_s` seconds, end an epoch (see `keys`)."""


class AuditConfig:
    """The defaults overlaid with the file at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self) -> dict[str, Any]:
        """The audit settings; `ValueError` naming the file when it is not readable."""
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            stored = {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{self.path}: not a readable audit config ({exc})") from exc
        if not isinstance(stored, dict):
            raise ValueError(f"{self.path}: expected a JSON object")
        return {**DEFAULT_CONFIG, **stored}

    def set(self, key: str, value: Any) -> None:
        """Set one audit setting (only the settings that differ from the defaults are kept)."""
        stored = {k: v for k, v in self.get().items() if DEFAULT_CONFIG.get(k) != v}
        stored[key] = value
        self._write(stored)

    def reset(self) -> None:
        """Back to the defaults."""
        self._write({})

    def _write(self, values: dict[str, Any]) -> None:
        write_atomically(self.path, json.dumps(values, indent=2, sort_keys=True))

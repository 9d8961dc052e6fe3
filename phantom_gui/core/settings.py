"""Settings as a JSON file: read at start, written atomically on every change."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger("phantom.settings")


class Settings:
    """A flat key/value store persisted in one JSON file.

    A missing file starts empty; an unreadable one is kept aside (renamed with a
    ``.corrupt`` suffix), reported, and replaced by defaults, so the app still starts.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem: str | None = None
        self._values: dict[str, Any] = self._load()

    def get(self, key: str, default: Any = None) -> Any:
        """The value of `key`, or `default` when unset."""
        return self._values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable `value` under `key` and write the file."""
        json.dumps(value)
        self._values[key] = value
        self._save()

    def remove(self, key: str) -> None:
        """Forget `key` (nothing happens if it is unset)."""
        if key in self._values:
            del self._values[key]
            self._save()

    def as_dict(self) -> dict[str, Any]:
        """A copy of every setting."""
        return dict(self._values)

    def _load(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            values = json.loads(raw.decode("utf-8"))
            if not isinstance(values, dict):
                raise ValueError(f"expected a JSON object, found {type(values).__name__}")
        except ValueError as exc:
            aside = self.path.with_name(self.path.name + ".corrupt")
            os.replace(self.path, aside)
            self.problem = (
                f"settings file {self.path} could not be read ({exc}); kept it as {aside}"
            )
            log.warning(self.problem)
            return {}
        return values

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".settings-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self._values, handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

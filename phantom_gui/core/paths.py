"""Where Phantom keeps its data, settings and logs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "phantom"


@dataclass(frozen=True)
class AppPaths:
    """The folders and files of one Phantom installation (or one `--data-dir`)."""

    data_dir: Path
    config_file: Path

    @property
    def plugin_dir(self) -> Path:
        """The user's own plugin folder, always searched for plugins."""
        return self.data_dir / "plugins"

    @property
    def log_dir(self) -> Path:
        """Where the JSON-lines log rotates."""
        return self.data_dir / "logs"

    @classmethod
    def resolve(cls, data_dir: Path | None = None, config_file: Path | None = None) -> AppPaths:
        """The user's platform folders, or everything under `data_dir` when one is given."""
        data = data_dir or Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        if config_file is None:
            config_home = (
                data if data_dir else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
            )
            config_file = config_home / "settings.json"
        return cls(
            data_dir=data.expanduser().resolve(), config_file=config_file.expanduser().resolve()
        )

    def ensure(self) -> None:
        """Create the folders; a `PermissionError` names the folder that could not be made."""
        for folder in (self.data_dir, self.log_dir, self.plugin_dir, self.config_file.parent):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except PermissionError as exc:
                raise PermissionError(
                    f"cannot create Phantom's folder {folder}: {exc.strerror}"
                ) from exc

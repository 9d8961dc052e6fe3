"""Where Phantom keeps its data, settings and logs."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "phantom"

CHOOSE_ANOTHER = "choose a folder you can write to with --data-dir DIR"


class UnusableFolder(OSError):
    """A folder Phantom needs and cannot use; the message says which, why and what to do."""

    def __init__(self, role: str, folder: Path, why: str, remedy: str) -> None:
        super().__init__(f"cannot use the {role} {folder}: {why}.\nTo fix it, {remedy}.")
        self.role = role
        self.folder = folder
        self.why = why
        self.remedy = remedy


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
        """Create the folders and check that they can be written to; `UnusableFolder` says
        which one cannot, why, and what to do."""
        folders = (
            ("data folder", self.data_dir),
            ("log folder", self.log_dir),
            ("plugin folder", self.plugin_dir),
            ("settings folder", self.config_file.parent),
        )
        for role, folder in folders:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _unusable(role, folder, exc) from exc
            if not os.access(folder, os.W_OK | os.X_OK):
                raise UnusableFolder(
                    role,
                    folder,
                    "you may not write in it",
                    f"make it writable for you, or {CHOOSE_ANOTHER}",
                )


def _unusable(role: str, folder: Path, exc: OSError) -> UnusableFolder:
    """Explain why `folder.mkdir(parents=True)` failed with `exc`."""
    existing = _deepest_existing(folder)
    reason = exc.strerror or str(exc)
    create_it = f"create {folder} yourself and make it writable for you, or {CHOOSE_ANOTHER}"
    if not existing.is_dir():
        return UnusableFolder(
            role,
            folder,
            f"{existing} is a file, not a folder",
            f"move {existing} out of the way, or {CHOOSE_ANOTHER}",
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        why = f"you may not create folders in {existing} ({reason})"
    elif exc.errno == errno.EROFS:
        why = f"{existing} is on a read-only file system"
    elif exc.errno == errno.ENOENT:
        missing = folder if existing == folder else _child_towards(existing, folder)
        why = f"{missing} does not exist and cannot be created in {existing} ({reason})"
    elif exc.errno == errno.ENOSPC:
        why = f"the disk that holds {existing} is full"
    else:
        why = reason
    return UnusableFolder(role, folder, why, create_it)


def _deepest_existing(path: Path) -> Path:
    """`path` itself or its nearest ancestor that exists (as anything)."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor)


def _child_towards(ancestor: Path, path: Path) -> Path:
    """The child of `ancestor` on the way down to `path`."""
    return ancestor / path.relative_to(ancestor).parts[0]

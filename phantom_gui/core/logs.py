"""Logging to JSON lines in a rotating file, with spooky level names for people.

WHISPER, MURMUR, WAIL, SCREAM and BANSHEE are the standard levels DEBUG, INFO, WARNING,
ERROR and CRITICAL, so any library's logging fits in. The log file keeps the standard
names in ``level`` (what `jq` and log shippers expect) and adds the spooky one as
``spooky_level``; what the user reads (the console line) says the spooky name.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

WHISPER = logging.DEBUG
MURMUR = logging.INFO
WAIL = logging.WARNING
SCREAM = logging.ERROR
BANSHEE = logging.CRITICAL

SPOOKY_LEVELS = {
    WHISPER: "WHISPER",
    MURMUR: "MURMUR",
    WAIL: "WAIL",
    SCREAM: "SCREAM",
    BANSHEE: "BANSHEE",
}

LOG_FILE_NAME = "phantom.log.jsonl"
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


_installed_handlers: list[logging.Handler] = []


def spooky_name(level: int) -> str:
    """The spooky name of `level` (a level between two standard ones takes the lower's)."""
    known = [standard for standard in SPOOKY_LEVELS if standard <= level]
    return SPOOKY_LEVELS[max(known)] if known else logging.getLevelName(level)


class SpookyConsoleFormatter(logging.Formatter):
    """``phantom: SCREAM logger: message``: the console line a person reads."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"phantom: {spooky_name(record.levelno)} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: time, standard and spooky level, logger, message,
    extras, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "spooky_level": spooky_name(record.levelno),
            "logger": record.name,
            "message": record.getMessage(),
            "where": f"{record.pathname}:{record.lineno}",
            "thread": record.threadName,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES:
                entry[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            entry["traceback"] = "".join(traceback.format_exception(record.exc_info[1]))
        return json.dumps(entry, default=repr, ensure_ascii=False)


def configure_logging(
    log_dir: Path,
    *,
    level: int = MURMUR,
    console_level: int = SCREAM,
    max_bytes: int = 5_000_000,
    backups: int = 5,
) -> Path:
    """Send Phantom's logs to a rotating JSON-lines file in `log_dir`; return its path.

    Only records at `console_level` and above also reach standard error.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILE_NAME
    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    file_handler.setFormatter(JsonLineFormatter())
    file_handler.setLevel(level)
    console = logging.StreamHandler()
    console.setFormatter(SpookyConsoleFormatter())
    console.setLevel(console_level)
    root = logging.getLogger()
    for handler in _installed_handlers:
        root.removeHandler(handler)
        handler.close()
    _installed_handlers[:] = [file_handler, console]
    root.addHandler(file_handler)
    root.addHandler(console)
    root.setLevel(min(level, console_level))
    logging.captureWarnings(True)
    return path

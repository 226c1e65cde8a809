"""Where the chat's log records go: a rotating file under MLOPS_HOME, never the chat itself.

What a user must see is rendered as a chat message; log lines on the terminal would land between
them (and a script's output would change with the logging). The file keeps them for later.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler
from pathlib import Path

#: The log file, under MLOPS_HOME.
LOG_FILE = Path("logs") / "mlops-bot.log"
#: Size at which the file is rotated, and how many rotated files are kept (``.1`` … ``.3``).
LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 3
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"


def _on_console(handler: logging.Handler) -> bool:
    """A handler that writes to the terminal (stderr or stdout), such as ``logging.basicConfig``'s."""
    if not isinstance(handler, logging.StreamHandler) or isinstance(handler, logging.FileHandler):
        return False
    consoles = {id(s) for s in (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__) if s is not None}
    return id(handler.stream) in consoles


@contextlib.contextmanager
def chat_logs(home: Path, level: int = logging.INFO) -> Iterator[Path]:
    """While the chat runs, log records of ``level`` and above go to ``home/logs/mlops-bot.log`` only.

    Handlers writing to the terminal are set aside meanwhile and put back after; the file is
    rotated at :data:`LOG_MAX_BYTES`, keeping :data:`LOG_BACKUPS` earlier ones. Yields its path.
    """
    path = home / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(level)
    root = logging.getLogger()
    console = [h for h in root.handlers if _on_console(h)]
    for h in console:
        root.removeHandler(h)
    root.addHandler(handler)
    previous = root.level
    root.setLevel(level)
    try:
        yield path
    finally:
        root.setLevel(previous)
        root.removeHandler(handler)
        handler.close()
        for h in console:
            root.addHandler(h)


__all__ = ["LOG_BACKUPS", "LOG_FILE", "LOG_MAX_BYTES", "chat_logs"]

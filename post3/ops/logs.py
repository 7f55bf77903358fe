"""Logging for ``post3 run``: the access log line, and text or JSON output.

Each answered request produces one record on the ``post3.access`` logger. Its message is a
logfmt line (``key=value``, values with spaces quoted) that reads well in a terminal and parses
with any logfmt tool; with ``--log-format json`` every record, access or not, is one JSON object
per line, the access fields as top-level keys.

Access records are the one thing logged per request, so while the logging setup is the one
:func:`configure_logging` made, they skip ``logging``'s record machinery (a ``LogRecord``, the
caller lookup, a ``strftime`` per record) and are written straight to its handler's stream in
the same format, the time string cached for the second. Any other setup (a test's capture, a
handler or filter added by an embedder) gets ordinary records.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

LOG_FORMATS = ("text", "json")

access_log = logging.getLogger("post3.access")

#: The attribute of a LogRecord that carries the access fields.
ACCESS_FIELDS = "post3_access"


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_access(fields: dict[str, Any]) -> None:
    """Write one access record (request_id, operation, bucket, key, status, bytes, duration)."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    direct = _direct
    if direct is not None and direct.applies():
        try:
            direct.write(fields)
            return
        except (OSError, ValueError):
            pass  # a closed or broken stream: let logging report it as it reports any record
    access_log.info(logfmt(fields), extra={ACCESS_FIELDS: fields})


def logfmt(fields: dict[str, Any]) -> str:
    return " ".join([f"{name}={_logfmt_value(value)}" for name, value in fields.items()])


#: A value with one of these characters is quoted (one regex search, not a scan per character).
_NEEDS_QUOTES = re.compile(r'[ "=\\]')


def _logfmt_value(value: Any) -> str:
    if value is None or value == "":
        return "-"
    text = value if type(value) is str else str(value)
    if _NEEDS_QUOTES.search(text) or not text.isprintable():
        return json.dumps(text, ensure_ascii=False)
    return text


class _DirectAccess:
    """Writes access lines to the handler :func:`configure_logging` installed, formatted as
    its formatter would format them."""

    def __init__(self, handler: logging.StreamHandler[Any], json_format: bool) -> None:
        self.handler = handler
        self.json_format = json_format
        self._second = -1
        self._prefix = ""

    def applies(self) -> bool:
        """Whether a record would reach exactly this handler, unfiltered, and nothing else."""
        root = logging.root
        handler = self.handler
        return (len(root.handlers) == 1 and root.handlers[0] is handler
                and not access_log.handlers and access_log.propagate and not access_log.filters
                and not root.filters and not handler.filters
                and handler.level <= logging.INFO)

    def _time(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            if self.json_format:
                self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            else:
                self._prefix = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._second = second
        millis = int((now - second) * 1000)
        if self.json_format:
            return f"{self._prefix}.{millis:03d}+00:00"
        return f"{self._prefix},{millis:03d}"

    def write(self, fields: dict[str, Any]) -> None:
        moment = self._time(time.time())
        if self.json_format:
            line = json.dumps({"time": moment, "level": "INFO", "logger": access_log.name,
                               "pid": os.getpid(), **fields}, ensure_ascii=False, default=str)
        else:
            line = f"{moment} INFO {access_log.name}: {logfmt(fields)}"
        handler = self.handler
        with handler.lock:  # type: ignore[union-attr]  # a StreamHandler always has one
            handler.stream.write(line + handler.terminator)
            handler.stream.flush()


_direct: _DirectAccess | None = None


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, pid, message, and the access fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,  # which worker, with --workers N
        }
        fields = getattr(record, ACCESS_FIELDS, None)
        if fields is not None:
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Send post3's records to stderr in ``log_format`` (``text`` or ``json``)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    global _direct
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    _direct = _DirectAccess(handler, log_format == "json")

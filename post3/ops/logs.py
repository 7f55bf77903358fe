"""Logging for ``post3 run``: the access log line, and text or JSON output.

Each answered request produces one record on the ``post3.access`` logger. Its message is a
logfmt line (``key=value``, values with spaces quoted) that reads well in a terminal and parses
with any logfmt tool; with ``--log-format json`` every record, access or not, is one JSON object
per line, the access fields as top-level keys.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

LOG_FORMATS = ("text", "json")

access_log = logging.getLogger("post3.access")

#: The attribute of a LogRecord that carries the access fields.
ACCESS_FIELDS = "post3_access"


def log_access(fields: dict[str, Any]) -> None:
    """Write one access record (request_id, operation, bucket, key, status, bytes, duration)."""
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(logfmt(fields), extra={ACCESS_FIELDS: fields})


def logfmt(fields: dict[str, Any]) -> str:
    return " ".join(f"{name}={_logfmt_value(value)}" for name, value in fields.items())


def _logfmt_value(value: Any) -> str:
    if value is None or value == "":
        return "-"
    text = str(value)
    if any(c in text for c in ' "=\\') or not text.isprintable():
        return json.dumps(text, ensure_ascii=False)
    return text


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
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)

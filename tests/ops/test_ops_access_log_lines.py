"""The access line written straight to the stream is the line logging would have written."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from post3.ops import logs

FIELDS = {"request_id": "0123456789ABCDEF", "remote": "127.0.0.1", "method": "PUT",
          "operation": "PutObject", "bucket": "b", "key": 'dir/a "b"=c', "status": 200,
          "bytes_in": 5, "bytes_out": 0, "duration_ms": 1.25}


@pytest.fixture
def configured() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logs._direct
    yield
    root.handlers[:], level, logs._direct = saved
    root.setLevel(level)


def _capture(log_format: str) -> tuple[logging.StreamHandler[io.StringIO], io.StringIO]:
    logs.configure_logging(log_format)
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    handler.setStream(stream)  # type: ignore[arg-type]
    return handler, stream


def _through_logging(handler: logging.Handler, created: float) -> str:
    """What logging itself formats for the same fields at the same moment."""
    record = logs.access_log.makeRecord(
        logs.access_log.name, logging.INFO, __file__, 0, logs.logfmt(FIELDS), (), None,
        extra={logs.ACCESS_FIELDS: FIELDS})
    created += 0.0004  # within the millisecond shown, clear of float rounding at its edge
    record.created, record.msecs = created, int((created - int(created)) * 1000)
    return handler.format(record)


def test_text_line_is_the_formatter_line(configured: None) -> None:
    handler, stream = _capture("text")
    before = time.time()
    logs.log_access(FIELDS)
    (line,) = stream.getvalue().splitlines()
    stamp = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ", line)
    assert stamp is not None
    created = time.mktime(time.strptime(stamp[1], "%Y-%m-%d %H:%M:%S")) + int(stamp[2]) / 1000
    assert before - 1 <= created <= time.time()
    assert line == _through_logging(handler, created)
    assert ' key="dir/a \\"b\\"=c" status=200 ' in line


def test_json_line_is_the_formatter_line(configured: None) -> None:
    handler, stream = _capture("json")
    logs.log_access(FIELDS)
    logs.log_access(FIELDS)  # the same second, most likely: the cached time string
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    for line in lines:
        entry = json.loads(line)
        created = datetime.fromisoformat(entry["time"]).timestamp()
        assert json.loads(_through_logging(handler, created)) == entry
        assert entry["logger"] == "post3.access" and entry["key"] == FIELDS["key"]


def test_another_handler_gets_ordinary_records(configured: None,
                                               caplog: pytest.LogCaptureFixture) -> None:
    # caplog's handler sits on the root logger beside post3's: both must see the record
    _, stream = _capture("text")
    caplog.set_level(logging.INFO, logger="post3.access")
    logging.getLogger().addHandler(caplog.handler)
    logs.log_access(FIELDS)
    assert [r.getMessage() for r in caplog.records] == [logs.logfmt(FIELDS)]
    assert getattr(caplog.records[0], logs.ACCESS_FIELDS) == FIELDS
    assert "post3.access: request_id=0123456789ABCDEF" in stream.getvalue()


def test_a_disabled_access_log_writes_nothing(configured: None) -> None:
    _, stream = _capture("json")
    logs.access_log.setLevel(logging.WARNING)
    try:
        logs.log_access(FIELDS)
    finally:
        logs.access_log.setLevel(logging.NOTSET)
    assert stream.getvalue() == ""

"""Response header values the object operations send."""

from __future__ import annotations

import datetime as dt
import random
from email.utils import format_datetime

from post3.api.object_headers import http_date


def test_http_date_is_what_email_utils_writes() -> None:
    moments = [dt.datetime(1, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 12, 31, 23, 59, 59,
                                                                 999999, tzinfo=dt.UTC)]
    draw = random.Random(18)
    for _ in range(2000):
        zone = dt.timezone(dt.timedelta(minutes=draw.randrange(-720, 841, 15)))
        moments.append(dt.datetime.fromtimestamp(draw.uniform(0, 4e9), zone))
    for moment in moments:
        assert http_date(moment) == format_datetime(moment.astimezone(dt.UTC), usegmt=True)


def test_http_date_example() -> None:
    moment = dt.datetime(2026, 12, 2, 5, 39, 20, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert http_date(moment) == "Wed, 02 Dec 2026 04:39:20 GMT"

"""Object lock's rules, written once: what may remove a version, how retention may change, a
bucket's lock configuration and default retention, and the lock a write asks for.

A version is *locked* while it has a legal hold or a retention whose date is in the future.
Nothing removes a locked version: every backend asks :func:`check_removable` under the same
lock as the removal (``Backend.delete_object_version``), so the API, lifecycle and every
command go through this one rule. A GOVERNANCE retention gives way to a request that sends
``x-amz-bypass-governance-retention: true`` with a key allowed to (the bucket's owner or an
admin, :func:`post3.grants.may_bypass_governance`); COMPLIANCE and a legal hold never do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

from post3 import errors, xml
from post3.objects import COMPLIANCE, GOVERNANCE, LOCK_MODES, ObjectInfo, ObjectLock

#: The bucket configuration document that holds a bucket's ObjectLockConfiguration.
CONFIG = "object-lock"
#: The most a default retention may say (S3's limits: 36,500 days, 100 years).
MAX_DAYS, MAX_YEARS = 36500, 100

MODE_HEADER = "x-amz-object-lock-mode"
UNTIL_HEADER = "x-amz-object-lock-retain-until-date"
HOLD_HEADER = "x-amz-object-lock-legal-hold"
BYPASS_HEADER = "x-amz-bypass-governance-retention"

PROTECTED = "Access Denied because object protected by object lock."


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------- removal


def check_removable(info: ObjectInfo, bypass_governance: bool = False,
                    at: dt.datetime | None = None) -> None:
    """Raise AccessDenied if ``info`` may not be removed for good (nor overwritten by id)."""
    lock = info.attributes.lock
    when = at or now()
    if lock.legal_hold:
        raise errors.AccessDenied(PROTECTED)
    if lock.retained(when) and not (lock.mode == GOVERNANCE and bypass_governance):
        raise errors.AccessDenied(PROTECTED)


def changed_retention(current: ObjectLock, mode: str | None, until: dt.datetime | None,
                      bypass_governance: bool, at: dt.datetime | None = None) -> ObjectLock:
    """``current`` with the retention a PutObjectRetention asks for (``mode`` None removes it),
    if S3 allows the change: an expired retention may become anything; COMPLIANCE may only be
    kept or extended; GOVERNANCE may be extended, and changed otherwise only with a bypass."""
    when = at or now()
    if current.retained(when) and current.retain_until is not None:
        extends = mode == current.mode and until is not None and until >= current.retain_until
        if current.mode == COMPLIANCE and not extends:
            raise errors.AccessDenied(PROTECTED)
        if current.mode == GOVERNANCE and not extends and not bypass_governance:
            raise errors.AccessDenied(PROTECTED)
    return replace(current, mode=mode, retain_until=until)


# --------------------------------------------------------------------------- wire values


def parse_date(text: str, name: str) -> dt.datetime:
    """An ISO 8601 date as S3 takes it (``2030-01-01T00:00:00Z``, fractions allowed), in UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise errors.InvalidArgument(
            f"The {name} is not a valid ISO 8601 date", ArgumentName=name,
            ArgumentValue=text) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def format_date(value: dt.datetime) -> str:
    """S3's form: ``2030-01-01T00:00:00.000Z``."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _mode(text: str) -> str:
    if text not in LOCK_MODES:
        raise errors.InvalidArgument("Unknown wormMode directive.", ArgumentName=MODE_HEADER,
                                     ArgumentValue=text)
    return text


def _hold(text: str) -> bool:
    if text not in ("ON", "OFF"):
        raise errors.InvalidArgument("Legal Hold must be either of 'ON' or 'OFF'",
                                     ArgumentName=HOLD_HEADER, ArgumentValue=text)
    return text == "ON"


def _future(until: dt.datetime, at: dt.datetime | None = None) -> dt.datetime:
    if until <= (at or now()):
        raise errors.InvalidArgument("The retain until date must be in the future!")
    return until


def lock_from_headers(headers: Mapping[str, str]) -> ObjectLock | None:
    """The lock a write's headers (or a POST form's lower-case fields) ask for; None when they
    ask for none."""
    mode = headers.get(MODE_HEADER)
    until = headers.get(UNTIL_HEADER)
    hold = headers.get(HOLD_HEADER)
    if mode is None and until is None and hold is None:
        return None
    if (mode is None) != (until is None):
        raise errors.InvalidArgument(
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be "
            "supplied")
    return ObjectLock(
        None if mode is None else _mode(mode),
        None if until is None else _future(parse_date(until, UNTIL_HEADER)),
        None if hold is None else _hold(hold),
    )


def lock_headers(lock: ObjectLock) -> dict[str, str]:
    """What GET and HEAD send about a version's lock."""
    headers: dict[str, str] = {}
    if lock.mode is not None and lock.retain_until is not None:
        headers[MODE_HEADER] = lock.mode
        headers[UNTIL_HEADER] = format_date(lock.retain_until)
    if lock.legal_hold is not None:
        headers[HOLD_HEADER] = "ON" if lock.legal_hold else "OFF"
    return headers


def parse_retention(body: bytes) -> tuple[str | None, dt.datetime | None]:
    """A ``<Retention>`` document: ``(mode, retain-until)``, both None to remove it."""
    root = xml.parse(body, "Retention")
    mode = xml.child_text(root, "Mode")
    until = xml.child_text(root, "RetainUntilDate")
    if mode is None and until is None:
        return None, None
    if mode is None or until is None:
        raise errors.MalformedXML()
    if mode not in LOCK_MODES:
        raise errors.MalformedXML()
    return mode, _future(parse_date(until, "RetainUntilDate"))


def render_retention(lock: ObjectLock) -> bytes:
    if lock.mode is None or lock.retain_until is None:
        raise errors.NoSuchObjectLockConfiguration()
    return xml.render("Retention", [("Mode", lock.mode),
                                    ("RetainUntilDate", format_date(lock.retain_until))])


def parse_legal_hold(body: bytes) -> bool:
    root = xml.parse(body, "LegalHold")
    status = xml.child_text(root, "Status")
    if status not in ("ON", "OFF"):
        raise errors.MalformedXML()
    return status == "ON"


def render_legal_hold(lock: ObjectLock) -> bytes:
    if lock.legal_hold is None:
        raise errors.NoSuchObjectLockConfiguration()
    return xml.render("LegalHold", [("Status", "ON" if lock.legal_hold else "OFF")])


# --------------------------------------------------------------------------- bucket configuration


@dataclass(frozen=True, slots=True)
class Configuration:
    """A bucket's ObjectLockConfiguration: lock enabled (always, once there is one), and maybe a
    default retention for new versions (``days`` or ``years``)."""

    mode: str | None = None
    days: int | None = None
    years: int | None = None

    def default_lock(self, created: dt.datetime) -> ObjectLock:
        """The retention a new version gets when its write asks for none."""
        if self.mode is None:
            return ObjectLock()
        if self.days is not None:
            until = created + dt.timedelta(days=self.days)
        else:
            years = self.years or 0
            try:
                until = created.replace(year=created.year + years)
            except ValueError:  # 29 February into a year without one
                until = created.replace(year=created.year + years, day=28)
        return ObjectLock(self.mode, until)


def _period(text: str | None, limit: int) -> int | None:
    if text is None:
        return None
    if not text.strip().isdigit() or not 0 < int(text) <= limit:
        raise errors.InvalidArgument(
            "Default retention period must be a positive integer value", ArgumentName="Days"
            if limit == MAX_DAYS else "Years", ArgumentValue=text)
    return int(text)


def parse_configuration(body: bytes) -> Configuration:
    """An ``<ObjectLockConfiguration>`` as PutObjectLockConfiguration sends it."""
    root = xml.parse(body, "ObjectLockConfiguration")
    if xml.child_text(root, "ObjectLockEnabled") != "Enabled":
        raise errors.MalformedXML()
    rules = xml.children(root, "Rule")
    if not rules:
        return Configuration()
    retentions = xml.children(rules[0], "DefaultRetention")
    if len(rules) > 1 or len(retentions) != 1:
        raise errors.MalformedXML()
    retention = retentions[0]
    mode = xml.child_text(retention, "Mode")
    days = _period(xml.child_text(retention, "Days"), MAX_DAYS)
    years = _period(xml.child_text(retention, "Years"), MAX_YEARS)
    if mode not in LOCK_MODES or (days is None) == (years is None):
        raise errors.MalformedXML()
    return Configuration(mode, days, years)


def render_configuration(config: Configuration) -> bytes:
    children: list[xml.Child] = [("ObjectLockEnabled", "Enabled")]
    if config.mode is not None:
        children.append(("Rule", [("DefaultRetention", [
            ("Mode", config.mode), ("Days", config.days), ("Years", config.years)])]))
    return xml.render("ObjectLockConfiguration", children)

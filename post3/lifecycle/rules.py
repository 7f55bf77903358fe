"""S3's lifecycle rules: the configuration document, its validation, and the dates it sets.

Ages are counted as S3 counts them: a rule of N days expires an object at the first midnight
UTC after ``LastModified + N days`` (a noncurrent version: after the moment it became
noncurrent, which is its successor's LastModified). Tests shorten the day
(``POST3_LIFECYCLE_DAY_SECONDS``): with a day of D seconds, "midnight" is the next multiple of
D seconds since the epoch.

Transitions (``Transition``, ``NoncurrentVersionTransition``) are validated, kept and given
back, but never executed: post3 has one storage tier, where every storage class lives on the
same storage, so there is nowhere to move an object to; it keeps the class it was written
with.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

from post3 import errors, xml

MAX_RULES = 1000
MAX_ID = 255
DAY = 86400.0
STORAGE_CLASSES = frozenset({
    "GLACIER", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "DEEP_ARCHIVE",
    "GLACIER_IR",
})
#: The bucket configuration document that keeps the rules.
CONFIG = "lifecycle"


@dataclass(frozen=True, slots=True)
class Filter:
    """Which objects a rule applies to: all of the given predicates hold."""

    prefix: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    size_greater_than: int | None = None
    size_less_than: int | None = None
    #: how the document said it (``Prefix`` of the rule, ``Filter``, ``And``...), to render
    #: the rule back as it was given
    form: str = "filter"

    def matches(self, key: str, size: int, tags: Mapping[str, str] | None) -> bool:
        if not key.startswith(self.prefix):
            return False
        if self.size_greater_than is not None and not size > self.size_greater_than:
            return False
        if self.size_less_than is not None and not size < self.size_less_than:
            return False
        if self.tags:
            if tags is None:
                return False
            return all(tags.get(k) == v for k, v in self.tags.items())
        return True


@dataclass(frozen=True, slots=True)
class Transition:
    storage_class: str
    days: int | None = None
    date: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    enabled: bool
    filter: Filter
    expiration_days: int | None = None
    expiration_date: dt.datetime | None = None
    expired_object_delete_marker: bool | None = None
    noncurrent_days: int | None = None
    newer_noncurrent_versions: int | None = None
    abort_days: int | None = None
    transitions: tuple[Transition, ...] = ()
    noncurrent_transitions: tuple[tuple[str, int, int | None], ...] = ()

    @property
    def expires_current(self) -> bool:
        return self.expiration_days is not None or self.expiration_date is not None


@dataclass(frozen=True, slots=True)
class Configuration:
    rules: tuple[Rule, ...]

    def enabled(self) -> list[Rule]:
        return [rule for rule in self.rules if rule.enabled]


# --------------------------------------------------------------------------- dates


def expiry(start: dt.datetime, days: int, day_seconds: float = DAY) -> dt.datetime:
    """The first "midnight" after ``start + days`` (see the module docstring)."""
    moment = start.timestamp() + days * day_seconds
    midnight = (math.floor(moment / day_seconds) + 1) * day_seconds
    return dt.datetime.fromtimestamp(midnight, dt.UTC)


def current_expiry(config: Configuration, key: str, size: int, tags: Mapping[str, str] | None,
                   last_modified: dt.datetime, day_seconds: float = DAY
                   ) -> tuple[dt.datetime, str] | None:
    """When (and by which rule) the current version of an object expires: the earliest of
    the enabled Expiration rules that match it (S3's ``x-amz-expiration``)."""
    found: tuple[dt.datetime, str] | None = None
    for rule in config.enabled():
        if not rule.expires_current or not rule.filter.matches(key, size, tags):
            continue
        when = rule.expiration_date if rule.expiration_date is not None else expiry(
            last_modified, rule.expiration_days or 0, day_seconds)
        if found is None or when < found[0]:
            found = (when, rule.id)
    return found


# --------------------------------------------------------------------------- parsing


def _positive(text: str | None, message: str) -> int:
    try:
        value = int(text or "")
    except ValueError:
        raise errors.InvalidArgument(message) from None
    if value <= 0:
        raise errors.InvalidArgument(message)
    return value


def _date(text: str | None) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat((text or "").replace("Z", "+00:00"))
    except ValueError:
        raise errors.InvalidArgument("Invalid date: must be in ISO 8601 format") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    if (value.hour, value.minute, value.second, value.microsecond) != (0, 0, 0, 0):
        raise errors.InvalidArgument("'Date' must be at midnight GMT")
    return value


def _one(element: ET.Element, tag: str) -> ET.Element | None:
    found = xml.children(element, tag)
    if len(found) > 1:
        raise errors.MalformedXML()
    return found[0] if found else None


def _tag(element: ET.Element) -> tuple[str, str]:
    key, value = xml.child_text(element, "Key"), xml.child_text(element, "Value")
    if key is None or value is None:
        raise errors.MalformedXML()
    return key, value


def _size(element: ET.Element, tag: str) -> int | None:
    text = xml.child_text(element, tag)
    if text is None:
        return None
    if not re.fullmatch(r"\d{1,19}", text.strip()):
        raise errors.InvalidArgument(f"'{tag}' must be a non-negative integer")
    return int(text)


def _filter(rule: ET.Element) -> Filter:
    legacy = xml.child_text(rule, "Prefix")
    element = _one(rule, "Filter")
    if element is None:
        return Filter(prefix=legacy or "", form="prefix" if legacy is not None else "none")
    if legacy is not None:
        raise errors.MalformedXML()
    predicates = [child for child in element if isinstance(child.tag, str)]
    if len(predicates) > 1:
        raise errors.MalformedXML()
    if not predicates:
        return Filter(form="filter")
    predicate = predicates[0]
    name = predicate.tag.rpartition("}")[2]
    if name == "Prefix":
        return Filter(prefix=predicate.text or "", form="filter")
    if name == "Tag":
        key, value = _tag(predicate)
        return Filter(tags={key: value}, form="filter")
    if name in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"):
        size = _size(element, name)
        return Filter(size_greater_than=size if name == "ObjectSizeGreaterThan" else None,
                      size_less_than=size if name == "ObjectSizeLessThan" else None,
                      form="filter")
    if name != "And":
        raise errors.MalformedXML()
    tags: dict[str, str] = {}
    for tag in xml.children(predicate, "Tag"):
        key, value = _tag(tag)
        if key in tags:
            raise errors.InvalidRequest("Duplicate Tag Keys are not allowed.")
        tags[key] = value
    result = Filter(prefix=xml.child_text(predicate, "Prefix") or "", tags=tags,
                    size_greater_than=_size(predicate, "ObjectSizeGreaterThan"),
                    size_less_than=_size(predicate, "ObjectSizeLessThan"), form="and")
    if result.size_greater_than is not None and result.size_less_than is not None \
            and result.size_greater_than >= result.size_less_than:
        raise errors.InvalidRequest(
            "ObjectSizeGreaterThan must be less than ObjectSizeLessThan in the filter")
    return result


def _rule(element: ET.Element, index: int) -> Rule:
    rule_id = xml.child_text(element, "ID") or ""
    if len(rule_id) > MAX_ID:
        raise errors.InvalidArgument("ID length should not exceed allowed limit of 255")
    status = xml.child_text(element, "Status")
    if status not in ("Enabled", "Disabled"):
        raise errors.MalformedXML()
    flt = _filter(element)
    values: dict[str, object] = {}
    expiration = _one(element, "Expiration")
    if expiration is not None:
        days, date = xml.child_text(expiration, "Days"), xml.child_text(expiration, "Date")
        marker = xml.child_text(expiration, "ExpiredObjectDeleteMarker")
        given = [v for v in (days, date, marker) if v is not None]
        if len(given) != 1:
            raise errors.MalformedXML()
        if days is not None:
            values["expiration_days"] = _positive(
                days, "'Days' for Expiration action must be a positive integer")
        elif date is not None:
            values["expiration_date"] = _date(date)
        else:
            if (marker or "").lower() not in ("true", "false"):
                raise errors.MalformedXML()
            if flt.tags:
                raise errors.InvalidRequest(
                    "ExpiredObjectDeleteMarker cannot be specified with object tags")
            values["expired_object_delete_marker"] = (marker or "").lower() == "true"
    noncurrent = _one(element, "NoncurrentVersionExpiration")
    if noncurrent is not None:
        values["noncurrent_days"] = _positive(
            xml.child_text(noncurrent, "NoncurrentDays"),
            "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive "
            "integer")
        newer = xml.child_text(noncurrent, "NewerNoncurrentVersions")
        if newer is not None:
            count = _positive(newer, "'NewerNoncurrentVersions' must be a positive integer")
            if count > 100:
                raise errors.InvalidArgument(
                    "'NewerNoncurrentVersions' must not be greater than 100")
            values["newer_noncurrent_versions"] = count
    abort = _one(element, "AbortIncompleteMultipartUpload")
    if abort is not None:
        if flt.tags:
            raise errors.InvalidRequest(
                "AbortIncompleteMultipartUpload cannot be specified with Tags.")
        values["abort_days"] = _positive(
            xml.child_text(abort, "DaysAfterInitiation"),
            "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a "
            "positive integer")
    transitions = []
    for transition in xml.children(element, "Transition"):
        storage_class = xml.child_text(transition, "StorageClass") or ""
        if storage_class not in STORAGE_CLASSES:
            raise errors.InvalidStorageClass()
        days, date = xml.child_text(transition, "Days"), xml.child_text(transition, "Date")
        if (days is None) == (date is None):
            raise errors.MalformedXML()
        if days is not None and not days.isdigit():
            raise errors.InvalidArgument("'Days' in Transition action must be nonnegative")
        transitions.append(Transition(storage_class,
                                      days=int(days) if days is not None else None,
                                      date=_date(date) if date is not None else None))
    noncurrent_transitions = []
    for transition in xml.children(element, "NoncurrentVersionTransition"):
        storage_class = xml.child_text(transition, "StorageClass") or ""
        if storage_class not in STORAGE_CLASSES:
            raise errors.InvalidStorageClass()
        days_text = xml.child_text(transition, "NoncurrentDays") or ""
        if not days_text.isdigit():
            raise errors.InvalidArgument(
                "'NoncurrentDays' in NoncurrentVersionTransition action must be nonnegative")
        newer = xml.child_text(transition, "NewerNoncurrentVersions")
        noncurrent_transitions.append((storage_class, int(days_text),
                                       _positive(newer, "'NewerNoncurrentVersions' must be a "
                                                 "positive integer") if newer else None))
    if not (values or transitions or noncurrent_transitions):
        raise errors.InvalidRequest("At least one action needs to be specified in a rule")
    return Rule(id=rule_id or f"rule-{index + 1}", enabled=status == "Enabled", filter=flt,
                transitions=tuple(transitions),
                noncurrent_transitions=tuple(noncurrent_transitions),
                **values)  # type: ignore[arg-type]


def parse(body: bytes) -> Configuration:
    """A ``LifecycleConfiguration`` document, validated as S3 validates it."""
    root = xml.parse(body, "LifecycleConfiguration")
    elements = xml.children(root, "Rule")
    if not elements or len(elements) > MAX_RULES:
        raise errors.MalformedXML()
    rules = tuple(_rule(element, i) for i, element in enumerate(elements))
    ids = [rule.id for rule in rules]
    if len(set(ids)) != len(ids):
        raise errors.InvalidArgument(
            "Rule ID must be unique. Found same ID for more than one rule")
    return Configuration(rules)


# --------------------------------------------------------------------------- rendering


def _date_text(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _filter_children(flt: Filter) -> list[xml.Child]:
    tags: list[xml.Child] = [("Tag", [("Key", k), ("Value", v)]) for k, v in flt.tags.items()]
    if flt.form == "and":
        return [("Filter", [("And", [
            ("Prefix", flt.prefix or None), *tags,
            ("ObjectSizeGreaterThan", flt.size_greater_than),
            ("ObjectSizeLessThan", flt.size_less_than)])])]
    if flt.form == "prefix":
        return [("Prefix", flt.prefix)]
    if flt.form == "none":
        return []
    inner: list[xml.Child] = []
    if flt.tags:
        inner = tags
    elif flt.size_greater_than is not None:
        inner = [("ObjectSizeGreaterThan", flt.size_greater_than)]
    elif flt.size_less_than is not None:
        inner = [("ObjectSizeLessThan", flt.size_less_than)]
    elif flt.prefix:
        inner = [("Prefix", flt.prefix)]
    return [("Filter", inner)]


def render(config: Configuration) -> bytes:
    """The document GetBucketLifecycleConfiguration answers (and post3 stores)."""
    rules: list[xml.Child] = []
    for rule in config.rules:
        children: list[xml.Child] = [("ID", rule.id), *_filter_children(rule.filter),
                                     ("Status", "Enabled" if rule.enabled else "Disabled")]
        for transition in rule.transitions:
            children.append(("Transition", [
                ("Date", _date_text(transition.date) if transition.date else None),
                ("Days", transition.days), ("StorageClass", transition.storage_class)]))
        if rule.expires_current or rule.expired_object_delete_marker is not None:
            children.append(("Expiration", [
                ("Date", _date_text(rule.expiration_date) if rule.expiration_date else None),
                ("Days", rule.expiration_days),
                ("ExpiredObjectDeleteMarker", rule.expired_object_delete_marker)]))
        for storage_class, days, newer in rule.noncurrent_transitions:
            children.append(("NoncurrentVersionTransition", [
                ("NoncurrentDays", days), ("StorageClass", storage_class),
                ("NewerNoncurrentVersions", newer)]))
        if rule.noncurrent_days is not None:
            children.append(("NoncurrentVersionExpiration", [
                ("NoncurrentDays", rule.noncurrent_days),
                ("NewerNoncurrentVersions", rule.newer_noncurrent_versions)]))
        if rule.abort_days is not None:
            children.append(("AbortIncompleteMultipartUpload", [
                ("DaysAfterInitiation", rule.abort_days)]))
        rules.append(("Rule", children))
    return xml.render("LifecycleConfiguration", rules)


__all__ = ["CONFIG", "Configuration", "Filter", "Rule", "current_expiry", "expiry", "parse",
           "render"]

"""Lifecycle configuration documents: S3's validation, the round trip, and the dates rules set."""

from __future__ import annotations

import datetime as dt

import pytest

from post3 import errors
from post3.lifecycle import rules

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def doc(*rule_bodies: str) -> bytes:
    return (f"<LifecycleConfiguration {NS}>"
            + "".join(f"<Rule>{body}</Rule>" for body in rule_bodies)
            + "</LifecycleConfiguration>").encode()


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def test_a_full_rule_round_trips() -> None:
    body = doc(
        "<ID>logs</ID><Filter><And><Prefix>logs/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>"
        "<ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status>"
        "<Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>"
        "<Expiration><Days>365</Days></Expiration>"
        "<NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays>"
        "<NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>",
        "<ID>tmp</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Disabled</Status>"
        "<Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration>"
        "<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation>"
        "</AbortIncompleteMultipartUpload>",
        "<ID>markers</ID><Filter/><Status>Enabled</Status>"
        "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>",
        "<ID>legacy</ID><Prefix>old/</Prefix><Status>Enabled</Status>"
        "<Expiration><Days>1</Days></Expiration>",
    )
    config = rules.parse(body)
    assert [r.id for r in config.rules] == ["logs", "tmp", "markers", "legacy"]
    logs = config.rules[0]
    assert (logs.filter.prefix, dict(logs.filter.tags), logs.filter.size_greater_than) == (
        "logs/", {"k": "v"}, 10)
    assert (logs.expiration_days, logs.noncurrent_days, logs.newer_noncurrent_versions) == (
        365, 7, 3)
    assert config.rules[1].expiration_date == utc(2030, 1, 1)
    assert not config.rules[1].enabled and config.rules[1].abort_days == 2
    assert config.rules[2].expired_object_delete_marker is True
    assert config.rules[3].filter.prefix == "old/"
    assert rules.parse(rules.render(config)) == config


@pytest.mark.parametrize(("body", "error"), [
    ("<ID>a</ID><Filter/><Status>On</Status><Expiration><Days>1</Days></Expiration>",
     errors.MalformedXML),
    ("<ID>a</ID><Filter/><Status>Enabled</Status>", errors.InvalidRequest),
    ("<ID>a</ID><Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>",
     errors.InvalidArgument),
    ("<ID>a</ID><Filter/><Status>Enabled</Status><Expiration><Days>-3</Days></Expiration>",
     errors.InvalidArgument),
    ("<ID>a</ID><Filter/><Status>Enabled</Status>"
     "<Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>",
     errors.MalformedXML),
    ("<ID>a</ID><Filter/><Status>Enabled</Status>"
     "<Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration>", errors.InvalidArgument),
    ("<ID>a</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>"
     "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
     "</AbortIncompleteMultipartUpload>", errors.InvalidRequest),
    ("<ID>a</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>"
     "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>",
     errors.InvalidRequest),
    ("<ID>a</ID><Prefix>x</Prefix><Filter/><Status>Enabled</Status>"
     "<Expiration><Days>1</Days></Expiration>", errors.MalformedXML),
    ("<ID>a</ID><Filter><Prefix>x</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>"
     "<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>", errors.MalformedXML),
    ("<ID>" + "i" * 256 + "</ID><Filter/><Status>Enabled</Status>"
     "<Expiration><Days>1</Days></Expiration>", errors.InvalidArgument),
    ("<ID>a</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration>"
     "<NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions>"
     "</NoncurrentVersionExpiration>", errors.InvalidArgument),
    ("<ID>a</ID><Filter/><Status>Enabled</Status>"
     "<Transition><Days>1</Days><StorageClass>PLATINUM</StorageClass></Transition>",
     errors.InvalidStorageClass),
    ("<ID>a</ID><Filter><And><ObjectSizeGreaterThan>9</ObjectSizeGreaterThan>"
     "<ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter><Status>Enabled</Status>"
     "<Expiration><Days>1</Days></Expiration>", errors.InvalidRequest),
])
def test_invalid_rules_get_s3s_errors(body: str, error: type[errors.S3Error]) -> None:
    with pytest.raises(error):
        rules.parse(doc(body))


def test_configuration_level_errors() -> None:
    with pytest.raises(errors.MalformedXML):
        rules.parse(doc())
    rule = "<ID>same</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"
    with pytest.raises(errors.InvalidArgument, match="unique"):
        rules.parse(doc(rule, rule))
    with pytest.raises(errors.MalformedXML):
        rules.parse(doc(*[rule.replace("same", str(i)) for i in range(1001)]))
    with pytest.raises(errors.MalformedXML):
        rules.parse(b"<LifecycleConfiguration><Rule>")


def test_ages_round_up_to_the_next_midnight_utc() -> None:
    # S3: LastModified + N days, then the following midnight UTC.
    assert rules.expiry(utc(2026, 1, 15, 10, 30), 1) == utc(2026, 1, 17)
    assert rules.expiry(utc(2026, 1, 15, 23, 59, 59), 1) == utc(2026, 1, 17)
    assert rules.expiry(utc(2026, 1, 31, 0, 0, 1), 30) == utc(2026, 3, 3)
    # a shortened day: 10-second "days", "midnight" every 10 seconds
    start = dt.datetime.fromtimestamp(1_000_003, dt.UTC)
    assert rules.expiry(start, 2, day_seconds=10) == dt.datetime.fromtimestamp(1_000_030, dt.UTC)


def test_the_earliest_matching_enabled_rule_names_the_expiry() -> None:
    config = rules.parse(doc(
        "<ID>long</ID><Filter><Prefix>a/</Prefix></Filter><Status>Enabled</Status>"
        "<Expiration><Days>30</Days></Expiration>",
        "<ID>short</ID><Filter><Tag><Key>t</Key><Value>1</Value></Tag></Filter>"
        "<Status>Enabled</Status><Expiration><Days>2</Days></Expiration>",
        "<ID>off</ID><Filter/><Status>Disabled</Status><Expiration><Days>1</Days></Expiration>",
        "<ID>big</ID><Filter><ObjectSizeGreaterThan>100</ObjectSizeGreaterThan></Filter>"
        "<Status>Enabled</Status><Expiration><Days>5</Days></Expiration>",
    ))
    made = utc(2026, 1, 1, 12)
    assert rules.current_expiry(config, "a/x", 1, {}, made) == (utc(2026, 2, 1), "long")
    assert rules.current_expiry(config, "a/x", 1, {"t": "1"}, made) == (utc(2026, 1, 4), "short")
    assert rules.current_expiry(config, "a/x", 101, {}, made) == (utc(2026, 1, 7), "big")
    assert rules.current_expiry(config, "b/x", 1, {}, made) is None

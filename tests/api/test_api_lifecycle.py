"""Put/Get/DeleteBucketLifecycleConfiguration on the wire, and ``x-amz-expiration``."""

from __future__ import annotations

import re

from defusedxml import ElementTree

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
RULES = (b'<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
         b"<Rule><ID>tmp rule</ID><Filter><Prefix>tmp/</Prefix></Filter>"
         b"<Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>"
         b"<Rule><ID>mpu</ID><Filter/><Status>Enabled</Status>"
         b"<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
         b"</AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>")


async def test_round_trip_and_delete(client, bucket, error_code):
    response = await client.get(f"/{bucket}?lifecycle")
    assert response.status == 404
    assert await error_code(response) == "NoSuchLifecycleConfiguration"
    assert (await client.put(f"/{bucket}?lifecycle", data=RULES)).status == 200
    response = await client.get(f"/{bucket}?lifecycle")
    assert response.status == 200
    root = ElementTree.fromstring(await response.read())
    assert [r.findtext(f"{NS}ID") for r in root.iter(f"{NS}Rule")] == ["tmp rule", "mpu"]
    assert root.find(f"{NS}Rule/{NS}Expiration/{NS}Days").text == "3"
    assert (await client.delete(f"/{bucket}?lifecycle")).status == 204
    assert (await client.get(f"/{bucket}?lifecycle")).status == 404
    assert (await client.put("/no-such-bucket?lifecycle", data=RULES)).status == 404


async def test_invalid_rules_are_refused_and_nothing_is_stored(client, bucket, error_code):
    bad = RULES.replace(b"<Days>3</Days>", b"<Days>0</Days>")
    response = await client.put(f"/{bucket}?lifecycle", data=bad)
    assert response.status == 400
    assert await error_code(response) == "InvalidArgument"
    response = await client.put(f"/{bucket}?lifecycle", data=b"<LifecycleConfiguration>")
    assert await error_code(response) == "MalformedXML"
    assert (await client.get(f"/{bucket}?lifecycle")).status == 404


async def test_objects_a_rule_expires_say_when(client, bucket):
    await client.put(f"/{bucket}?lifecycle", data=RULES)
    put = await client.put(f"/{bucket}/tmp/a", data=b"x")
    header = put.headers.get("x-amz-expiration")
    assert header is not None
    assert re.fullmatch(r'expiry-date="\w{3}, \d\d \w{3} \d{4} 00:00:00 GMT", '
                        r'rule-id="tmp%20rule"', header)
    assert (await client.get(f"/{bucket}/tmp/a")).headers["x-amz-expiration"] == header
    assert (await client.head(f"/{bucket}/tmp/a")).headers["x-amz-expiration"] == header
    await client.put(f"/{bucket}/keep", data=b"x")
    assert "x-amz-expiration" not in (await client.head(f"/{bucket}/keep")).headers
    # a rule removed stops naming objects at once (through the same server)
    await client.delete(f"/{bucket}?lifecycle")
    assert "x-amz-expiration" not in (await client.head(f"/{bucket}/tmp/a")).headers

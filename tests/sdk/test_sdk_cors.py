"""CORS on a live server, on every backend: Put/Get/DeleteBucketCors through boto3 with S3's
validation, the unauthenticated preflight ``OPTIONS`` answered from the rules, and the
``Access-Control-*`` headers of actual responses, errors included."""

from __future__ import annotations

import boto3
import pytest
import urllib3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from defusedxml import ElementTree as ET

APP = "https://app.example.com"
RULES = [
    {"ID": "uploads from the app", "AllowedOrigins": [APP, "https://*.preview.example.com"],
     "AllowedMethods": ["PUT", "POST", "GET"], "AllowedHeaders": ["content-type", "x-amz-*"],
     "ExposeHeaders": ["ETag", "x-amz-request-id"], "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]},
]


def code_of(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["Error"]["Code"]


def signed(endpoint: str, method: str, path: str, body: bytes = b"") -> urllib3.BaseHTTPResponse:
    """A raw SigV4 request, for documents boto3 would refuse to send."""
    import hashlib

    request = AWSRequest(method=method, url=endpoint + path, data=body,
                         headers={"x-amz-content-sha256": hashlib.sha256(body).hexdigest()})
    S3SigV4Auth(Credentials("testing", "testing"), "s3", "us-east-1").add_auth(request)
    return urllib3.request(method, endpoint + path, body=body, headers=dict(request.headers))


def error_code(response: urllib3.BaseHTTPResponse) -> str | None:
    return ET.fromstring(response.data).findtext("Code")


def preflight(endpoint: str, path: str, origin: str | None, method: str | None,
              headers: str | None = None) -> urllib3.BaseHTTPResponse:
    sent = {}
    if origin is not None:
        sent["Origin"] = origin
    if method is not None:
        sent["Access-Control-Request-Method"] = method
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return urllib3.request("OPTIONS", endpoint + path, headers=sent)


def test_put_get_delete_bucket_cors(s3, bucket):
    assert code_of(lambda: s3.get_bucket_cors(Bucket=bucket)) == "NoSuchCORSConfiguration"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == RULES
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES[1:]})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == RULES[1:]
    s3.delete_bucket_cors(Bucket=bucket)
    assert code_of(lambda: s3.get_bucket_cors(Bucket=bucket)) == "NoSuchCORSConfiguration"
    s3.delete_bucket_cors(Bucket=bucket)  # nothing to delete is fine
    assert code_of(lambda: s3.get_bucket_cors(Bucket="no-such-bucket-cors")) == "NoSuchBucket"
    assert code_of(lambda: s3.put_bucket_cors(
        Bucket="no-such-bucket-cors", CORSConfiguration={"CORSRules": RULES})) == "NoSuchBucket"


def test_deleting_the_bucket_deletes_its_cors(s3, bucket):
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    s3.delete_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=bucket)
    assert code_of(lambda: s3.get_bucket_cors(Bucket=bucket)) == "NoSuchCORSConfiguration"


@pytest.mark.parametrize(("rules", "code"), [
    ([{"AllowedOrigins": [APP], "AllowedMethods": ["PATCH"]}], "InvalidRequest"),
    ([{"AllowedOrigins": ["https://*.*.example.com"], "AllowedMethods": ["GET"]}],
     "InvalidRequest"),
    ([{"AllowedOrigins": [APP], "AllowedMethods": ["GET"], "AllowedHeaders": ["x-*-*"]}],
     "InvalidRequest"),
    ([{"ID": "i" * 256, "AllowedOrigins": [APP], "AllowedMethods": ["GET"]}], "InvalidRequest"),
    ([{"AllowedOrigins": [APP], "AllowedMethods": ["GET"]}] * 101, "MalformedXML"),
])
def test_invalid_rules_are_refused(s3, bucket, rules, code):
    assert code_of(lambda: s3.put_bucket_cors(
        Bucket=bucket, CORSConfiguration={"CORSRules": rules})) == code
    assert code_of(lambda: s3.get_bucket_cors(Bucket=bucket)) == "NoSuchCORSConfiguration"


@pytest.mark.parametrize("document", [
    b"not xml",
    b"<CORSConfiguration></CORSConfiguration>",
    b"<Other><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></Other>",
    b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule>"
    b"</CORSConfiguration>",
    b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>"
    b"</CORSConfiguration>",
    b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET"
    b"</AllowedMethod><MaxAgeSeconds>soon</MaxAgeSeconds></CORSRule></CORSConfiguration>",
])
def test_malformed_documents_are_refused(endpoint_url, bucket, document):
    response = signed(endpoint_url, "PUT", f"/{bucket}?cors", document)
    assert (response.status, error_code(response)) == (400, "MalformedXML"), response.data


def test_preflight_is_answered_from_the_rules_without_credentials(s3, endpoint_url, bucket):
    path = f"/{bucket}/photos/cat.jpg"
    assert preflight(endpoint_url, path, APP, "PUT").status == 403  # no rules yet
    assert error_code(preflight(endpoint_url, path, APP, "PUT")) == "AccessForbidden"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})

    allowed = preflight(endpoint_url, path, APP, "PUT", "Content-Type, X-Amz-Meta-Owner")
    assert allowed.status == 200, allowed.data
    assert allowed.headers["Access-Control-Allow-Origin"] == APP
    assert allowed.headers["Access-Control-Allow-Methods"] == "PUT, POST, GET"
    assert allowed.headers["Access-Control-Allow-Headers"] == "Content-Type, X-Amz-Meta-Owner"
    assert allowed.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    assert allowed.headers["Access-Control-Max-Age"] == "600"
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in allowed.headers["Vary"]

    wildcard = preflight(endpoint_url, f"/{bucket}", "https://pr-7.preview.example.com", "POST")
    assert wildcard.status == 200
    assert wildcard.headers["Access-Control-Allow-Origin"] == "https://pr-7.preview.example.com"
    anyone = preflight(endpoint_url, path, "https://elsewhere.test", "GET")
    assert anyone.status == 200
    assert anyone.headers["Access-Control-Allow-Origin"] == "*"

    for origin, method, headers in [
        ("https://elsewhere.test", "PUT", None),  # origin allowed only for GET and HEAD
        (APP, "DELETE", None),  # method not allowed
        (APP, "PUT", "authorization"),  # header not allowed
        ("https://app.example.com.evil.test", "PUT", None),
    ]:
        refused = preflight(endpoint_url, path, origin, method, headers)
        assert (refused.status, error_code(refused)) == (403, "AccessForbidden"), (origin, method)
        assert "Access-Control-Allow-Origin" not in refused.headers
    assert preflight(endpoint_url, path, None, "PUT").status == 400
    assert preflight(endpoint_url, path, APP, None).status == 400
    # Nothing was stored by any of it.
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_actual_responses_carry_cors_headers_errors_included(s3, endpoint_url, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"body")
    plain = urllib3.request("GET", f"{endpoint_url}/{bucket}/k", headers={"Origin": APP})
    assert "Access-Control-Allow-Origin" not in plain.headers  # no rules yet
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})

    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    got = urllib3.request("GET", url, headers={"Origin": APP})
    assert got.status == 200 and got.data == b"body"
    assert got.headers["Access-Control-Allow-Origin"] == APP
    assert got.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    assert "Origin" in got.headers["Vary"]

    missing = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "nope"})
    not_found = urllib3.request("GET", missing, headers={"Origin": APP})
    assert not_found.status == 404
    assert not_found.headers["Access-Control-Allow-Origin"] == APP
    anonymous = urllib3.request("GET", f"{endpoint_url}/{bucket}/k", headers={"Origin": APP})
    assert anonymous.status == 403
    assert anonymous.headers["Access-Control-Allow-Origin"] == APP

    # A method the origin's rules do not allow: no Allow-Origin, but still Vary.
    other = urllib3.request("PUT", f"{endpoint_url}/{bucket}/k", body=b"x",
                            headers={"Origin": "https://elsewhere.test"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Origin" in other.headers["Vary"]
    # Without Origin, nothing CORS-shaped.
    assert "Access-Control-Allow-Origin" not in urllib3.request("GET", url).headers


def test_cors_works_with_every_signature_client(endpoint_url, bucket):
    """SigV2-signed CORS calls (s3cmd's ``setcors``) as well."""
    v2 = boto3.client("s3", endpoint_url=endpoint_url, aws_access_key_id="testing",
                      aws_secret_access_key="testing", region_name="us-east-1",
                      config=Config(signature_version="s3", s3={"addressing_style": "path"}))
    v2.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES[1:]})
    assert v2.get_bucket_cors(Bucket=bucket)["CORSRules"] == RULES[1:]
    v2.delete_bucket_cors(Bucket=bucket)

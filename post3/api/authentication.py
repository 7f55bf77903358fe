"""Who sent a request, and may they: the glue between the HTTP layer, the signature checks in
:mod:`post3.auth` and the keys a :class:`~post3.credentials.CredentialsProvider` knows."""

from __future__ import annotations

import datetime as dt

from post3 import errors, keys
from post3.api.authorization import authorize
from post3.api.request import S3Request
from post3.auth import AuthResult, RequestView, authenticate, is_anonymous, parse_post_form
from post3.credentials import AccessKey


async def authenticate_request(s3: S3Request, view: RequestView | None = None
                               ) -> tuple[AccessKey, AuthResult]:
    """Verify the request's signature (header, presigned SigV4 or SigV2) against the key it
    names; raises the S3 error AWS sends (AccessDenied for anonymous requests). ``view``: the
    request's view, when the caller has built it already."""
    provider = s3.request.app[keys.CREDENTIALS]
    view = view or _view(s3)
    found: dict[str, AccessKey] = {}

    async def lookup_secret(access_key_id: str) -> str | None:
        key = await provider.lookup(access_key_id)
        if key is None:
            return None
        found[access_key_id] = key
        return key.secret_access_key

    result = await authenticate(view, lookup_secret)
    return found[result.access_key_id], result


def _view(s3: S3Request) -> RequestView:
    request = s3.request
    return RequestView(request.method, request.raw_path, request.rel_url.raw_query_string,
                       request.headers, dt.datetime.now(dt.UTC),
                       virtual_bucket=s3.bucket if s3.virtual_host else None)


async def admit(s3: S3Request) -> None:
    """Authenticate and authorize ``s3`` (unless the server runs with ``--no-auth``), or raise
    the S3 error AWS sends; on success mark it admitted, which its body needs to be read.

    Everything is decided from the request's head, except for a browser POST, whose
    credentials are the form fields before its file: those are read and verified here, and
    the file stays unread. What a body must still prove once it streams (a signed hex hash,
    chunk signatures) its reader checks before a backend commits anything.
    """
    if s3.operation == "PostObject":
        await admit_post_form(s3)
    elif s3.operation == "OptionsObject":
        pass  # a CORS preflight carries no credentials: S3 answers it from the bucket's rules
    elif s3.settings.auth:
        view = _view(s3)
        if is_anonymous(view):
            s3.anonymous = True
            await authorize(s3, None)
        else:
            key, result = await authenticate_request(s3, view)
            await authorize(s3, key)
            s3.identity = key
            s3.auth = result
    s3.admitted = True


async def admit_post_form(s3: S3Request) -> None:
    from post3.api.post_object import read_form

    form = await read_form(s3)
    if not s3.settings.auth:
        return
    signed = parse_post_form(form.fields, s3.bucket, dt.datetime.now(dt.UTC))
    key = await s3.request.app[keys.CREDENTIALS].lookup(signed.access_key_id)
    if key is None:
        raise errors.InvalidAccessKeyId(AWSAccessKeyId=signed.access_key_id)
    form.policy = signed.verify(key.secret_access_key)
    object_key = next((v for k, v in form.fields.items() if k.lower() == "key"), "")
    await authorize(s3, key, "PostObject", object_key=object_key)
    s3.identity = key


def visible_buckets(s3: S3Request, names: list[str]) -> list[str]:
    """ListBuckets shows only the buckets the key may read."""
    if s3.identity is None:
        return names
    return [name for name in names if s3.identity.allows(name, "read")]


__all__ = ["admit", "authenticate_request", "errors", "visible_buckets"]

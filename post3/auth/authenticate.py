"""The entry point a middleware calls: which scheme signed a request, and does it verify.

``await authenticate(view, lookup_secret)`` returns an :class:`AuthResult` (the access key id and
what the body still has to prove) or raises the S3 error AWS would send. ``lookup_secret`` maps
an access key id to its secret, or None for an unknown key; it may be sync or async.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from post3 import errors
from post3.auth import sigv2, sigv4
from post3.auth.request_view import RequestView
from post3.auth.result import AuthResult

LookupSecret = Callable[[str], "str | None | Awaitable[str | None]"]
SignedRequest = sigv4.SigV4Request | sigv2.SigV2Request

_V4_QUERY = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
_V2_QUERY = ("AWSAccessKeyId", "Signature")


def is_anonymous(view: RequestView) -> bool:
    """No signature of any scheme: an anonymous request (which only public buckets admit)."""
    return view.header("authorization") is None and not (view.raw_query and any(
        view.query_param(name) is not None for name in (*_V4_QUERY, *_V2_QUERY)))


def parse_request(view: RequestView) -> SignedRequest:
    """The request's signature, parsed and time-checked; raises for anonymous, malformed,
    skewed and expired requests. Needs no secret."""
    authorization = view.header("authorization")
    # Without a query string (most signed requests) neither presigned form can be there.
    v4_query = bool(view.raw_query) and any(
        view.query_param(name) is not None for name in _V4_QUERY)
    v2_query = bool(view.raw_query) and any(
        view.query_param(name) is not None for name in _V2_QUERY)
    if (authorization is not None) + v4_query + v2_query > 1:
        raise errors.InvalidArgument(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
            ArgumentName="Authorization",
            ArgumentValue=authorization or "",
        )
    if authorization is not None:
        if authorization.startswith("AWS "):
            return sigv2.parse_authorization_header(view, authorization)
        return sigv4.parse_authorization_header(view, authorization)
    if v4_query:
        return sigv4.parse_presigned_query(view)
    if v2_query:
        return sigv2.parse_presigned_query(view)
    raise errors.AccessDenied()


def verify_request(signed: SignedRequest, secret: str | None) -> AuthResult:
    """Verify with the secret of ``signed.access_key_id`` (None: no such key)."""
    if secret is None:
        raise errors.InvalidAccessKeyId(AWSAccessKeyId=signed.access_key_id)
    return signed.verify(secret)


async def authenticate(view: RequestView, lookup_secret: LookupSecret) -> AuthResult:
    signed = parse_request(view)
    secret = lookup_secret(signed.access_key_id)
    if inspect.isawaitable(secret):
        secret = await secret
    return verify_request(signed, secret)

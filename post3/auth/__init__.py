"""Request authentication: SigV4 (header, presigned, streaming chunks), SigV2 presigned URLs
and browser POST policies, as pure functions over a :class:`RequestView`.

A middleware calls ``await authenticate(view, lookup_secret)`` and gets an :class:`AuthResult`
(the access key id, plus :meth:`AuthResult.chunk_verifier` for signed aws-chunked bodies).
The signature is always decided from the request's head, before any body byte is read.
"""

from post3.auth.authenticate import authenticate, is_anonymous, parse_request, verify_request
from post3.auth.post_policy import PostPolicy, SignedPost, parse_post_form
from post3.auth.request_view import RequestView
from post3.auth.result import AuthResult, SigningContext
from post3.auth.streaming import ChunkSignatureVerifier

__all__ = [
    "AuthResult",
    "ChunkSignatureVerifier",
    "PostPolicy",
    "RequestView",
    "SignedPost",
    "SigningContext",
    "authenticate",
    "is_anonymous",
    "parse_post_form",
    "parse_request",
    "verify_request",
]

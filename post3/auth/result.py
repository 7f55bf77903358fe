"""What a verified request proves, and what is left for the body to prove."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from post3.auth import signing

if TYPE_CHECKING:
    from post3.auth.streaming import ChunkSignatureVerifier


@dataclass(frozen=True, slots=True)
class SigningContext:
    """A SigV4 request's signing state, kept for checks that need the body."""

    access_key_id: str
    key: bytes
    amz_date: str
    scope: str
    signature: str
    #: the canonical request without its final payload-hash line
    canonical_prefix: str


@dataclass(frozen=True, slots=True)
class AuthResult:
    """A request whose signature verified.

    ``scheme`` is ``sigv4``, ``sigv4-presigned``, ``sigv2`` or ``sigv2-presigned``.
    ``content_sha256`` is the ``x-amz-content-sha256`` header as sent (None for presigned and
    SigV2 requests). The signature itself is verified; what the body must still prove, its
    reader checks before anything is committed:

    * a signed streaming body: :meth:`chunk_verifier` returns the verifier the aws-chunked
      decoder must drive;
    * a hex ``content_sha256`` must equal the body's SHA-256 (``XAmzContentSHA256Mismatch``);
      :attr:`expected_body_sha256` gives the value to compare.
    """

    access_key_id: str
    scheme: str
    content_sha256: str | None = None
    context: SigningContext | None = None

    @property
    def expected_body_sha256(self) -> str | None:
        value = self.content_sha256
        if value and len(value) == 64 and all(c in "0123456789abcdef" for c in value.lower()):
            return value.lower()
        return None

    @property
    def is_signed_stream(self) -> bool:
        return self.content_sha256 in (signing.STREAMING_SIGNED, signing.STREAMING_SIGNED_TRAILER)

    def chunk_verifier(self) -> ChunkSignatureVerifier | None:
        """A fresh chunk-signature verifier for a signed aws-chunked body, else None."""
        if not self.is_signed_stream or self.context is None:
            return None
        from post3.auth.streaming import ChunkSignatureVerifier

        return ChunkSignatureVerifier.from_context(
            self.context, trailer=self.content_sha256 == signing.STREAMING_SIGNED_TRAILER
        )

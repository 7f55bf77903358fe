"""Chunk and trailer signatures of ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER)`` bodies.

Each chunk's signature chains from the previous one, starting at the request's own (seed)
signature, so a chunk cannot be altered, dropped, reordered or replayed without breaking every
signature after it::

    chunk_sig = HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\\n" date "\\n" scope "\\n" prev_sig "\\n"
                          sha256("") "\\n" sha256(chunk data))
    trailer_sig = HMAC(key, "AWS4-HMAC-SHA256-TRAILER\\n" date "\\n" scope "\\n" final_sig "\\n"
                            sha256(trailer lines as "name:value\\n"))

:class:`ChunkSignatureVerifier` implements :class:`post3.aws_chunked.ChunkVerifier`.
"""

from __future__ import annotations

from collections.abc import Sequence

from post3.auth import signing
from post3.auth.result import SigningContext

_CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
_TRAILER_ALGORITHM = "AWS4-HMAC-SHA256-TRAILER"


class ChunkSignatureVerifier:
    """Verifies one body's chunk chain; make a new one per request."""

    __slots__ = ("access_key_id", "_key", "_amz_date", "_scope", "_previous", "_trailer")

    def __init__(
        self,
        key: bytes,
        amz_date: str,
        scope: str,
        seed_signature: str,
        *,
        trailer: bool,
        access_key_id: str = "",
    ) -> None:
        self.access_key_id = access_key_id
        self._key = key
        self._amz_date = amz_date
        self._scope = scope
        self._previous = seed_signature
        self._trailer = trailer

    @classmethod
    def from_context(cls, context: SigningContext, *, trailer: bool) -> ChunkSignatureVerifier:
        return cls(
            context.key,
            context.amz_date,
            context.scope,
            context.signature,
            trailer=trailer,
            access_key_id=context.access_key_id,
        )

    def verify_chunk(self, data_sha256: str, signature: str | None) -> None:
        """Check one chunk (the final empty one too) given the hex SHA-256 of its data."""
        to_sign = "\n".join(
            (
                _CHUNK_ALGORITHM,
                self._amz_date,
                self._scope,
                self._previous,
                signing.EMPTY_SHA256,
                data_sha256,
            )
        )
        self._check(to_sign, signature)

    def verify_trailer(self, lines: Sequence[str], signature: str | None) -> None:
        """Check the trailer section; a body without trailers must carry no trailer signature
        unless the request announced the ``-TRAILER`` variant."""
        if not self._trailer:
            if lines or signature is not None:
                raise self._mismatch("", signature)
            return
        canonical = "".join(_canonical_trailer(line) for line in lines)
        to_sign = "\n".join(
            (
                _TRAILER_ALGORITHM,
                self._amz_date,
                self._scope,
                self._previous,
                signing.sha256_hex(canonical),
            )
        )
        self._check(to_sign, signature)

    def _check(self, to_sign: str, signature: str | None) -> None:
        expected = signing.hmac_sha256(self._key, to_sign).hex()
        if signature is None or not signing.signature_matches(expected, signature):
            raise self._mismatch(to_sign, signature)
        self._previous = expected

    def _mismatch(self, to_sign: str, signature: str | None) -> Exception:
        return signing.signature_mismatch(self.access_key_id, to_sign, signature or "")


def _canonical_trailer(line: str) -> str:
    name, _, value = line.partition(":")
    return f"{name.strip().lower()}:{value.strip()}\n"

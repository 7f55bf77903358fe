"""An incremental decoder for S3's ``aws-chunked`` body framing.

Grammar (every line ends in CRLF)::

    chunk       = hex-size [ ";chunk-signature=" 64hex ] CRLF data CRLF
    final-chunk = "0" [ ";chunk-signature=" 64hex ] CRLF
    trailers    = *( name ":" value CRLF ) [ "x-amz-trailer-signature:" 64hex CRLF ]
    body        = *chunk final-chunk trailers CRLF

The decoder is fed the body in arbitrary pieces (HTTP chunk boundaries never line up with
aws-chunk boundaries) and hands back the data as it arrives: a piece that lies wholly inside a
chunk's data is returned as is, without a copy. It never holds more than one header or trailer
line (at most :data:`MAX_LINE` bytes) and a bounded number of trailers, whatever the body size.

Signatures are checked by an optional :class:`ChunkVerifier` that the decoder calls once per
chunk and once for the trailer section; without one, signatures are parsed and ignored.

Errors: a body that ends mid-frame is ``IncompleteBody``; broken framing (a size that is not
hex, data not followed by CRLF, an over-long line, bytes after the end) is ``InvalidRequest``;
a trailer line without a colon is ``MalformedTrailerError``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from post3 import errors

#: The longest size or trailer line accepted; real ones are under 150 bytes.
MAX_LINE = 4096
#: The most trailer lines accepted (S3 sends one checksum and one signature).
MAX_TRAILERS = 16
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_SIGNATURE_EXTENSION = b"chunk-signature="
_TRAILER_SIGNATURE = "x-amz-trailer-signature"
TERMINATED_MESSAGE = "The request body terminated unexpectedly"


class ChunkVerifier(Protocol):
    """Checks the signatures of a signed aws-chunked body (``STREAMING-AWS4-HMAC-SHA256-*``).

    Both methods raise an :class:`~post3.errors.S3Error` (``SignatureDoesNotMatch``) to reject.
    """

    def verify_chunk(self, data_sha256: str, signature: str | None) -> None:
        """Called after each chunk, the final empty one included, with the hex SHA-256 of its
        data and its ``chunk-signature`` (None when the chunk carried none)."""

    def verify_trailer(self, lines: Sequence[str], signature: str | None) -> None:
        """Called once after the trailer section, with its lines as received (``name:value``,
        without CRLF, the signature line excluded) and the ``x-amz-trailer-signature`` value."""


def _malformed(why: str) -> errors.S3Error:
    return errors.InvalidRequest(f"The aws-chunked body is malformed: {why}.")


_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class AwsChunkedDecoder:
    """Feed it pieces with :meth:`feed`, which returns the data they complete; call
    :meth:`finish` at the end of the body. Then :attr:`trailers` holds the trailers
    (lower-case name -> value, the signature excluded)."""

    __slots__ = (
        "_verifier",
        "_state",
        "_line",
        "_remaining",
        "_chunk_hash",
        "_chunk_signature",
        "_trailer_lines",
        "_trailer_signature",
        "trailers",
    )

    def __init__(self, verifier: ChunkVerifier | None = None) -> None:
        self._verifier = verifier
        self._state = _SIZE
        self._line = bytearray()
        self._remaining = 0
        self._chunk_hash: hashlib._Hash | None = None
        self._chunk_signature: str | None = None
        self._trailer_lines: list[str] = []
        self._trailer_signature: str | None = None
        self.trailers: dict[str, str] = {}

    @property
    def done(self) -> bool:
        """Whether the final CRLF has been read."""
        return self._state == _DONE

    def feed(self, piece: bytes) -> list[bytes]:
        """The data bytes found in ``piece``, in order (possibly none)."""
        out: list[bytes] = []
        pos = 0
        end = len(piece)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, end - pos)
                data = piece if take == end else piece[pos: pos + take]
                pos += take
                self._remaining -= take
                if self._chunk_hash is not None:
                    self._chunk_hash.update(data)
                out.append(data)
                if not self._remaining:
                    self._state = _DATA_END
            elif state == _DATA_END:
                line = self._line
                taken = piece[pos: pos + 2 - len(line)]
                line += taken
                pos += len(taken)
                if not b"\r\n".startswith(line):
                    raise _malformed("chunk data is not followed by CRLF")
                if len(line) == 2:
                    line.clear()
                    self._end_chunk()
            elif state == _DONE:
                raise _malformed("bytes follow the end of the body")
            else:
                newline = piece.find(b"\n", pos)
                stop = end if newline < 0 else newline + 1
                if len(self._line) + stop - pos > MAX_LINE:
                    raise _malformed("a line is too long")
                self._line += piece[pos:stop]
                pos = stop
                if newline >= 0:
                    complete = bytes(self._line)
                    self._line.clear()
                    if complete[-2:-1] != b"\r":
                        raise _malformed("a line does not end in CRLF")
                    if state == _SIZE:
                        self._size_line(complete[:-2])
                    else:
                        self._trailer_line(complete[:-2])
        return out

    def finish(self) -> None:
        """The body ended: anything but a complete body is ``IncompleteBody``."""
        if self._state != _DONE:
            raise errors.IncompleteBody(TERMINATED_MESSAGE)

    # ----------------------------------------------------------------- frames

    def _size_line(self, line: bytes) -> None:
        size_field, semicolon, extensions = line.partition(b";")
        if not size_field or len(size_field) > 16 or size_field.strip(_HEX_DIGITS):
            raise _malformed("a chunk size is not hexadecimal")
        signature = None
        if semicolon:
            for extension in extensions.split(b";"):
                if extension.startswith(_SIGNATURE_EXTENSION):
                    signature = extension[len(_SIGNATURE_EXTENSION):].decode("latin-1")
        size = int(size_field, 16)
        self._chunk_signature = signature
        if size == 0:
            self._chunk_hash = None
            self._verify_chunk(EMPTY_SHA256)
            self._state = _TRAILER
            return
        self._remaining = size
        self._chunk_hash = hashlib.sha256() if self._verifier is not None else None
        self._state = _DATA

    def _end_chunk(self) -> None:
        if self._chunk_hash is not None:
            self._verify_chunk(self._chunk_hash.hexdigest())
        self._chunk_hash = None
        self._state = _SIZE

    def _verify_chunk(self, data_sha256: str) -> None:
        if self._verifier is not None:
            self._verifier.verify_chunk(data_sha256, self._chunk_signature)

    def _trailer_line(self, line: bytes) -> None:
        if not line:
            if self._verifier is not None:
                self._verifier.verify_trailer(self._trailer_lines, self._trailer_signature)
            self._state = _DONE
            return
        text = line.decode("latin-1")
        name, colon, value = text.partition(":")
        name = name.strip().lower()
        if not colon or not name:
            raise errors.MalformedTrailerError()
        if name == _TRAILER_SIGNATURE:
            self._trailer_signature = value.strip()
            return
        if len(self._trailer_lines) >= MAX_TRAILERS:
            raise errors.MalformedTrailerError()
        self._trailer_lines.append(text)
        self.trailers[name] = value.strip()

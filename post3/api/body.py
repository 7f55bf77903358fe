"""Small request bodies (XML documents), read whole with their integrity checks."""

from __future__ import annotations

from post3.api.request import S3Request

#: S3 documents (DeleteObjects with 1,000 keys of 1 KiB, CompleteMultipartUpload with 10,000
#: parts) stay well under this.
MAX_XML_BODY = 4 * 1024 * 1024


async def read_xml_body(s3: S3Request, limit: int = MAX_XML_BODY) -> bytes:
    """The request body, verified (Content-MD5, checksums, framing), at most ``limit`` bytes."""
    stream = s3.payload(max_size=limit)
    return await stream.read_small(limit)

"""Small request bodies (XML documents), read whole with their integrity checks."""

from __future__ import annotations

import dataclasses

from multidict import CIMultiDict

from post3 import checksums
from post3.api.request import S3Request

#: S3 documents (DeleteObjects with 1,000 keys of 1 KiB, CompleteMultipartUpload with 10,000
#: parts) stay well under this.
MAX_XML_BODY = 4 * 1024 * 1024


async def read_xml_body(s3: S3Request, limit: int = MAX_XML_BODY, *,
                        body_checksums: bool = True) -> bytes:
    """The request body, verified (Content-MD5, checksums, framing), at most ``limit`` bytes.

    ``body_checksums=False`` for CompleteMultipartUpload, whose ``x-amz-checksum-<alg>``
    headers describe the object being completed, not the XML document that carries the list.
    """
    if not body_checksums:
        headers = CIMultiDict(
            (name, value) for name, value in s3.headers.items()
            if not name.lower().startswith(checksums.HEADER_PREFIX)
        )
        s3 = dataclasses.replace(s3, request=s3.request.clone(headers=headers))
    stream = s3.payload(max_size=limit)
    return await stream.read_small(limit)

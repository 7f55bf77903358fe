"""Bucket configurations post3 does not keep, answered as S3 answers for a bucket that never
configured them (clients ask unprompted: s3cmd ``info``, awscli, SDK helpers).

Reads get the "not configured" error or empty document S3 sends; deletes succeed (there is
nothing to delete); writes say ``NotImplemented`` explicitly (the dispatcher's default), since
post3 would not honour them.
"""

from __future__ import annotations

from aiohttp import web

from post3 import errors, xml
from post3.api.request import S3Request
from post3.api.responses import xml_response

#: operation -> the error S3 sends when nothing is configured
_NOT_CONFIGURED: dict[str, type[errors.S3Error]] = {
    "GetBucketWebsite": errors.NoSuchWebsiteConfiguration,
    "GetBucketReplication": errors.ReplicationConfigurationNotFoundError,
}

#: operation -> the document S3 sends when nothing is configured
_EMPTY_DOCUMENTS: dict[str, tuple[str, list[xml.Child]]] = {
    "GetBucketLogging": ("BucketLoggingStatus", []),
    "GetBucketNotificationConfiguration": ("NotificationConfiguration", []),
    "GetBucketRequestPayment": ("RequestPaymentConfiguration", [("Payer", "BucketOwner")]),
    "GetBucketAccelerateConfiguration": ("AccelerateConfiguration", []),
}

_DELETES = (
    "DeleteBucketWebsite", "DeleteBucketReplication",
)



def _not_configured(error: type[errors.S3Error]):  # type: ignore[no-untyped-def]
    async def handler(s3: S3Request) -> web.StreamResponse:
        await s3.backend.head_bucket(s3.bucket)
        raise error(BucketName=s3.bucket)
    return handler


def _empty_document(root: str, children: list[xml.Child]):  # type: ignore[no-untyped-def]
    async def handler(s3: S3Request) -> web.StreamResponse:
        await s3.backend.head_bucket(s3.bucket)
        return xml_response(xml.render(root, children))
    return handler


async def _delete_nothing(s3: S3Request) -> web.StreamResponse:
    await s3.backend.head_bucket(s3.bucket)
    return web.Response(status=204)


HANDLERS = {
    **{op: _not_configured(error) for op, error in _NOT_CONFIGURED.items()},
    **{op: _empty_document(root, kids) for op, (root, kids) in _EMPTY_DOCUMENTS.items()},
    **dict.fromkeys(_DELETES, _delete_nothing),
}

"""From an aiohttp request to the handler of its S3 operation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from post3 import errors, keys, names, payload, upload_turns
from post3.api import (
    acl,
    addressing,
    attributes,
    authentication,
    bucket,
    bucket_access,
    bucket_config,
    capabilities,
    copy,
    cors,
    delete,
    encryption,
    get,
    known_buckets,
    lifecycle,
    list_objects,
    multipart,
    object_lock,
    post_object,
    put,
    router,
    tagging,
    versioning,
    versions,
)
from post3.api.middleware import OPERATION, REQUEST_ID, RESOURCE, TARGET
from post3.api.request import (
    S3Request,
    new_request_id,
    parse_query,
    split_path,
    split_virtual_path,
)

Handler = Callable[[S3Request], Awaitable[web.StreamResponse]]

#: Every implemented operation, by its AWS name. An operation the router knows but this table
#: lacks answers 501 NotImplemented.
HANDLERS: dict[str, Handler] = {
    **bucket.HANDLERS,
    **get.HANDLERS,
    **put.HANDLERS,
    **copy.HANDLERS,
    **delete.HANDLERS,
    **list_objects.HANDLERS,
    **multipart.HANDLERS,
    **acl.HANDLERS,
    **tagging.HANDLERS,
    **bucket_config.HANDLERS,
    **bucket_access.HANDLERS,
    **cors.HANDLERS,
    **lifecycle.HANDLERS,
    **encryption.HANDLERS,
    **object_lock.HANDLERS,
    **versions.HANDLERS,
    **versioning.HANDLERS,
    **attributes.HANDLERS,
    **post_object.HANDLERS,
}


#: The admitted S3Request of an ``Expect: 100-continue`` request, kept so the signature that
#: was verified before the body was invited is not verified again when the handler runs.
ADMITTED: web.RequestKey[S3Request] = web.RequestKey("admitted", S3Request)


#: Query parameters only a bucket takes: on ``/`` they betray a virtual-hosted request.
BUCKET_PARAMS = frozenset(
    name for route in router.ROUTES if route.target == "bucket" for name in route.query)


def parse_request(request: web.Request) -> S3Request:
    request_id = request.get(REQUEST_ID)
    if request_id is None:
        request_id = request[REQUEST_ID] = new_request_id()
    query = parse_query(request.rel_url.raw_query_string)
    # The bucket is in Host (virtual-hosted style) or in the path; see post3.api.addressing.
    style = addressing.addressing(
        request.headers.get("Host"), request.app[keys.SETTINGS].domains, request.method,
        request.raw_path, query, BUCKET_PARAMS)
    if style.host_bucket is not None:
        bucket_name, key = style.host_bucket, split_virtual_path(request.raw_path)
    else:
        bucket_name, key = split_path(request.raw_path)
    request[RESOURCE] = f"/{bucket_name}/{key}" if key else f"/{bucket_name}"
    request[TARGET] = (bucket_name, key)
    try:
        operation = router.resolve(
            request.method, bucket_name, key, query, "x-amz-copy-source" in request.headers
        )
    except errors.MethodNotAllowed as refused:
        # No S3 operation: name the request as S3's server access log does (REST.PUT.OBJECT).
        request[OPERATION] = f"REST.{request.method.upper()}.{refused.fields['ResourceType']}"
        raise
    request[OPERATION] = operation
    if bucket_name:
        names.check_bucket_name(bucket_name)
        request[cors.CORS_BUCKET] = bucket_name  # its responses get the bucket's CORS headers
    if key:
        names.check_key(key)
    names.check_query(query)
    return S3Request(request, operation, bucket_name, key, query, request_id,
                     virtual_host=style.virtual)


async def admitted_request(request: web.Request) -> S3Request:
    """The request parsed and admitted: its signature verified (or the server runs
    ``--no-auth``) and its key allowed to run the operation. Raises the S3 error otherwise.

    This is the only way to an :class:`S3Request` a handler sees, so no operation — one added
    later included — runs, or reads a body byte, before the request is authenticated.
    """
    s3_request = request.get(ADMITTED)
    if s3_request is None:
        s3_request = parse_request(request)
        await authentication.admit(s3_request)
    return s3_request


async def handle_s3_request(request: web.Request) -> web.StreamResponse:
    s3_request = await admitted_request(request)
    handler = HANDLERS.get(s3_request.operation)
    if handler is None:
        raise errors.NotImplemented(f"{s3_request.operation} is not implemented by post3")
    capabilities.check_supported(s3_request.operation, s3_request.backend)
    try:
        return await handler(s3_request)
    except capabilities.Unsupported as unsupported:
        raise capabilities.not_implemented(
            s3_request.operation, unsupported.capability, s3_request.backend) from None
    finally:
        # An upload held back before its body was invited, whose handler ended without
        # reading it (a failed precondition, an error): aiohttp drains or closes the
        # connection next, and must be able to read it.
        upload_turns.let_through(request)


@web.middleware
async def bucket_hosts_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """On a bucket's host (``<bucket>.<domain>``) every path is one of its keys: routes added
    beside the S3 namespace (the operations endpoints, a plugin's) answer on the base domain
    or an address only, never in place of an object."""
    if request.match_info.handler is not handle_s3_request and addressing.bucket_host(
            addressing.normalize_host(request.headers.get("Host", "")),
            request.app[keys.SETTINGS].domains):
        return await handle_s3_request(request)
    return await handler(request)


async def refuse_before_body(request: web.Request) -> errors.S3Error | None:
    """The error to send instead of ``100 Continue``, or None to accept the body: a request
    that is malformed, not authenticated or not allowed, or an upload that is too large, is
    refused before the client sends its body."""
    try:
        s3_request = parse_request(request)
        if s3_request.operation == "PostObject":
            # A browser POST carries its credentials in the form, which is the body: the
            # handler's admission reads the form fields before the file.
            return None
        await authentication.admit(s3_request)
    except errors.S3Error as error:
        return error
    request[ADMITTED] = s3_request
    if s3_request.operation not in ("PutObject", "UploadPart"):
        return None
    declared = (
        request.headers.get("x-amz-decoded-content-length")
        or request.headers.get("Content-Length")
    )
    settings = request.app[keys.SETTINGS]
    if declared and declared.isdigit() and int(declared) > settings.max_put_size:
        return errors.EntityTooLarge(
            ProposedSize=declared, MaxSizeAllowed=settings.max_put_size
        )
    try:
        # An upload to a bucket that does not exist is refused before its body is sent.
        await known_buckets.check_bucket(s3_request.backend, s3_request.bucket)
    except errors.NoSuchBucket as error:
        return error
    slots = s3_request.upload_slots
    size = int(declared) if declared and declared.isdigit() else None
    if slots is not None and slots.locked() and payload.counted(size):
        # Its turn is not come: the body is invited, but not read until it is (see
        # post3.upload_turns); the handler's read resumes it.
        upload_turns.hold_back(request)
    return None

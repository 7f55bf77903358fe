"""The console's pages: login, buckets, objects, object details, shares, access keys.

Handlers get a :class:`Context` (the verified session and its S3 client) from
:func:`console_page`, which also turns away requests without a session and state-changing
requests without the session's CSRF token. S3's refusals are shown as they come.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import secrets
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import jinja2
from aiohttp import web

from post3 import keys, xml
from post3.console import session
from post3.console.s3 import MAX_EXPIRES, S3, Endpoint, S3Failure, Signer
from post3.credentials import AccessKey
from post3.names import RESERVED_PREFIX

PREFIX = RESERVED_PREFIX + "console/"
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("console_templates", jinja2.Environment)
HTTP: web.AppKey[aiohttp.ClientSession] = web.AppKey("console_http", aiohttp.ClientSession)

#: Objects per page of a listing.
PAGE_SIZE = 100
#: How long a download link made for one click lasts.
DOWNLOAD_EXPIRES = 300
#: Share expiries offered (seconds, label); S3 allows up to a week.
SHARE_EXPIRIES = [(900, "15 minutes"), (3600, "1 hour"), (86400, "1 day"),
                  (MAX_EXPIRES, "7 days")]
#: Messages after an action (Post/Redirect/Get): fixed texts, never text from the URL.
NOTICES = {
    "bucket-created": "Bucket created.", "bucket-deleted": "Bucket deleted.",
    "objects-deleted": "Objects deleted.", "key-deleted": "Access key deleted.",
    "grant-changed": "Grant changed.", "logged-out": "You are logged out.",
    "expired": "Your session has ended; log in again.",
    "settings-saved": "Saved.",
}

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; "
                                "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass
class Context:
    request: web.Request
    session: session.Session
    s3: S3

    @property
    def key(self) -> AccessKey:
        return self.session.key


# --------------------------------------------------------------------------- plumbing


def endpoint(request: web.Request) -> Endpoint:
    """The socket this request came in on (to send S3 requests to) and the Host it named."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not isinstance(sockname, tuple):  # gone, or not TCP: no S3 endpoint to reach
        raise S3Failure(503, "ServiceUnavailable", "the console is served over TCP only")
    address, port = sockname[0], sockname[1]
    if address in ("0.0.0.0", ""):
        address = "127.0.0.1"
    elif address == "::":
        address = "::1"
    connect = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    return Endpoint(connect, request.host, browser_scheme(request))


def browser_scheme(request: web.Request) -> str:
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return "https" if request.secure or forwarded == "https" else "http"


def make_s3(request: web.Request, key_id: str, secret: str) -> S3:
    region = request.app[keys.SETTINGS].region
    return S3(request.app[HTTP], endpoint(request), Signer(key_id, secret, region))


async def current_session(request: web.Request) -> session.Session | None:
    value = request.cookies.get(session.COOKIE)
    parsed = session.parse(value) if value else None
    if parsed is None:
        return None
    key = await request.app[keys.CREDENTIALS].lookup(parsed[0])
    return session.verify(value or "", key)


def render(request: web.Request, template: str, status: int = 200,
           sess: session.Session | None = None, **values: Any) -> web.Response:
    page = request.app[TEMPLATES].get_template(template).render(
        prefix=PREFIX, session=sess, csrf=sess.csrf_token if sess else "",
        notice=NOTICES.get(request.query.get("notice", "")), quote=_quote, **values)
    return web.Response(text=page, status=status, content_type="text/html",
                        headers=SECURITY_HEADERS)


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def redirect(location: str) -> web.Response:
    """303 See Other: after a form, the browser GETs the next page (Post/Redirect/Get)."""
    return web.Response(status=303, headers={**SECURITY_HEADERS, "Location": location})


def same_origin(request: web.Request) -> bool:
    """A browser names the page that sent a POST in Origin: it must be this console."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not sent by every browser for same-origin forms; the token decides
    split = urllib.parse.urlsplit(origin)
    return split.netloc == request.host


Handler = Callable[[Context], Awaitable[web.StreamResponse]]


def console_page(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A page or action that needs a session (and, unless it is a GET, its CSRF token)."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        api = request.path.startswith(PREFIX + "api/")
        sess = await current_session(request)
        if sess is None:
            if api:
                return web.json_response({"error": "Your session has ended; log in again."},
                                         status=401)
            target = request.path_qs if request.method == "GET" else PREFIX
            ended = "&notice=expired" if session.COOKIE in request.cookies else ""
            return redirect(f"{PREFIX}login?next={_quote(target)}{ended}")
        if request.method != "GET":
            token = request.headers.get("X-CSRF-Token")
            if token is None and not api:
                field = (await request.post()).get("csrf")
                token = field if isinstance(field, str) else None
            if not same_origin(request) or not sess.check_csrf(str(token or "")):
                if api:
                    return web.json_response({"error": "Reload the page and retry."},
                                             status=403)
                return render(request, "error.html", 403, sess, code="Forbidden",
                              message="This form is out of date; reload the page and retry.")
        try:
            ctx = Context(request, sess, make_s3(request, sess.key.access_key_id,
                                                 sess.key.secret_access_key))
            return await handler(ctx)
        except S3Failure as failure:
            if api:
                return web.json_response({"error": str(failure)}, status=failure.status)
            return render(request, "error.html", failure.status, sess, code=failure.code,
                          message=failure.message)

    return wrapper


# --------------------------------------------------------------------------- login


def safe_next(value: str | None) -> str:
    """Only a console page may follow a login: never another site."""
    if value and value.startswith(PREFIX) and not value.startswith("//"):
        return value
    return PREFIX + "buckets"


async def get_login(request: web.Request) -> web.StreamResponse:
    if await current_session(request) is not None:
        return redirect(safe_next(request.query.get("next")))
    return login_page(request, 200)


def login_page(request: web.Request, status: int, error: str | None = None,
               key_id: str = "") -> web.Response:
    token = secrets.token_urlsafe(16)
    response = render(request, "login.html", status, error=error, login_token=token,
                      key_id=key_id, next=safe_next(request.query.get("next")))
    response.set_cookie(session.LOGIN_COOKIE, token, httponly=True, samesite="Strict",
                        secure=browser_scheme(request) == "https", path=PREFIX, max_age=3600)
    return response


async def post_login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    key_id = str(form.get("access_key_id", "")).strip()
    secret = str(form.get("secret_access_key", ""))
    token = request.cookies.get(session.LOGIN_COOKIE, "")
    if not same_origin(request) or not token or not hmac.compare_digest(
            token, str(form.get("login_token", ""))):
        return login_page(request, 403, "The login form expired; please try again.", key_id)
    if not key_id or not secret:
        return login_page(request, 400, "Enter an access key ID and its secret.", key_id)
    # The secret is proven the way the AWS CLI proves it: by signing a real S3 request.
    try:
        await make_s3(request, key_id, secret).call("GET")
    except S3Failure as failure:
        if failure.code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"):
            return login_page(request, 403, "Wrong access key ID or secret.", key_id)
        return login_page(request, failure.status, f"The server refused: {failure}", key_id)
    key = await request.app[keys.CREDENTIALS].lookup(key_id)
    if key is None:
        return login_page(request, 403, "Wrong access key ID or secret.", key_id)
    ttl = request.app[keys.SETTINGS].console_session_ttl
    _, cookie = session.issue(key, ttl)
    response = redirect(safe_next(str(form.get("next", ""))))
    response.set_cookie(session.COOKIE, cookie, httponly=True, samesite="Strict",
                        secure=browser_scheme(request) == "https", path=PREFIX,
                        max_age=int(ttl))
    response.del_cookie(session.LOGIN_COOKIE, path=PREFIX)
    return response


@console_page
async def post_logout(ctx: Context) -> web.StreamResponse:
    response = redirect(f"{PREFIX}login?notice=logged-out")
    response.del_cookie(session.COOKIE, path=PREFIX)
    return response


async def get_index(request: web.Request) -> web.StreamResponse:
    return redirect(PREFIX + "buckets")


# --------------------------------------------------------------------------- buckets


@console_page
async def get_buckets(ctx: Context) -> web.StreamResponse:
    _, root = await ctx.s3.call("GET")
    buckets = [{"name": b.findtext("Name") or "", "created": b.findtext("CreationDate") or "",
                "owner": ctx.key.allows(b.findtext("Name") or "", "owner")}
               for b in root.iter("Bucket")]
    return render(ctx.request, "buckets.html", sess=ctx.session, buckets=buckets)


@console_page
async def post_create_bucket(ctx: Context) -> web.StreamResponse:
    name = str((await ctx.request.post()).get("bucket", "")).strip()
    await ctx.s3.call("PUT", name)
    return redirect(f"{PREFIX}b/{name}?notice=bucket-created")


@console_page
async def post_delete_bucket(ctx: Context) -> web.StreamResponse:
    form = await ctx.request.post()
    name = str(form.get("bucket", ""))
    if form.get("confirm") != "yes":
        return render(ctx.request, "confirm_bucket.html", sess=ctx.session, bucket=name)
    await ctx.s3.call("DELETE", name)
    return redirect(f"{PREFIX}buckets?notice=bucket-deleted")


# --------------------------------------------------------------------------- objects


def crumbs(prefix: str) -> list[tuple[str, str]]:
    """``a/b/`` -> [("a", "a/"), ("b", "a/b/")]: the folders to walk back up through."""
    parts = prefix.split("/")[:-1]
    return [(part, "/".join(parts[:i + 1]) + "/") for i, part in enumerate(parts)]


@console_page
async def get_objects(ctx: Context) -> web.StreamResponse:
    bucket = ctx.request.match_info["bucket"]
    query = ctx.request.query
    folder = query.get("prefix", "")
    folder = folder[:folder.rfind("/") + 1]
    name_filter = query.get("filter", query.get("prefix", "")[len(folder):])
    params = [("list-type", "2"), ("delimiter", "/"), ("prefix", folder + name_filter),
              ("max-keys", str(PAGE_SIZE)), ("encoding-type", "url")]
    if query.get("token"):
        params.append(("continuation-token", query["token"]))
    _, root = await ctx.s3.call("GET", bucket, query=params)
    unquote = urllib.parse.unquote_plus
    folders = [unquote(p.findtext("Prefix") or "") for p in root.iter("CommonPrefixes")]
    objects = [{"key": unquote(c.findtext("Key") or ""), "size": int(c.findtext("Size") or 0),
                "modified": (c.findtext("LastModified") or "")[:19].replace("T", " ")}
               for c in root.iter("Contents")]
    next_token = root.findtext("NextContinuationToken") if root.findtext(
        "IsTruncated") == "true" else None
    return render(ctx.request, "objects.html", sess=ctx.session, bucket=bucket, folder=folder,
                  name_filter=name_filter, crumbs=crumbs(folder), folders=folders,
                  objects=objects, next_token=next_token,
                  can_write=ctx.key.allows(bucket, "write"), size=human_size)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


@console_page
async def post_delete_objects(ctx: Context) -> web.StreamResponse:
    bucket = ctx.request.match_info["bucket"]
    form = await ctx.request.post()
    chosen = [str(value) for value in form.getall("key", [])]
    folder = str(form.get("folder", ""))
    back = f"{PREFIX}b/{bucket}?prefix={_quote(folder)}"
    if not chosen:
        return redirect(back)
    if form.get("confirm") != "yes":
        return render(ctx.request, "confirm_objects.html", sess=ctx.session, bucket=bucket,
                      keys=chosen, folder=folder, back=back)
    document = xml.render("Delete", [("Quiet", True),
                                     *(("Object", [("Key", k)]) for k in chosen)])
    _, root = await ctx.s3.call("POST", bucket, query=[("delete", "")], body=document)
    failed = [(e.findtext("Key") or "", e.findtext("Code") or "", e.findtext("Message") or "")
              for e in root.iter("Error")]
    if failed:
        return render(ctx.request, "error.html", 403, ctx.session, code=failed[0][1],
                      message=f"{len(failed)} of {len(chosen)} objects were not deleted "
                              f"({failed[0][0]}: {failed[0][2]})", back=back)
    return redirect(back + "&notice=objects-deleted")


@console_page
async def get_object(ctx: Context) -> web.StreamResponse:
    return await object_page(ctx, ctx.request.query.get("key", ""))


async def object_page(ctx: Context, key: str,
                      share: dict[str, str] | None = None) -> web.StreamResponse:
    bucket = ctx.request.match_info["bucket"]
    headers, _ = await ctx.s3.call("HEAD", bucket, key)
    _, tagging = await ctx.s3.call("GET", bucket, key, [("tagging", "")])
    tags = [(t.findtext("Key"), t.findtext("Value")) for t in tagging.iter("Tag")]
    metadata = sorted((name[len("x-amz-meta-"):], value) for name, value in headers.items()
                      if name.lower().startswith("x-amz-meta-"))
    folder = key[:key.rfind("/") + 1]
    return render(ctx.request, "object.html", sess=ctx.session, bucket=bucket, key=key,
                  folder=folder, crumbs=crumbs(folder), headers=headers, tags=tags,
                  metadata=metadata, size=human_size, expiries=SHARE_EXPIRIES, share=share,
                  can_write=ctx.key.allows(bucket, "write"))


@console_page
async def get_download(ctx: Context) -> web.StreamResponse:
    """A presigned GET, made for this click, that the browser saves as a file."""
    bucket = ctx.request.match_info["bucket"]
    key = ctx.request.query.get("key", "")
    filename = key.rsplit("/", 1)[-1] or "download"
    disposition = f"attachment; filename*=UTF-8''{urllib.parse.quote(filename, safe='')}"
    url = ctx.s3.presigned_url("GET", bucket, key, [("response-content-disposition",
                                                      disposition)], DOWNLOAD_EXPIRES)
    return redirect(url)


@console_page
async def post_share(ctx: Context) -> web.StreamResponse:
    bucket = ctx.request.match_info["bucket"]
    form = await ctx.request.post()
    key = str(form.get("key", ""))
    try:
        expires = int(str(form.get("expires", "3600")))
    except ValueError:
        expires = 3600
    expires = min(max(expires, 1), MAX_EXPIRES)
    # HEAD first: a link to nothing (or that this key may not read) is no share.
    await ctx.s3.call("HEAD", bucket, key)
    until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires)
    share = {"url": ctx.s3.presigned_url("GET", bucket, key, expires=expires),
             "until": until.strftime("%Y-%m-%d %H:%M UTC")}
    return await object_page(ctx, key, share)


def tagging_document(text: str) -> bytes | None:
    """``key=value`` lines -> a Tagging document; None for no tags."""
    pairs = [line.partition("=")[::2] for line in text.splitlines() if line.strip()]
    if not pairs:
        return None
    return xml.render("Tagging", [("TagSet", [
        ("Tag", [("Key", key.strip()), ("Value", value.strip())]) for key, value in pairs])])


@console_page
async def post_object_tags(ctx: Context) -> web.StreamResponse:
    bucket = ctx.request.match_info["bucket"]
    form = await ctx.request.post()
    key = str(form.get("key", ""))
    document = tagging_document(str(form.get("tags", "")))
    if document is None:
        await ctx.s3.call("DELETE", bucket, key, [("tagging", "")])
    else:
        await ctx.s3.call("PUT", bucket, key, [("tagging", "")], body=document)
    return redirect(f"{PREFIX}b/{bucket}/object?key={_quote(key)}&notice=settings-saved")


# --------------------------------------------------------------------------- routes


def add_routes(router: web.UrlDispatcher) -> None:
    from post3.console import keys_pages, settings_page, uploads

    router.add_get(PREFIX.rstrip("/"), get_index)
    router.add_get(PREFIX, get_index, name="ConsoleIndex")
    router.add_get(PREFIX + "login", get_login)
    router.add_post(PREFIX + "login", post_login)
    router.add_post(PREFIX + "logout", post_logout)
    router.add_get(PREFIX + "buckets", get_buckets)
    router.add_post(PREFIX + "buckets", post_create_bucket)
    router.add_post(PREFIX + "buckets/delete", post_delete_bucket)
    router.add_get(PREFIX + "b/{bucket}", get_objects)
    router.add_post(PREFIX + "b/{bucket}/delete", post_delete_objects)
    router.add_get(PREFIX + "b/{bucket}/object", get_object)
    router.add_get(PREFIX + "b/{bucket}/download", get_download)
    router.add_post(PREFIX + "b/{bucket}/share", post_share)
    router.add_post(PREFIX + "b/{bucket}/object/tags", post_object_tags)
    settings_page.add_routes(router)
    uploads.add_routes(router, PREFIX + "api/")
    keys_pages.add_routes(router, PREFIX + "keys")


__all__ = ["PREFIX", "add_routes", "console_page"]

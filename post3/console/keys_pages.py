"""The access keys pages, for admin keys only: list, create (the secret shown once), grants,
delete. The calls to the key store are in :mod:`post3.console.keystore`."""

from __future__ import annotations

from aiohttp import web

from post3.console import keystore
from post3.console.views import PREFIX, Context, console_page, redirect, render
from post3.credentials import PERMISSIONS


def _admin_only(ctx: Context) -> web.Response | None:
    if ctx.key.admin:
        return None
    return render(ctx.request, "error.html", 403, ctx.session, code="AccessDenied",
                  message="Only an admin key may manage access keys.")


async def keys_page(ctx: Context, status: int = 200, created=None,  # type: ignore[no-untyped-def]
                    error: str | None = None) -> web.StreamResponse:
    try:
        stored = await keystore.list_keys(ctx.request.app)
    except keystore.KeysUnavailable:
        stored, error = [], "This server's backend stores no access keys."
    return render(ctx.request, "keys.html", status, ctx.session, keys=stored, created=created,
                  error=error, permissions=PERMISSIONS)


@console_page
async def get_keys(ctx: Context) -> web.StreamResponse:
    return _admin_only(ctx) or await keys_page(ctx)


@console_page
async def post_create(ctx: Context) -> web.StreamResponse:
    if (refused := _admin_only(ctx)) is not None:
        return refused
    form = await ctx.request.post()
    grants = [line.strip() for line in str(form.get("grants", "")).splitlines() if line.strip()]
    try:
        created = await keystore.create_key(ctx.request.app, str(form.get("name", "")).strip(),
                                            form.get("admin") == "yes", grants)
    except ValueError as exc:
        return await keys_page(ctx, 400, error=str(exc))
    except keystore.KeysUnavailable:
        return await keys_page(ctx, 400, error="This server's backend stores no access keys.")
    return await keys_page(ctx, 201, created=created)


@console_page
async def post_grant(ctx: Context) -> web.StreamResponse:
    if (refused := _admin_only(ctx)) is not None:
        return refused
    form = await ctx.request.post()
    permission = str(form.get("permission", ""))
    try:
        changed = await keystore.set_grant(
            ctx.request.app, str(form.get("key_id", "")), str(form.get("bucket", "")).strip(),
            None if permission == "none" else permission)
    except ValueError as exc:
        return await keys_page(ctx, 400, error=str(exc))
    if changed is None:
        return await keys_page(ctx, 404, error="No such access key.")
    return redirect(f"{PREFIX}keys?notice=grant-changed")


@console_page
async def post_delete(ctx: Context) -> web.StreamResponse:
    if (refused := _admin_only(ctx)) is not None:
        return refused
    form = await ctx.request.post()
    key_id = str(form.get("key_id", ""))
    if form.get("confirm") != "yes":
        return render(ctx.request, "confirm_key.html", sess=ctx.session, key_id=key_id)
    if key_id == ctx.key.access_key_id:
        return await keys_page(ctx, 400, error="A key cannot delete itself while logged in.")
    if not await keystore.delete_key(ctx.request.app, key_id):
        return await keys_page(ctx, 404, error="No such access key.")
    return redirect(f"{PREFIX}keys?notice=key-deleted")


def add_routes(router: web.UrlDispatcher, path: str) -> None:
    router.add_get(path, get_keys)
    router.add_post(path, post_create)
    router.add_post(path + "/grant", post_grant)
    router.add_post(path + "/delete", post_delete)

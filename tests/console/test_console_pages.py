"""Console pages over HTTP (the app on a real socket): bucket settings, several objects
deleted at once, access keys managed by an admin and refused to everyone else."""

from __future__ import annotations

import html
import re
import urllib.parse

import pytest

from post3.backends.memory import MemoryBackend
from post3.credentials import new_access_key
from tests.console.test_console_sessions import CONSOLE, csrf, log_in, start

ORIGIN = "https://app.example.com"
CORS = f"""<CORSConfiguration><CORSRule><AllowedOrigin>{ORIGIN}</AllowedOrigin>
<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"""


@pytest.fixture
async def backend():  # type: ignore[no-untyped-def]
    return MemoryBackend()


@pytest.fixture
async def admin(backend):  # type: ignore[no-untyped-def]
    client = await start(backend)
    await log_in(client)
    yield client
    await client.close()


async def post(client, path: str, **data):  # type: ignore[no-untyped-def]
    return await client.post(CONSOLE + path, data={"csrf": await csrf(client), **data},
                             allow_redirects=False)


async def preflight(client, bucket: str) -> int:  # type: ignore[no-untyped-def]
    response = await client.options(f"/{bucket}/x", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    return response.status


async def test_cors_rules_and_tags_are_set_and_removed(admin):
    assert (await post(admin, "buckets", bucket="site")).status == 303
    assert await preflight(admin, "site") == 403
    assert (await post(admin, "b/site/settings/cors", cors=CORS)).status == 303
    assert await preflight(admin, "site") == 200  # S3 answers from the rules just saved
    assert (await post(admin, "b/site/settings/tags", tags="team=web\nenv = prod")).status == 303
    page = html.unescape(await (await admin.get(CONSOLE + "b/site/settings")).text())
    assert "<AllowedOrigin>https://app.example.com</AllowedOrigin>" in page
    assert "env=prod\nteam=web" in page or "team=web\nenv=prod" in page
    assert (await post(admin, "b/site/settings/cors", cors="")).status == 303
    assert await preflight(admin, "site") == 403
    response = await post(admin, "b/site/settings/cors", cors="<CORSConfiguration>")
    assert response.status == 400
    assert "MalformedXML" in await response.text()


async def test_several_objects_are_deleted_after_the_confirmation(admin, backend):
    await post(admin, "buckets", bucket="docs")
    token = await csrf(admin)
    for key in ("a.txt", "b.txt", "keep.txt"):
        plan = await (await admin.post(CONSOLE + "api/uploads", headers={"X-CSRF-Token": token},
                                       json={"bucket": "docs", "key": key, "size": 2,
                                             "type": "text/plain"})).json()
        url = urllib.parse.urlsplit(plan["url"])
        assert (await admin.put(f"{url.path}?{url.query}", data=b"hi")).status == 200
    confirm = await admin.post(CONSOLE + "b/docs/delete",
                               data=[("csrf", token), ("key", "a.txt"), ("key", "b.txt")])
    page = await confirm.text()
    assert confirm.status == 200 and "Delete 2 objects from docs?" in page
    assert (await backend.head_object("docs", "a.txt")).size == 2  # not deleted yet
    done = await admin.post(CONSOLE + "b/docs/delete", allow_redirects=False, data=[
        ("csrf", token), ("key", "a.txt"), ("key", "b.txt"), ("confirm", "yes")])
    assert done.status == 303
    listing = await (await admin.get(CONSOLE + "b/docs")).text()
    assert re.findall(r">(\w+\.txt)</a>", listing) == ["keep.txt"]


async def test_an_admin_creates_grants_and_deletes_keys(admin, backend):
    response = await post(admin, "keys", name="ci", grants="photos:write\nlogs:read")
    page = await response.text()
    assert response.status == 201
    key_id = re.search(r'id="created-id" readonly value="([^"]+)"', page).group(1)
    secret = re.search(r'id="created-secret" readonly value="([^"]+)"', page).group(1)
    stored = await backend.key_store.get_access_key(key_id)
    assert stored.secret_access_key == secret and dict(stored.grants) == {
        "photos": "write", "logs": "read"}
    assert secret not in await (await admin.get(CONSOLE + "keys")).text()  # shown once
    assert (await post(admin, "keys/grant", key_id=key_id, bucket="logs",
                       permission="owner")).status == 303
    assert (await post(admin, "keys/grant", key_id=key_id, bucket="photos",
                       permission="none")).status == 303
    assert dict((await backend.key_store.get_access_key(key_id)).grants) == {"logs": "owner"}
    assert (await post(admin, "keys", grants="photos:everything")).status == 400
    confirm = await post(admin, "keys/delete", key_id=key_id)
    assert "Delete the access key" in await confirm.text()
    assert await backend.key_store.get_access_key(key_id) is not None
    assert (await post(admin, "keys/delete", key_id=key_id, confirm="yes")).status == 303
    assert await backend.key_store.get_access_key(key_id) is None


async def test_keys_pages_are_for_admin_keys_only(backend):
    key = new_access_key("reader", grants={"docs": "owner"})
    await backend.key_store.put_access_key(key)
    client = await start(backend)
    try:
        await log_in(client, key.access_key_id, key.secret_access_key)
        response = await client.get(CONSOLE + "keys")
        assert response.status == 403
        assert "Only an admin key may manage access keys." in await response.text()
        before = await backend.key_store.list_access_keys()
        assert (await post(client, "keys", name="sneaky", admin="yes")).status == 403
        assert await backend.key_store.list_access_keys() == before
        # And S3 refuses it a bucket it holds no grant on, whatever the console shows.
        response = await post(client, "buckets", bucket="elsewhere")
        assert response.status == 403 and "AccessDenied" in await response.text()
    finally:
        await client.close()


async def put_via_console(client, bucket: str, key: str, body: bytes) -> None:  # type: ignore[no-untyped-def]
    """The console's small-file path: a presigned PUT the browser would send."""
    plan = await (await client.post(CONSOLE + "api/uploads", headers={
        "X-CSRF-Token": await csrf(client)}, json={"bucket": bucket, "key": key,
                                                   "size": len(body), "type": ""})).json()
    url = urllib.parse.urlsplit(plan["url"])
    assert (await client.put(f"{url.path}?{url.query}", data=body)).status == 200


def listed(page: str) -> list[str]:
    """The names in the listing table, folders and objects, in order."""
    table = page.partition('<table class="objects">')[2].partition("</table>")[0]
    return re.findall(r'<a href="/_post3/console/b/[^"]+">(?:📁 )?([^<]+)</a>', table)


async def test_listings_are_paged_filtered_and_split_into_folders(admin, monkeypatch):
    from post3.console import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    await post(admin, "buckets", bucket="paged")
    for key in ("apple", "apricot", "banana", "fruit/cherry", "fruit/date"):
        await put_via_console(admin, "paged", key, b"x")
    first = await (await admin.get(CONSOLE + "b/paged")).text()
    assert listed(first) == ["apple", "apricot"]
    token = html.unescape(re.search(r'<a rel="next" href="([^"]+)"', first).group(1))
    second = await (await admin.get(token)).text()
    assert listed(second) == ["fruit/", "banana"]  # folders first on each page
    assert 'rel="next"' not in second
    filtered = await (await admin.get(CONSOLE + "b/paged?filter=ap")).text()
    assert listed(filtered) == ["apple", "apricot"]
    inside = await (await admin.get(CONSOLE + "b/paged?prefix=fruit/")).text()
    assert listed(inside) == ["cherry", "date"]
    assert 'href="/_post3/console/b/paged?prefix=fruit%2F">fruit</a>' in inside  # breadcrumb


async def test_object_details_show_metadata_and_tags_and_change_tags(admin):
    import asyncio

    import boto3

    await post(admin, "buckets", bucket="meta")
    s3 = boto3.client("s3", endpoint_url=str(admin.make_url("/")).rstrip("/"),
                      aws_access_key_id="CONSOLEROOT",
                      aws_secret_access_key="console-root-secret", region_name="us-east-1")
    await asyncio.to_thread(s3.put_object, Bucket="meta", Key="dir/report.csv", Body=b"a,b\n",
                            ContentType="text/csv", Metadata={"owner": "ana"},
                            Tagging="stage=draft")
    page = html.unescape(await (await admin.get(
        CONSOLE + "b/meta/object?key=dir%2Freport.csv")).text())
    assert "<dd>text/csv</dd>" in page and "<dt>owner</dt><dd>ana</dd>" in page
    assert "<dt>stage</dt><dd>draft</dd>" in page
    assert "4 bytes" in page
    response = await post(admin, "b/meta/object/tags", key="dir/report.csv",
                          tags="stage=final\nteam=data")
    assert response.status == 303
    tags = await asyncio.to_thread(s3.get_object_tagging, Bucket="meta", Key="dir/report.csv")
    assert {t["Key"]: t["Value"] for t in tags["TagSet"]} == {"stage": "final", "team": "data"}
    await post(admin, "b/meta/object/tags", key="dir/report.csv", tags="")
    tags = await asyncio.to_thread(s3.get_object_tagging, Bucket="meta", Key="dir/report.csv")
    assert tags["TagSet"] == []


async def test_the_settings_page_counts_objects_up_to_a_limit(admin, monkeypatch):
    from post3.console import settings_page

    await post(admin, "buckets", bucket="usage")
    page = await (await admin.get(CONSOLE + "b/usage/settings")).text()
    assert "0 objects, 0 B in all." in page
    for key in ("a", "b/c", "d"):
        await put_via_console(admin, "usage", key, b"x" * 700)
    page = await (await admin.get(CONSOLE + "b/usage/settings")).text()
    assert "3 objects, 2.1 KiB in all." in page
    monkeypatch.setattr(settings_page, "USAGE_LIMIT", 2)
    monkeypatch.setattr(settings_page, "PAGE", 2)
    page = await (await admin.get(CONSOLE + "b/usage/settings")).text()
    assert "More than 2 objects" in page


async def test_a_bucket_is_deleted_after_the_confirmation_and_only_when_empty(admin):
    await post(admin, "buckets", bucket="old")
    await put_via_console(admin, "old", "last", b"x")
    confirm = await post(admin, "buckets/delete", bucket="old")
    assert "Delete the bucket old?" in await confirm.text()
    response = await post(admin, "buckets/delete", bucket="old", confirm="yes")
    assert response.status == 409 and "BucketNotEmpty" in await response.text()
    token = await csrf(admin)
    await admin.post(CONSOLE + "b/old/delete", data=[
        ("csrf", token), ("key", "last"), ("confirm", "yes")])
    response = await post(admin, "buckets/delete", bucket="old", confirm="yes")
    assert response.status == 303
    assert "old" not in re.findall(r'href="/_post3/console/b/([^"?]+)"',
                                   await (await admin.get(CONSOLE + "buckets")).text())

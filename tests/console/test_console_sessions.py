"""The console's sessions and forms over HTTP, with the app on a real socket (its actions are
S3 requests to that socket): login, CSRF, Origin, expiry, logout, stateless sessions across
servers, and the switch that turns the console off."""

from __future__ import annotations

import asyncio
import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from post3.app import RUNNER_OPTIONS, create_app
from post3.backends.memory import MemoryBackend
from post3.config import Settings
from post3.console import session
from post3.credentials import AccessKey, new_access_key

ROOT = "CONSOLEROOT"
SECRET = "console-root-secret"
CONSOLE = "/_post3/console/"


def settings(**changes) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(backend="memory", access_key=ROOT, secret_key=SECRET, **changes)


async def start(backend: MemoryBackend | None = None, **changes) -> TestClient:  # type: ignore[no-untyped-def]
    server = TestServer(create_app(settings(**changes), backend=backend or MemoryBackend()))
    await server.start_server(**RUNNER_OPTIONS)
    client = TestClient(server)
    await client.start_server()
    return client


@pytest.fixture
async def console():  # type: ignore[no-untyped-def]
    client = await start()
    yield client
    await client.close()


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} in the page"
    return match.group(1)


async def log_in(client: TestClient, key_id: str = ROOT, secret: str = SECRET):  # type: ignore[no-untyped-def]
    page = await (await client.get(CONSOLE + "login")).text()
    return await client.post(CONSOLE + "login", allow_redirects=False, data={
        "login_token": hidden(page, "login_token"), "access_key_id": key_id,
        "secret_access_key": secret, "next": CONSOLE + "buckets"})


async def csrf(client: TestClient) -> str:
    return hidden(await (await client.get(CONSOLE + "buckets")).text(), "csrf")


async def bucket_names(client: TestClient) -> list[str]:
    page = await (await client.get(CONSOLE + "buckets")).text()
    return re.findall(r'href="/_post3/console/b/([^"?]+)"', page)


# --------------------------------------------------------------------------- the cookie itself


def test_a_cookie_proves_its_key_until_it_expires():
    key = AccessKey("AKID", "secret")
    made, cookie = session.issue(key, ttl=60, now=1000)
    assert "secret" not in cookie
    assert session.verify(cookie, key, now=1059) == made
    assert session.verify(cookie, key, now=1061) is None  # expired
    assert session.verify(cookie, AccessKey("AKID", "new secret"), now=1000) is None
    assert session.verify(cookie, None, now=1000) is None  # the key was deleted
    body, mac = cookie.rsplit(".", 1)
    key_id, expires, nonce = body.split(".")
    later = f"{key_id}.{int(expires) + 3600}.{nonce}"
    assert session.verify(f"{later}.{mac}", key, now=1000) is None  # expiry changed
    other = f"{session._b64('OTHER')}.{expires}.{nonce}.{mac}"
    assert session.verify(other, AccessKey("OTHER", "secret"), now=1000) is None


def test_the_csrf_token_belongs_to_one_session():
    key = AccessKey("AKID", "secret")
    first, _ = session.issue(key, ttl=60)
    second, _ = session.issue(key, ttl=60)
    assert first.check_csrf(first.csrf_token)
    assert not first.check_csrf(second.csrf_token)
    assert not first.check_csrf("") and not first.check_csrf(None)


# --------------------------------------------------------------------------- over HTTP


async def test_login_sets_a_strict_http_only_cookie_without_the_secret(console):
    response = await log_in(console)
    assert response.status == 303
    assert response.headers["Location"] == CONSOLE + "buckets"
    cookie = response.cookies[session.COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    assert cookie["path"] == CONSOLE
    assert SECRET not in cookie.value
    page = await console.get(CONSOLE + "buckets")
    assert page.status == 200
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


async def test_a_wrong_secret_or_unknown_key_gets_no_session(console):
    for key_id, secret in ((ROOT, "wrong"), ("NOSUCHKEY", SECRET)):
        response = await log_in(console, key_id, secret)
        assert response.status == 403
        assert "Wrong access key ID or secret." in await response.text()
        assert session.COOKIE not in response.cookies
    assert (await console.get(CONSOLE + "buckets", allow_redirects=False)).status == 303


async def test_the_login_form_needs_its_own_token(console):
    # A login forced from another site (login CSRF) has no token cookie to match.
    response = await console.post(CONSOLE + "login", allow_redirects=False, data={
        "login_token": "guessed", "access_key_id": ROOT, "secret_access_key": SECRET})
    assert response.status == 403
    assert session.COOKIE not in response.cookies


async def test_over_tls_the_cookie_is_secure():
    client = await start()
    try:
        page = await client.get(CONSOLE + "login", headers={"X-Forwarded-Proto": "https"})
        token = page.cookies[session.LOGIN_COOKIE]
        assert token["secure"]
        # The client speaks plain HTTP to the proxy's back end: send the Secure cookie back.
        response = await client.post(CONSOLE + "login", allow_redirects=False, headers={
            "X-Forwarded-Proto": "https", "Cookie": f"{session.LOGIN_COOKIE}={token.value}"},
            data={"login_token": token.value, "access_key_id": ROOT,
                  "secret_access_key": SECRET})
        assert response.status == 303
        assert response.cookies[session.COOKIE]["secure"]
    finally:
        await client.close()


async def test_a_form_without_the_csrf_token_changes_nothing(console):
    await log_in(console)
    token = await csrf(console)
    for data, headers in (({"bucket": "forged"}, {}),
                          ({"bucket": "forged", "csrf": "not-the-token"}, {}),
                          ({"bucket": "forged", "csrf": token},
                           {"Origin": "https://evil.example"})):
        response = await console.post(CONSOLE + "buckets", data=data, headers=headers,
                                      allow_redirects=False)
        assert response.status == 403
    assert await bucket_names(console) == []
    response = await console.post(CONSOLE + "buckets", data={"bucket": "real", "csrf": token},
                                  allow_redirects=False)
    assert response.status == 303
    assert await bucket_names(console) == ["real"]


async def test_the_upload_api_needs_the_csrf_header(console):
    await log_in(console)
    body = {"bucket": "b", "key": "k", "size": 1, "type": ""}
    refused = await console.post(CONSOLE + "api/uploads", json=body)
    assert refused.status == 403
    assert "error" in await refused.json()  # the page's script shows it
    response = await console.post(CONSOLE + "api/uploads", json=body,
                                  headers={"X-CSRF-Token": await csrf(console)})
    assert response.status == 200
    assert (await response.json())["mode"] == "put"


async def test_s3_refusals_are_shown_as_s3_words_them(console):
    await log_in(console)
    response = await console.post(CONSOLE + "buckets", data={
        "bucket": "Not_Valid", "csrf": await csrf(console)})
    assert response.status == 400
    assert "InvalidBucketName" in await response.text()
    response = await console.get(CONSOLE + "b/nosuchbucket")
    assert response.status == 404
    assert "NoSuchBucket" in await response.text()


async def test_logout_ends_the_session_in_this_browser(console):
    await log_in(console)
    response = await console.post(CONSOLE + "logout", data={"csrf": await csrf(console)},
                                  allow_redirects=False)
    assert response.status == 303
    assert response.cookies[session.COOKIE].value == ""
    response = await console.get(CONSOLE + "buckets", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith(CONSOLE + "login?next=")


async def test_a_session_expires():
    client = await start(console_session_ttl=1.0)
    try:
        await log_in(client)
        assert (await client.get(CONSOLE + "buckets", allow_redirects=False)).status == 200
        cookie = client.session.cookie_jar.filter_cookies(client.make_url(CONSOLE))
        await asyncio.sleep(1.1)
        # The browser would drop it (Max-Age); a kept copy is refused by the server.
        response = await client.get(CONSOLE + "buckets", allow_redirects=False, headers={
            "Cookie": f"{session.COOKIE}={cookie[session.COOKIE].value}"})
        assert response.status == 303
        assert response.headers["Location"].endswith("&notice=expired")
    finally:
        await client.close()


async def test_any_server_with_the_key_store_accepts_a_session_and_deleting_the_key_ends_it():
    backend = MemoryBackend()
    key = new_access_key("people", admin=True)
    await backend.key_store.put_access_key(key)
    first = await start(backend)
    try:
        response = await log_in(first, key.access_key_id, key.secret_access_key)
        cookie = response.cookies[session.COOKIE].value
    finally:
        await first.close()
    second = await start(backend)  # another worker or host: nothing shared but the keys
    try:
        headers = {"Cookie": f"{session.COOKIE}={cookie}"}
        assert (await second.get(CONSOLE + "buckets", headers=headers,
                                 allow_redirects=False)).status == 200
        await backend.key_store.delete_access_key(key.access_key_id)
        third = await start(backend)
        try:
            assert (await third.get(CONSOLE + "buckets", headers=headers,
                                    allow_redirects=False)).status == 303
        finally:
            await third.close()
    finally:
        await second.close()


async def test_next_never_leaves_the_console(console):
    page = await (await console.get(CONSOLE + "login")).text()
    response = await console.post(CONSOLE + "login", allow_redirects=False, data={
        "login_token": hidden(page, "login_token"), "access_key_id": ROOT,
        "secret_access_key": SECRET, "next": "https://evil.example/"})
    assert response.headers["Location"] == CONSOLE + "buckets"


@pytest.mark.parametrize("changes", [{"console": False}, {"auth": False}])
async def test_the_console_can_be_switched_off(changes):
    client = await start(**changes)
    try:
        response = await client.get(CONSOLE + "login")
        assert response.status == 400  # S3's answer: "_post3" is no bucket name
        assert "InvalidBucketName" in await response.text()
    finally:
        await client.close()


def test_settings_from_the_environment():
    assert Settings.build({}).console is True
    assert Settings.build({"POST3_CONSOLE": "false"}).console is False
    assert Settings.build({"POST3_CONSOLE": "0"}).console is False
    assert Settings.build({}).console_session_ttl == 8 * 3600
    assert Settings.build({"POST3_CONSOLE_SESSION_TTL": "600"}).console_session_ttl == 600
    with pytest.raises(ValueError, match="POST3_CONSOLE_SESSION_TTL"):
        Settings.build({"POST3_CONSOLE_SESSION_TTL": "-1"})

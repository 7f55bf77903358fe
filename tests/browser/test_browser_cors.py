"""A real browser (headless Chromium, driven by Selenium) on a page served from another origin
uploads to post3 with a presigned PUT and with a POST form, then reads the objects back with
``fetch``: what the bucket's CORS rules allow. With the rules removed the same page fails.

Chromium and its driver come from Debian's packages (``apt-get install chromium
chromium-driver``, which ``.ci/run`` does when they are missing). Chromium resolves
``*.localhost`` to loopback itself, so the virtual-hosted case needs no hosts file.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import urllib.parse
import uuid
from collections.abc import Iterator

import boto3
import pytest
from aiohttp import web
from botocore.config import Config

from tests.conftest import RunningServer, start_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

# Skipped on a developer's machine without them; in CI (which installs them) never skipped.
pytestmark = pytest.mark.skipif(
    (CHROMIUM is None or CHROMEDRIVER is None) and os.environ.get("CI") != "true",
    reason="needs Chromium and its driver (apt-get install chromium chromium-driver)")

PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>uploader</title></head>
<body><form id="upload" method="post" enctype="multipart/form-data"></form></body></html>"""

#: Run in the page (so from its origin): the presigned PUT, the POST form, reads with fetch.
SCENARIO = """
const [plan, done] = arguments;
async function attempt(name, run) {
  try { return [name, await run()]; } catch (error) { return [name, "failed: " + error]; }
}
Promise.all([
  attempt("put", async () => {
    const response = await fetch(plan.put, {method: "PUT", body: "put from the browser",
                                            headers: {"Content-Type": "text/plain"}});
    return response.status + " " + response.headers.get("ETag");
  }),
  attempt("post", async () => {
    const form = document.getElementById("upload");
    form.replaceChildren();
    for (const [name, value] of Object.entries(plan.post.fields)) {
      const input = document.createElement("input");
      input.type = "hidden"; input.name = name; input.value = value;
      form.appendChild(input);
    }
    const data = new FormData(form);
    data.append("file", new Blob(["posted from the browser"], {type: "text/plain"}),
                "note.txt");
    const response = await fetch(plan.post.url, {method: "POST", body: data});
    return response.status + " " + (await response.text()).includes("<Key>form/note.txt</Key>");
  }),
]).then(async (uploads) => {
  const reads = await Promise.all(Object.entries(plan.get).map(([name, url]) =>
    attempt("get " + name, async () => (await fetch(url)).text())));
  done(Object.fromEntries([...uploads, ...reads]));
});
"""


class PageServer:
    """The page's own origin: a small aiohttp app on another port, in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        started = threading.Event()
        threading.Thread(target=self._serve, args=(started,), daemon=True).start()
        assert started.wait(10), "the page server did not start"

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        async def index(_: web.Request) -> web.Response:
            return web.Response(body=PAGE, content_type="text/html")

        app.router.add_get("/", index)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = self.runner.addresses[0][1]
        started.set()
        self.loop.run_forever()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[RunningServer]:
    running = start_server("memory", workdir=tmp_path_factory.mktemp("post3-browser"),
                           args=("--domain", "localhost"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def page() -> Iterator[PageServer]:
    serving = PageServer()
    yield serving
    serving.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def s3_client(server: RunningServer, style: str):  # type: ignore[no-untyped-def]
    port = urllib.parse.urlsplit(server.endpoint).port
    host = "localhost" if style == "virtual" else "127.0.0.1"
    # Presigned with SigV2 (botocore's default for presigning) in path style, SigV4 in the other.
    signature = "s3v4" if style == "virtual" else None
    return boto3.client("s3", endpoint_url=f"http://{host}:{port}",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        region_name="us-east-1",
                        config=Config(signature_version=signature,
                                      s3={"addressing_style": style}))


def run_page(browser, page: PageServer, s3, bucket: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    plan = {
        # The page sends the Content-Type the URL was signed for (SigV2 signs it).
        "put": s3.generate_presigned_url("put_object", Params={
            "Bucket": bucket, "Key": "put/note.txt", "ContentType": "text/plain"}),
        "post": s3.generate_presigned_post(bucket, "form/${filename}",
                                           Fields={"success_action_status": "201"},
                                           Conditions=[{"success_action_status": "201"}]),
        "get": {name: s3.generate_presigned_url("get_object",
                                                Params={"Bucket": bucket, "Key": key})
                for name, key in (("put", "put/note.txt"), ("post", "form/note.txt"))},
    }
    style = s3.meta.config.s3["addressing_style"]
    expected = f"{bucket}.localhost" if style == "virtual" else "127.0.0.1"
    assert {urllib.parse.urlsplit(url).hostname for url in (plan["put"], *plan["get"].values(),
                                                             plan["post"]["url"])} == {expected}
    browser.get(page.origin + "/")
    return browser.execute_async_script(SCENARIO, plan)


@pytest.fixture
def bucket() -> str:
    return f"browser-{uuid.uuid4().hex[:10]}"


def rules(origin: str) -> dict[str, object]:
    return {"CORSRules": [{"AllowedOrigins": [origin], "AllowedMethods": ["PUT", "POST", "GET"],
                           "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"],
                           "MaxAgeSeconds": 0}]}


# loopback_names is not used: boto3 only signs here, the browser resolves *.localhost itself.
@pytest.mark.parametrize("style", ["path", "virtual"])
def test_a_page_on_another_origin_uploads_and_reads_back(browser, page, server, bucket, style):
    s3 = s3_client(server, style)
    s3_client(server, "path").create_bucket(Bucket=bucket)
    s3_client(server, "path").put_bucket_cors(Bucket=bucket,
                                              CORSConfiguration=rules(page.origin))
    results = run_page(browser, page, s3, bucket)
    assert results["put"].startswith("200"), results
    put_etag = s3_client(server, "path").head_object(Bucket=bucket, Key="put/note.txt")["ETag"]
    assert results == {
        "put": f"200 {put_etag}",
        "post": "201 true",
        "get put": "put from the browser",
        "get post": "posted from the browser",
    }


@pytest.mark.parametrize("style", ["path", "virtual"])
def test_without_cors_rules_the_same_page_fails(browser, page, server, bucket, style):
    s3 = s3_client(server, style)
    path = s3_client(server, "path")
    path.create_bucket(Bucket=bucket)
    path.put_bucket_cors(Bucket=bucket, CORSConfiguration=rules(page.origin))
    path.delete_bucket_cors(Bucket=bucket)
    results = run_page(browser, page, s3, bucket)
    assert all(value.startswith("failed: TypeError") for value in results.values()), results
    # The preflight refused, the browser never sent the PUT.
    assert "Contents" not in path.list_objects_v2(Bucket=bucket, Prefix="put/")

"""The web console in a real browser: headless Chromium (Debian's package) driven by Selenium,
against a live ``post3 run``.

One scenario walks what a user does: log in, create a bucket, upload a 20 MiB file (in parts,
watching the progress bar), browse into its folder, download it and compare the bytes, share a
link and fetch it with curl, delete it after the confirmation, log out. Beside it: a wrong
secret is refused, a cancelled upload leaves nothing behind, and a read-only key sees no
delete, and a forged one is refused by S3's own authorization.

The screenshots in ``docs/console/`` (shown in the README) are taken by these tests: set
``POST3_SCREENSHOTS=1`` to write them there (otherwise they go to a temporary directory).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.conftest import ACCESS_KEY, SECRET_KEY, RunningServer, start_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

# Skipped on a developer's machine without them; in CI (which installs them) never skipped.
pytestmark = pytest.mark.skipif(
    (CHROMIUM is None or CHROMEDRIVER is None) and os.environ.get("CI") != "true",
    reason="needs Chromium and its driver (apt-get install chromium chromium-driver)")

CONSOLE = "/_post3/console/"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
MIB = 1024**2


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[RunningServer]:
    running = start_server("memory", workdir=tmp_path_factory.mktemp("post3-console"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    if os.environ.get("POST3_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def browser(downloads) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1000,760"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads), "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def s3(server):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, region_name="us-east-1")


@pytest.fixture
def bucket() -> str:
    return f"console-{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------- helpers


def css(browser, selector: str):  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, selector)


def all_css(browser, selector: str):  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, selector)


def wait_for(condition, timeout: float = 60.0, what: str = "the page"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def follow(browser, element) -> None:  # type: ignore[no-untyped-def]
    """Click a link or submit button and wait for the next page to replace this one."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    page = css(browser, "html")
    element.click()

    def replaced(_browser) -> bool:  # type: ignore[no-untyped-def]
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            # Chromium, asked about a node while the next page replaces the document, may say
            # so with this generic error instead of a stale-element one.
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    WebDriverWait(browser, 30).until(replaced)


def log_in(browser, server: RunningServer, key_id: str, secret: str) -> None:  # type: ignore[no-untyped-def]
    browser.get(server.endpoint + CONSOLE)
    css(browser, "#access_key_id").send_keys(key_id)
    css(browser, "#secret_access_key").send_keys(secret)
    follow(browser, css(browser, "#login-form button[type=submit]"))


def heading(browser) -> str:  # type: ignore[no-untyped-def]
    return css(browser, "h1").text


def create_bucket(browser, name: str) -> None:  # type: ignore[no-untyped-def]
    css(browser, "#bucket").send_keys(name)
    follow(browser, css(browser, "#create-bucket button"))
    wait_for(lambda: heading(browser).startswith(name), what="the new bucket's page")


def upload(browser, paths: list[Path], folder: str) -> list[object]:  # type: ignore[no-untyped-def]
    """Choose the files (several at once), upload them into ``folder``, wait for the end;
    returns their rows in the upload list."""
    before = len(all_css(browser, "#upload-list li"))  # earlier uploads stay listed
    field = css(browser, "#upload-folder")
    field.clear()
    field.send_keys(folder)
    css(browser, "#files").send_keys("\n".join(str(path) for path in paths))
    css(browser, "#upload-start").click()

    def finished():  # type: ignore[no-untyped-def]
        rows = all_css(browser, "#upload-list li")[before:]
        done = len(rows) == len(paths) and all(r.get_attribute("data-result") for r in rows)
        return rows if done else None

    return wait_for(finished, what="the uploads to end")


UNLABELLED = """
return Array.from(document.querySelectorAll("input, select, textarea, button"))
  .filter((e) => e.type !== "hidden" && !e.labels?.length && !e.getAttribute("aria-label")
                 && !(e.tagName === "BUTTON" && e.textContent.trim()))
  .map((e) => e.outerHTML);
"""


def assert_labelled(browser) -> None:  # type: ignore[no-untyped-def]
    """Every control has a name a screen reader can say: a label, aria-label or text."""
    assert browser.execute_script(UNLABELLED) == []


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- tests


def test_a_user_uploads_browses_downloads_shares_and_deletes(
        browser, post3_server, bucket, tmp_path, downloads, screenshots):
    # On every backend: the shared live servers of the suite (memory, filesystem, PostgreSQL).
    server = post3_server
    s3 = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=ACCESS_KEY,
                      aws_secret_access_key=SECRET_KEY, region_name="us-east-1")
    log_in(browser, server, ACCESS_KEY, SECRET_KEY)
    assert heading(browser) == "Buckets"
    assert {c["name"] for c in browser.get_cookies()} >= {"post3_console"}
    session_cookie = next(c for c in browser.get_cookies() if c["name"] == "post3_console")
    assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Strict"
    assert SECRET_KEY not in session_cookie["value"]

    create_bucket(browser, bucket)
    s3.head_bucket(Bucket=bucket)  # created through the console, seen by boto3

    # 20 MiB: three parts of 8 MiB, uploaded by the browser straight to the S3 API.
    big = tmp_path / "video.bin"
    big.write_bytes(os.urandom(20 * MIB))
    assert_labelled(browser)
    [row] = upload(browser, [big], "media/2026")
    assert row.get_attribute("data-result") == "done", row.text
    bar = row.find_element("css selector", "progress")
    seen = [int(value) for value in bar.get_attribute("data-seen").split(",")]
    assert float(bar.get_attribute("value")) == 100
    assert any(0 < value < 100 for value in seen), seen  # progress was shown on the way
    assert seen == sorted(seen)
    assert "20.0 MiB of 20.0 MiB" in row.text
    head = s3.head_object(Bucket=bucket, Key="media/2026/video.bin")
    assert head["ContentLength"] == 20 * MIB
    assert head["ETag"].endswith('-3"')  # a multipart upload of three parts

    # Two small files at once beside it, then browse: bucket -> media/ -> 2026/.
    small = [tmp_path / "notes.txt", tmp_path / "todo.txt"]
    for path in small:
        path.write_text(f"{path.name} from the console\n")
    rows = upload(browser, small, "")
    assert [r.get_attribute("data-result") for r in rows] == ["done", "done"]
    todo = s3.get_object(Bucket=bucket, Key="todo.txt")["Body"].read()
    assert todo == b"todo.txt from the console\n"
    browser.get(server.endpoint + CONSOLE + f"b/{bucket}")
    links = {link.text: link for link in all_css(browser, "table.objects a")}
    assert {"notes.txt", "todo.txt", "📁 media/"} <= set(links)
    assert_labelled(browser)
    follow(browser, links["📁 media/"])
    follow(browser, css(browser, "table.objects a"))  # the only entry: 2026/
    assert heading(browser) == f"{bucket} /media/2026/"
    names = [link.text for link in all_css(browser, "table.objects td:nth-child(2) a")]
    assert names == ["video.bin"]
    browser.save_screenshot(str(screenshots / "objects.png"))
    browser.set_window_size(390, 800)  # a phone: nothing needs scrolling sideways
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
    browser.save_screenshot(str(screenshots / "phone.png"))
    browser.set_window_size(1000, 760)

    # Download through the browser and compare the bytes.
    saved = downloads / "video.bin"
    saved.unlink(missing_ok=True)  # from the previous backend's run
    css(browser, "a[aria-label='Download media/2026/video.bin']").click()
    wait_for(lambda: saved.exists() and saved.stat().st_size == 20 * MIB, what="the download")
    assert sha256(saved) == sha256(big)

    # Details, then share for a day and fetch the link with curl (no cookie, no key).
    follow(browser, css(browser, "table.objects td:nth-child(2) a"))
    details = css(browser, "dl.details").text
    assert "20971520 bytes" in details and head["ETag"] in details
    assert_labelled(browser)
    css(browser, "#expires option[value='86400']").click()
    follow(browser, css(browser, "#share"))
    url = css(browser, "#share-url").get_attribute("value")
    assert "X-Amz-Expires=86400" in url and "X-Amz-Signature=" in url
    browser.save_screenshot(str(screenshots / "share.png"))
    fetched = tmp_path / "fetched.bin"
    subprocess.run(["curl", "-sSf", "-o", str(fetched), url], check=True, timeout=60)
    assert sha256(fetched) == sha256(big)

    # Delete, after the confirmation page.
    follow(browser, css(browser, "#delete-object"))
    assert heading(browser).startswith("Delete 1 object from")
    assert s3.head_object(Bucket=bucket, Key="media/2026/video.bin")  # not yet
    follow(browser, css(browser, "#confirm-delete"))
    assert css(browser, ".notice").text == "Objects deleted."
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="media/")

    # Log out: the console's pages send the browser back to the login form.
    follow(browser, css(browser, "#logout"))
    assert heading(browser) == "Log in"
    browser.get(server.endpoint + CONSOLE + "buckets")
    assert heading(browser) == "Log in"
    assert "post3_console" not in {c["name"] for c in browser.get_cookies()}


def test_the_login_form_works_with_the_keyboard_alone(browser, server):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.endpoint + CONSOLE)
    assert_labelled(browser)
    focused = browser.switch_to.active_element  # the key id field has the focus
    assert focused.get_attribute("id") == "access_key_id"
    focused.send_keys(ACCESS_KEY, Keys.TAB)
    page = css(browser, "html")
    browser.switch_to.active_element.send_keys(SECRET_KEY, Keys.ENTER)
    WebDriverWait(browser, 30).until(expected_conditions.staleness_of(page))
    assert heading(browser) == "Buckets"


def test_a_wrong_secret_is_refused(browser, server, screenshots):
    log_in(browser, server, ACCESS_KEY, "not-the-secret")
    assert heading(browser) == "Log in"
    assert css(browser, "#login-error").text == "Wrong access key ID or secret."
    assert "post3_console" not in {c["name"] for c in browser.get_cookies()}
    browser.save_screenshot(str(screenshots / "login.png"))
    browser.get(server.endpoint + CONSOLE + "buckets")
    assert heading(browser) == "Log in"


def test_a_cancelled_upload_leaves_nothing(browser, server, s3, bucket, tmp_path, screenshots):
    s3.create_bucket(Bucket=bucket)
    log_in(browser, server, ACCESS_KEY, SECRET_KEY)
    browser.get(server.endpoint + CONSOLE + f"b/{bucket}")
    # Slow the browser's uploads down so there is time to press Cancel.
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1,
        "uploadThroughput": 2 * MIB})
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * MIB))
    css(browser, "#files").send_keys(str(big))
    css(browser, "#upload-start").click()
    wait_for(lambda: all_css(browser, "#upload-list progress"), what="the progress bar")
    wait_for(lambda: s3.list_multipart_uploads(Bucket=bucket).get("Uploads"),
             what="the multipart upload to start")
    bar = css(browser, "#upload-list progress")
    wait_for(lambda: float(bar.get_attribute("value")) > 5, what="some progress")
    panel = css(browser, "#upload")
    browser.execute_script("arguments[0].scrollIntoView()", panel)
    panel.screenshot(str(screenshots / "upload.png"))
    css(browser, "#upload-cancel").click()
    row = wait_for(lambda: next((r for r in all_css(browser, "#upload-list li")
                                 if r.get_attribute("data-result")), None),
                   what="the cancellation")
    assert row.get_attribute("data-result") == "cancelled", row.text
    wait_for(lambda: not s3.list_multipart_uploads(Bucket=bucket).get("Uploads"), 10,
             "AbortMultipartUpload")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_a_read_only_key_sees_no_delete_that_works(browser, server, s3, bucket, screenshots):
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="report.csv", Body=b"a,b\n1,2\n")
    # The admin creates the read-only key on the console's access keys page.
    log_in(browser, server, ACCESS_KEY, SECRET_KEY)
    browser.get(server.endpoint + CONSOLE + "keys")
    css(browser, "#key-name").send_keys("auditor")
    css(browser, "#key-grants").send_keys(f"{bucket}:read")
    follow(browser, css(browser, "#create-key button"))
    key_id = css(browser, "#created-id").get_attribute("value")
    secret = css(browser, "#created-secret").get_attribute("value")
    assert key_id.startswith("P3") and len(secret) == 40
    assert f"{bucket}: read" in css(browser, "table").text
    browser.save_screenshot(str(screenshots / "keys.png"))
    assert_labelled(browser)
    browser.get(server.endpoint + CONSOLE + "keys")
    assert secret not in browser.page_source  # shown once, never again
    follow(browser, css(browser, "#logout"))

    log_in(browser, server, key_id, secret)
    assert heading(browser) == "Buckets"
    assert "Access keys" not in css(browser, "header").text
    browser.get(server.endpoint + CONSOLE + f"b/{bucket}")
    assert [a.text for a in all_css(browser, "table.objects td a")][0] == "report.csv"
    assert not all_css(browser, "#delete-selected") and not all_css(browser, "#upload")
    assert not all_css(browser, "input[name=key]")
    follow(browser, css(browser, "table.objects td a"))
    assert not all_css(browser, "#delete-object")

    # A forged delete (the form the page does not show, with the session's own CSRF token)
    # reaches S3's authorization, which refuses it.
    status = browser.execute_async_script("""
        const [bucket, done] = arguments;
        const data = new URLSearchParams({csrf: document.querySelector("input[name=csrf]").value,
                                          key: "report.csv", confirm: "yes"});
        fetch(`/_post3/console/b/${bucket}/delete`, {method: "POST", body: data})
          .then(async (r) => done(r.status + " " + (await r.text()).includes("AccessDenied")));
    """, bucket)
    assert status == "403 true"
    assert s3.head_object(Bucket=bucket, Key="report.csv")["ContentLength"] == 8
    # And the admin pages are closed to it.
    browser.get(server.endpoint + CONSOLE + "keys")
    assert "Only an admin key may manage access keys." in css(browser, ".error").text

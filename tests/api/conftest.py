import urllib.parse

import pytest
from aiohttp.test_utils import TestServer

from post3.app import RUNNER_OPTIONS, create_app
from post3.backends.memory import MemoryBackend
from post3.config import Settings


def url(bucket: str, key: str = "", **query: str) -> str:
    """A path-style URL with the key percent-encoded the way SDKs encode it."""
    path = f"/{bucket}/{urllib.parse.quote(key, safe='/~')}" if key else f"/{bucket}"
    if query:
        path += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    return path


@pytest.fixture
def settings():
    # Signatures are tested in test_api_auth.py; these tests speak plain HTTP.
    return Settings(backend="memory", auth=False)


@pytest.fixture
async def client(aiohttp_client, settings):
    app = create_app(settings, backend=MemoryBackend())
    # TestServer ignores runner options given to its constructor; start it with them.
    server = TestServer(app)
    await server.start_server(**RUNNER_OPTIONS)
    return await aiohttp_client(server)


@pytest.fixture
async def bucket(client):
    response = await client.put("/bkt")
    assert response.status == 200
    return "bkt"


async def _error_code(response) -> str:
    """The S3 error code of an ``<Error>`` response (asserting it is one)."""
    from defusedxml import ElementTree

    root = ElementTree.fromstring(await response.read())
    assert root.tag == "Error"
    assert root.findtext("RequestId") == response.headers["x-amz-request-id"]
    return root.findtext("Code")


@pytest.fixture
def error_code():
    return _error_code

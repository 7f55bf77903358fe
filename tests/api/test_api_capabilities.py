"""Operations a backend does not declare the capability for answer 501 NotImplemented, read
from the declaration before the backend is called."""

import pytest
from aiohttp.test_utils import TestServer

from post3.app import RUNNER_OPTIONS, create_app
from post3.backend import Capabilities, Unsupported
from post3.backends.memory import MemoryBackend
from post3.config import Settings


class PlainBackend(MemoryBackend):
    """Objects only: no multipart, no tagging. Counts calls it should never see."""

    name = "plain"
    capabilities = Capabilities()

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def create_multipart_upload(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls.append("create_multipart_upload")
        return await super().create_multipart_upload(*args, **kwargs)

    async def put_bucket_tags(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls.append("put_bucket_tags")
        return await super().put_bucket_tags(*args, **kwargs)


class OverpromisingBackend(MemoryBackend):
    """Declares multipart but its methods say Unsupported."""

    name = "overpromising"

    async def create_multipart_upload(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise Unsupported("multipart")


async def serve(aiohttp_client, backend):
    server = TestServer(create_app(Settings(backend=backend.name, auth=False), backend=backend))
    await server.start_server(**RUNNER_OPTIONS)
    client = await aiohttp_client(server)
    assert (await client.put("/bkt")).status == 200
    return client


async def assert_not_implemented(response, text):
    assert response.status == 501
    body = await response.text()
    assert "<Code>NotImplemented</Code>" in body
    assert text in body


@pytest.mark.parametrize(("method", "path", "needs"), [
    ("POST", "/bkt/k?uploads", "multipart"),
    ("GET", "/bkt?uploads", "multipart"),
    ("PUT", "/bkt?tagging", "tagging"),
    ("GET", "/bkt?tagging", "tagging"),
    ("DELETE", "/bkt/k?tagging", "tagging"),
])
async def test_undeclared_capability_answers_501_without_calling(aiohttp_client, method, path,
                                                                 needs):
    backend = PlainBackend()
    client = await serve(aiohttp_client, backend)
    body = b"<Tagging><TagSet></TagSet></Tagging>" if "tagging" in path else b""
    response = await client.request(method, path, data=body)
    await assert_not_implemented(response, f"needs {needs}, which the plain backend")
    assert backend.calls == []


async def test_what_needs_no_capability_still_works(aiohttp_client):
    client = await serve(aiohttp_client, PlainBackend())
    response = await client.put("/bkt/k", data=b"x", headers={"x-amz-tagging": "a=1"})
    assert response.status == 200
    response = await client.get("/bkt/k?tagging")
    assert response.status == 200
    assert "<Key>a</Key>" in await response.text()


async def test_unsupported_raised_anyway_is_501_not_500(aiohttp_client):
    client = await serve(aiohttp_client, OverpromisingBackend())
    await assert_not_implemented(await client.post("/bkt/k?uploads"), "needs multipart")

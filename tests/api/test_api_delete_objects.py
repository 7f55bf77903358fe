"""DeleteObjects: every key gets its own <Deleted> or <Error>, whatever happens to the others."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from defusedxml import ElementTree as ET

from post3.app import RUNNER_OPTIONS, create_app
from post3.backend import NewVersion, ObjectInfo
from post3.backends.memory import MemoryBackend

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class BrokenDiskBackend(MemoryBackend):
    """The memory backend whose storage fails for one key the way a disk can (not an S3Error);
    everything else, DeleteObjects' loop over the keys included, is the real code."""

    async def delete_object(self, bucket: str, key: str, *, marker: NewVersion | None = None
                            ) -> ObjectInfo | None:
        if key == "broken":
            raise OSError(5, "Input/output error")
        return await super().delete_object(bucket, key, marker=marker)


async def test_one_keys_unexpected_failure_is_that_keys_error_only(aiohttp_client, settings):
    server = TestServer(create_app(settings, backend=BrokenDiskBackend()))
    await server.start_server(**RUNNER_OPTIONS)
    client = await aiohttp_client(server)
    assert (await client.put("/bkt")).status == 200
    keys = ["a", "broken", "b", "c"]
    for key in keys:
        assert (await client.put(f"/bkt/{key}", data=b"x")).status == 200
    body = "<Delete>" + "".join(f"<Object><Key>{k}</Key></Object>" for k in keys) + "</Delete>"

    response = await client.post("/bkt?delete", data=body.encode())

    assert response.status == 200
    root = ET.fromstring(await response.read())
    assert sorted(e.findtext(f"{NS}Key") for e in root.iter(f"{NS}Deleted")) == ["a", "b", "c"]
    errors = [(e.findtext(f"{NS}Key"), e.findtext(f"{NS}Code")) for e in root.iter(f"{NS}Error")]
    assert errors == [("broken", "InternalError")]
    for key in ["a", "b", "c"]:
        assert (await client.head(f"/bkt/{key}")).status == 404
    assert (await client.head("/bkt/broken")).status == 200

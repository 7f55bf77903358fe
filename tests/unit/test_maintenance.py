import datetime as dt

import pytest

from post3.backends.memory import MemoryBackend
from post3.maintenance import abort_stale_uploads, parse_duration
from post3.testing import put_bytes
from post3.testing.helpers import attrs


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("12h", 43200),
                                               ("7d", 604800), ("2w", 1209600), (" 1h ", 3600)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "1", "h", "1y", "-1d", "1.5h"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


async def test_abort_stale_uploads_spares_fresh_ones_and_objects():
    backend = MemoryBackend()
    await backend.open()
    await backend.create_bucket("one")
    await backend.create_bucket("two")
    await put_bytes(backend, "one", "kept", b"object")
    first = await backend.create_multipart_upload("one", "a", attributes=attrs(), tags={})
    second = await backend.create_multipart_upload("two", "b", attributes=attrs(), tags={})

    assert await abort_stale_uploads(backend, dt.timedelta(days=1)) == []
    planned = await abort_stale_uploads(backend, dt.timedelta(seconds=-5), dry_run=True)
    assert sorted(planned) == [("one", "a", first.upload_id), ("two", "b", second.upload_id)]
    assert len(await backend.list_multipart_uploads_page("one")) == 1  # dry run changed nothing

    aborted = await abort_stale_uploads(backend, dt.timedelta(seconds=-5))
    assert len(aborted) == 2
    assert await backend.list_multipart_uploads_page("one") == []
    assert await backend.list_multipart_uploads_page("two") == []
    assert (await backend.head_object("one", "kept")).size == 6
    await backend.close()

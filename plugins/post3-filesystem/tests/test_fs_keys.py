"""Access keys kept in the data root: private to the server's user, shared by processes."""

import os
import stat

from post3_filesystem.backend import FilesystemBackend

from post3.credentials import key_store_for, new_access_key


async def test_keys_persist_privately_and_survive_a_restart(tmp_path):
    backend = FilesystemBackend(root=str(tmp_path), fsync=False)
    await backend.open()
    admin = new_access_key("ops", admin=True)
    reader = new_access_key("reader", grants={"photos": "read"})
    store = key_store_for(backend)  # what the plugin's post3_key_store hook provides
    await store.put_access_key(admin)
    await store.put_access_key(reader)
    await backend.close()

    path = tmp_path / ".post3" / "access-keys.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    again = FilesystemBackend(root=str(tmp_path), fsync=False)
    await again.open()
    keys = key_store_for(again)
    assert await keys.get_access_key(admin.access_key_id) == admin
    assert [k.access_key_id for k in await keys.list_access_keys()] == \
        sorted([admin.access_key_id, reader.access_key_id])
    await keys.put_access_key(reader.with_grant("photos", "write"))
    assert (await keys.get_access_key(reader.access_key_id)).grants == {"photos": "write"}
    assert await keys.delete_access_key(reader.access_key_id)
    assert not await keys.delete_access_key(reader.access_key_id)
    assert await keys.get_access_key(reader.access_key_id) is None
    assert await again.list_buckets() == []  # the key file is not a bucket
    await again.close()

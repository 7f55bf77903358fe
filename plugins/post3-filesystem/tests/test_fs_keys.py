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


async def test_a_key_stored_before_keys_had_users_is_a_user_of_its_own(tmp_path):
    """The key file an earlier release wrote has no ``user``: the key keeps working, as the
    user named after its id; a key made now records its user."""
    import json

    state = tmp_path / ".post3"
    backend = FilesystemBackend(root=str(tmp_path), fsync=False)
    await backend.open()
    await backend.close()
    (state / "access-keys.json").write_text(json.dumps({"P3OLDKEY": {
        "secret": "s" * 40, "name": "old", "admin": False, "grants": {"photos": "read"},
        "created": "2026-01-01T00:00:00+00:00"}}))
    again = FilesystemBackend(root=str(tmp_path), fsync=False)
    await again.open()
    keys = key_store_for(again)
    old = await keys.get_access_key("P3OLDKEY")
    assert old.user == "" and old.principal.user == "P3OLDKEY"
    assert old.grants == {"photos": "read"}
    alice = new_access_key("ci", user="alice")
    await keys.put_access_key(alice)
    assert (await keys.get_access_key(alice.access_key_id)).principal.user == "alice"
    await again.close()

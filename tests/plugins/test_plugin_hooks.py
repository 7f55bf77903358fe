"""Every hook is documented and exercised; the plugin manager is built fresh each time."""

import inspect
import types

import click
import pytest
from aiohttp import web
from click.testing import CliRunner

import post3
from post3 import hookspecs
from post3.app import RouteOutsideReservedPrefix, create_app
from post3.backend import BackendError
from post3.backends.memory import MemoryBackend
from post3.cli import cli
from post3.config import Settings
from post3.plugins import backend_registry, get_plugin_manager

HOOKS = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
         if name.startswith("post3_")]


def test_hooks_are_documented():
    assert set(HOOKS) == {"post3_register_backends", "post3_register_commands",
                          "post3_configure_app", "post3_credentials_provider",
                          "post3_key_store"}
    for name in HOOKS:
        assert len(inspect.getdoc(getattr(hookspecs, name)) or "") > 80, name


def test_every_hook_has_a_test():
    source = open(__file__, encoding="utf-8").read()
    for name in HOOKS:
        assert f"def test_{name}" in source, f"no test for {name}"


def plugin(**hooks):
    module = types.ModuleType("fake_plugin")
    for name, function in hooks.items():
        setattr(module, name, post3.hookimpl(function))
    return module


def test_post3_register_backends():
    pm = get_plugin_manager()
    assert "memory" in backend_registry(pm).names()

    class Other(MemoryBackend):
        name = "other"

    pm.register(plugin(post3_register_backends=lambda registry: registry.add(Other)))
    assert backend_registry(pm).get("other") is Other


def test_two_backends_with_one_name_are_refused():
    class Impostor(MemoryBackend):
        name = "memory"

    pm = get_plugin_manager()
    pm.register(plugin(post3_register_backends=lambda registry: registry.add(Impostor)))
    with pytest.raises(BackendError, match="two plugins register a backend named 'memory'"):
        backend_registry(pm)


def test_post3_register_commands():
    @click.command("hello")
    def hello():
        click.echo("hello from a plugin")

    pm = get_plugin_manager()
    pm.register(plugin(post3_register_commands=lambda cli: cli.add_command(hello)))
    group = click.Group(commands=dict(cli.commands))
    pm.hook.post3_register_commands(cli=group)
    result = CliRunner().invoke(group, ["hello"], obj={"pm": pm})
    assert result.exit_code == 0
    assert result.output == "hello from a plugin\n"


async def test_post3_configure_app(aiohttp_client):
    async def ping(request):
        return web.Response(text="pong")

    def configure(app, settings):
        assert settings.backend == "memory"
        app.router.add_get("/_post3/plugin/ping", ping)

    pm = get_plugin_manager()
    pm.register(plugin(post3_configure_app=configure))
    client = await aiohttp_client(create_app(Settings(backend="memory", auth=False), pm=pm))
    response = await client.get("/_post3/plugin/ping")
    assert await response.text() == "pong"
    # the S3 namespace still answers everything else
    assert (await client.put("/bkt")).status == 200


@pytest.mark.parametrize("path", ["/health", "/metrics", "/_post3", "/{bucket}/ping", "/"])
def test_a_plugin_route_outside_the_reserved_prefix_refuses_to_start(path):
    async def handler(request):
        return web.Response()

    def configure(app, settings):
        app.router.add_get(path, handler)

    pm = get_plugin_manager()
    pm.register(plugin(post3_configure_app=configure))
    with pytest.raises(RouteOutsideReservedPrefix, match="outside /_post3/"):
        create_app(Settings(backend="memory", auth=False), pm=pm)


def test_disabled_plugins_are_not_loaded():
    pm = get_plugin_manager(disabled=["post3.backends.memory"])
    assert "memory" not in backend_registry(pm).names()


def test_managers_do_not_share_registrations():
    first = get_plugin_manager()
    first.register(plugin(post3_register_backends=lambda registry: None), name="extra")
    assert get_plugin_manager().get_plugin("extra") is None


async def test_post3_credentials_provider():
    from post3.credentials import AccessKey, StandardCredentials

    backend = MemoryBackend()
    settings = Settings(backend="memory", access_key="ROOTKEY", secret_key="rootsecret")
    pm = get_plugin_manager()
    provider = pm.hook.post3_credentials_provider(settings=settings, backend=backend,
                                                  key_store=backend.key_store)
    assert isinstance(provider, StandardCredentials)
    assert (await provider.lookup("ROOTKEY")).admin
    assert await provider.lookup("OTHER") is None
    stored = AccessKey("STORED", "secret")
    await backend.key_store.put_access_key(stored)
    assert await provider.lookup("STORED") == stored

    class Directory:
        async def lookup(self, access_key_id):
            return AccessKey(access_key_id, "from-the-directory")

    pm.register(plugin(post3_credentials_provider=lambda settings, backend: Directory()))
    provider = pm.hook.post3_credentials_provider(settings=settings, backend=backend,
                                                  key_store=None)
    assert isinstance(provider, Directory)
    assert (await provider.lookup("ANY")).secret_access_key == "from-the-directory"


async def test_post3_key_store(tmp_path):
    """Each storage plugin provides the key store of its own backend, chosen by class, and
    the same one every time; a backend nobody keeps keys for has none."""
    from post3_filesystem import FilesystemBackend, FilesystemKeyStore

    from post3.backends.memory import MemoryKeyStore
    from post3.credentials import key_store_for, new_access_key

    pm = get_plugin_manager()
    memory = MemoryBackend()
    store = pm.hook.post3_key_store(backend=memory)
    assert isinstance(store, MemoryKeyStore) and key_store_for(memory, pm) is store
    filesystem = FilesystemBackend(root=str(tmp_path))
    assert isinstance(pm.hook.post3_key_store(backend=filesystem), FilesystemKeyStore)

    from post3.backend import Backend

    class Keyless(Backend):  # a backend no plugin keeps keys for
        name = "keyless"

    Keyless.__abstractmethods__ = frozenset()  # instantiable without storage: never called
    assert pm.hook.post3_key_store(backend=Keyless()) is None

    # a plugin may keep the keys of another plugin's backend: the first answer wins
    class Vault(MemoryKeyStore):
        pass

    vault = Vault()
    pm.register(plugin(post3_key_store=lambda backend: vault))
    assert key_store_for(memory, pm) is vault
    key = new_access_key("v")
    await vault.put_access_key(key)
    assert await key_store_for(memory, pm).get_access_key(key.access_key_id) == key

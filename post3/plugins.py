"""get_plugin_manager(): a fresh pluggy manager with the built-ins and the installed plugins.

There is no module-level manager: each caller (the CLI, ``create_app``, a test) builds its own,
so tests never leak registrations into each other.
"""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from post3 import hookspecs
from post3.registry import BackendRegistry

#: Modules inside post3 that register through the same hooks as third-party plugins.
DEFAULT_PLUGINS = (
    "post3.backends.memory",
    "post3.maintenance",
    "post3.lifecycle.command",
    "post3.credentials",
    "post3.keys_cli",
    "post3.ops",
    "post3.console",
)

ENTRY_POINT_GROUP = "post3"


def get_plugin_manager(
    *, disabled: Iterable[str] = (), load_entry_points: bool = True
) -> pluggy.PluginManager:
    """Built-ins plus the ``post3`` entry-point group, minus ``disabled`` (plugin names:
    entry-point names, or a built-in module's name)."""
    import importlib

    pm = pluggy.PluginManager("post3")
    pm.add_hookspecs(hookspecs)
    for name in disabled:
        pm.set_blocked(name)
    for module_name in DEFAULT_PLUGINS:
        if pm.is_blocked(module_name):
            continue
        pm.register(importlib.import_module(module_name), name=module_name)
    if load_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    pm.check_pending()
    return pm


def backend_registry(pm: pluggy.PluginManager) -> BackendRegistry:
    registry = BackendRegistry()
    pm.hook.post3_register_backends(registry=registry)
    return registry

"""Every ``web.AppKey`` in one place: the typed state of the aiohttp application."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pluggy
from aiohttp import web

if TYPE_CHECKING:
    from post3.backend import Backend
    from post3.config import Settings
    from post3.credentials import CredentialsProvider
    from post3.encryption.keyring import KeyRing

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
BACKEND: web.AppKey[Backend] = web.AppKey("backend")
PLUGIN_MANAGER: web.AppKey[pluggy.PluginManager] = web.AppKey("plugin_manager")
CREDENTIALS: web.AppKey[CredentialsProvider] = web.AppKey("credentials")
KEYRING: web.AppKey[KeyRing] = web.AppKey("keyring")
UPLOAD_SLOTS: web.AppKey[asyncio.Semaphore] = web.AppKey("upload_slots", asyncio.Semaphore)
